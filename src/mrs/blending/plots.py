"""PNG plots of a calibration (matplotlib, Agg backend: no display needed).

- ``plot_dense_levels``: per-level histograms of the judged pairs' dense score (k-NN score, e.g. cosinesimil
  (1 + cos) / 2) with a vertical line at each level's threshold t_L;
- ``plot_blend_curves``: the blend objective (e.g. nDCG@10 on train queries) against the dense sub-query's
  weight, one line per normalization + combination family (best few, plus the default and RRF families).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from mrs.atomic import OutputSet, write_figure
from mrs.blending.grid import GridResult
from mrs.blending.thresholds import LevelThreshold
from mrs.data.levels import LevelScheme


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def plot_dense_levels(dense_scores: np.ndarray, grades: np.ndarray, scheme: LevelScheme,
                      thresholds: Mapping[str, LevelThreshold], path: str | os.PathLike, title: str = "",
                      outputs: OutputSet | None = None) -> Path:
    """Write the per-level dense score histograms (one panel per level, top level first, y = judged pairs per
    bin) to ``path`` (staged in ``outputs``, an mrs.atomic.OutputSet, when given; all or nothing either way).
    Each threshold is a vertical line in its own style, named once in the figure's legend (labels on the
    lines overlap when thresholds are close)."""
    plt = _pyplot()
    dense_scores = np.asarray(dense_scores, dtype=np.float64)
    grades = np.asarray(grades)
    ok = ~np.isnan(dense_scores)
    lo, hi = (float(dense_scores[ok].min()), float(dense_scores[ok].max())) if ok.any() else (0.0, 1.0)
    bins = np.linspace(lo, hi if hi > lo else lo + 1e-6, 41)
    levels = list(range(scheme.top, -1, -1))
    fig, axes = plt.subplots(len(levels), 1, figsize=(8, 1.9 * len(levels) + 1.2), sharex=True)
    axes = np.atleast_1d(axes)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    styles = ["--", ":", "-.", (0, (5, 1, 1, 1, 1, 1))]
    drawn = [(lv, t.threshold) for lv, t in thresholds.items() if t.threshold is not None]
    handles = []
    for ax, g in zip(axes, levels, strict=True):
        s = dense_scores[ok & (grades == g)]
        ax.hist(s, bins=bins, color=colors[g % len(colors)], alpha=0.8)
        ax.set_ylabel("pairs", fontsize=8)
        ax.set_title(f"{scheme.name_of(g)} (n={s.size})", fontsize=8, loc="left", pad=2)
        for i, (lv, threshold) in enumerate(drawn):
            line = ax.axvline(threshold, color="black", linestyle=styles[i % len(styles)], linewidth=1.0,
                              label=f"{lv} ≥ {threshold:.3f}")
            if g == scheme.top:
                handles.append(line)
    axes[-1].set_xlabel("dense score (k-NN score of the index space)")
    fig.suptitle(title or "judged pairs per level: dense score, with calibrated thresholds", fontsize=10)
    if handles:
        fig.legend(handles=handles, loc="upper center", ncol=min(len(handles), 4), fontsize=8, frameon=False,
                   bbox_to_anchor=(0.5, 0.965), title="thresholds (radial min_score per level)", title_fontsize=8)
    fig.tight_layout(rect=(0, 0, 1, 0.93 if handles else 0.97))
    return write_figure(fig, path, 110, outputs)


def merge_identical_curves(curves: Mapping[str, tuple[list[float], list[float]]]) -> dict[str, tuple[list, list]]:
    """{label: curve} where families with exactly the same curve share one line, labelled "A = B" (two lines
    on top of each other would show as one, hiding a family)."""
    merged: dict[tuple, list[str]] = {}
    for family, (xs, ys) in curves.items():
        key = (tuple(round(x, 6) for x in xs), tuple(round(y, 9) for y in ys))
        merged.setdefault(key, []).append(family)
    return {" = ".join(names): (list(key[0]), list(key[1])) for key, names in merged.items()}


def plot_blend_curves(grid: GridResult, path: str | os.PathLike, max_families: int = 6,
                      outputs: OutputSet | None = None) -> Path:
    """Write the metric-vs-dense-weight curves of the best families (train queries) to ``path`` (outputs as
    in plot_dense_levels); families with identical curves share a line (merge_identical_curves); each line
    has its own style and marker."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(9, 6.2))
    styles = ["-", "--", "-.", ":"]
    markers = ["o", "s", "^", "D", "v", "P", "X", "*"]
    for i, (label, (xs, ys)) in enumerate(merge_identical_curves(grid.curves(max_families)).items()):
        ax.plot(xs, ys, marker=markers[i % len(markers)], markersize=4, linewidth=1.3,
                linestyle=styles[i % len(styles)], label=label)
    best = grid.best.config
    dense_at = grid.subqueries.index("dense") if "dense" in grid.subqueries else len(grid.subqueries) - 1
    ax.scatter([best.weights[dense_at]], [grid.best.train], s=90, facecolors="none", edgecolors="black",
               label=f"chosen: {best.name}", zorder=5)
    ax.set_xlabel("weight of the dense sub-query (best over the other weights when > 2 sub-queries)")
    ax.set_ylabel(f"{grid.metric} (train queries, n={grid.n_train})")
    ax.set_title(f"blend search: {grid.metric} vs dense weight", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=1, frameon=False)
    fig.tight_layout()
    return write_figure(fig, path, 110, outputs)
