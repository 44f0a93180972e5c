"""MaxScore early termination returns exactly the exhaustive top k (scores, order, ties) on random catalogs."""

import numpy as np
import pytest

from mrs.engine import bm25_maxscore
from mrs.engine.bm25 import MultiFieldBM25
from mrs.engine.bm25_maxscore import maxscore_top_k, term_max_scores

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


def pruned(bm):
    bm.prune_min_postings = 0  # early termination for every query, however short
    return bm


def direct(bm, text, k, allowed=None):
    """maxscore_top_k itself (None where it declines and search falls back to exhaustive scoring)."""
    toks = bm.analyzer.tokens(text)
    fields = list(bm.fields.values())
    terms = [[f.vocab[t] for t in toks if t in f.vocab] for f in fields]
    zeros = np.zeros(bm.n_docs, dtype=np.float32)
    found = maxscore_top_k(fields, terms, bm.max_scores(), k, bm.combine, zeros, allowed)
    assert not zeros.any()  # the scratch comes back all-zero
    return found


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("k", [1, 3, 10, 500])
def test_pruned_equals_exhaustive_one_field(seed, k):
    rng = np.random.default_rng(seed)
    bm = pruned(MultiFieldBM25({"title": 1.0}).build(random_docs(rng, 300)))
    answered = 0
    for _ in range(15):
        q = " ".join(rng.choice(WORDS, size=int(rng.integers(1, 5))))  # duplicates included
        want = expected_top_k(bm, q, k)
        rows, scores = bm.search(q, k)
        assert (rows.tolist(), scores.tolist()) == want
        found = direct(bm, q, k)
        if found is not None:
            answered += 1
            assert (found[0].tolist(), found[1].tolist()) == want
    assert answered > 0  # the pruned path itself ran, not only the exhaustive fallback


@pytest.mark.parametrize("tie_breaker", [0.0, 0.3, 1.0])
def test_pruned_equals_exhaustive_multi_field_filtered(tie_breaker):
    rng = np.random.default_rng(42)
    docs = random_docs(rng, 400, fields=("title", "brand"))
    bm = pruned(MultiFieldBM25({"title": 3.0, "brand": 1.5}, tie_breaker=tie_breaker).build(docs))
    allowed = rng.random(400) < 0.4
    answered = 0
    for _ in range(20):
        q = " ".join(rng.choice(WORDS, size=int(rng.integers(1, 4))))
        for k, mask in ((5, None), (5, allowed), (50, allowed)):
            want = expected_top_k(bm, q, k, mask)
            rows, scores = bm.search(q, k, allowed=mask)
            assert (rows.tolist(), scores.tolist()) == want
            found = direct(bm, q, k, mask)
            if found is not None:
                answered += 1
                assert (found[0].tolist(), found[1].tolist()) == want
    assert answered > 0


def test_all_equal_scores_keep_the_lowest_indices():
    """Identical documents tie everywhere: the top k are the k lowest indices."""
    bm = pruned(MultiFieldBM25({"title": 1.0}).build([{"title": "red shoe"}] * 64 + [{"title": "shoe"}] * 64))
    rows, scores = bm.search("red shoe", 5)
    assert rows.tolist() == [0, 1, 2, 3, 4]
    assert len(set(scores.tolist())) == 1
    rows, _ = bm.search("shoe", 3)  # "shoe" alone: the shorter documents 64.. score higher
    assert rows.tolist() == [64, 65, 66]


def test_documents_with_only_weak_terms_are_never_scored(monkeypatch):
    """'common' is in every document, 'rare' in two: once those two set the k-th best score, a document
    with 'common' alone cannot reach it, so only the rare term's documents are scored."""
    docs = [{"title": "common"} for _ in range(256)]
    docs[130] = {"title": "common rare"}
    docs[131] = {"title": "rare common"}
    bm = pruned(MultiFieldBM25({"title": 1.0}).build(docs))
    scored = []
    real = bm25_maxscore.score_candidates

    def counting(fields, tokens_by_field, cand, combine, zeros, theta=None):
        scored.append(cand.size)
        return real(fields, tokens_by_field, cand, combine, zeros, theta)

    monkeypatch.setattr(bm25_maxscore, "score_candidates", counting)
    rows, _ = bm.search("rare common", 2)
    assert rows.tolist() == [130, 131]
    assert max(scored) == 2  # the seed and the final pass: exhaustive scoring would score all 256


