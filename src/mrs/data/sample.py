"""The project's own sample dataset: a small realistic catalog, graded judgments and UBI-style events.

``write_sample(out_dir)`` writes, deterministically for a seed:
- catalog.jsonl: products (id, title, brand, color, material, model, category as a 3-level list,
  description, bullet_points, price, product_type) over furniture, clothing, electronics and kitchen types, plus their accessories;
- judgments.tsv: ESCI qrels (query, product_id, srw_rating, esci_label, grade) with all four levels:
  exact = the query's type and attribute, substitute = same type with another attribute value,
  complement = the type's accessory, irrelevant = other types (some sharing the query's words);
- queries.jsonl: the queries in UBI ubi_queries form (query_id, user_query; query_attributes: kind,
  product_type, and the attribute/value that makes a product exact);
- events.jsonl: UBI events (impression, click, add_to_cart, purchase) that follow the labels with position
  bias, plus a few planted contradictions for the engagement audit (listed in manifest.json).
Query kinds: "attribute" (color/material + noun), "synonym" (a shared color + a noun the product text never
uses, like "black couch" for sofas: the dense side wins), "brand" (invented brand + noun) and "model" (brand +
model code such as "sonora so-452": exact token matching, the lexical side, wins).
"""

from __future__ import annotations

import json
import os
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from mrs.atomic import output_set
from mrs.data.sample_vocab import ACCESSORY_TYPES, DESCRIPTION_OPENERS, MAIN_TYPES, TYPES, ProductType
from mrs.errors import InputError

APPLICATION = "mrs_sample"
ESCI_LABELS = {3: ("E", "100.000"), 2: ("S", "10.000"), 1: ("C", "1.000"), 0: ("I", "0.000")}
QUERY_KINDS = ("attribute", "synonym", "brand", "model")
# Engagement model: P(click | shown at rank 1) per grade, P(cart | click), P(purchase | cart).
CLICK_AT_TOP = {3: 0.55, 2: 0.25, 1: 0.12, 0: 0.04}
CART_GIVEN_CLICK = {3: 0.45, 2: 0.25, 1: 0.30, 0: 0.02}
PURCHASE_GIVEN_CART = {3: 0.55, 2: 0.40, 1: 0.50, 0: 0.10}
PAGE_SIZE = 10
# Colors at least three main types come in; synonym queries use them so that the color word alone does not
# identify the product type (the noun must be understood: the dense side's job).
SHARED_COLORS = frozenset(
    c for c in {c for t in MAIN_TYPES for c in t.colors} if sum(c in t.colors for t in MAIN_TYPES) >= 3
)


@dataclass(frozen=True)
class SamplePaths:
    """Paths of one written sample: catalog (JSONL), judgments (ESCI qrels TSV), events (UBI JSONL),
    queries (UBI queries JSONL), manifest (JSON: seed, counts, query kinds, planted contradictions)."""

    root: Path
    catalog: Path
    judgments: Path
    events: Path
    queries: Path
    manifest: Path


@dataclass(frozen=True)
class SampleQuery:
    text: str
    kind: str
    type_key: str
    attribute: str  # "color", "material", "brand" or "model"
    value: str


def _make_products(rng: random.Random, n_products: int) -> list[dict]:
    main_share = 0.8
    n_main = max(len(MAIN_TYPES) * 3, round(n_products * main_share))
    n_acc = max(len(ACCESSORY_TYPES), n_products - n_main)
    kinds: list[ProductType] = []
    kinds += [MAIN_TYPES[i % len(MAIN_TYPES)] for i in range(len(MAIN_TYPES) * 3)]
    kinds += [rng.choice(MAIN_TYPES) for _ in range(n_main - len(MAIN_TYPES) * 3)]
    kinds += [ACCESSORY_TYPES[i % len(ACCESSORY_TYPES)] for i in range(len(ACCESSORY_TYPES))]
    kinds += [rng.choice(ACCESSORY_TYPES) for _ in range(n_acc - len(ACCESSORY_TYPES))]
    rng.shuffle(kinds)
    products = []
    for i, t in enumerate(kinds, start=1):
        brand, color, material, style = (rng.choice(t.brands), rng.choice(t.colors), rng.choice(t.materials),
                                         rng.choice(t.styles))
        model = f"{brand[:2].upper()}-{rng.randint(100, 999)}"
        title = f"{brand} {style} {material.title()} {t.name} {model} - {color.title()}"
        opener = rng.choice(DESCRIPTION_OPENERS).format(color=color, noun=t.name.lower(), brand=brand,
                                                        material=material, style=style.lower())
        feats = rng.sample(t.features, k=min(3, len(t.features)))
        low, high = t.price
        products.append({
            "id": f"P{i:05d}",
            "title": title,
            "brand": brand,
            "color": color,
            "material": material,
            "model": model,
            "category": list(t.category),
            "description": f"{opener} {feats[0]}. Ideal for {t.category[1].lower()} shoppers.",
            "bullet_points": "\n".join(feats),
            "price": round(rng.uniform(low, high), 2),
            "product_type": t.key,
        })
    return products


