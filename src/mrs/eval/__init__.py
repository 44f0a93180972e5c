"""The offline evaluation harness (ranx): runs per retrieval mode through the backend protocol, metrics with
graded gains, significance tests, judged@k, per-level recall and score separation, latency, reports, plots.

``from mrs.eval import EvalConfig, evaluate_backend, build_report, write_report``

The names are imported on first use (PEP 562 module ``__getattr__``), so ``import mrs.eval.runs`` and
`mrs eval --help` do not load ranx and scipy.stats.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "EvalConfig": "harness", "build_report": "harness", "encode_queries": "harness", "evaluate_backend": "harness",
    "judged_at_k": "judged",
    "latency_summary": "latency",
    "DEFAULT_METRICS": "metrics", "GAINS": "metrics", "STAT_TESTS": "metrics", "compare_runs": "metrics",
    "evaluate_run": "metrics", "parse_metrics": "metrics",
    "json_view": "report", "write_report": "report",
    "RunSpec": "runs", "parse_modes": "runs", "parse_pipeline_option": "runs", "read_trec_run": "runs",
    "write_trec_run": "runs",
    "auc": "separation",  # separation() itself: mrs.eval.separation.separation (the name is its module's)
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'mrs.eval' has no attribute {name!r}")
    return getattr(importlib.import_module(f"mrs.eval.{_WHERE[name]}"), name)
