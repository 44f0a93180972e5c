"""Per-relevance-level score thresholds with a target precision, recall and a bootstrap CI over queries.

For each level L above the lowest, a judged pair is *positive* when its grade is ≥ L. Over a set of judged
pairs with scores (e.g. dense_score: the index's k-NN score, cosinesimil (1 + cos) / 2), the cumulative
precision at a threshold t is

    precision(t) = #(pairs with score ≥ t and grade ≥ L) / #(pairs with score ≥ t)

and recall(t) = #(score ≥ t and grade ≥ L) / #(grade ≥ L).

Selection rule (documented choice): t_L is the SMALLEST observed score t such that precision(t) ≥ target and at
least ``min_support`` pairs score ≥ t. Precision(t) is cumulative, so it is a smoothed, mostly decreasing
function of t; where it is non-monotone (a few irrelevant pairs near the top), the rule still returns the cut
with the most recall whose kept pairs meet the target, which is what a radial ``min_score`` at t_L delivers.
The stricter alternative ("precision stays ≥ target for every higher t") is not used: one irrelevant pair at
the very top would make every target unreachable. ``min_support`` keeps a lucky single top pair from counting
as "reached". When no t qualifies the level is reported *unreachable* with the best precision seen.

Uncertainty: queries (not pairs) are resampled with replacement ``bootstrap`` times (seeded); t_L is
re-selected on each resample; the CI is the 2.5 / 97.5 percentile of the thresholds of the resamples where
the target was reachable, and ``ci_reachable_share`` says in how many it was.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from mrs.data.levels import LevelScheme
from mrs.errors import InputError

DEFAULT_TARGET_PRECISION = 0.9
"""Target precision of every level above the lowest unless --target-precision LEVEL=P says otherwise."""

DEFAULT_MIN_SUPPORT = 5
"""At least this many pairs must score ≥ t for t to count as reaching the target."""

LOW_RECALL = 0.05
"""Below this recall at its threshold a reachable level is flagged (LevelThreshold.warning)."""

_BOOTSTRAP_CHUNK = 100


@dataclass
class LevelThreshold:
    """The threshold of one level on one score space.

    level / grade: the level L (positives are grade ≥ L). threshold: t_L in the score space (None when the
    target is unreachable). precision / recall / support: on the pairs it was fitted on, at t_L (support =
    pairs scoring ≥ t_L). best_precision: the best precision seen with ≥ min_support pairs (shows how far an
    unreachable target is). ci: bootstrap 95% interval of t_L over queries. dev_precision / dev_recall: the
    same cut applied to held-out queries (None when not evaluated).
    """

    level: str
    grade: int
    target_precision: float
    threshold: float | None
    precision: float | None
    recall: float | None
    support: int
    reachable: bool
    best_precision: float
    ci: tuple[float, float] | None = None
    ci_reachable_share: float | None = None
    dev_precision: float | None = None
    dev_recall: float | None = None
    dev_support: int | None = None
    min_support: int = DEFAULT_MIN_SUPPORT

    def to_dict(self) -> dict:
        d = asdict(self)
        d["ci"] = list(self.ci) if self.ci is not None else None
        return d

    @classmethod
    def from_dict(cls, level: str, d: Mapping) -> LevelThreshold:
        """Tolerant reader: missing optional keys fall back to None / defaults."""
        ci = d.get("ci")
        thr = d.get("threshold")
        return cls(
            level=level,
            grade=int(d.get("grade", -1)),
            target_precision=float(d.get("target_precision", DEFAULT_TARGET_PRECISION)),
            threshold=None if thr is None else float(thr),
            precision=d.get("precision"),
            recall=d.get("recall"),
            support=int(d.get("support", 0)),
            reachable=bool(d.get("reachable", thr is not None)),
            best_precision=float(d.get("best_precision", d.get("precision") or 0.0)),
            ci=(float(ci[0]), float(ci[1])) if ci else None,
            ci_reachable_share=d.get("ci_reachable_share"),
            dev_precision=d.get("dev_precision"),
            dev_recall=d.get("dev_recall"),
            dev_support=d.get("dev_support"),
            min_support=int(d.get("min_support", DEFAULT_MIN_SUPPORT)),
        )

    def warning(self, min_recall: float = LOW_RECALL) -> str | None:
        """A plain sentence when the threshold is unusable or nearly so (unreachable, or reached only by a
        sliver of the level's pairs at the very top of the score range); None otherwise."""
        if not self.reachable:
            return self.describe()
        if self.recall is not None and self.recall < min_recall:
            return (f"{self.level}: precision {self.target_precision:.2f} is reached only at the very top "
                    f"(threshold {self.threshold:.4f} keeps {self.recall:.1%} of the level's pairs): the dense score "
                    "barely separates this level at this precision")
        return None

    def describe(self) -> str:
        """One human line, e.g. 'exact ≥ 0.8123: precision 0.91 (target 0.90), recall 0.55'."""
        if not self.reachable:
            return (f"{self.level}: target precision {self.target_precision:.2f} UNREACHABLE "
                    f"(best {self.best_precision:.3f} with ≥ {self.min_support} pairs)")
        return (f"{self.level} ≥ {self.threshold:.4f}: precision {self.precision:.3f} "
                f"(target {self.target_precision:.2f}), recall {self.recall:.3f}")


def parse_targets(items: Sequence[str], scheme: LevelScheme) -> dict[str, float]:
    """``["exact=0.9", "substitute=0.85"]`` → {level: target} for every level above the lowest.

    Levels not named get DEFAULT_TARGET_PRECISION. InputError for an unknown level, the lowest level, or a
    target outside (0, 1].
    """
    targets = {scheme.name_of(g): DEFAULT_TARGET_PRECISION for g in range(scheme.top, 0, -1)}
    for item in items:
        name, sep, value = str(item).partition("=")
        if not sep:
            raise InputError(f"--target-precision {item!r}: expected LEVEL=PRECISION, e.g. exact=0.9")
        try:
            grade = scheme.grade_of(name.strip())
        except KeyError:
            raise InputError(
                f"--target-precision {item!r}: unknown level {name.strip()!r} for scheme {scheme.name} "
                f"(levels: {', '.join(scheme.levels)})") from None
        if grade == 0:
            raise InputError(f"--target-precision {item!r}: the lowest level ({scheme.name_of(0)}) has no threshold")
        try:
            p = float(value)
        except ValueError:
            raise InputError(f"--target-precision {item!r}: {value!r} is not a number") from None
        if not 0.0 < p <= 1.0:
            raise InputError(f"--target-precision {item!r}: precision must be in (0, 1]")
        targets[scheme.name_of(grade)] = p
    return targets


# ---------------------------------------------------------------- low level (arrays only)


def _sorted_groups(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Order of scores descending (stable) and the positions (in that order) that end a group of equal scores."""
    order = np.argsort(-scores, kind="stable")
    s = scores[order]
    ends = np.flatnonzero(np.r_[s[1:] != s[:-1], True])
    return order, ends


def _select(sorted_scores: np.ndarray, sorted_positive: np.ndarray, weights: np.ndarray, ends: np.ndarray,
            target: float, min_support: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Threshold selection for a batch of pair weightings.

    weights: (B, n) pair weights (1 for the plain fit; bootstrap: how often the pair's query was drawn).
    Returns per row: chosen group-end index into ``ends`` (-1 when unreachable), precision, recall, support at
    it, and the best precision over groups with enough support.
    """
    cum_w = np.cumsum(weights, axis=1)[:, ends]
    cum_pos = np.cumsum(weights * sorted_positive[None, :], axis=1)[:, ends]
    total_pos = cum_pos[:, -1]
    group_w = np.diff(np.concatenate([np.zeros((weights.shape[0], 1)), cum_w], axis=1), axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(cum_w > 0, cum_pos / cum_w, 0.0)
    supported = (cum_w >= min_support) & (group_w > 0)
    valid = supported & (precision >= target - 1e-12)
    any_valid = valid.any(axis=1)
    last = valid.shape[1] - 1 - np.argmax(valid[:, ::-1], axis=1)
    chosen = np.where(any_valid, last, -1)
    rows = np.arange(weights.shape[0])
    pick = np.maximum(chosen, 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        recall = np.where(total_pos > 0, cum_pos[rows, pick] / total_pos, 0.0)
    best = np.where(supported, precision, -1.0).max(axis=1)
    return chosen, precision[rows, pick], recall, cum_w[rows, pick], np.maximum(best, 0.0)


def select_threshold(scores: np.ndarray, positive: np.ndarray, target: float,
                     min_support: int = DEFAULT_MIN_SUPPORT) -> dict:
    """The smallest threshold t with precision(≥ t) ≥ target (see module doc) on one set of pairs.

    scores: (n,) pair scores; positive: (n,) bool (grade ≥ L). Returns {"threshold" (None if unreachable),
    "precision", "recall", "support", "reachable", "best_precision"}.
    """
    scores = np.asarray(scores, dtype=np.float64)
    positive = np.asarray(positive, dtype=bool)
    if scores.size == 0:
        return {"threshold": None, "precision": None, "recall": None, "support": 0, "reachable": False,
                "best_precision": 0.0}
    order, ends = _sorted_groups(scores)
    s = scores[order]
    chosen, prec, rec, sup, best = _select(s, positive[order].astype(np.float64), np.ones((1, s.size)), ends,
                                           target, min_support)
    if chosen[0] < 0:
        return {"threshold": None, "precision": None, "recall": None, "support": 0, "reachable": False,
                "best_precision": float(best[0])}
    return {"threshold": float(s[ends[chosen[0]]]), "precision": float(prec[0]), "recall": float(rec[0]),
            "support": int(sup[0]), "reachable": True, "best_precision": float(best[0])}


def precision_recall_at(scores: np.ndarray, positive: np.ndarray, threshold: float) -> tuple[float | None, float | None, int]:
    """(precision, recall, support) of the cut score ≥ threshold; precision None when nothing passes."""
    scores = np.asarray(scores, dtype=np.float64)
    positive = np.asarray(positive, dtype=bool)
    kept = scores >= threshold
    n_kept = int(kept.sum())
    n_pos = int(positive.sum())
    precision = float((kept & positive).sum() / n_kept) if n_kept else None
    recall = float((kept & positive).sum() / n_pos) if n_pos else None
    return precision, recall, n_kept


def bootstrap_thresholds(scores: np.ndarray, positive: np.ndarray, query_index: np.ndarray, target: float,
                         n_resamples: int, seed: int = 0, min_support: int = DEFAULT_MIN_SUPPORT) -> np.ndarray:
    """Thresholds re-selected on ``n_resamples`` query-level bootstrap resamples (NaN where unreachable).

    query_index: (n,) integer query number of each pair (0..n_queries-1). Each resample draws n_queries
    queries with replacement; a pair's weight is how often its query was drawn.
    """
    scores = np.asarray(scores, dtype=np.float64)
    query_index = np.asarray(query_index)
    n_queries = int(query_index.max()) + 1 if query_index.size else 0
    out = np.full(n_resamples, np.nan)
    if n_resamples <= 0 or n_queries == 0:
        return out
    rng = np.random.default_rng(seed)
    order, ends = _sorted_groups(scores)
    s = scores[order]
    pos = np.asarray(positive, dtype=np.float64)[order]
    q_sorted = query_index[order]
    for start in range(0, n_resamples, _BOOTSTRAP_CHUNK):
        b = min(_BOOTSTRAP_CHUNK, n_resamples - start)
        counts = rng.multinomial(n_queries, np.full(n_queries, 1.0 / n_queries), size=b).astype(np.float64)
        chosen, *_ = _select(s, pos, counts[:, q_sorted], ends, target, min_support)
        ok = chosen >= 0
        out[start:start + b][ok] = s[ends[chosen[ok]]]
    return out


# ---------------------------------------------------------------- high level


def fit_thresholds(scores: np.ndarray, grades: np.ndarray, query_ids: Sequence[str], scheme: LevelScheme,
                   targets: Mapping[str, float] | None = None, *, bootstrap: int = 1000, seed: int = 0,
                   min_support: int = DEFAULT_MIN_SUPPORT, dev: tuple[np.ndarray, np.ndarray] | None = None,
                   ) -> dict[str, LevelThreshold]:
    """Per-level thresholds, from the top level down to the level just above the lowest.

    scores: (n,) judged-pair scores in one score space (e.g. dense k-NN score); grades: (n,) integer grades of
    ``scheme``; query_ids: (n,) the pair's query (bootstrap unit). targets: {level name: precision}
    (missing → DEFAULT_TARGET_PRECISION). dev: optional held-out (scores, grades) on which each cut's
    precision / recall is also reported. Returns {level name: LevelThreshold}, top level first.
    """
    scores = np.asarray(scores, dtype=np.float64)
    grades = np.asarray(grades, dtype=np.int64)
    _, query_index = np.unique(np.asarray(query_ids, dtype=object).astype(str), return_inverse=True)
    targets = dict(targets or {})
    out: dict[str, LevelThreshold] = {}
    for grade in range(scheme.top, 0, -1):
        level = scheme.name_of(grade)
        target = float(targets.get(level, DEFAULT_TARGET_PRECISION))
        positive = grades >= grade
        sel = select_threshold(scores, positive, target, min_support)
        lt = LevelThreshold(level=level, grade=grade, target_precision=target, threshold=sel["threshold"],
                            precision=sel["precision"], recall=sel["recall"], support=sel["support"],
                            reachable=sel["reachable"], best_precision=sel["best_precision"],
                            min_support=min_support)
        if bootstrap > 0:
            boot = bootstrap_thresholds(scores, positive, query_index, target, bootstrap, seed + grade, min_support)
            ok = boot[~np.isnan(boot)]
            lt.ci_reachable_share = float(ok.size / bootstrap)
            if ok.size:
                lo, hi = np.percentile(ok, [2.5, 97.5])
                lt.ci = (float(lo), float(hi))
        if dev is not None and lt.threshold is not None:
            dev_scores, dev_grades = dev
            p, r, n = precision_recall_at(dev_scores, np.asarray(dev_grades) >= grade, lt.threshold)
            lt.dev_precision, lt.dev_recall, lt.dev_support = p, r, n
        out[level] = lt
    return out


# ---------------------------------------------------------------- warnings about what the judgments can show

DEV_MARGIN = 0.05
"""Half-width (95%) to which a held-out precision should be known before it confirms or refutes a target."""

_Z95 = 1.959963984540054


def pairs_needed(target: float, margin: float = DEV_MARGIN) -> int:
    """Dev pairs above a threshold needed to know its precision to ±margin (95%) near ``target``:
    the binomial normal approximation n = z² p (1 − p) / margin², and at least the rule of three's 3 / margin
    (zero errors in n pairs bound the error rate below 3 / n at 95%), which governs targets near 1."""
    normal = _Z95 ** 2 * target * (1.0 - target) / margin ** 2
    return int(np.ceil(max(normal, 3.0 / margin)))


def wilson_interval(successes: float, n: float) -> tuple[float, float]:
    """Wilson score 95% interval of a binomial proportion (Wilson 1927); (0, 1) when n is 0."""
    if n <= 0:
        return 0.0, 1.0
    p = successes / n
    z2 = _Z95 ** 2
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = _Z95 * np.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return float(max(0.0, centre - half)), float(min(1.0, centre + half))


def threshold_warnings(thresholds: Mapping[str, LevelThreshold], n_dev_queries: int,
                       margin: float = DEV_MARGIN) -> list[str]:
    """Plain sentences about what the thresholds can and cannot be trusted for, top level first:

    - a level's own warning (unreachable target, or a sliver of recall: LevelThreshold.warning);
    - held-out checks: no dev queries at all; no dev pair above a threshold (its dev precision unknown);
      a dev precision below the target (with its Wilson 95% interval, which says whether the miss may be
      noise); too few dev pairs above the thresholds to know their precision to ±``margin`` (pairs_needed);
    - two levels whose bootstrap CIs overlap: their thresholds cannot be told apart on these judgments.
    """
    out = [w for w in (t.warning() for t in thresholds.values()) if w]
    reachable = [t for t in thresholds.values() if t.reachable and t.threshold is not None]
    if n_dev_queries == 0:
        if reachable:
            out.append("no dev queries (--dev-fraction 0): no threshold is checked on held-out queries")
    else:
        thin = []
        for t in reachable:
            if t.dev_precision is None:
                out.append(f"{t.level}: no pair of the {n_dev_queries} dev queries scores ≥ its threshold "
                           f"{t.threshold:.4f}, so its precision on held-out queries is unknown; judge more queries "
                           "or raise --dev-fraction")
                continue
            n = int(t.dev_support or 0)
            if t.dev_precision < t.target_precision:
                lo, hi = wilson_interval(t.dev_precision * n, n)
                noise = ("; the interval holds the target, so the miss may be noise" if hi >= t.target_precision
                         else "; the interval excludes the target")
                out.append(f"{t.level}: dev precision {t.dev_precision:.3f} misses the target {t.target_precision:.2f} "
                           f"({n} dev pairs ≥ threshold {t.threshold:.4f}, Wilson 95% CI {lo:.3f}–{hi:.3f}{noise})")
            need = pairs_needed(t.target_precision, margin)
            if n < need:
                thin.append(f"{t.level} {n} of ~{need}")
        if thin:
            out.append(f"the {n_dev_queries} dev queries are too few to check the thresholds: knowing a precision "
                       f"to ±{margin:g} (95%) needs about z²·p(1−p)/{margin:g}² dev pairs above the threshold, and "
                       f"the dev split has {', '.join(thin)}; judge more queries or raise --dev-fraction")
    with_ci = [t for t in reachable if t.ci is not None]
    for upper, lower in zip(with_ci, with_ci[1:], strict=False):
        if upper.ci[0] <= lower.ci[1]:
            out.append(f"{upper.level} and {lower.level} thresholds are indistinguishable: their bootstrap 95% CIs "
                       f"overlap ({upper.ci[0]:.4f}–{upper.ci[1]:.4f} vs {lower.ci[0]:.4f}–{lower.ci[1]:.4f}), so a "
                       f"score between them is not reliably {upper.level} rather than {lower.level}")
    return out
