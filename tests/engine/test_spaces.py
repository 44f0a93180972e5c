"""k-NN score transforms per space_type and radial-search validation (OpenSearch k-NN)."""

from __future__ import annotations

import numpy as np
import pytest

from mrs.engine.spaces import (
    knn_score,
    raw_from_score,
    validate_knn_limits,
)
from mrs.errors import InputError


def test_cosinesimil_score():
    # (1 + cos)/2: cos 0.5 → 0.75, cos −1 → 0, cos 1 → 1
    np.testing.assert_allclose(knn_score(np.array([0.5, -1.0, 1.0]), "cosinesimil"), [0.75, 0.0, 1.0])
    assert raw_from_score(0.75, "cosinesimil") == pytest.approx(0.5)


def test_innerproduct_score_both_branches():
    # ip 2 → ip + 1 = 3; ip −1 → 1/(1 − (−1)) = 0.5; ip 0 → 1/(1 − 0) = 1
    np.testing.assert_allclose(knn_score(np.array([2.0, -1.0, 0.0]), "innerproduct"), [3.0, 0.5, 1.0])
    assert raw_from_score(3.0, "innerproduct") == pytest.approx(2.0)
    assert raw_from_score(0.5, "innerproduct") == pytest.approx(-1.0)  # 1 − 1/0.5
    assert isinstance(knn_score(2.0, "innerproduct"), float)


def test_l2_score():
    # 1/(1 + squared distance): d² 3 → 0.25, d² 0 → 1
    np.testing.assert_allclose(knn_score(np.array([3.0, 0.0]), "l2"), [0.25, 1.0])
    assert raw_from_score(0.25, "l2") == pytest.approx(3.0)


@pytest.mark.parametrize("space", ["cosinesimil", "innerproduct", "l2"])
def test_inverse_round_trip(space):
    raw = np.array([0.0, 0.3, 0.9]) if space != "innerproduct" else np.array([-2.0, 0.0, 0.4, 3.0])
    np.testing.assert_allclose(raw_from_score(knn_score(raw, space), space), raw, atol=1e-12)


def test_radial_takes_exactly_one_limit():
    validate_knn_limits(10, None, None)
    validate_knn_limits(None, 0.8, None)
    validate_knn_limits(None, None, 0.3, "l2")
    validate_knn_limits(None, None, -1.0, "innerproduct")
    with pytest.raises(InputError, match="exactly one"):
        validate_knn_limits(10, 0.8, None)
    with pytest.raises(InputError, match="exactly one"):
        validate_knn_limits(None, None, None)
    with pytest.raises(InputError, match="k must"):
        validate_knn_limits(0, None, None)
    with pytest.raises(InputError, match="min_score"):
        validate_knn_limits(None, float("nan"), None)
    with pytest.raises(InputError, match="max_distance"):
        validate_knn_limits(None, None, -0.1, "cosinesimil")


def test_unknown_space_and_bad_score():
    with pytest.raises(InputError, match="unknown space"):
        knn_score(0.5, "hamming")
    with pytest.raises(InputError):
        raw_from_score(0.0, "l2")