def test_exhaustive_when_early_termination_is_off(monkeypatch):
    rng = np.random.default_rng(3)
    bm = pruned(MultiFieldBM25({"title": 1.0}).build(random_docs(rng, 200)))
    a = bm.search("w0 w1", 10)
    monkeypatch.setattr(bm25_maxscore, "score_candidates", None)  # must not be reached
    b = bm.search("w0 w1", 10, early_termination=False)
    assert a[0].tolist() == b[0].tolist() and a[1].tolist() == b[1].tolist()


def test_term_max_scores_by_hand():
    # term 0: scores 1, 3, 2; term 1: none; term 2: 7
    indptr = np.array([0, 3, 3, 4])
    data = np.array([1, 3, 2, 7], dtype=np.float32)
    assert term_max_scores(indptr, data).tolist() == [3.0, 0.0, 7.0]
    assert term_max_scores(np.array([0]), np.zeros(0, dtype=np.float32)).tolist() == []


def test_max_scores_follow_a_rebuild():
    bm = MultiFieldBM25({"title": 1.0}).build([{"title": "a b"}, {"title": "a"}])
    first = bm.max_scores()[0].copy()
    bm.build([{"title": "a"}] * 3 + [{"title": "b"}])
    assert bm.max_scores()[0].tolist() != first.tolist()


def test_candidates_that_cannot_reach_theta_are_dropped_as_tokens_are_looked_up():
    # "a" (bound 2.0 here) in docs 0-9, "b" in docs 0-1: with θ above a's bound alone, docs 2-9 fall out
    docs = [{"title": "a b"}] * 2 + [{"title": "a"}] * 8 + [{"title": "c"}] * 40
    bm = MultiFieldBM25({"title": 1.0}).build(docs)
    field = bm.fields["title"]
    maxes = bm.max_scores()[0]
    toks = [bm25_maxscore._Token(0, int(field.indptr[t]), int(field.indptr[t + 1]), float(maxes[t]))
            for t in (field.vocab["a"], field.vocab["b"])]
    cand = np.arange(10, dtype=np.int64)
    zeros = np.zeros(bm.n_docs, dtype=np.float32)
    everyone, scores = bm25_maxscore.score_candidates([field], [toks], cand, bm.combine, zeros)
    assert everyone.tolist() == list(range(10))
    theta = float(scores[0])  # docs 0 and 1 score a + b
    kept, kept_scores = bm25_maxscore.score_candidates([field], [toks], cand, bm.combine, zeros, theta)
    assert kept.tolist() == [0, 1]
    assert kept_scores.tolist() == scores[:2].tolist()


def test_contributions_scatter_and_binary_search_agree():
    bm = MultiFieldBM25({"title": 1.0}).build([{"title": "a" if i % 3 else "b"} for i in range(90)])
    field = bm.fields["title"]
    t = field.vocab["a"]
    token = bm25_maxscore._Token(0, int(field.indptr[t]), int(field.indptr[t + 1]), 1.0)
    zeros = np.zeros(90, dtype=np.float32)
    a_score = float(field.data[token.lo])
    many = np.arange(90, dtype=np.int64)  # 60 postings vs 90 candidates: scatter and gather
    few = np.array([0, 1, 2, 89], dtype=np.int64)  # 4 candidates: binary search
    np.testing.assert_array_equal(bm25_maxscore._contributions(field, token, many, zeros),
                                  np.where(many % 3 != 0, a_score, 0.0).astype(np.float32))
    np.testing.assert_array_equal(bm25_maxscore._contributions(field, token, few, zeros), [0, a_score, a_score, a_score])
    assert not zeros.any()
