"""The sample-data generator: realistic structure, all four levels, deterministic, planted contradictions."""

from __future__ import annotations

import json
import re

import pytest

from mrs.data.readers import read_catalog, read_judgments, read_queries, read_ubi_events
from mrs.data.sample import write_sample
from mrs.data.sample_vocab import TYPES
from mrs.errors import InputError


def _load(sample):
    products = {p.id: p for p in read_catalog(sample.catalog)}
    js = read_judgments(sample.judgments)
    queries = [json.loads(line) for line in sample.queries.read_text(encoding="utf-8").splitlines()]
    manifest = json.loads(sample.manifest.read_text(encoding="utf-8"))
    return products, js, queries, manifest


def test_catalog_has_the_documented_fields(sample):
    products, _, _, manifest = _load(sample)
    assert len(products) == 300 == manifest["products"]
    for p in products.values():
        for name in ("title", "brand", "color", "material", "model", "description", "bullet_points", "price"):
            assert p.get(name), (p.id, name)
        assert len(p.get("category")) == 3
    assert len({tuple(p.get("category")) for p in products.values()}) >= 10


def test_judgments_have_all_levels_and_follow_the_guideline(sample):
    products, js, queries, manifest = _load(sample)
    assert len(js.queries()) == 30 == manifest["queries"] and len(js) == manifest["judgments"]
    assert all(n > 0 for n in js.level_counts().values())
    attrs = {q["user_query"]: q["query_attributes"] for q in queries}
    for qid, judged in js.by_query().items():
        qtype = TYPES[attrs[qid]["product_type"]]
        attribute, value = attrs[qid]["attribute"], attrs[qid]["value"]
        assert value.lower() in qid  # the query names the attribute value it asks for
        assert any(j.grade == 3 for j in judged), qid
        for j in judged:
            p = products[j.product_id]
            if j.grade == 3:  # exact: the query's type AND its attribute value
                assert p.get("product_type") == qtype.key and p.get(attribute) == value
            elif j.grade == 2:  # substitute: same type, another value
                assert p.get("product_type") == qtype.key and p.get(attribute) != value
            elif j.grade == 1:  # complement: the type's accessory
                assert p.get("product_type") == qtype.accessory
            else:
                assert p.get("product_type") not in (qtype.key, qtype.accessory)


def test_query_kinds_need_both_sides(sample):
    products, js, queries, manifest = _load(sample)
    kinds = manifest["query_kinds"]
    assert set(kinds.values()) == {"attribute", "brand", "synonym", "model"}
    for q in queries:
        if q["query_attributes"]["kind"] != "synonym":
            continue
        qtype = TYPES[q["query_attributes"]["product_type"]]
        synonym = next(s for s in qtype.synonyms if q["user_query"].endswith(s))
        for p in products.values():  # the synonym never appears in product text: only the dense side bridges it
            text = " ".join(str(p.get(f)) for f in ("title", "description", "bullet_points")).lower()
            assert not re.search(rf"\b{re.escape(synonym)}\b", text), (synonym, p.id)


def test_events_follow_labels_except_the_planted_contradictions(sample):
    _, js, _, manifest = _load(sample)
    counts = read_ubi_events(sample.events, queries=sample.queries)
    assert counts.events == manifest["events"] and not counts.skipped
    assert {"impression", "click", "add_to_cart", "purchase"} <= set(counts.action_totals)
    planted = {(c["query"], c["product_id"]) for c in manifest["contradictions"]}
    shown, clicked = {g: 0 for g in range(4)}, {g: 0 for g in range(4)}
    for j in js:
        if (j.query, j.product_id) in planted:
            continue
        eng = counts.pair(j.query, j.product_id)
        shown[j.grade] += eng.count("impression")
        clicked[j.grade] += eng.count("click")
    ctr = {g: clicked[g] / shown[g] for g in range(4) if shown[g]}
    assert ctr[3] > ctr[2] > ctr[0] and ctr[3] > 3 * ctr[0]
    assert len(manifest["contradictions"]) >= 2
    for c in manifest["contradictions"]:
        eng = counts.pair(c["query"], c["product_id"])
        assert eng.count("impression") > 0
        if c["label"] == "I":
            assert eng.count("click") > 0 and eng.count("purchase") > 0
        else:
            assert eng.count("click") == 0


def test_deterministic_for_a_seed(tmp_path):
    a = write_sample(tmp_path / "a", seed=5, n_products=80, n_queries=12)
    b = write_sample(tmp_path / "b", seed=5, n_products=80, n_queries=12)
    c = write_sample(tmp_path / "c", seed=6, n_products=80, n_queries=12)
    for name in ("catalog", "judgments", "events", "queries", "manifest"):
        assert getattr(a, name).read_bytes() == getattr(b, name).read_bytes(), name
    assert a.catalog.read_bytes() != c.catalog.read_bytes()
    assert len(read_queries(a.queries)) == 12
    assert sum(1 for _ in read_catalog(a.catalog)) == 80


def test_sizes_are_checked(tmp_path):
    with pytest.raises(InputError, match="at least"):
        write_sample(tmp_path, n_products=10)
    with pytest.raises(InputError, match="between 1 and 200"):
        write_sample(tmp_path, n_queries=0)
