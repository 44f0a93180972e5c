"""VectorIndex: OpenSearch k-NN scores per space, radial min_score, HNSW vs exact, save/load."""

from __future__ import annotations

import numpy as np
import pytest

from mrs.engine.vectors import VectorIndex
from mrs.errors import InputError


def test_cosinesimil_scores():
    # docs [1,0], [0,1], [1,1] (stored normalized: [0.7071, 0.7071]); query [2,0] normalizes to [1,0]
    # cos = 1, 0, 0.70711 → (1 + cos)/2 = 1.0, 0.5, 0.85355
    index = VectorIndex(np.array([[1, 0], [0, 1], [1, 1]], dtype=np.float32), "cosinesimil")
    rows, scores = index.search(np.array([2.0, 0.0]), k=3)
    assert rows.tolist() == [0, 2, 1]
    np.testing.assert_allclose(scores, [1.0, 0.853553, 0.5], atol=1e-6)
    np.testing.assert_allclose(index.scores_for([2.0, 0.0], [1, 0]), [0.5, 1.0], atol=1e-6)


def test_innerproduct_scores():
    # ip with query [1,0]: 2, 0, −1 → ip > 0: ip + 1 = 3; else 1/(1 − ip): 1/(1 − 0) = 1, 1/(1 + 1) = 0.5
    index = VectorIndex(np.array([[2, 0], [0, 1], [-1, 0]], dtype=np.float32), "innerproduct")
    rows, scores = index.search(np.array([1.0, 0.0]), k=2)
    assert rows.tolist() == [0, 1]
    np.testing.assert_allclose(scores, [3.0, 1.0])
    np.testing.assert_allclose(index.scores_for([1.0, 0.0], [2]), [0.5])


def test_l2_scores():
    # squared distances from [0,0]: 0, 25, 1 → 1/(1 + d²) = 1, 1/26 = 0.0384615, 0.5
    index = VectorIndex(np.array([[0, 0], [3, 4], [1, 0]], dtype=np.float32), "l2")
    rows, scores = index.search(np.array([0.0, 0.0]), k=3)
    assert rows.tolist() == [0, 2, 1]
    np.testing.assert_allclose(scores, [1.0, 0.5, 1 / 26])


def test_radial_min_score_keeps_scores_at_or_above_threshold():
    # l2 scores as above: 1, 1/26, 0.5; min_score 0.5 keeps docs 0 and 2 (0.5 ≥ 0.5 is kept)
    index = VectorIndex(np.array([[0, 0], [3, 4], [1, 0]], dtype=np.float32), "l2")
    rows, scores = index.search(np.array([0.0, 0.0]), min_score=0.5)
    assert rows.tolist() == [0, 2]
    np.testing.assert_allclose(scores, [1.0, 0.5])
    with pytest.raises(InputError, match="exactly one"):
        index.search(np.array([0.0, 0.0]), k=2, min_score=0.5)
    with pytest.raises(InputError, match="exactly one"):
        index.search(np.array([0.0, 0.0]))


def test_ties_break_by_document_order_and_dimension_checked():
    index = VectorIndex(np.array([[1, 0], [1, 0], [0, 1]], dtype=np.float32))
    rows, _ = index.search(np.array([1.0, 0.0]), k=2)
    assert rows.tolist() == [0, 1]
    with pytest.raises(InputError, match="dimension 3"):
        index.search(np.array([1.0, 0.0, 0.0]), k=1)


@pytest.mark.parametrize("space", ["cosinesimil", "innerproduct", "l2"])
def test_exact_top_k_equals_scoring_every_document(space):
    # Exact search selects the top k on raw values before scoring; it must return what sorting every
    # document's score (desc, then index asc) returns, also with duplicated vectors tied across the cut.
    rng = np.random.default_rng(3)
    base = rng.standard_normal((40, 8)).astype(np.float32)
    vectors = np.concatenate([base, base[:10], base[5:15]])  # docs 40..59 repeat docs 0..14
    index = VectorIndex(vectors, space)
    for query in rng.standard_normal((5, 8)):
        all_scores = index.scores_for(query, np.arange(len(vectors)))
        expected = sorted(range(len(vectors)), key=lambda i: (-all_scores[i], i))
        for k in (1, 3, 10, 59, 60, 100):
            rows, scores = index.search(query, k=k)
            assert rows.tolist() == expected[:k]
            np.testing.assert_array_equal(scores, all_scores[rows])


