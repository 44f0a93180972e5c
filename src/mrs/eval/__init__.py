"""The offline evaluation harness (ranx): runs per retrieval mode through the backend protocol, metrics with
graded gains, significance tests, judged@k, per-level recall and score separation, latency, reports, plots.

``from mrs.eval import EvalConfig, evaluate_backend, build_report, write_report``
"""

from __future__ import annotations

from mrs.eval.harness import EvalConfig, build_report, encode_queries, evaluate_backend
from mrs.eval.judged import judged_at_k
from mrs.eval.latency import latency_summary
from mrs.eval.metrics import DEFAULT_METRICS, GAINS, STAT_TESTS, compare_runs, evaluate_run, parse_metrics
from mrs.eval.report import json_view, write_report
from mrs.eval.runs import RunSpec, parse_modes, parse_pipeline_option, read_trec_run, write_trec_run
from mrs.eval.separation import auc, separation

__all__ = [
    "DEFAULT_METRICS",
    "GAINS",
    "STAT_TESTS",
    "EvalConfig",
    "RunSpec",
    "auc",
    "build_report",
    "compare_runs",
    "encode_queries",
    "evaluate_backend",
    "evaluate_run",
    "judged_at_k",
    "json_view",
    "latency_summary",
    "parse_metrics",
    "parse_modes",
    "parse_pipeline_option",
    "read_trec_run",
    "separation",
    "write_report",
    "write_trec_run",
]
