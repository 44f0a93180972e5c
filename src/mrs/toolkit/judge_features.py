"""Features of a (query, product) pair that a small judge can learn from a few hundred judged queries.

A fresh classification head over a cross-encoder cannot learn ESCI's exact / substitute / complement /
irrelevant distinction from 77 queries; these features say directly what the guideline asks about:

- ``cosine``: the embedding model's cosine between the query and the product text (base or Stage-1 model);
- ``bm25_<field>``: BM25 (k1 1.2, b 0.75, Lucene's idf ln(1 + (N − df + 0.5)/(df + 0.5))) of the query's tokens
  in the product's title, brand, color, category and bullet points, with the field statistics of the catalog
  the judge was fitted on (``FieldStats``);
- ``cover_<field>``: share of the query's tokens present in that field; ``cover_all``: in any field;
- ``brand_match`` / ``brand_conflict``: the product's brand appears in the query / the query names another
  brand of the catalog and not this one; ``color_match`` / ``color_conflict`` likewise for colours;
- ``number_match`` / ``number_conflict``: share of the query's numbers (sizes, counts, models: "12", "32gb")
  present in the title or bullet points / the query has numbers and none is present;
- ``head_match``: the query's head noun (its last non-number token, plural "s" stripped) is in the title;
  ``head_in_category``: it is in the category path;
- ``query_tokens``, ``title_tokens``: lengths (tokens).

Tokens: lower-cased runs of letters and digits (Unicode \\w), a trailing plural "s" stripped from words longer
than three letters — a light normalisation for matching, not the search engine's analyzer.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from mrs.data.catalog import Product
from mrs.data.text import as_list, field_text

FIELDS = ("title", "brand", "color", "category", "bullet_points")
K1, B = 1.2, 0.75
_TOKEN = re.compile(r"\w+", re.UNICODE)
_NUMBER = re.compile(r"\d")


def tokens(text: str) -> list[str]:
    """Lower-cased word tokens, plural "s" stripped from words of more than three letters ("towels" → "towel")."""
    out = []
    for t in _TOKEN.findall(text.lower()):
        if len(t) > 3 and t.endswith("s") and not t.endswith("ss") and not t[-2].isdigit():
            t = t[:-1]
        out.append(t)
    return out


def product_field(product: Product, name: str) -> str:
    """One field of a product as plain text (lists such as the category path joined by spaces)."""
    value = product.get(name)
    if name == "category":
        return " ".join(as_list(value))
    return field_text(value)


@dataclass
class FieldStats:
    """Per-field BM25 statistics of a catalog: documents having the field, mean length, document frequency;
    plus the catalog's brand and colour vocabularies (normalised token strings)."""

    docs: dict[str, int] = field(default_factory=dict)
    avg_len: dict[str, float] = field(default_factory=dict)
    df: dict[str, dict[str, int]] = field(default_factory=dict)
    brands: set[str] = field(default_factory=set)
    colors: set[str] = field(default_factory=set)

    @classmethod
    def fit(cls, products: Iterable[Product]) -> FieldStats:
        stats = cls({f: 0 for f in FIELDS}, {f: 0.0 for f in FIELDS}, {f: Counter() for f in FIELDS})
        for p in products:
            for f in FIELDS:
                toks = tokens(product_field(p, f))
                if toks:
                    stats.docs[f] += 1
                    stats.avg_len[f] += len(toks)
                    stats.df[f].update(set(toks))
            brand, color = " ".join(tokens(product_field(p, "brand"))), " ".join(tokens(product_field(p, "color")))
            if brand:
                stats.brands.add(brand)
            if color:
                stats.colors.add(color)
        for f in FIELDS:
            stats.avg_len[f] = stats.avg_len[f] / stats.docs[f] if stats.docs[f] else 0.0
            stats.df[f] = dict(stats.df[f])
        return stats

    def to_dict(self) -> dict:
        return {"docs": self.docs, "avg_len": self.avg_len, "df": self.df, "brands": sorted(self.brands),
                "colors": sorted(self.colors)}

    @classmethod
    def from_dict(cls, d: dict) -> FieldStats:
        return cls(dict(d["docs"]), dict(d["avg_len"]), {f: dict(v) for f, v in d["df"].items()},
                   set(d["brands"]), set(d["colors"]))

    def bm25(self, query: Sequence[str], doc: Sequence[str], name: str) -> float:
        """Σ over query tokens of idf × tf / (tf + k1 (1 − b + b dl / avgdl)) in field ``name``."""
        if not doc or not self.docs.get(name):
            return 0.0
        tf = Counter(doc)
        n, avg, df = self.docs[name], self.avg_len[name] or 1.0, self.df[name]
        score = 0.0
        for t in set(query):
            if t in tf:
                d = df.get(t, 0)
                idf = math.log(1 + (n - d + 0.5) / (d + 0.5))
                score += idf * tf[t] / (tf[t] + K1 * (1 - B + B * len(doc) / avg))
        return score


