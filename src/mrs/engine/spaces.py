"""k-NN score transforms: raw similarity/distance → OpenSearch k-NN score, and back.

OpenSearch k-NN turns each engine's raw value into a positive score where higher is better
(https://opensearch.org/docs/latest/vector-search/getting-started/vector-search-basics/#calculating-similarity,
"Spaces" table; https://opensearch.org/docs/latest/vector-search/specialized-operations/radial-search-knn/):

| space_type    | raw (what mrs passes)        | distance d (radial max_distance) | OpenSearch score           |
|---------------|------------------------------|----------------------------------|----------------------------|
| cosinesimil   | cos = cosine similarity      | d = 1 − cos                      | (1 + cos) / 2 = (2 − d)/2  |
| innerproduct  | ip = inner product           | d = −ip                          | ip > 0: ip + 1; else 1/(1 − ip) |
| l2            | squared Euclidean distance   | d = squared Euclidean distance   | 1 / (1 + d)                |

Every transform is strictly increasing in similarity (decreasing in distance), so a radial ``min_score`` is
one threshold on the raw value (``raw_from_score``). Radial search takes exactly one of ``k``, ``min_score``,
``max_distance`` (``validate_knn_limits``). The space names: mrs.spaces.SPACE_TYPES.
"""

from __future__ import annotations

import math

import numpy as np

from mrs.errors import InputError
from mrs.spaces import check_space_type as _check_space


def knn_score(raw, space: str):
    """OpenSearch k-NN score from the raw value of ``space`` (see the module table).

    raw: scalar or array — cosine similarity (cosinesimil), inner product (innerproduct) or squared
    Euclidean distance (l2). Returns the score, same shape (numpy float64 for arrays, float for scalars).
    """
    _check_space(space)
    arr = np.asarray(raw, dtype=np.float64)
    if space == "cosinesimil":
        out = (1.0 + arr) / 2.0
    elif space == "innerproduct":
        # ip > 0 → ip + 1; ip ≤ 0 → 1/(1 − ip) (both give 1.0 at ip = 0)
        out = np.where(arr > 0, arr + 1.0, 1.0 / (1.0 - np.minimum(arr, 0.0)))
    else:
        out = 1.0 / (1.0 + arr)
    return float(out) if out.ndim == 0 else out


def raw_from_score(score, space: str):
    """Inverse of ``knn_score``: the raw value (cos, ip or squared distance) that scores ``score``.

    score must be > 0 (and ≤ 1 for cosinesimil, where the raw cos lies in [−1, 1]; ≤ 1 for l2).
    cosinesimil: cos = 2·score − 1; innerproduct: score > 1 → ip = score − 1, else ip = 1 − 1/score;
    l2: d² = 1/score − 1.
    """
    _check_space(space)
    arr = np.asarray(score, dtype=np.float64)
    if np.any(arr <= 0):
        raise InputError(f"k-NN score must be > 0 to invert, got {score!r}")
    if space == "cosinesimil":
        out = 2.0 * arr - 1.0
    elif space == "innerproduct":
        out = np.where(arr > 1.0, arr - 1.0, 1.0 - 1.0 / arr)
    else:
        out = 1.0 / arr - 1.0
    return float(out) if out.ndim == 0 else out


def validate_knn_limits(
    k: int | None, min_score: float | None, max_distance: float | None, space: str = "cosinesimil"
) -> None:
    """Raise InputError unless exactly one of k, min_score, max_distance is given and valid.

    OpenSearch's knn query takes exactly one of them (radial search: min_score or max_distance).
    k ≥ 1; min_score finite and > 0 (every k-NN score is > 0); max_distance finite and, for cosinesimil
    and l2 whose distances are never negative, ≥ 0 (innerproduct distances −ip may be negative).
    """
    _check_space(space)
    given = [name for name, v in (("k", k), ("min_score", min_score), ("max_distance", max_distance)) if v is not None]
    if len(given) != 1:
        raise InputError(
            "k-NN query takes exactly one of k, min_score, max_distance"
            + (f" (got {', '.join(given)})" if given else " (got none)")
        )
    if k is not None and (isinstance(k, bool) or int(k) != k or k < 1):
        raise InputError(f"k must be a positive integer, got {k!r}")
    if min_score is not None and (not math.isfinite(min_score) or min_score <= 0):
        raise InputError(f"min_score must be a finite number > 0, got {min_score!r}")
    if max_distance is not None:
        if not math.isfinite(max_distance):
            raise InputError(f"max_distance must be finite, got {max_distance!r}")
        if space != "innerproduct" and max_distance < 0:
            raise InputError(f"max_distance must be ≥ 0 for space {space}, got {max_distance!r}")