@pytest.mark.parametrize("space", ["cosinesimil", "innerproduct", "l2"])
def test_hnsw_agrees_with_exact(space, tmp_path):
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(400, 16)).astype(np.float32)
    queries = rng.normal(size=(10, 16)).astype(np.float32)
    exact = VectorIndex(vectors, space)
    hnsw = VectorIndex(vectors, space, hnsw_threshold=0)
    assert exact.method == "exact" and hnsw.method == "hnsw"
    overlap = 0
    for q in queries:
        e_rows, e_scores = exact.search(q, k=10)
        h_rows, h_scores = hnsw.search(q, k=10)
        overlap += len(set(e_rows.tolist()) & set(h_rows.tolist()))
        # scores of the same documents are identical (both computed exactly from the stored vectors)
        common = sorted(set(e_rows.tolist()) & set(h_rows.tolist()))
        np.testing.assert_allclose(exact.scores_for(q, common), hnsw.scores_for(q, common))
    assert overlap / 100 >= 0.95  # ef_search 100 on 400 points: near-exact
    # radial on HNSW returns the same set as exact for a threshold between the 5th and 6th score
    q = queries[0]
    e_rows, e_scores = exact.search(q, k=6)
    threshold = float((e_scores[4] + e_scores[5]) / 2)
    h_rows, h_scores = hnsw.search(q, min_score=threshold)
    assert h_rows.tolist() == e_rows[:5].tolist() and (h_scores >= threshold).all()
    # save / load keeps the graph and the results
    hnsw.save(tmp_path / "v")
    assert (tmp_path / "v" / "hnsw.faiss").exists()
    loaded = VectorIndex.load(tmp_path / "v")
    assert loaded.method == "hnsw" and loaded.params() == hnsw.params()
    assert loaded.search(q, k=10)[0].tolist() == hnsw.search(q, k=10)[0].tolist()


def test_load_missing_or_corrupt_is_input_error(tmp_path):
    VectorIndex(np.eye(3, dtype=np.float32)).save(tmp_path / "v")
    assert VectorIndex.load(tmp_path / "v").search(np.array([0, 1, 0]), k=1)[0].tolist() == [1]
    (tmp_path / "v" / "vectors.npy").write_bytes(b"garbage")
    with pytest.raises(InputError, match="corrupt vectors"):
        VectorIndex.load(tmp_path / "v")
    with pytest.raises(InputError, match="missing its vector parameters"):
        VectorIndex.load(tmp_path / "absent")


def test_hnsw_ef_search_is_per_call_so_threads_with_different_k_do_not_race():
    from concurrent.futures import ThreadPoolExecutor

    rng = np.random.default_rng(7)
    vectors = rng.normal(size=(600, 16)).astype(np.float32)
    index = VectorIndex(vectors, "cosinesimil", hnsw_threshold=0, ef_search=16)
    built_ef = index._hnsw.hnsw.efSearch
    queries = rng.normal(size=(24, 16)).astype(np.float32)
    ks = [1 if i % 2 else 300 for i in range(len(queries))]  # efSearch 16 vs 300 interleaved
    alone = [index.search(q, k=k) for q, k in zip(queries, ks, strict=True)]
    assert index._hnsw.hnsw.efSearch == built_ef  # searching never writes the shared index
    with ThreadPoolExecutor(max_workers=8) as pool:
        for _ in range(3):
            together = list(pool.map(lambda qk: index.search(qk[0], k=qk[1]), zip(queries, ks, strict=True)))
            for (rows_a, scores_a), (rows_b, scores_b) in zip(alone, together, strict=True):
                np.testing.assert_array_equal(rows_a, rows_b)
                np.testing.assert_array_equal(scores_a, scores_b)
