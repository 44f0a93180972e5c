"""Report output: the summary table rows, report.md, report.json, TREC run files and plots in one folder.

The report dict comes from mrs.eval.harness (see its module doc). ``json_view`` is what ``--json``
prints: the report without per-query scores and ranx's text table.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path

from mrs.atomic import output_set
from mrs.eval.runs import write_trec_qrels, write_trec_run

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(name: str) -> str:
    """A run name usable as a file name ("hybrid rrf/v2" → "hybrid_rrf_v2")."""
    return _SAFE.sub("_", name).strip("._") or "run"


def judged_key(report: Mapping) -> str:
    return next((k for k in report if k.startswith("judged@")), "judged@10")


def summary_rows(report: Mapping) -> tuple[list[str], list[list[str]]]:
    """(headers, rows) of the main table: one row per run — metrics, judged@k, per-level recall,
    p50/p95 latency, and which queries the run is scored on (settings.split.scored_on). Numbers as 4-decimal
    strings (latency: ms with 1 decimal); "-" when absent."""
    metrics = list(report["settings"]["metrics"])
    jk = judged_key(report)
    level_keys: list[str] = []
    for per in report.get("per_level", {}).values():
        for metric, levels in per.items():
            for lvl in levels:
                key = f"{metric} {lvl}"
                if key not in level_keys:
                    level_keys.append(key)
    scored_on = (report["settings"].get("split") or {}).get("scored_on") or {}
    headers = ["run", *metrics, jk, *level_keys, "p50 ms", "p95 ms"] + (["scored on"] if scored_on else [])
    rows = []
    for name, scores in report["runs"].items():
        row = [name, *(f"{scores[m]:.4f}" for m in metrics), f"{report[jk][name]:.4f}"]
        per = report.get("per_level", {}).get(name, {})
        for key in level_keys:
            metric, lvl = key.split(" ", 1)
            v = per.get(metric, {}).get(lvl)
            row.append("-" if v is None else f"{v:.4f}")
        lat = report.get("latency_ms", {}).get(name)
        row += [f"{lat['p50']:.1f}", f"{lat['p95']:.1f}"] if lat else ["-", "-"]
        if scored_on:
            row.append(scored_on.get(name, "-"))
        rows.append(row)
    return headers, rows


def by_run_columns(headers: list[str], rows: list[list[str]]) -> tuple[list[str], list[list[str]]]:
    """Transpose a (run per row) table into one column per run, so many metrics fit a narrow terminal."""
    runs = [r[0] for r in rows]
    out = [[h, *(r[i] for r in rows)] for i, h in enumerate(headers) if i > 0]
    return [headers[0], *runs], out


def separation_rows(report: Mapping) -> tuple[list[str], list[list[str]]]:
    """(headers, rows): per run, the pooled and per-query AUC of every level pair."""
    pairs: list[str] = []
    for sep in report.get("separation", {}).values():
        for key in sep["auc"]:
            if key not in pairs:
                pairs.append(key)
    headers = ["run", "judged pairs scored", *(f"AUC {p}" for p in pairs)]
    rows = []
    for name, sep in report.get("separation", {}).items():
        row = [name, str(sep["n_pairs"])]
        for p in pairs:
            a = sep["auc"].get(p, {})
            row.append(f"{_fmt(a.get('pooled'))} / {_fmt(a.get('per_query'))}")
        rows.append(row)
    return headers, rows


def significance_rows(report: Mapping) -> tuple[list[str], list[list[str]]]:
    """(headers, rows) of the pairwise tests: runs, metric, p-value, significant, better run."""
    sig = report.get("significance", {})
    headers = ["a", "b", "metric", "p-value", f"p < {sig.get('max_p', 0.01)}", "better"]
    rows = [[p["a"], p["b"], p["metric"], f"{p['p_value']:.4g}", "yes" if p["significant"] else "no",
             p["better"] or "tie"] for p in sig.get("pairs", [])]
    return headers, rows


def _fmt(v) -> str:
    return "-" if v is None else f"{v:.3f}"


def _md_table(headers: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def report_markdown(report: Mapping, plots: Mapping[str, str] | None = None) -> str:
    """report.md: settings, the summary table, significance, separation per level, warnings, plots."""
    s = report["settings"]
    jk = judged_key(report)
    out = ["# mrs eval report", ""]
    out.append(
        f"{s.get('queries', str(s['n_queries']) + ' queries')}, k = {s['k']}, gains `{s['gains']}` {s['gain_values']}, relevant = "
        f"{s['relevant']}. Unjudged products count as irrelevant; {jk} says how much of each run's top "
        f"{jk.split('@')[1]} was judged."
    )
    out += ["", "## Metrics", "", _md_table(*summary_rows(report)), ""]
    if s.get("pipelines"):
        out += ["## Hybrid pipelines", ""]
        for name, rec in s["pipelines"].items():
            out += [f"`{name}`: {rec['source']}, candidates per sub-query {rec['pagination_depth']}", "",
                    "```json", json.dumps(rec["body"], indent=2, sort_keys=True), "```", ""]
    sig = report.get("significance", {})
    if sig.get("pairs"):
        out += [f"## Significance ({sig['stat_test']}, p < {sig['max_p']})", "",
                _md_table(*significance_rows(report)), ""]
        if sig.get("table"):
            out += ["ranx's table (superscripts: the runs this run beats significantly):", "", "```",
                    sig["table"], "```", ""]
    out += ["## Score separation on judged pairs (AUC pooled / per query)", "", _md_table(*separation_rows(report)), ""]
    for name, sep in report.get("separation", {}).items():
        headers = ["level", "n", "mean", "std", "p10", "p50", "p90"]
        rows = [[lvl, str(st["n"]), *(_fmt(st[k]) for k in ("mean", "std", "p10", "p50", "p90"))]
                for lvl, st in sep["levels"].items()]
        how = s.get("separation_scores", {}).get(name, "scores of the judged products the run retrieved")
        out += [f"### {name} ({how})", "", _md_table(headers, rows), ""]
    if report.get("warnings"):
        out += ["## Warnings", ""] + [f"- {w}" for w in report["warnings"]] + [""]
    if plots:
        out += ["## Plots", ""] + [f"![{k}]({v})" for k, v in plots.items()] + [""]
    return "\n".join(out)


def json_view(report: Mapping) -> dict:
    """The report without per-query scores and ranx's text table (what --json prints)."""
    out = {k: v for k, v in report.items() if k != "per_query"}
    if "significance" in out:
        out["significance"] = {k: v for k, v in out["significance"].items() if k != "table"}
    return out


