"""The report and calibration plots say what they show (issue 16 item 11): threshold labels do not overlap,
histograms have a count axis, box plots explain their marks, identical blend curves are not hidden, and the
metrics plot's legend sits beside the bars under a title naming the index and the query split."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from mrs.blending.plots import merge_identical_curves, plot_dense_levels  # noqa: E402
from mrs.blending.thresholds import LevelThreshold  # noqa: E402
from mrs.data.levels import ESCI  # noqa: E402
from mrs.eval.plots import metrics_title, plot_metric_bars, plot_score_distributions  # noqa: E402


@pytest.fixture
def kept_figure(monkeypatch):
    """The figure a plot function drew (plt.close is held back so the test can inspect it)."""
    figures = []
    monkeypatch.setattr(plt, "close", lambda fig=None: figures.append(fig))
    yield figures
    monkeypatch.undo()
    for fig in figures:
        plt.close(fig)


def _threshold(level, grade, t):
    return LevelThreshold(level=level, grade=grade, target_precision=0.9, threshold=t, precision=0.9, recall=0.5,
                          support=10, reachable=True, best_precision=0.95)


def test_dense_levels_names_close_thresholds_once_in_a_legend_and_counts_pairs(tmp_path, kept_figure):
    rng = np.random.default_rng(0)
    scores = rng.uniform(0.5, 0.9, 200)
    grades = rng.integers(0, 4, 200)
    thresholds = {"exact": _threshold("exact", 3, 0.818), "substitute": _threshold("substitute", 2, 0.812),
                  "complement": _threshold("complement", 1, 0.627)}
    plot_dense_levels(scores, grades, ESCI, thresholds, tmp_path / "d.png")
    fig = kept_figure[0]
    [legend] = fig.legends
    assert [t.get_text() for t in legend.get_texts()] == ["exact ≥ 0.818", "substitute ≥ 0.812", "complement ≥ 0.627"]
    for ax in fig.axes:
        assert ax.get_ylabel() == "pairs"
        assert not ax.texts  # no rotated labels on the lines to collide
    assert [ax.get_title(loc="left").split(" (")[0] for ax in fig.axes] == ["exact", "substitute", "complement",
                                                                             "irrelevant"]


def test_identical_blend_curves_share_one_labelled_line():
    curves = {"a": ([0.0, 0.5, 1.0], [0.8, 0.9, 0.85]), "b": ([0.0, 0.5, 1.0], [0.8, 0.9, 0.85]),
              "c": ([0.0, 0.5, 1.0], [0.7, 0.9, 0.85])}
    assert merge_identical_curves(curves) == {"a = b": ([0.0, 0.5, 1.0], [0.8, 0.9, 0.85]),
                                              "c": ([0.0, 0.5, 1.0], [0.7, 0.9, 0.85])}


def _report():
    runs = {name: {"ndcg@10": v, "mrr": v} for name, v in (("lexical", 0.8), ("dense", 0.93), ("tuned", 0.95))}
    return {"runs": runs, "judged@10": {n: 0.9 for n in runs},
            "settings": {"metrics": ["ndcg@10", "mrr"], "gains": "grades", "n_queries": 9, "index": "demo/index",
                         "queries": "9 queries: dev split (dev fraction 0.2, seed 0) of demo/calibration.json, "
                                    "held out from tuning"}}


def test_metrics_plot_title_names_index_and_split_and_legend_is_beside_the_bars(tmp_path, kept_figure):
    report = _report()
    assert metrics_title(report["settings"]).startswith("index demo/index · 9 queries: dev split")
    plot_metric_bars(report, tmp_path / "m.png")
    fig = kept_figure[0]
    ax = fig.axes[0]
    assert "dev split" in ax.get_title() and "demo/index" in ax.get_title()
    fig.canvas.draw()
    legend_box = ax.get_legend().get_window_extent()
    assert legend_box.x0 >= ax.get_window_extent().x1  # outside the axes: covers no bar


def test_box_plot_says_what_its_marks_are(tmp_path, kept_figure):
    sep = {"levels": {"exact": {"n": 5, "mean": 0.8, "std": 0.1, "p10": 0.6, "p25": 0.7, "p50": 0.8, "p75": 0.9,
                                "p90": 0.95}},
           "auc": {}}
    plot_score_distributions("dense", sep, tmp_path / "s.png")
    labels = [t.get_text() for t in kept_figure[0].axes[0].get_legend().get_texts()]
    assert labels == ["median (p50)", "box p25–p75", "whiskers p10–p90", "mean"]
