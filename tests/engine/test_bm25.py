"""BM25 as Lucene/OpenSearch scores it: hand-computed numbers for both similarities, norms, fields, multi_match."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mrs.engine.analysis import Analyzer
from mrs.engine.bm25 import FieldBM25, MultiFieldBM25, parse_fields, top_k
from mrs.errors import InputError

# Corpus used for the hand computation (one field, standard analyzer):
#   d0 "red shoe"     dl = 2
#   d1 "blue shoe"    dl = 2
#   d2 "red red hat"  dl = 3
# N = 3, sumTotalTermFreq = 7, avgdl = 7/3.
# Query "red": df = 2 → idf = ln(1 + (3 − 2 + 0.5)/(2 + 0.5)) = ln(1.6) = 0.4700036292
#   d0: tf 1, K = 1.2·(0.25 + 0.75·2/(7/3)) = 1.2·0.8928571 = 1.0714286
#       BM25 = idf · 1/(1 + K)   = 0.4700036 · 0.4827586 = 0.2268983
#   d2: tf 2, K = 1.2·(0.25 + 0.75·3/(7/3)) = 1.2·1.2142857 = 1.4571429
#       BM25 = idf · 2/(2 + K)   = 0.4700036 · 0.5785124 = 0.2719030
#   LegacyBM25 multiplies by (k1 + 1) = 2.2: d0 0.4991763, d2 0.5981866
CORPUS = ["red shoe", "blue shoe", "red red hat"]


def _field(similarity="BM25", boost=1.0):
    analyzer = Analyzer("standard")
    return FieldBM25(similarity, boost=boost).build([analyzer.tokens(t) for t in CORPUS])


def test_bm25_matches_hand_computation():
    f = _field("BM25")
    scores, matched = f.scores(["red"])
    assert f.doc_count == 3 and f.sum_total_term_freq == 7
    assert f.avgdl == pytest.approx(7 / 3, rel=1e-7)
    assert f.idf("red") == pytest.approx(math.log(1.6), rel=1e-7)
    assert scores[0] == pytest.approx(0.2268983, rel=1e-6)
    assert scores[1] == 0.0
    assert scores[2] == pytest.approx(0.2719030, rel=1e-6)
    assert matched.tolist() == [True, False, True]
    assert scores.dtype == np.float32


def test_legacy_bm25_multiplies_by_k1_plus_1():
    legacy, _ = _field("LegacyBM25").scores(["red"])
    assert legacy[0] == pytest.approx(0.2268983 * 2.2, rel=1e-6)  # 0.4991763
    assert legacy[2] == pytest.approx(0.2719030 * 2.2, rel=1e-6)  # 0.5981866


def test_match_query_sums_terms_and_counts_duplicates():
    f = _field()
    # "shoe": df = 2 → idf = ln 1.6 as well; d0 and d1 tf 1, dl 2 → 0.2268983 each
    s_red, _ = f.scores(["red"])
    s_shoe, _ = f.scores(["shoe"])
    s_both, _ = f.scores(["red", "shoe"])
    np.testing.assert_allclose(s_both, s_red + s_shoe, rtol=1e-6)
    assert s_both[0] == pytest.approx(0.2268983 * 2, rel=1e-6)
    s_twice, _ = f.scores(["red", "red"])
    np.testing.assert_allclose(s_twice, 2 * s_red, rtol=1e-6)
    none, matched = f.scores(["missing"])
    assert not none.any() and not matched.any()


def test_long_field_uses_quantized_length():
    # d0 = "red" + 99 fillers (dl 100, stored as 96), d1 = "blue" (dl 1). N 2, avgdl = 101/2 = 50.5 (exact).
    # idf(red) = ln(1 + 1.5/1.5) = ln 2 = 0.6931472
    # K = 1.2·(0.25 + 0.75·96/50.5) = 1.2·1.6757426 = 2.0108911 → BM25 = ln 2/3.0108911 = 0.2302133
    # (with the exact length 100: K = 2.0821782 → 0.2248887, which Lucene never produces)
    analyzer = Analyzer("standard")
    docs = ["red " + " ".join(["filler"] * 99), "blue"]
    f = FieldBM25().build([analyzer.tokens(t) for t in docs])
    assert f.avgdl == pytest.approx(50.5)
    s, _ = f.scores(["red"])
    assert s[0] == pytest.approx(0.2302133, rel=1e-6)
    assert s[0] != pytest.approx(0.2248887, rel=1e-4)


def test_doc_missing_field_does_not_count():
    docs = [
        {"title": "red shoe", "brand": "acme"},
        {"title": "blue shoe"},
        {"title": "red hat", "brand": None},
        {"title": "green hat", "brand": ""},
    ]
    bm = MultiFieldBM25({"title": 1.0, "brand": 1.0}).build(docs)
    brand = bm.fields["brand"]
    assert brand.doc_count == 1 and brand.avgdl == 1.0
    # brand "acme": N = 1 (only d0 has the field), df 1 → idf = ln(1 + 0.5/1.5) = ln(4/3) = 0.2876821
    # dl = avgdl = 1 → K = 1.2 → 0.2876821/2.2 = 0.1307646   (N = 4 would give ln(1 + 3.5/1.5)/2.2 = 0.5472)
    s = bm.field_scores("acme")["brand"]
    assert s[0] == pytest.approx(0.1307646, rel=1e-6)
    assert s[1:].tolist() == [0.0, 0.0, 0.0]


def test_best_fields_with_boosts_and_tie_breaker():
    docs = [{"title": "red shoe", "brand": "red"}, {"title": "blue shoe", "brand": "acme"}]
    # title "red": N 2, df 1, idf = ln(1 + 1.5/1.5) = ln 2; avgdl 2, dl 2 → K = 1.2 → ln 2/2.2 = 0.3150669
    # brand "red": N 2, df 1, idf = ln 2; avgdl 1, dl 1 → K = 1.2 → 0.3150669
    # boosted: title^3 → 0.9452007, brand^2 → 0.6301338
    plain = MultiFieldBM25({"title": 3.0, "brand": 2.0}).build(docs)
    fs = plain.field_scores("red")
    assert fs["title"][0] == pytest.approx(0.9452007, rel=1e-6)
    assert fs["brand"][0] == pytest.approx(0.6301338, rel=1e-6)
    scores, matched = plain.score("red")
    assert scores[0] == pytest.approx(0.9452007, rel=1e-6)  # max only (tie_breaker 0)
    assert matched.tolist() == [True, False]
    tied = MultiFieldBM25({"title": 3.0, "brand": 2.0}, tie_breaker=0.3).build(docs)
    # 0.9452007 + 0.3 · 0.6301338 = 1.1342408
    assert tied.score("red")[0][0] == pytest.approx(1.1342408, rel=1e-6)


def test_agrees_with_bm25s_lucene_when_lengths_at_most_39():
    bm25s = pytest.importorskip("bm25s")
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(30)]
    corpus = [list(rng.choice(words, size=int(rng.integers(1, 39)))) for _ in range(40)]
    ours = FieldBM25("BM25", k1=1.2, b=0.75).build(corpus)
    ref = bm25s.BM25(method="lucene", k1=1.2, b=0.75)
    ref.index(corpus, show_progress=False)
    for q in (["w1"], ["w2", "w3"], ["w4", "w5", "w6", "w7"]):
        np.testing.assert_allclose(ours.scores(q)[0], ref.get_scores(q), rtol=2e-6, atol=1e-7)


def test_search_orders_by_score_then_index_and_skips_unmatched():
    docs = [{"title": "hat"}, {"title": "red shoe"}, {"title": "red shoe"}, {"title": "red"}]
    bm = MultiFieldBM25({"title": 1.0}).build(docs)
    idx, scores = bm.search("red", k=10)
    # d3 is shortest (dl 1) → highest; d1 and d2 are identical → index order
    assert idx.tolist() == [3, 1, 2]
    assert scores[1] == scores[2] and scores[0] > scores[1]
    idx2, _ = bm.search("red", k=2)
    assert idx2.tolist() == [3, 1]
    assert bm.search("nothing", k=5)[0].size == 0


def test_score_matched_equals_whole_catalog_scoring_bit_for_bit():
    # The query path scores only the union of the query terms' postings; it must give exactly the numbers of
    # the whole-catalog formula (per field Σ term scores in float64 → float32, max + tie_breaker · others).
    rng = np.random.default_rng(7)
    words = [f"w{i}" for i in range(25)]
    docs = [{"title": " ".join(rng.choice(words, size=int(rng.integers(1, 8)))),
             "brand": " ".join(rng.choice(words[:5], size=int(rng.integers(0, 3)))) or None,
             "description": " ".join(rng.choice(words, size=int(rng.integers(0, 60))))} for _ in range(300)]
    for tie in (0.0, 0.3):
        bm = MultiFieldBM25({"title": 3.0, "brand": 2.0, "description": 1.0}, tie_breaker=tie).build(docs)
        for query in ("w1", "w2 w3 w2", "w0 w4 w9 w17 w24", "nothing here"):
            toks = bm.analyzer.tokens(query)
            per_field = np.stack([f.scores(toks)[0] for f in bm.fields.values()])
            best = per_field.max(axis=0)
            if tie:
                b64 = best.astype(np.float64)
                best = (b64 + float(np.float32(tie)) * (per_field.sum(axis=0, dtype=np.float64) - b64)).astype(
                    np.float32)
            matched = np.stack([f.scores(toks)[1] for f in bm.fields.values()]).any(axis=0)
            rows, scores = bm.score_matched(query)
            order = np.argsort(rows)
            assert rows[order].tolist() == np.flatnonzero(matched).tolist()  # each matched doc exactly once
            assert scores[order].tobytes() == best[matched].tobytes()
            idx, top = bm.search(query, k=20)
            ref_idx, ref_top = top_k(best, matched, 20)
            assert idx.tolist() == ref_idx.tolist() and top.tobytes() == ref_top.tobytes()


def test_top_k_keeps_ties_at_the_cut():
    scores = np.array([1.0, 2.0, 2.0, 2.0, 0.5], dtype=np.float32)
    idx, s = top_k(scores, np.ones(5, dtype=bool), 2)
    assert idx.tolist() == [1, 2] and s.tolist() == [2.0, 2.0]


def test_save_load_round_trip(tmp_path):
    docs = [{"title": "Red Running Shoes", "description": "light"}, {"title": "blue hat"}]
    bm = MultiFieldBM25({"title": 3.0, "description": 1.0}, analyzer="english", similarity="LegacyBM25").build(docs)
    bm.save(tmp_path)
    again = MultiFieldBM25.load(tmp_path)
    assert again.analyzer.name == "english" and again.similarity == "LegacyBM25"
    np.testing.assert_array_equal(again.score("running shoe")[0], bm.score("running shoe")[0])
    assert again.score("running shoe")[0][0] > 0  # english stemming: running → run, shoes → shoe


def test_load_missing_or_corrupt_is_input_error(tmp_path):
    with pytest.raises(InputError):
        MultiFieldBM25.load(tmp_path)
    (tmp_path / "bm25.json").write_text("{not json")
    with pytest.raises(InputError):
        MultiFieldBM25.load(tmp_path)


def test_bad_settings_rejected():
    with pytest.raises(InputError, match="similarity"):
        FieldBM25("TFIDF")
    with pytest.raises(InputError, match="tie_breaker"):
        MultiFieldBM25({"title": 1.0}, tie_breaker=2.0)


def test_parse_fields():
    assert parse_fields("title^3, brand^2,color") == {"title": 3.0, "brand": 2.0, "color": 1.0}
    for bad in ("", "title^x", "title,title", "^2"):
        with pytest.raises(InputError):
            parse_fields(bad)


# --- Lucene one-byte norms (SmallFloat.intToByte4 / byte4ToInt) ---


def test_norms_exact_up_to_39_then_quantized():
    from mrs.engine.norms import byte4_to_int, encode_lengths, encoded_length, int_to_byte4

    assert [encoded_length(n) for n in range(40)] == [float(n) for n in range(40)]
    # 100 − 24 = 76 = 0b1001100 → keep 4 bits 1001 → (1001)₂ << 3 = 72 → 24 + 72 = 96
    assert encoded_length(100) == 96.0
    # 1000 − 24 = 976 → 1111 << 6 = 960 → 984
    assert encoded_length(1000) == 984.0
    assert encoded_length(41) == 40.0  # 41 − 24 = 17 = 10001 → 1000 << 1 = 16 → 40
    assert int_to_byte4(2**31 - 1) == 255 and byte4_to_int(0) == 0
    lengths = np.arange(0, 5000)
    np.testing.assert_array_equal(encode_lengths(lengths), [int_to_byte4(int(n)) for n in lengths])


def test_concurrent_queries_from_threads_get_their_own_scratch():
    # score_matched keeps a slot table per thread; queries from several threads must not see each other's.
    from concurrent.futures import ThreadPoolExecutor

    rng = np.random.default_rng(11)
    words = [f"w{i}" for i in range(40)]
    docs = [{"title": " ".join(rng.choice(words, size=int(rng.integers(1, 12))))} for _ in range(2000)]
    bm = MultiFieldBM25({"title": 1.0}).build(docs)
    queries = [" ".join(rng.choice(words, size=3)) for _ in range(200)]
    expected = [bm.search(q, 20) for q in queries]
    with ThreadPoolExecutor(max_workers=4) as pool:
        got = list(pool.map(lambda q: bm.search(q, 20), queries * 3))
    for (idx, scores), (e_idx, e_scores) in zip(got, expected * 3, strict=True):
        assert idx.tolist() == e_idx.tolist() and scores.tobytes() == e_scores.tobytes()
