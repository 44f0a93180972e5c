"""Metric names, gains and relevance thresholds, and ranx evaluate/compare over graded qrels
(mrs.measures.ranx_eval runs ranx).

Inputs are plain dicts so every caller (backend runs, TREC run files, tests) shares one path:
- qrels: {query id: {product id: grade}} with the integer grades of a LevelScheme (0 = lowest level);
- run: {query id: {product id: score}} (higher score = ranked higher).

Gains (what nDCG sums):
- ``grades``: the grade itself (ESCI exact 3, substitute 2, complement 1, irrelevant 0), linear gain
  (ranx's ``ndcg`` is Järvelin's grade / log2(rank + 1));
- ``esci``: the official ESCI gains 1 / 0.1 / 0.01 / 0, as integer-scaled qrels ×100 (100 / 10 / 1 / 0),
  because ranx qrels are integers. nDCG is scale-free, so ×100 gives exactly the 1/0.1/0.01 figure.

"Relevant" for the binary metrics (recall, precision, map, mrr, hit_rate, f1, r-precision, bpref, hits):
a judged product whose grade is ≥ ``relevant_grade`` (default 1: every level above the lowest, so for ESCI
exact + substitute + complement; that is ranx's own rel ≥ 1 rule on the grade qrels and reproduces the
reference figures of issue 4). Products the run retrieved but nobody judged count as irrelevant.
A metric name may carry its own threshold as ranx spells it, ``recall@100-l3`` = grade ≥ 3; the level
is a grade of the scheme, translated to the gain scale when ``gains="esci"``.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from mrs.data.levels import LevelScheme
from mrs.errors import InputError
from mrs.measures.ranx_eval import ranx_evaluate, ranx_inputs

DEFAULT_METRICS: tuple[str, ...] = ("ndcg@10", "ndcg@100", "map@100", "recall@100", "mrr", "precision@10")
GAINS: tuple[str, ...] = ("grades", "esci")
STAT_TESTS: tuple[str, ...] = ("student", "fisher", "tukey")
# ranx metrics over graded gains (the threshold filters which grades contribute, default: all > 0).
GRADED_METRICS = frozenset({"ndcg", "ndcg_burges", "dcg", "dcg_burges"})
# ranx metrics over binary relevance (grade ≥ threshold).
BINARY_METRICS = frozenset(
    {"precision", "recall", "map", "mrr", "hit_rate", "hits", "f1", "r-precision", "bpref"}
)
ESCI_GAIN_SCALE = 100

_METRIC_RE = re.compile(r"^(?P<base>[a-z_\-]+?)(@(?P<k>\d+))?(-l(?P<level>\d+))?$")


@dataclass(frozen=True)
class MetricName:
    """A parsed metric name. name: as the user wrote it (the key in every output);
    base: ranx metric ("ndcg"); k: cutoff or None (whole run); level: explicit relevance grade or None."""

    name: str
    base: str
    k: int | None
    level: int | None

    def ranx_name(self, relevant_value: int) -> str:
        """The ranx spelling with the relevance threshold on the qrels' value scale (e.g. ``recall@100-l2``)."""
        text = self.base + (f"@{self.k}" if self.k is not None else "")
        return text + (f"-l{relevant_value}" if relevant_value != 1 else "")


def parse_metric(name: str) -> MetricName:
    """``"ndcg@10"`` → MetricName; InputError naming the known metrics for anything else."""
    text = name.strip().lower()
    m = _METRIC_RE.match(text)
    base = m.group("base") if m else None
    if m is None or base not in GRADED_METRICS | BINARY_METRICS:
        known = ", ".join(sorted(GRADED_METRICS | BINARY_METRICS))
        raise InputError(f"unknown metric {name!r}; use one of {known}, optionally @k and -lLEVEL (e.g. ndcg@10)")
    k = int(m.group("k")) if m.group("k") else None
    if k == 0:
        raise InputError(f"metric {name!r}: the cutoff @k must be ≥ 1")
    level = int(m.group("level")) if m.group("level") else None
    return MetricName(name=text, base=base, k=k, level=level)


def parse_metrics(spec: str | Iterable[str] | None) -> list[MetricName]:
    """A comma-separated string or list of names → parsed metrics, duplicates dropped, order kept.
    None or empty → DEFAULT_METRICS."""
    if spec is None:
        names: list[str] = list(DEFAULT_METRICS)
    elif isinstance(spec, str):
        names = [s for s in (p.strip() for p in spec.split(",")) if s]
    else:
        names = [s for s in (p.strip() for item in spec for p in str(item).split(",")) if s]
    if not names:
        names = list(DEFAULT_METRICS)
    out: dict[str, MetricName] = {}
    for n in names:
        parsed = parse_metric(n)
        out.setdefault(parsed.name, parsed)
    return list(out.values())


