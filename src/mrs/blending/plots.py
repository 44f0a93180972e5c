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

from mrs.atomic import OutputSet, figure_png, write_bytes
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
    """Write the per-level dense score histograms (one panel per level, top level first) to ``path``
    (staged in ``outputs``, an mrs.atomic.OutputSet, when given; all or nothing either way)."""
    plt = _pyplot()
    dense_scores = np.asarray(dense_scores, dtype=np.float64)
    grades = np.asarray(grades)
    ok = ~np.isnan(dense_scores)
    lo, hi = (float(dense_scores[ok].min()), float(dense_scores[ok].max())) if ok.any() else (0.0, 1.0)
    bins = np.linspace(lo, hi if hi > lo else lo + 1e-6, 41)
    levels = list(range(scheme.top, -1, -1))
    fig, axes = plt.subplots(len(levels), 1, figsize=(8, 1.9 * len(levels) + 0.8), sharex=True)
    axes = np.atleast_1d(axes)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, g in zip(axes, levels, strict=True):
        s = dense_scores[ok & (grades == g)]
        ax.hist(s, bins=bins, color=colors[g % len(colors)], alpha=0.8)
        ax.set_ylabel(f"{scheme.name_of(g)}\n(n={s.size})", fontsize=8)
        for lv, t in thresholds.items():
            if t.threshold is not None:
                ax.axvline(t.threshold, color="black", linestyle="--", linewidth=0.9)
                if g == scheme.top:
                    ax.text(t.threshold, ax.get_ylim()[1] * 0.9, f" {lv} ≥ {t.threshold:.3f}", fontsize=7,
                            rotation=90, va="top")
    axes[-1].set_xlabel("dense score (k-NN score of the index space)")
    fig.suptitle(title or "judged pairs per level: dense score, with calibrated thresholds", fontsize=10)
    fig.tight_layout()
    p = Path(path)
    try:
        png = figure_png(fig, 110)
    finally:
        plt.close(fig)
    (outputs.write_bytes if outputs is not None else write_bytes)(p, png)
    return p


def plot_blend_curves(grid: GridResult, path: str | os.PathLike, max_families: int = 6,
                      outputs: OutputSet | None = None) -> Path:
    """Write the metric-vs-dense-weight curves of the best families (train queries) to ``path`` (outputs as
    in plot_dense_levels)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 4.8))
    for family, (xs, ys) in grid.curves(max_families).items():
        ax.plot(xs, ys, marker="o", markersize=3, linewidth=1.2, label=family)
    best = grid.best.config
    dense_at = grid.subqueries.index("dense") if "dense" in grid.subqueries else len(grid.subqueries) - 1
    ax.scatter([best.weights[dense_at]], [grid.best.train], s=80, facecolors="none", edgecolors="black",
               label=f"chosen: {best.name}", zorder=5)
    ax.set_xlabel("weight of the dense sub-query (best over the other weights when > 2 sub-queries)")
    ax.set_ylabel(f"{grid.metric} (train queries, n={grid.n_train})")
    ax.set_title(f"blend search: {grid.metric} vs dense weight", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=6, loc="lower center")
    fig.tight_layout()
    p = Path(path)
    try:
        png = figure_png(fig, 110)
    finally:
        plt.close(fig)
    (outputs.write_bytes if outputs is not None else write_bytes)(p, png)
    return p
