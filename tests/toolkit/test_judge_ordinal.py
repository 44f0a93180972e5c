"""The ordinal judge: pair features by hand, the cumulative (Frank & Hall) combination, cross-fitting by query,
metrics, save/load through load_judge, and the CLI report with its majority warning."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from mrs.data.catalog import Product
from mrs.data.judgments import Judgment, JudgmentSet
from mrs.data.levels import ESCI, THREE_LEVEL
from mrs.toolkit.judge import load_judge
from mrs.toolkit.judge_features import FieldStats, head_noun, pair_features, tokens
from mrs.toolkit.judge_ordinal import CumulativeModel, fit_ordinal_judge, label_metrics, level_weights

CATALOG = [
    Product("p1", {"title": "Acme red cotton shirts 2 pack", "brand": "Acme", "color": "Red",
                   "category": ["Clothing", "Shirts"]}),
    Product("p2", {"title": "Zeta blue cotton shirt", "brand": "Zeta", "color": "Blue",
                   "category": ["Clothing", "Shirts"]}),
    Product("p3", {"title": "Garden hose 20 m", "brand": "Hoser", "color": "Green", "category": ["Garden"]}),
]


def test_tokens_and_head_noun():
    assert tokens("Red T-Shirts, 2 pack") == ["red", "t", "shirt", "2", "pack"]
    assert tokens("glass 100s") == ["glass", "100s"]  # "ss" and digit-"s" endings are kept
    assert head_noun(["queen", "mattress", "12"]) == "mattress"
    assert head_noun(["12"]) is None


def test_pair_features_by_hand():
    stats = FieldStats.fit(CATALOG)
    f = pair_features("acme red shirt 2", CATALOG[0], stats)
    # query tokens acme, red, shirt, 2; title tokens acme red cotton shirt 2 pack → all 4 present
    assert f["cover_title"] == 1.0 and f["cover_brand"] == 0.25 and f["cover_color"] == 0.25
    assert f["brand_match"] == 1.0 and f["brand_conflict"] == 0.0 and f["color_match"] == 1.0
    assert f["number_match"] == 1.0 and f["number_conflict"] == 0.0
    assert f["head_match"] == 1.0  # head noun "shirt" (the last word without a digit) is in the title
    # BM25 of "red" in the title field: df 1 of 3 titles → idf ln(1 + 2.5/1.5); tf 1, dl 6, avgdl (6+4+4)/3
    idf = math.log(1 + (3 - 1 + 0.5) / (1 + 0.5))
    one = idf / (1 + 1.2 * (1 - 0.75 + 0.75 * 6 / (14 / 3)))
    assert stats.bm25(["red"], tokens(CATALOG[0].get("title")), "title") == pytest.approx(one)
    g = pair_features("zeta shirt 3", CATALOG[0], stats)
    # another catalog brand named, this brand absent; the query's number 3 is nowhere in the product
    assert g["brand_match"] == 0.0 and g["brand_conflict"] == 1.0
    assert g["number_match"] == 0.0 and g["number_conflict"] == 1.0
    assert g["head_match"] == 1.0 and g["head_in_category"] == 1.0  # head "shirt" in title and category


class _Const:
    def __init__(self, p):
        self.p = p

    def predict_proba(self, x):
        return np.column_stack([1 - self.p, self.p])


def test_cumulative_probabilities_are_made_monotone_and_sum_to_one():
    m = CumulativeModel("ordinal-gbm", 4)
    # P(≥1) = 0.9, P(≥2) = 0.5, P(≥3) = 0.6 (not monotone → 0.5)
    m.boundaries = [_Const(np.array([0.9])), _Const(np.array([0.5])), _Const(np.array([0.6]))]
    p = m.probabilities(np.zeros((1, 2)))
    assert p[0] == pytest.approx([0.1, 0.4, 0.0, 0.5])
    assert p.sum() == pytest.approx(1.0)


def test_level_weights_and_metrics_by_hand():
    w = level_weights(np.array([0, 2, 2, 2]), 3, 0.5)
    # counts 1, 0, 3; mean count 2 → (1/2)^-0.5 = 1.414214, (3/2)^-0.5 = 0.816497; row mean 1
    raw = np.array([2 ** 0.5, 1.5 ** -0.5, 1.5 ** -0.5, 1.5 ** -0.5])
    assert w == pytest.approx(raw / raw.mean())
    m = label_metrics([2, 2, 2, 1, 0], [2, 2, 1, 1, 2], THREE_LEVEL)
    assert m["accuracy"] == pytest.approx(3 / 5)
    assert m["balanced_accuracy"] == pytest.approx((2 / 3 + 1 + 0) / 3)
    assert m["within_one"] == pytest.approx(4 / 5)
    assert m["majority"] == {"grade": 2, "accuracy": 0.6, "balanced_accuracy": pytest.approx(1 / 3)}
    assert m["confusion"][0] == [0, 0, 1]


def _toy_judgments(n_queries=12):
    """Queries naming one catalog product: that product exact, the other shirt substitute, the hose irrelevant."""
    rows = []
    for i in range(n_queries):
        brand, pid, other = ("acme red", "p1", "p2") if i % 2 == 0 else ("zeta blue", "p2", "p1")
        q = f"{brand} shirt {i}"
        rows += [Judgment(f"q{i}", q, pid, 3), Judgment(f"q{i}", q, other, 2), Judgment(f"q{i}", q, "p3", 0)]
    return JudgmentSet(ESCI, rows)


def test_cross_fit_labels_training_queries_with_a_model_that_never_saw_them(tmp_path):
    js = _toy_judgments()
    products = {p.id: p for p in CATALOG}
    judge, report = fit_ordinal_judge("ordinal-logistic", js, products, template="{title}. Brand: {brand}",
                                      embedder=None, folds=3, seed=0)
    assert len(judge.fold_models) == 3 and set(judge.query_folds.values()) == {0, 1, 2}
    assert report["pairs"] == 36 and report["accuracy"] > report["majority"]["accuracy"]
    # a training query is answered by its fold's model, an unseen query by the full model
    q0 = js.queries()["q0"]
    fold = judge.query_folds[q0]
    text = judge.products_by_text and next(t for t, p in judge.products_by_text.items() if p.id == "p1")
    x = judge.features([(q0, text)])
    assert judge.probabilities([(q0, text)]) == pytest.approx(judge.fold_models[fold].probabilities(x))
    assert judge.probabilities([("acme red shirt", text)]) == pytest.approx(
        judge.full.probabilities(judge.features([("acme red shirt", text)])))
    out = judge.save(tmp_path / "judge", extra={"report": {"cross_fit": report}})
    loaded = load_judge(out, catalog=CATALOG)
    assert loaded.kind == "ordinal-logistic" and loaded.scheme.name == "esci"
    assert [lab.grade for lab in loaded.label([(q0, text)])] == [lab.grade for lab in judge.label([(q0, text)])]
    assert json.loads((out / "judge.json").read_text())["query_folds"][q0] == fold


def test_cli_trains_the_default_ordinal_judge_and_warns_below_majority(sample, tmp_path):
    from click.testing import CliRunner

    from mrs.cli.main import cli

    out = tmp_path / "judge"
    result = CliRunner().invoke(cli, ["judge", "train", "--judgments", str(sample.judgments), "--catalog",
                                      str(sample.catalog), "--out", str(out), "--folds", "3",
                                      "--embedding-model", "none", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["kind"] == "ordinal-logistic" and report["config"]["class_weight_power"] == 0.0
    for key in ("accuracy", "balanced_accuracy", "within_one", "per_level_recall", "confusion"):
        assert key in report["dev"] and key in report["training"]["cross_fit"]
    assert "balanced_accuracy" in report["dev_majority_baseline"]
    beats = report["dev"]["accuracy"] > report["dev_majority_baseline"]["accuracy"] and \
        report["dev"]["balanced_accuracy"] > report["dev_majority_baseline"]["balanced_accuracy"]
    assert beats == (not any("on dev" in w for w in report["warnings"]))
    assert load_judge(out).kind == "ordinal-logistic"