def gain_table(scheme: LevelScheme, gains: str) -> dict[int, int]:
    """grade → integer qrels value. ``grades``: identity. ``esci``: the scheme's gains ×100 (ESCI:
    exact 100, substitute 10, complement 1, irrelevant 0). InputError for a scheme without gains."""
    if gains == "grades":
        return {g: g for g in range(scheme.top + 1)}
    if gains == "esci":
        if scheme.gains is None:
            raise InputError(f"--gains esci needs a level scheme with gains; {scheme.name!r} has none (use grades)")
        return {g: int(round(scheme.gains[g] * ESCI_GAIN_SCALE)) for g in range(scheme.top + 1)}
    raise InputError(f"unknown gains {gains!r}; choose one of {', '.join(GAINS)}")


def scale_qrels(qrels: dict[str, dict[str, int]], table: dict[int, int]) -> dict[str, dict[str, int]]:
    """Grade qrels → value qrels through a gain table (see gain_table)."""
    return {q: {d: table[g] for d, g in docs.items()} for q, docs in qrels.items()}


def threshold_value(table: dict[int, int], grade: int) -> int:
    """The smallest qrels value that still means "grade ≥ ``grade``" on the gain scale (≥ 1 for ranx)."""
    positive = [v for g, v in table.items() if g >= grade and v > 0]
    if not positive:
        raise InputError(f"relevance level {grade} is above the scheme's top grade or has no gain")
    return min(positive)


def ranx_names(
    metrics: Sequence[MetricName], table: dict[int, int], relevant_grade: int
) -> dict[str, str]:
    """{user metric name: ranx metric name} with thresholds on the qrels value scale.

    Binary metrics use the metric's own -lLEVEL, else ``relevant_grade``. Graded metrics use their own
    -lLEVEL, else every positive gain (ranx's default 1)."""
    out = {}
    for m in metrics:
        if m.level is not None:
            value = threshold_value(table, m.level)
        elif m.base in BINARY_METRICS:
            value = threshold_value(table, relevant_grade)
        else:
            value = 1
        out[m.name] = m.ranx_name(value)
    return out


def evaluate_run(
    qrels: dict[str, dict[str, int]],
    run: dict[str, dict[str, float]],
    metrics: Sequence[MetricName],
    table: dict[int, int],
    relevant_grade: int = 1,
) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """Mean and per-query scores of one run. qrels: grade qrels; table: gain_table(...).

    Returns ({metric: mean over judged queries}, {metric: {query id: score}}), keyed by the user names."""
    names = ranx_names(metrics, table, relevant_grade)
    means, by_query = ranx_evaluate(scale_qrels(qrels, table), run, list(names.values()))
    return {u: means[r] for u, r in names.items()}, {u: by_query[r] for u, r in names.items()}


def compare_runs(
    qrels: dict[str, dict[str, int]],
    runs: dict[str, dict[str, dict[str, float]]],
    metrics: Sequence[MetricName],
    table: dict[int, int],
    relevant_grade: int = 1,
    stat_test: str = "student",
    max_p: float = 0.01,
    random_seed: int = 42,
) -> dict:
    """ranx.compare over named runs: paired significance test per metric for every pair of runs.

    Returns {"stat_test", "max_p", "pairs": [{"a", "b", "metric", "p_value", "significant", "better"}],
    "table": ranx's text table (superscripts mark the runs a run beats significantly), "warnings": what the
    test's numerics reported (scipy's RuntimeWarnings, e.g. per-query differences that are all equal), as
    sentences for the report instead of raw warnings on the terminal}.
    With fewer than two runs, "pairs" is empty. stat_test: student (paired t), fisher (randomization),
    tukey (Tukey's HSD over all runs at once)."""
    if stat_test not in STAT_TESTS:
        raise InputError(f"unknown --stat-test {stat_test!r}; choose one of {', '.join(STAT_TESTS)}")
    names = list(runs)
    out: dict = {"stat_test": stat_test, "max_p": max_p, "pairs": [], "table": "", "warnings": []}
    if len(names) < 2:
        return out
    from ranx import compare

    mapping = ranx_names(metrics, table, relevant_grade)
    unique = list(dict.fromkeys(mapping.values()))
    scaled = scale_qrels(qrels, table)
    ranx_runs = []
    rq = None
    for n in names:
        rq, rr = ranx_inputs(scaled, runs[n])
        rr.name = n
        ranx_runs.append(rr)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RuntimeWarning)
        report = compare(rq, ranx_runs, unique, stat_test=stat_test, max_p=max_p, random_seed=random_seed)
    for message in dict.fromkeys(str(w.message).split(". ")[0] for w in caught
                                 if issubclass(w.category, RuntimeWarning)):
        out["warnings"].append(f"{stat_test} test: {message.rstrip('.')} (scipy); the runs' per-query scores differ "
                               "by (nearly) the same amount on every query, so their p-values are unreliable")
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            result = report.comparisons[frozenset([a, b])]
            for user, rname in mapping.items():
                entry = result[rname]
                sa, sb = report.results[a][rname], report.results[b][rname]
                out["pairs"].append({
                    "a": a, "b": b, "metric": user,
                    "p_value": float(entry["p_value"]),
                    "significant": bool(entry["significant"]),
                    "better": a if sa > sb else b if sb > sa else None,
                })
    out["table"] = report.to_table()
    return out
