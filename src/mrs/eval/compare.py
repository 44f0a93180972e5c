"""Two or more indexes (each built with its own model, fields or analyzer) side by side on the same judgments.

``compare_backends`` sends the same judged queries through every index for every mode (mrs.eval.harness
.evaluate_backend, so each side gets the full eval: metrics, judged@k, coverage), then tests, per mode, every
index against the first with ranx.compare (paired, per query: mrs.eval.metrics.compare_runs).

The comparison dict (what `mrs compare --json` prints):
{"indexes": {name: {"path", "model", "documents"}}, "modes": [...],
 "runs": {mode: {index name: {metric: mean}}}, "judged@10": {mode: {index name: fraction}},
 "significance": {mode: {"stat_test", "max_p", "pairs": [{"a", "b", "metric", "p_value", "significant",
 "better"}]}}, "settings": {...}, "coverage": {index name: {...}}, "warnings": [...]}
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mrs.data.judgments import JudgmentSet
from mrs.errors import InputError
from mrs.eval.harness import EvalConfig, Tracker, _no_track, evaluable_qrels, evaluate_backend
from mrs.eval.metrics import compare_runs, gain_table
from mrs.eval.runs import RunSpec


@dataclass
class Side:
    """One index of the comparison. name: its label; backend: a SearchBackend; encoder: its query encoder
    (None when only lexical runs are asked); path: where it lives; model: its model identity (name, sha256)."""

    name: str
    backend: Any
    encoder: Any
    path: str
    model: dict | None = None


def compare_backends(sides: Sequence[Side], judgments: JudgmentSet, specs: Sequence[RunSpec], config: EvalConfig,
                     track: Tracker = _no_track) -> tuple[dict, dict[str, dict[str, dict]]]:
    """Evaluate every (index, mode) and test each index against the first, per mode and metric.

    Returns (the comparison dict of the module doc, {mode: {index name: run}} for TREC files)."""
    if len(sides) < 2:
        raise InputError("compare needs at least two indexes (--index A --index B)")
    names = [s.name for s in sides]
    if len(set(names)) != len(names):
        raise InputError(f"two indexes share a name ({', '.join(names)}); name them with --index NAME=DIR")
    runs: dict[str, dict[str, dict]] = {s.name: {} for s in specs}
    out: dict[str, Any] = {"indexes": {}, "modes": [s.name for s in specs], "runs": {s.name: {} for s in specs},
                           f"judged@{config.judged_k}": {s.name: {} for s in specs}, "significance": {},
                           "coverage": {}, "warnings": []}
    settings: dict = {}
    for side in sides:
        report, retrieved = evaluate_backend(side.backend, side.encoder, judgments, specs, config, track=track)
        settings = report["settings"]
        out["indexes"][side.name] = {"path": side.path, "model": side.model, "documents": side.backend.count()}
        out["coverage"][side.name] = report["coverage"]
        out["warnings"] += [f"{side.name}: {w}" for w in report["warnings"]]
        for spec in specs:
            runs[spec.name][side.name] = retrieved[spec.name].run()
            out["runs"][spec.name][side.name] = report["runs"][spec.name]
            out[f"judged@{config.judged_k}"][spec.name][side.name] = report[f"judged@{config.judged_k}"][spec.name]
    qrels, _ = evaluable_qrels(judgments, config.relevant_grade)
    table = gain_table(judgments.scheme, config.gains)
    baseline = names[0]
    for mode, by_index in runs.items():
        sig = compare_runs(qrels, by_index, config.metrics, table, config.relevant_grade, config.stat_test,
                           config.max_p)
        sig.pop("table", None)
        sig["pairs"] = [p for p in sig["pairs"] if baseline in (p["a"], p["b"])]
        out["significance"][mode] = sig
    out["settings"] = {key: settings[key] for key in ("metrics", "gains", "gain_values", "relevant", "unjudged", "k",
                                                      "stat_test", "max_p", "scheme", "n_queries")}
    out["settings"]["baseline"] = baseline
    return out, runs


def comparison_rows(comparison: dict) -> tuple[list[str], list[list[str]]]:
    """(headers, rows) of the side-by-side table: one row per (mode, metric): each index's mean, then for
    every other index its difference to the first, the p-value and whether it is significant."""
    names = list(comparison["indexes"])
    baseline, others = names[0], names[1:]
    max_p = next(iter(comparison["significance"].values()), {}).get("max_p", 0.01)
    headers = ["mode", "metric", *names]
    for other in others:
        headers += [f"Δ {other}", "p", f"p < {max_p:g}"]
    rows = []
    for mode, by_index in comparison["runs"].items():
        pairs = {(p["metric"], p["b"] if p["a"] == baseline else p["a"]): p
                 for p in comparison["significance"].get(mode, {}).get("pairs", [])}
        for metric in comparison["settings"]["metrics"]:
            row = [mode, metric, *(f"{by_index[n][metric]:.4f}" for n in names)]
            for other in others:
                p = pairs.get((metric, other))
                delta = by_index[other][metric] - by_index[baseline][metric]
                p_value = "-" if p is None or p["p_value"] != p["p_value"] else f"{p['p_value']:.3g}"
                row += [f"{delta:+.4f}", p_value, "yes" if p and p["significant"] else "no"]
            rows.append(row)
    return headers, rows
