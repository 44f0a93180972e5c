"""mrs.blending — calibration: per-level score thresholds, calibrated probabilities, hybrid blend search.

Modules: thresholds (per-level t_L with target precision and bootstrap CI), probability (isotonic maps, ECE,
hit labels), candidates (sub-query candidate lists and judged-pair scores from a SearchBackend), objective
(vectorised ranx-equal metrics), grid (normalization × combination × weights and RRF search), run (the whole
calibration), calibration (calibration.json read/write, identity checks, labels for search), plots (PNGs).

Used by ``mrs search --calibration``: ``read_calibration``, ``check_index``, ``min_score_for_level``,
``label_hits``.
"""

from mrs.blending.calibration import (
    Calibration,
    check_index,
    label_hits,
    min_score_for_level,
    read_calibration,
    write_calibration,
)

__all__ = ["Calibration", "check_index", "label_hits", "min_score_for_level", "read_calibration",
           "write_calibration"]