def write_report(
    out_dir: str | os.PathLike,
    report: Mapping,
    runs: Mapping[str, Mapping[str, Mapping[str, float]]],
    qrels: Mapping[str, Mapping[str, int]] | None = None,
    with_plots: bool = True,
) -> dict[str, str]:
    """Write report.json (everything, per-query scores included), report.md, runs/<run>.trec per run,
    qrels.trec (when qrels are given) and PNG plots into out_dir, all or nothing (mrs.atomic: after a failure
    no new file is there and the previous report is untouched). Returns {what: path}."""
    d = Path(out_dir)
    written: dict[str, str] = {}
    with output_set() as outputs:  # every file of the report, or none (mrs.atomic)
        outputs.mkdir(d)
        for name, run in runs.items():
            p = d / "runs" / f"{safe_name(name)}.trec"
            write_trec_run(p, run, name, outputs)
            written[f"run:{name}"] = str(p)
        if qrels is not None:
            write_trec_qrels(d / "qrels.trec", qrels, outputs)
            written["qrels"] = str(d / "qrels.trec")
        plots: dict[str, str] = {}
        if with_plots:
            from mrs.eval.plots import plot_metric_bars, plot_score_distributions

            plots["metrics"] = plot_metric_bars(report, d / "metrics.png", outputs)
            for name, sep in report.get("separation", {}).items():
                if sep["n_pairs"]:
                    plots[f"scores:{name}"] = plot_score_distributions(
                        name, sep, d / f"scores_{safe_name(name)}.png", outputs)
            written.update({f"plot:{k}": v for k, v in plots.items()})
        rel_plots = {k: os.path.relpath(v, d) for k, v in plots.items()}
        outputs.write_text(d / "report.md", report_markdown(report, rel_plots) + "\n")
        written["report.md"] = str(d / "report.md")
        outputs.write_json(d / "report.json", report)
        written["report.json"] = str(d / "report.json")
    return written
