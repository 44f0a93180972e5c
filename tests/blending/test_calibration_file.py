"""calibration.json: round trip, tolerant reading, identity checks, and the labels search shows."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mrs.blending.calibration import (
    Calibration,
    check_index,
    label_hits,
    min_score_for_level,
    open_for_search,
    read_calibration,
    write_calibration,
)
from mrs.blending.probability import IsotonicMap
from mrs.blending.thresholds import LevelThreshold
from mrs.data.levels import ESCI
from mrs.errors import InputError
from mrs.indexer.backend import Hit

MANIFEST = {"model": {"name": "all-MiniLM-L6-v2", "sha256": "abc123", "dimension": 384},
            "vectors": {"space_type": "cosinesimil", "dimension": 384}, "counts": {"documents": 300},
            "bm25": {"similarity": "BM25"}}


def _calibration() -> Calibration:
    thresholds = {
        "exact": LevelThreshold("exact", 3, 0.9, 0.82, 0.91, 0.55, 40, True, 0.95, ci=(0.8, 0.84),
                                ci_reachable_share=1.0, dev_precision=0.88, dev_recall=0.5, dev_support=12),
        "substitute": LevelThreshold("substitute", 2, 0.9, 0.74, 0.9, 0.7, 80, True, 0.93),
        "complement": LevelThreshold("complement", 1, 0.99, None, None, None, 0, False, 0.95),
    }
    maps = {
        "exact": IsotonicMap("exact", np.array([0.6, 0.8, 0.9]), np.array([0.0, 0.5, 0.9])),
        "substitute": IsotonicMap("substitute", np.array([0.6, 0.8]), np.array([0.2, 0.9])),
        "complement": IsotonicMap("complement", np.array([0.6, 0.7]), np.array([0.5, 0.95])),
    }
    pipeline = {"description": "x", "phase_results_processors": [{"normalization-processor": {
        "normalization": {"technique": "min_max"},
        "combination": {"technique": "arithmetic_mean", "parameters": {"weights": [0.4, 0.6]}}}}]}
    return Calibration(ESCI, thresholds, maps, {"exact": 0.03}, {"subqueries": ["lexical", "dense"],
                                                                  "pipeline": pipeline, "dev_score": 0.7},
                       model={"name": "all-MiniLM-L6-v2", "sha256": "abc123", "dimension": 384},
                       index={"space_type": "cosinesimil", "dimension": 384})


def test_round_trip_keeps_everything(tmp_path):
    cal = _calibration()
    path = write_calibration(cal, tmp_path / "calibration.json")
    raw = json.loads(path.read_text())
    # the keys other readers rely on (docs/calibration-format.md)
    assert raw["format"] == "mrs-calibration/1"
    assert raw["thresholds"]["dense"]["exact"]["threshold"] == 0.82
    assert raw["blend"]["pipeline"]["phase_results_processors"]
    assert raw["probability"]["dense"]["exact"] == {"x": [0.6, 0.8, 0.9], "y": [0.0, 0.5, 0.9]}
    again = read_calibration(path)
    assert again.scheme is ESCI
    assert again.thresholds["exact"].to_dict() == cal.thresholds["exact"].to_dict()
    assert again.thresholds["complement"].reachable is False
    np.testing.assert_allclose(again.probability["exact"].predict([0.7, 0.85]), [0.25, 0.7])
    assert again.pipeline == cal.pipeline and again.ece == {"exact": 0.03}
    assert again.source == str(path)


def test_reader_is_tolerant_and_reports_bad_files(tmp_path):
    minimal = tmp_path / "min.json"
    minimal.write_text("{}")
    cal = read_calibration(minimal)
    assert cal.scheme is ESCI and cal.thresholds == {} and cal.pipeline is None
    bad = tmp_path / "bad.json"
    bad.write_text('{\n  "format": "mrs-calibration/1",\n  oops\n}')
    with pytest.raises(InputError, match=r"bad.json:3: malformed JSON"):
        read_calibration(bad)
    other = tmp_path / "other.json"
    other.write_text('{"format": "something/9"}')
    with pytest.raises(InputError, match="unsupported calibration format"):
        read_calibration(other)


def test_index_identity_mismatch_is_bad_input():
    cal = _calibration()
    check_index(cal, MANIFEST, "idx")  # same model, dimension, space: fine
    with pytest.raises(InputError, match="calibration was made with model"):
        check_index(cal, {**MANIFEST, "model": {**MANIFEST["model"], "sha256": "zzz999"}}, "idx")
    with pytest.raises(InputError, match="space_type 'cosinesimil'"):
        check_index(cal, {**MANIFEST, "vectors": {"space_type": "l2"}}, "idx")


def test_min_score_for_level():
    cal = _calibration()
    assert min_score_for_level(cal, "substitute") == 0.74
    assert min_score_for_level(cal, "E") == 0.82  # aliases of the scheme work
    with pytest.raises(InputError, match="unreachable"):
        min_score_for_level(cal, "complement")
    with pytest.raises(InputError, match="lowest level"):
        min_score_for_level(cal, "irrelevant")
    with pytest.raises(InputError, match="unknown level"):
        min_score_for_level(cal, "great")


def test_label_hits_from_dense_scores():
    cal = _calibration()
    hits = [Hit("a", 0.9, {"lexical": 3.0, "dense": 0.85}), Hit("b", 0.5, {"lexical": 2.0, "dense": None}),
            Hit("c", 0.1, {"lexical": 1.0, "dense": None})]
    labels = label_hits(hits, cal, dense_scores={"b": 0.6})
    # a: P(≥exact) = 0.5 + (0.85−0.8)/0.1·0.4 = 0.7; P(≥substitute) = 0.9; P(≥complement) = 0.95
    #    P(=exact) 0.7, P(=substitute) 0.2, P(=complement) 0.05, P(=irrelevant) 0.05 → exact, 0.7
    assert labels[0]["level"] == "exact" and labels[0]["probability"] == pytest.approx(0.7)
    assert labels[0]["meets"] == ["exact", "substitute"]
    # b (dense score from the backend): P(≥exact) 0, P(≥substitute) 0.2, P(≥complement) 0.5 →
    #    P(=irrelevant) 0.5 is the largest
    assert labels[1]["level"] == "irrelevant" and labels[1]["dense_score"] == 0.6
    # c: no dense score anywhere → no label
    assert labels[2]["level"] is None


class _Engine:
    manifest = MANIFEST


def test_open_for_search_applies_blend_and_level_cut(tmp_path):
    cal = _calibration()
    cal.blend["pagination_depth"] = 100
    path = write_calibration(cal, tmp_path / "c.json")
    got = open_for_search(path, _Engine(), "hybrid", "substitute", None)
    assert got.min_score == 0.74 and got.pagination_depth == 100 and got.pipeline == cal.pipeline
    with pytest.raises(InputError, match="not both"):
        open_for_search(path, _Engine(), "hybrid", "substitute", 0.5)
    with pytest.raises(InputError, match="use --mode dense or hybrid"):
        open_for_search(path, _Engine(), "lexical", "exact", None)
    assert open_for_search(None, _Engine(), "hybrid", None, None) is None
    # a three-clause blend cannot drive the two-clause embedded hybrid query: labels only
    cal.blend["subqueries"] = ["title", "lexical", "dense"]
    three = write_calibration(cal, tmp_path / "three.json")
    assert open_for_search(three, _Engine(), "hybrid", None, None).pipeline is None
