"""Block-max pruning returns exactly the exhaustive top k (scores, order, ties) on random catalogs."""

import numpy as np
import pytest

from mrs.engine.bm25 import MultiFieldBM25
from mrs.engine.bm25_pruning import BlockMax, _ranges

WORDS = [f"w{i}" for i in range(12)]


def random_docs(rng, n, fields=("title",)):
    """Docs of 0–6 words from a 12-word Zipf-ish vocabulary; every 7th doc copies an earlier one (exact ties)."""
    p = 1.0 / np.arange(1, len(WORDS) + 1)
    p /= p.sum()
    docs = []
    for i in range(n):
        if i % 7 == 6:
            docs.append(dict(docs[int(rng.integers(0, i))]))
            continue
        docs.append({f: " ".join(rng.choice(WORDS, size=int(rng.integers(0, 7)), p=p)) for f in fields})
    return docs


def expected_top_k(bm, text, k, allowed=None):
    """Exhaustive reference: every document's score, sorted by (score desc, index asc) in Python."""
    scores, matched = bm.score(text)
    if allowed is not None:
        matched &= allowed
    ranked = sorted((-float(scores[i]), i) for i in np.flatnonzero(matched))[:k]
    return [i for _, i in ranked], [-s for s, _ in ranked]


def pruned(bm, shift=2):
    bm.block_shift = shift
    bm._tables = None
    bm.prune_min_postings = 0
    return bm


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("k", [1, 3, 10, 500])
def test_pruned_equals_exhaustive_one_field(seed, k):
    rng = np.random.default_rng(seed)
    bm = pruned(MultiFieldBM25({"title": 1.0}).build(random_docs(rng, 300)), shift=int(rng.integers(0, 5)))
    for _ in range(15):
        q = " ".join(rng.choice(WORDS, size=int(rng.integers(1, 5))))  # duplicates included
        rows, scores = bm.search(q, k)
        want_rows, want_scores = expected_top_k(bm, q, k)
        assert rows.tolist() == want_rows
        assert scores.tolist() == want_scores


@pytest.mark.parametrize("tie_breaker", [0.0, 0.3, 1.0])
def test_pruned_equals_exhaustive_multi_field_filtered(tie_breaker):
    rng = np.random.default_rng(42)
    docs = random_docs(rng, 400, fields=("title", "brand"))
    bm = pruned(MultiFieldBM25({"title": 3.0, "brand": 1.5}, tie_breaker=tie_breaker).build(docs), shift=3)
    allowed = rng.random(400) < 0.4
    for _ in range(20):
        q = " ".join(rng.choice(WORDS, size=int(rng.integers(1, 4))))
        for k, mask in ((5, None), (5, allowed), (50, allowed)):
            rows, scores = bm.search(q, k, allowed=mask)
            assert (rows.tolist(), scores.tolist()) == expected_top_k(bm, q, k, mask)


def test_all_equal_scores_keep_the_lowest_indices():
    """Identical documents tie everywhere: the top k are the k lowest indices, across blocks."""
    bm = pruned(MultiFieldBM25({"title": 1.0}).build([{"title": "red shoe"}] * 64), shift=2)
    rows, scores = bm.search("shoe", 5)
    assert rows.tolist() == [0, 1, 2, 3, 4]
    assert len(set(scores.tolist())) == 1


def test_pruning_skips_blocks_that_cannot_compete():
    """One block holds the only documents with the rare term: the other blocks are never scored."""
    docs = [{"title": "common"} for _ in range(256)]
    docs[130] = {"title": "common rare"}
    docs[131] = {"title": "rare common"}
    bm = pruned(MultiFieldBM25({"title": 1.0}).build(docs), shift=3)  # 32 blocks of 8 documents
    seen = []
    best_fields = bm.best_fields

    def counting(postings):
        seen.append(sum(rows.size for rows, _ in postings))
        return best_fields(postings)

    bm.best_fields = counting
    rows, _ = bm.search("rare common", 2)
    assert sorted(rows.tolist()) == [130, 131]
    assert sum(seen) < 256 + 2  # exhaustive scoring reads all 258 postings


def test_exhaustive_when_early_termination_is_off():
    rng = np.random.default_rng(3)
    bm = pruned(MultiFieldBM25({"title": 1.0}).build(random_docs(rng, 200)))
    a = bm.search("w0 w1", 10)
    b = bm.search("w0 w1", 10, early_termination=False)
    assert a[0].tolist() == b[0].tolist() and a[1].tolist() == b[1].tolist()


def test_block_table_by_hand():
    # term 0 in docs 0, 1, 5 (scores 1, 3, 2); term 1 in doc 4 (score 7); term 2 has no postings; blocks of 4
    indptr = np.array([0, 3, 4, 4])
    indices = np.array([0, 1, 5, 4], dtype=np.int32)
    data = np.array([1, 3, 2, 7], dtype=np.float32)
    t = BlockMax(indptr, indices, data, shift=2)
    assert t.block.tolist() == [0, 1, 1]
    assert t.start.tolist() == [0, 2, 3] and t.end.tolist() == [2, 3, 4]
    assert t.max_score.tolist() == [3, 2, 7]
    assert [t.entries(i) for i in range(3)] == [slice(0, 2), slice(2, 3), slice(3, 3)]


def test_ranges():
    assert _ranges(np.array([5, 0, 9]), np.array([7, 0, 10])).tolist() == [5, 6, 9]
    assert _ranges(np.array([], dtype=np.int64), np.array([], dtype=np.int64)).tolist() == []