def _make_queries(rng: random.Random, products: list[dict], n_queries: int) -> list[SampleQuery]:
    by_type: dict[str, list[dict]] = {}
    for p in products:
        by_type.setdefault(p["product_type"], []).append(p)
    queries: dict[str, SampleQuery] = {}
    attempts = 0
    while len(queries) < n_queries and attempts < n_queries * 200:
        attempts += 1
        kind = QUERY_KINDS[len(queries) % len(QUERY_KINDS)] if attempts <= n_queries else rng.choice(QUERY_KINDS)
        t = rng.choice(MAIN_TYPES)
        candidates = by_type[t.key]
        if kind == "synonym":  # a color many types share: lexical matching of the color alone is ambiguous
            shared = [p for p in candidates if p["color"] in SHARED_COLORS]
            candidates = shared or candidates
        anchor = rng.choice(candidates)  # the query's attribute comes from a real product: exact exists
        if kind == "brand":
            attribute, value = "brand", anchor["brand"]
            text = f"{value} {t.noun}"
        elif kind == "model":  # brand + model code, no noun: exact token match is what finds it
            attribute, value = "model", anchor["model"]
            text = f"{anchor['brand']} {value}"
        else:
            attribute = "color" if kind == "synonym" else rng.choice(("color", "material"))
            value = anchor[attribute]
            noun = rng.choice(t.synonyms) if kind == "synonym" else t.noun
            text = f"{value} {noun}"
        text = text.lower()
        if text not in queries:
            queries[text] = SampleQuery(text, kind, t.key, attribute, value)
    if len(queries) < n_queries:
        raise InputError(f"cannot make {n_queries} distinct sample queries from {len(products)} products")
    return list(queries.values())


def _judge(rng: random.Random, q: SampleQuery, products: list[dict]) -> list[tuple[str, int]]:
    """(product id, ESCI grade) pairs pooled for one query, like ESCI's 40-80 judged products per query."""
    t = TYPES[q.type_key]
    pool: list[tuple[str, int]] = []
    same_type = [p for p in products if p["product_type"] == t.key]
    for p in same_type:
        pool.append((p["id"], 3 if p[q.attribute] == q.value else 2))
    accessories = [p for p in products if p["product_type"] == t.accessory]
    for p in rng.sample(accessories, k=min(6, len(accessories))):
        pool.append((p["id"], 1))
    others = [p for p in products if p["product_type"] not in (t.key, t.accessory)]
    word_traps = [p for p in others if q.value.lower() in p["title"].lower()]
    chosen = rng.sample(word_traps, k=min(6, len(word_traps)))
    rest = [p for p in others if p not in chosen]
    chosen += rng.sample(rest, k=min(6, len(rest)))
    pool += [(p["id"], 0) for p in chosen]
    return pool


def _timestamp(base: datetime, seconds: float) -> str:
    return (base + timedelta(seconds=seconds)).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _ubi_event(session: dict, action: str, timestamp: str, product_id: str, position: int) -> dict:
    """One UBI event in the shape of the OpenSearch esci_ubi_sample events (ordinal 1-based here)."""
    return {"application": session["application"], "action_name": action, "query_id": session["query_id"],
            "session_id": session["session_id"], "client_id": session["client_id"], "timestamp": timestamp,
            "user_query": session["user_query"], "message_type": None, "message": None,
            "event_attributes": {"object": {"object_id": product_id, "object_id_field": "product_id"},
                                 "position": {"ordinal": position}}}


def _events_for_query(rng: random.Random, q: SampleQuery, qid: str, pool: list[tuple[str, int]],
                      planted: list[dict], start: float, base: datetime) -> list[dict]:
    forced = {c["product_id"]: c for c in planted}
    events = []
    for s in range(rng.randint(12, 24)):
        session_id = str(uuid.UUID(int=rng.getrandbits(128)))
        client_id = str(uuid.UUID(int=rng.getrandbits(128)))
        t0 = start + s * 600.0
        ranked = sorted(pool, key=lambda pg: pg[1] + rng.gauss(0, 0.9), reverse=True)
        ranked = [pg for pg in ranked if pg[0] not in forced]
        for c in sorted(planted, key=lambda c: c["position"]):
            ranked.insert(c["position"] - 1, (c["product_id"], c["grade"]))
        session = {"application": APPLICATION, "query_id": qid, "session_id": session_id,
                   "client_id": client_id, "user_query": q.text}
        for pos, (pid, grade) in enumerate(ranked[:PAGE_SIZE], start=1):
            events.append(_ubi_event(session, "impression", _timestamp(base, t0 + pos * 0.1), pid, pos))
            plant = forced.get(pid)
            if plant is not None:
                p_click, p_cart, p_buy = plant["click"], plant["cart"], plant["purchase"]
            else:
                p_click = CLICK_AT_TOP[grade] / (1 + 0.35 * (pos - 1))
                p_cart, p_buy = CART_GIVEN_CLICK[grade], PURCHASE_GIVEN_CART[grade]
            if rng.random() < p_click:
                events.append(_ubi_event(session, "click", _timestamp(base, t0 + 5 + pos), pid, pos))
                if rng.random() < p_cart:
                    events.append(_ubi_event(session, "add_to_cart", _timestamp(base, t0 + 30 + pos), pid, pos))
                    if rng.random() < p_buy:
                        events.append(_ubi_event(session, "purchase", _timestamp(base, t0 + 90 + pos), pid, pos))
    return events


