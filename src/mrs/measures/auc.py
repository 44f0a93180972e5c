"""AUC between two relevance levels: how well one score tells a higher level's pairs from a lower level's.

AUC(hi > lo) = P(score of a random hi pair > score of a random lo pair) + ½ P(equal): the Mann–Whitney U
statistic divided by n_hi × n_lo, which is also the area under the ROC curve with ties as ½ (sklearn's
``roc_auc_score``). 1.0: every hi pair outscores every lo pair; 0.5: no separation.

Reference: Mann & Whitney (1947); Hanley & McNeil (1982), "The meaning and use of the area under a ROC curve".
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.stats import rankdata


def auc(hi_scores: Sequence[float], lo_scores: Sequence[float]) -> float | None:
    """P(hi > lo) + ½ P(hi = lo) over all (hi, lo) pairs; None when either side is empty.

    Computed from ranks: U = R_hi − n_hi(n_hi + 1)/2 with R_hi the sum of the hi scores' average ranks
    in the pooled sample; AUC = U / (n_hi n_lo)."""
    hi = np.asarray(hi_scores, dtype=np.float64)
    lo = np.asarray(lo_scores, dtype=np.float64)
    if hi.size == 0 or lo.size == 0:
        return None
    ranks = rankdata(np.concatenate([hi, lo]))  # average ranks for ties
    u = ranks[: hi.size].sum() - hi.size * (hi.size + 1) / 2.0
    return float(u / (hi.size * lo.size))


def separation_auc(scores: Sequence[float], grades: Sequence[int], high: int, low: int) -> float | None:
    """auc of the pairs graded ``high`` against those graded ``low``, pooled (scores[i] belongs to grades[i]);
    pairs of other grades are ignored. None when either level has no pair."""
    g = np.asarray(grades)
    s = np.asarray(scores, dtype=np.float64)
    return auc(s[g == high], s[g == low])