def _ngrams(toks: Sequence[str], longest: int = 4) -> set[str]:
    """Every run of 1..longest consecutive tokens, joined by spaces."""
    return {" ".join(toks[i:i + n]) for n in range(1, longest + 1) for i in range(len(toks) - n + 1)}


def _numbers(toks: Sequence[str]) -> set[str]:
    return {t for t in toks if _NUMBER.search(t)}


def head_noun(query_tokens: Sequence[str]) -> str | None:
    """The last token without a digit (English noun phrases end in their head: "queen memory foam mattress")."""
    words = [t for t in query_tokens if not _NUMBER.search(t)]
    return words[-1] if words else None


def pair_features(query: str, product: Product, stats: FieldStats) -> dict[str, float]:
    """The lexical and attribute features of one pair (module doc), without the cosine."""
    q = tokens(query)
    q_set = set(q)
    q_grams = _ngrams(q, longest=max(len(q), 1))
    out: dict[str, float] = {"query_tokens": float(len(q))}
    field_tokens = {f: tokens(product_field(product, f)) for f in FIELDS}
    present_any: set[str] = set()
    for f in FIELDS:
        doc = field_tokens[f]
        out[f"bm25_{f}"] = stats.bm25(q, doc, f)
        hit = q_set & set(doc)
        present_any |= hit
        out[f"cover_{f}"] = len(hit) / len(q_set) if q_set else 0.0
    out["cover_all"] = len(present_any) / len(q_set) if q_set else 0.0
    out["title_tokens"] = float(len(field_tokens["title"]))
    for name, vocab in (("brand", stats.brands), ("color", stats.colors)):
        own = " ".join(field_tokens[name])
        match = bool(own) and own in q_grams
        other = not match and any(g != own and len(g) > 2 and g in vocab for g in q_grams)
        out[f"{name}_match"] = float(match)
        out[f"{name}_conflict"] = float(other)
    q_numbers = _numbers(q)
    p_numbers = _numbers(field_tokens["title"]) | _numbers(field_tokens["bullet_points"])
    shared = q_numbers & p_numbers
    out["number_match"] = len(shared) / len(q_numbers) if q_numbers else 0.0
    out["number_conflict"] = float(bool(q_numbers) and not shared)
    head = head_noun(q)
    out["head_match"] = float(head is not None and head in set(field_tokens["title"]))
    out["head_in_category"] = float(head is not None and head in set(field_tokens["category"]))
    return out


FEATURE_NAMES: tuple[str, ...] = (
    "cosine", "query_tokens", *(f"bm25_{f}" for f in FIELDS), *(f"cover_{f}" for f in FIELDS), "cover_all",
    "title_tokens", "brand_match", "brand_conflict", "color_match", "color_conflict", "number_match",
    "number_conflict", "head_match", "head_in_category",
)


def feature_matrix(queries: Sequence[str], products: Sequence[Product], stats: FieldStats,
                   cosines: Sequence[float] | None) -> np.ndarray:
    """[n_pairs, len(FEATURE_NAMES)] float64, in FEATURE_NAMES order; cosines None → the cosine column is 0."""
    rows = np.zeros((len(queries), len(FEATURE_NAMES)))
    for i, (q, p) in enumerate(zip(queries, products, strict=True)):
        feats = pair_features(q, p, stats)
        feats["cosine"] = float(cosines[i]) if cosines is not None else 0.0
        rows[i] = [feats[name] for name in FEATURE_NAMES]
    return rows
