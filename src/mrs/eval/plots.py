"""PNG plots of a report (matplotlib, Agg backend: no display needed).

- metric bars: one group per metric, one bar per run;
- per-level score distributions of one run: a box per level drawn from the separation quantiles
  (box p25–p75, line p50, whiskers p10–p90, marker mean, said in the plot's key), so plots need no raw scores.
"""

from __future__ import annotations

import os
import textwrap
from collections.abc import Mapping

from mrs.atomic import write_figure


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def metrics_title(settings: Mapping) -> str:
    """'index demo/index · 9 queries: dev split (…) of demo/calibration.json, held out from tuning · gains
    grades': which index, which queries (split) and which gains the bars are on."""
    parts = []
    if settings.get("index"):
        parts.append(f"index {settings['index']}")
    parts.append(settings.get("queries") or f"{settings['n_queries']} queries")
    parts.append(f"gains {settings['gains']}")
    return " · ".join(parts)


def plot_metric_bars(report: Mapping, path: str | os.PathLike, outputs=None) -> str:
    """Grouped bars of every run's metric means (plus judged@k), the legend beside the axes (never over a
    bar), the title naming the index and the query split; staged in ``outputs`` when given (mrs.atomic.write_figure). Returns the
    written path."""
    plt = _pyplot()
    jk = next((k for k in report if k.startswith("judged@")), None)
    metrics = list(report["settings"]["metrics"]) + ([jk] if jk else [])
    runs = list(report["runs"])
    width = 0.8 / max(len(runs), 1)
    fig, ax = plt.subplots(figsize=(max(6.0, 1.3 * len(metrics) + 3.5), 4.2))
    for i, name in enumerate(runs):
        values = [report[jk][name] if m == jk else report["runs"][name][m] for m in metrics]
        xs = [j + (i - (len(runs) - 1) / 2) * width for j in range(len(metrics))]
        ax.bar(xs, values, width=width, label=name)
    ax.set_xticks(range(len(metrics)))
    ax.set_xticklabels(metrics, rotation=20)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("mean over queries")
    ax.set_title(textwrap.fill(metrics_title(report["settings"]), width=110), fontsize="small")
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, title="run")
    fig.tight_layout()
    return str(write_figure(fig, path, 100, outputs))


def plot_score_distributions(run_name: str, sep: Mapping, path: str | os.PathLike, outputs=None) -> str:
    """Boxes of one run's judged-pair scores per level (from separation()'s level stats)."""
    plt = _pyplot()
    stats, labels = [], []
    for level, st in sep["levels"].items():
        if not st["n"]:
            continue
        stats.append({"label": f"{level}\n(n={st['n']})", "med": st["p50"], "q1": st["p25"], "q3": st["p75"],
                      "whislo": st["p10"], "whishi": st["p90"], "mean": st["mean"], "fliers": []})
        labels.append(level)
    fig, ax = plt.subplots(figsize=(max(4.0, 1.5 * len(stats) + 1) + 1.8, 4.0))
    if stats:
        ax.bxp(stats, showmeans=True, meanprops={"marker": "^", "markerfacecolor": "tab:green",
                                                 "markeredgecolor": "tab:green"})
        from matplotlib.lines import Line2D

        key = [Line2D([], [], color="tab:orange", label="median (p50)"),
               Line2D([], [], color="black", linewidth=6, alpha=0.25, label="box p25–p75"),
               Line2D([], [], color="black", label="whiskers p10–p90"),
               Line2D([], [], marker="^", linestyle="", color="tab:green", label="mean")]
        ax.legend(handles=key, fontsize="x-small", loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    aucs = ", ".join(f"{k} {v['pooled']:.2f}" for k, v in sep["auc"].items() if v["pooled"] is not None)
    title = f"{run_name}: judged-pair score per level"
    if aucs:
        title += "\n" + textwrap.fill(f"pooled AUC {aucs}", width=70)
    ax.set_title(title, fontsize="small")
    ax.set_ylabel("score")
    fig.tight_layout()
    return str(write_figure(fig, path, 100, outputs))
