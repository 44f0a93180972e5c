"""Latency summaries: per-query wall times in milliseconds → p50 / p95 / mean / max."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np


def latency_summary(latencies_ms: Iterable[float]) -> dict[str, float | int]:
    """{"n", "p50", "p95", "mean", "max"} in milliseconds over the given per-query times.

    Percentiles use numpy's linear interpolation (p50 of [1, 2, 3, 4] is 2.5). Empty input → n 0 and
    zeros, so a report always has the keys."""
    arr = np.asarray(list(latencies_ms), dtype=np.float64)
    if arr.size == 0:
        return {"n": 0, "p50": 0.0, "p95": 0.0, "mean": 0.0, "max": 0.0}
    return {
        "n": int(arr.size),
        "p50": float(np.percentile(arr, 50)),
        "p95": float(np.percentile(arr, 95)),
        "mean": float(arr.mean()),
        "max": float(arr.max()),
    }