def _plant_contradictions(rng: random.Random, queries: list[SampleQuery], pools: dict[str, list]) -> list[dict]:
    """A few (query, product) pairs whose engagement contradicts the label, for the audit to find."""
    planted = []
    for q in rng.sample(queries, k=max(1, len(queries) // 10)):
        irrelevant = [pid for pid, g in pools[q.text] if g == 0]
        exact = [pid for pid, g in pools[q.text] if g == 3]
        if irrelevant:
            planted.append({"query": q.text, "product_id": rng.choice(irrelevant), "grade": 0, "label": "I",
                            "behaviour": "engaged: clicked, carted and bought", "position": 2,
                            "click": 0.8, "cart": 0.6, "purchase": 0.7})
        if exact:
            planted.append({"query": q.text, "product_id": rng.choice(exact), "grade": 3, "label": "E",
                            "behaviour": "ignored: shown first, never clicked", "position": 1,
                            "click": 0.0, "cart": 0.0, "purchase": 0.0})
    return planted


def write_sample(out_dir: str | os.PathLike, seed: int = 0, n_products: int = 300,
                 n_queries: int = 30) -> SamplePaths:
    """Write the sample dataset into out_dir (created if needed) and return its paths.

    seed: same seed → byte-identical files. n_products: catalog size (at least 36: 3 per main type plus one
    per accessory type). n_queries: number of queries (1 to 200). Raises InputError for out-of-range sizes.
    """
    min_products = len(MAIN_TYPES) * 3 + len(ACCESSORY_TYPES)
    if n_products < min_products:
        raise InputError(f"--products must be at least {min_products}, not {n_products}")
    if not 1 <= n_queries <= 200:
        raise InputError(f"--queries must be between 1 and 200, not {n_queries}")
    rng = random.Random(seed)
    root = Path(out_dir)
    products = _make_products(rng, n_products)
    queries = _make_queries(rng, products, n_queries)
    pools = {q.text: _judge(rng, q, products) for q in queries}
    planted = _plant_contradictions(rng, queries, pools)
    base = datetime(2025, 3, 1, tzinfo=UTC)
    qids = {q.text: str(uuid.UUID(int=rng.getrandbits(128))) for q in queries}

    paths = SamplePaths(root, root / "catalog.jsonl", root / "judgments.tsv", root / "events.jsonl",
                        root / "queries.jsonl", root / "manifest.json")
    with output_set() as outputs:  # all five files, or none (mrs.atomic)
        outputs.mkdir(root)
        with outputs.open(paths.catalog) as f:
            for p in products:
                f.write(json.dumps(p, ensure_ascii=False) + "\n")
        with outputs.open(paths.judgments) as f:
            f.write("query\tproduct_id\tsrw_rating\tesci_label\tgrade\n")
            for q in queries:
                for pid, grade in pools[q.text]:
                    label, rating = ESCI_LABELS[grade]
                    f.write(f"{q.text}\t{pid}\t{rating}\t{label}\t{grade}\n")
        with outputs.open(paths.queries) as f:
            for i, q in enumerate(queries):
                f.write(json.dumps({"application": APPLICATION, "query_id": qids[q.text], "user_query": q.text,
                                    "query_attributes": {"kind": q.kind, "product_type": q.type_key,
                                                         "attribute": q.attribute, "value": q.value},
                                    "timestamp": _timestamp(base, i * 86400.0)}) + "\n")
        n_events = 0
        with outputs.open(paths.events) as f:
            for i, q in enumerate(queries):
                mine = [c for c in planted if c["query"] == q.text]
                for e in _events_for_query(rng, q, qids[q.text], pools[q.text], mine, i * 86400.0, base):
                    f.write(json.dumps(e) + "\n")
                    n_events += 1
        manifest = {
            "seed": seed, "products": len(products), "queries": len(queries),
            "judgments": sum(len(v) for v in pools.values()), "events": n_events,
            "query_kinds": {q.text: q.kind for q in queries},
            "contradictions": [{k: c[k] for k in ("query", "product_id", "label", "behaviour")} for c in planted],
        }
        outputs.write_json(paths.manifest, manifest)
    return paths
