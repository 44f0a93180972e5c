"""Dev evaluation at the end of training: retrieval metrics, separation AUCs, misspelled-query metrics."""

from __future__ import annotations

import numpy as np
import pytest

from mrs.data.judgments import Judgment, JudgmentSet
from mrs.data.levels import ESCI
from mrs.measures.auc import separation_auc
from mrs.toolkit.dev_eval import evaluate_dense

PRODUCTS = {"P1": "red shoe", "P2": "blue shoe", "P3": "red hat"}
DEV = JudgmentSet(ESCI, [Judgment("q1", "red", "P1", 3), Judgment("q1", "red", "P3", 2),
                         Judgment("q1", "red", "P2", 0)])


class KeywordModel:
    """Embeds a text as presence of (red, blue, hat) + a constant, unit length."""

    def encode(self, texts, **_):
        rows = [[1.0 * ("red" in t), 1.0 * ("blue" in t), 1.0 * ("hat" in t), 0.1] for t in texts]
        v = np.asarray(rows, dtype=np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)


class QueryBlindModel:
    """Every query gets the same vector: rankings cannot depend on the query's spelling."""

    def encode(self, texts, **_):
        return np.asarray([[1.0, 0.0] if t in PRODUCTS.values() and "red" in t else [0.6, 0.8] for t in texts],
                          dtype=np.float32)


def test_metrics_by_hand():
    # query "red" → (1,0,0,.1)/|.|; P1 red shoe = same → cos 1; P3 red hat → (1,0,1,.1): cos 1.01/(1.005·1.418)
    # = 0.709; P2 blue shoe → (0,1,0,.1): cos 0.01/1.01 ≈ 0.0099. Ranking P1, P3, P2 = ideal → nDCG@10 1.0;
    # the only exact product is retrieved → recall 1.0; exact above irrelevant and substitute → both AUCs 1.0.
    m = evaluate_dense(KeywordModel(), PRODUCTS, DEV)
    assert m["queries"] == 1
    assert m["ndcg@10"] == pytest.approx(1.0) and m["recall@3"] == pytest.approx(1.0)
    assert m["auc_exact_vs_irrelevant"] == 1.0 and m["auc_exact_vs_substitute"] == 1.0


def test_misspelled_copies_are_scored_against_the_clean_judgments():
    # A query-blind model ranks the same for any spelling, so the misspelled metrics equal the clean ones.
    m = evaluate_dense(QueryBlindModel(), PRODUCTS, DEV)
    assert m["ndcg@10_misspelled"] == pytest.approx(m["ndcg@10"])
    assert m["recall@3_misspelled"] == pytest.approx(m["recall@3"])
    assert "ndcg@10_misspelled" not in evaluate_dense(QueryBlindModel(), PRODUCTS, DEV, misspelled_seed=None)


def test_separation_auc_pools_pairs_and_is_none_without_both_levels():
    # exact cosines 0.9, 0.4; irrelevant 0.5, 0.1 → pairs (e>i): (0.9>0.5),(0.9>0.1),(0.4>0.1) = 3 of 4 → 0.75
    assert separation_auc([0.9, 0.4, 0.5, 0.1], [3, 3, 0, 0], 3, 0) == pytest.approx(0.75)
    assert separation_auc([0.9, 0.4], [3, 3], 3, 0) is None


def test_regression_warnings_name_each_reference_the_model_falls_below():
    from mrs.toolkit.dev_eval import regression_warnings

    final = {"ndcg@10": 0.92}
    got = regression_warnings(final, {"base model": {"ndcg@10": 0.977}, "Stage-1 model": {"ndcg@10": 0.90},
                                      "missing": None})
    assert len(got) == 1 and "base model" in got[0] and "0.9200 < 0.9770" in got[0]
    assert regression_warnings(None, {"base model": {"ndcg@10": 0.5}}) == []
