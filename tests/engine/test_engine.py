"""EmbeddedEngine: build → open → lexical / knn / hybrid / score_documents; cache reuse; atomic rebuild."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mrs.data.catalog import Product
from mrs.engine.bm25 import MultiFieldBM25
from mrs.engine.engine import EmbeddedEngine
from mrs.engine.vectors import VectorIndex
from mrs.errors import InputError, OutputError
from mrs.indexer.backend import SearchBackend
from mrs.indexer.embed import Encoder
from mrs.models import model_identity

CATALOG = [
    Product("p1", {"title": "Red cotton shirt", "brand": "Acme", "color": "red", "category": ["Clothing", "Shirts"]}),
    Product("p2", {"title": "Blue denim jeans", "brand": "Denimco", "color": "blue", "category": ["Clothing", "Pants"]}),
    Product("p3", {"title": "Stainless steel chef knife", "brand": "Cutco", "category": ["Kitchen", "Knives"]}),
    Product("p4", {"title": "Garden hose 50 ft", "brand": "Flexi", "color": "green", "category": ["Garden", "Watering"]}),
    Product("p5", {"title": "Red kitchen towel set", "brand": "Acme", "color": "red", "category": ["Kitchen", "Linens"]}),
]


@pytest.fixture(scope="module")
def identity():
    return model_identity(None)


@pytest.fixture(scope="module")
def built(minilm, identity, tmp_path_factory):
    index_dir = tmp_path_factory.mktemp("engine") / "index"
    stats = EmbeddedEngine.build(index_dir, CATALOG, encoder=Encoder(minilm, identity))
    return index_dir, stats


def test_build_and_open(built):
    index_dir, stats = built
    assert (stats.documents, stats.embedded, stats.cached, stats.vector_method) == (5, 5, 0, "exact")
    engine = EmbeddedEngine.open(index_dir)
    assert isinstance(engine, SearchBackend)
    assert engine.count() == 5 and engine.ids == ["p1", "p2", "p3", "p4", "p5"]
    m = engine.manifest
    assert m["model"]["name"] == "all-MiniLM-L6-v2" and m["model"]["dimension"] == 384
    assert m["vectors"]["space_type"] == "cosinesimil" and m["encoder"]["backend"] == "torch"
    assert m["bm25"]["fields"]["title"] == 3.0 and m["bm25"]["similarity"] == "BM25"
    assert m["counts"] == {"documents": 5, "embedded": 5, "cached": 0}
    assert engine.stored[0]["category"] == ["Clothing", "Shirts"]


def test_lexical_is_multifield_bm25(built):
    engine = EmbeddedEngine.open(built[0])
    hits = engine.lexical("red shirt", k=10, with_source=True)
    # the same BM25 built by hand over the same field texts gives the same ranking and raw scores
    bm = MultiFieldBM25({"title": 3, "brand": 2, "color": 1, "category": 1, "bullet_points": 1, "description": 1})
    bm.build([{"title": p.get("title"), "brand": p.get("brand"), "color": p.get("color"),
               "category": " > ".join(p.get("category"))} for p in CATALOG])
    rows, scores = bm.search("red shirt", 10)
    assert [h.id for h in hits] == [CATALOG[r].id for r in rows] and hits[0].id == "p1"
    np.testing.assert_allclose([h.score for h in hits], scores, rtol=1e-6)
    assert hits[0].scores == {"lexical": hits[0].score, "dense": None}
    assert hits[0].source["title"] == "Red cotton shirt"
    assert {h.id for h in hits} == {"p1", "p5"}  # only documents a term matched
    with pytest.raises(InputError, match="empty query"):
        engine.lexical("  ", k=3)


def test_knn_scores_are_cosinesimil(built, minilm, identity):
    engine = EmbeddedEngine.open(built[0])
    enc = Encoder(minilm, identity)
    q = enc.encode_query("kitchen knife")
    hits = engine.knn(q, k=2)
    assert hits[0].id == "p3"
    doc = enc.encode([engine.manifest["text_template"] and "Stainless steel chef knife. Brand: Cutco. Category: Kitchen > Knives"])[0]
    cos = float(np.dot(q, doc))
    assert hits[0].score == pytest.approx((1 + cos) / 2, abs=1e-6)  # cosinesimil: (1 + cos) / 2
    radial = engine.knn(q, min_score=hits[1].score)
    assert [h.id for h in radial] == [h.id for h in hits]


def test_score_documents(built, minilm, identity):
    engine = EmbeddedEngine.open(built[0])
    q = Encoder(minilm, identity).encode_query("red shirt")
    got = engine.score_documents("red shirt", q, ["p1", "p3", "nope"])
    lex = {h.id: h.score for h in engine.lexical("red shirt", 10)}
    dense = {h.id: h.score for h in engine.knn(q, k=5)}
    assert got["p1"] == {"lexical": pytest.approx(lex["p1"]), "dense": pytest.approx(dense["p1"])}
    assert got["p3"]["lexical"] is None and got["p3"]["dense"] == pytest.approx(dense["p3"])
    assert got["nope"] == {"lexical": None, "dense": None}


def test_hybrid_default_pipeline_min_max_arithmetic(built, minilm, identity):
    engine = EmbeddedEngine.open(built[0])
    q = Encoder(minilm, identity).encode_query("red shirt")
    k = 5
    hits = engine.hybrid("red shirt", q, k=k)
    lex = {h.id: h.score for h in engine.lexical("red shirt", k)}
    dense = {h.id: h.score for h in engine.knn(q, k=k)}

    def min_max(scores):  # (s − min)/(max − min), a 0 becomes 0.001
        lo, hi = min(scores.values()), max(scores.values())
        return {i: max((s - lo) / (hi - lo), 0.001) if hi > lo else 1.0 for i, s in scores.items()}

    nl, nd = min_max(lex), min_max(dense)
    # arithmetic_mean with weights 0.7 lexical / 0.3 dense; a doc missing from a sub-query scores 0 there
    expected = {i: 0.7 * nl.get(i, 0.0) + 0.3 * nd.get(i, 0.0) for i in set(lex) | set(dense)}
    assert {h.id for h in hits} == set(expected)
    for h in hits:
        assert h.score == pytest.approx(expected[h.id], abs=1e-5)
        assert h.scores["lexical"] == (pytest.approx(lex[h.id]) if h.id in lex else None)
        assert h.normalized["dense"] == pytest.approx(nd[h.id], abs=1e-5)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert hits[0].id == "p1"  # matched lexically and closest densely


def test_hybrid_rrf_pipeline_from_json_body(built, minilm, identity):
    engine = EmbeddedEngine.open(built[0])
    q = Encoder(minilm, identity).encode_query("red shirt")
    body = {"phase_results_processors": [{"score-ranker-processor": {"combination": {"technique": "rrf", "rank_constant": 60}}}]}
    hits = engine.hybrid("red shirt", q, k=3, pipeline=body)
    # p1 is rank 1 in both sub-queries: 1/61 rounded to 10 decimals = 0.0163934426, twice = 0.0327868852
    # (OpenSearch returns float32 scores: 0.03278688 to 7 digits)
    assert hits[0].id == "p1" and hits[0].score == pytest.approx(0.0327868852, abs=1e-8)


def test_search_convenience_and_bad_input(built, minilm, identity):
    engine = EmbeddedEngine.open(built[0])
    enc = Encoder(minilm, identity)
    assert engine.search("kitchen knife", mode="dense", k=1, encoder=enc)[0].id == "p3"
    assert engine.search("garden hose", mode="hybrid", k=2, encoder=enc)[0].source["title"] == "Garden hose 50 ft"
    with pytest.raises(InputError, match="unknown mode"):
        engine.search("x", mode="fuzzy", encoder=enc)
    with pytest.raises(InputError, match="does not apply to lexical"):
        engine.search("x", mode="lexical", min_score=0.5)


class _TinyModel:
    """A stand-in model making 8-dimensional vectors (for the dimension-mismatch check)."""

    def get_embedding_dimension(self):
        return 8

    def encode(self, texts, **kwargs):
        return np.ones((len(texts), 8), dtype=np.float32)


def test_query_model_dimension_mismatch(built):
    engine = EmbeddedEngine.open(built[0])
    small = Encoder(_TinyModel(), {"name": "tiny", "path": "tiny", "sha256": "0"})
    with pytest.raises(InputError, match="8-dimensional vectors, the index holds 384"):
        engine.search("red shirt", mode="dense", encoder=small)


def test_cache_reuse_and_changed_product(minilm, identity, tmp_path):
    enc = Encoder(minilm, identity)
    index_dir = tmp_path / "index"
    first = EmbeddedEngine.build(index_dir, CATALOG, encoder=enc)
    before = EmbeddedEngine.open(index_dir).vectors.vectors.copy()
    again = EmbeddedEngine.build(index_dir, CATALOG, encoder=enc)
    assert (first.embedded, again.embedded, again.cached) == (5, 0, 5)
    changed = [Product(p.id, dict(p.fields)) for p in CATALOG]
    changed[1].fields["title"] = "Black denim jeans"
    third = EmbeddedEngine.build(index_dir, changed, encoder=enc)
    assert (third.embedded, third.cached) == (1, 4)
    after = EmbeddedEngine.open(index_dir).vectors.vectors
    np.testing.assert_array_equal(after[[0, 2, 3, 4]], before[[0, 2, 3, 4]])
    assert not np.allclose(after[1], before[1])
    np.testing.assert_allclose(after[1], enc.encode(["Black denim jeans. Brand: Denimco. Color: blue. Category: Clothing > Pants"])[0], atol=1e-5)
    # the stored BM25 fields follow the change too
    assert [h.id for h in EmbeddedEngine.open(index_dir).lexical("black", 5)] == ["p2"]


def test_identical_embedding_texts_are_encoded_once(minilm, identity, tmp_path):
    twins = CATALOG + [Product("p1-copy", dict(CATALOG[0].fields))]
    stats = EmbeddedEngine.build(tmp_path / "i", twins, encoder=Encoder(minilm, identity))
    assert (stats.documents, stats.embedded, stats.cached) == (6, 5, 0)
    vectors = EmbeddedEngine.open(tmp_path / "i").vectors.vectors
    np.testing.assert_array_equal(vectors[5], vectors[0])


def test_interrupted_rebuild_leaves_previous_index(minilm, identity, tmp_path, monkeypatch):
    enc = Encoder(minilm, identity)
    index_dir = tmp_path / "index"
    EmbeddedEngine.build(index_dir, CATALOG, encoder=enc)
    before = [h.id for h in EmbeddedEngine.open(index_dir).lexical("red", 5)]

    def crash(self, directory):
        raise OSError("disk full")

    monkeypatch.setattr(VectorIndex, "save", crash)
    with pytest.raises(OutputError, match="disk full"):  # the OS failure, naming the index (mrs.atomic)
        EmbeddedEngine.build(index_dir, CATALOG[:2], encoder=enc)
    engine = EmbeddedEngine.open(index_dir)
    assert engine.count() == 5 and [h.id for h in engine.lexical("red", 5)] == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [".index.lock", "index"]  # the lock file stays


@pytest.mark.parametrize("space", ["innerproduct", "l2"])
def test_vector_spaces_through_the_engine(space, minilm, identity, tmp_path):
    enc = Encoder(minilm, identity, space_type=space)
    EmbeddedEngine.build(tmp_path / "i", CATALOG, encoder=enc, hnsw_threshold=0)
    engine = EmbeddedEngine.open(tmp_path / "i")
    assert engine.space_type == space and engine.vectors.method == "hnsw"
    q = enc.encode_query("garden hose")
    raw = minilm.encode(["Garden hose 50 ft. Brand: Flexi. Color: green. Category: Garden > Watering"],
                        convert_to_numpy=True, normalize_embeddings=False)[0]
    hit = engine.knn(q, k=1)[0]
    assert hit.id == "p4"
    if space == "innerproduct":
        ip = float(np.dot(q, raw))  # ip > 0 → score ip + 1
        assert ip > 0 and hit.score == pytest.approx(ip + 1, rel=1e-5)
    else:
        d2 = float(np.sum((q - raw) ** 2))  # l2 → 1 / (1 + d²)
        assert hit.score == pytest.approx(1 / (1 + d2), rel=1e-5)


def test_missing_and_corrupt_index(built, tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        EmbeddedEngine.open(tmp_path / "absent")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no manifest.json"):
        EmbeddedEngine.open(tmp_path / "empty")
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(built[0], broken)
    (broken / "manifest.json").write_text("{not json")
    with pytest.raises(InputError, match="corrupt manifest"):
        EmbeddedEngine.open(broken)
    shutil.rmtree(broken)
    shutil.copytree(built[0], broken)
    lines = (broken / "documents.jsonl").read_text().splitlines()
    (broken / "documents.jsonl").write_text("\n".join(lines[:3]) + "\n")
    with pytest.raises(InputError, match="3 documents, 5 vectors"):
        EmbeddedEngine.open(broken)
    manifest = json.loads((built[0] / "manifest.json").read_text())
    assert manifest["format_version"] == 2


def test_a_new_max_seq_length_embeds_again_instead_of_reusing_the_cache(identity, tmp_path):
    """The cache key includes the truncation length: vectors cut at 8 tokens are never reused at 256."""
    from sentence_transformers import SentenceTransformer

    from mrs.models import resolve_model

    model = SentenceTransformer(str(resolve_model(None)), device="cpu")
    index_dir = tmp_path / "index"
    first = EmbeddedEngine.build(index_dir, CATALOG, encoder=Encoder(model, identity))
    again = EmbeddedEngine.build(index_dir, CATALOG, encoder=Encoder(model, identity))
    model.max_seq_length = 8
    cut = EmbeddedEngine.build(index_dir, CATALOG, encoder=Encoder(model, identity))
    assert (first.embedded, again.cached, cut.embedded, cut.cached) == (5, 5, 5, 0)
