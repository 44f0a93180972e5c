"""calibration.json (format ``mrs-calibration/1``, docs/calibration-format.md): write, read, check, apply.

- ``Calibration``: what ``mrs calibrate`` learned: the level scheme, dense thresholds per level (with CI and
  held-out precision), isotonic probability maps with their ECE, the chosen blend and its deployable
  OpenSearch search-pipeline body, and the identity of the data, model and index it was made on.
- ``write_calibration`` / ``read_calibration``: the JSON file. Reading is tolerant: every key but ``format``
  is optional and falls back to the defaults (min_max + arithmetic_mean 0.7 / 0.3, no thresholds).
- ``check_index``: InputError when an index (its manifest) is not the one the calibration was made for
  (different model, vector dimension or space): thresholds in another score space mean nothing.
- ``min_score_for_level`` / ``label_hits``: what ``mrs search --calibration --min-level`` uses.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from mrs.atomic import OutputSet
from mrs.blending.probability import IsotonicMap, label_scores
from mrs.blending.thresholds import LevelThreshold
from mrs.data.levels import SCHEMES, LevelScheme
from mrs.errors import InputError, read_json
from mrs.indexer.backend import SUBQUERY_DENSE, SUBQUERY_LEXICAL, Hit
from mrs.models import write_json

FORMAT = "mrs-calibration/1"


@dataclass
class Calibration:
    """A calibration (see module doc). thresholds / probability: on the dense score space of the index
    (cosinesimil: (1 + cos) / 2), keyed by level name, top level first. blend: {"subqueries", "metric",
    "name", "train_score", "dev_score", "default_score", "rrf_score", "pipeline", "top", ...}. warnings: plain
    sentences about what the judgments cannot support (mrs.blending.thresholds.threshold_warnings, skipped
    rows, pairs missing from the index)."""

    scheme: LevelScheme
    thresholds: dict[str, LevelThreshold] = field(default_factory=dict)
    probability: dict[str, IsotonicMap] = field(default_factory=dict)
    ece: dict[str, float | None] = field(default_factory=dict)
    blend: dict[str, Any] = field(default_factory=dict)
    model: dict[str, Any] = field(default_factory=dict)
    index: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    scores: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    created: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    source: str | None = None

    @property
    def pipeline(self) -> dict | None:
        """The chosen OpenSearch search-pipeline body (None when the file has no blend)."""
        return self.blend.get("pipeline")

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "created": self.created,
            "scheme": {"name": self.scheme.name, "levels": list(self.scheme.levels)},
            "model": self.model,
            "index": self.index,
            "data": self.data,
            "thresholds": {SUBQUERY_DENSE: {lv: t.to_dict() for lv, t in self.thresholds.items()}},
            "probability": {SUBQUERY_DENSE: {lv: m.to_dict() for lv, m in self.probability.items()},
                            "ece": dict(self.ece)},
            "blend": self.blend,
            "scores": self.scores,
            "warnings": list(self.warnings),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str | None = None) -> Calibration:
        """Tolerant reader: only ``format`` (when present) must be mrs-calibration/1."""
        if not isinstance(data, Mapping):
            raise InputError("calibration must be a JSON object", path=source)
        fmt = data.get("format", FORMAT)
        if fmt != FORMAT:
            raise InputError(f"unsupported calibration format {fmt!r} (expected {FORMAT})", path=source)
        scheme = _scheme_from(data.get("scheme") or {}, source)
        dense_t = ((data.get("thresholds") or {}).get(SUBQUERY_DENSE) or {})
        prob = data.get("probability") or {}
        dense_p = prob.get(SUBQUERY_DENSE) or {}
        thresholds = {}
        for level, d in dense_t.items():
            if isinstance(d, Mapping):
                t = LevelThreshold.from_dict(level, d)
                if t.grade < 0 and level in scheme.levels:
                    t.grade = scheme.levels.index(level)
                thresholds[level] = t
        return cls(
            scheme=scheme,
            thresholds=thresholds,
            probability={lv: IsotonicMap.from_dict(lv, d) for lv, d in dense_p.items() if isinstance(d, Mapping)},
            ece=dict(prob.get("ece") or {}),
            blend=dict(data.get("blend") or {}),
            model=dict(data.get("model") or {}),
            index=dict(data.get("index") or {}),
            data=dict(data.get("data") or {}),
            scores=dict(data.get("scores") or {}),
            warnings=[str(w) for w in data.get("warnings") or []],
            created=str(data.get("created", "")),
            source=source,
        )


def _scheme_from(d: Mapping[str, Any], source: str | None) -> LevelScheme:
    name = d.get("name", "esci")
    levels = d.get("levels")
    known = SCHEMES.get(name)
    if known is not None and (levels is None or list(levels) == list(known.levels)):
        return known
    if not levels or not isinstance(levels, list) or len(levels) < 2:
        raise InputError(f"calibration scheme {name!r} lists no levels", path=source)
    return LevelScheme(name=str(name), levels=tuple(str(v) for v in levels))


def write_calibration(calibration: Calibration, path: str | os.PathLike, outputs: OutputSet | None = None) -> Path:
    """Write calibration.json all or nothing; outputs: stage it in this mrs.atomic.OutputSet (committed with
    the pipeline and plots) instead. Returns the path."""
    p = Path(path)
    (outputs.write_json if outputs is not None else write_json)(p, _plain(calibration.to_dict()))
    return p


def write_pipeline(body: Mapping[str, Any], path: str | os.PathLike, outputs: OutputSet | None = None) -> Path:
    """Write the chosen search-pipeline body as its own JSON file (PUT /_search/pipeline/<name> body);
    outputs as in write_calibration."""
    p = Path(path)
    (outputs.write_json if outputs is not None else write_json)(p, _plain(dict(body)))
    return p


def read_calibration(path: str | os.PathLike) -> Calibration:
    """calibration.json → Calibration. InputError (file, line) for unreadable or malformed JSON."""
    p = Path(path)
    data = read_json(p, "calibration")
    return Calibration.from_dict(data, source=str(p))


def index_identity(manifest: Mapping[str, Any], index_path: str | os.PathLike | None = None) -> dict[str, Any]:
    """What a calibration records about its index, from the index manifest (mrs.engine.manifest)."""
    vectors = manifest.get("vectors") or {}
    bm25 = manifest.get("bm25") or {}
    return {
        "path": None if index_path is None else str(index_path),
        "space_type": vectors.get("space_type"),
        "dimension": (manifest.get("model") or {}).get("dimension", vectors.get("dimension")),
        "documents": (manifest.get("counts") or {}).get("documents"),
        "similarity": bm25.get("similarity"),
        "fields": bm25.get("fields"),
        "analyzer": bm25.get("analyzer"),
        "text_template": manifest.get("text_template"),
        "content_sha256": manifest.get("content_sha256"),
        "created": manifest.get("created"),
    }


def model_identity_of(manifest: Mapping[str, Any]) -> dict[str, Any]:
    """{"name", "sha256", "dimension"} of the index's model (from its manifest)."""
    m = manifest.get("model") or {}
    return {"name": m.get("name"), "sha256": m.get("sha256"), "dimension": m.get("dimension")}


def check_index(calibration: Calibration, manifest: Mapping[str, Any],
                index_path: str | os.PathLike | None = None) -> list[str]:
    """Check that the calibration fits the index (its manifest). InputError when the dense score space
    differs: another model (sha256), vector dimension, k-NN space or embedding text template. Returns
    warnings (one line each, naming what differs) when the space is the same but the index is not the one
    the calibration was fitted on: other content (content_sha256: another catalog, or a changed one), another
    document count, other BM25 settings (the blend's lexical side). Keys absent from an older calibration
    file or manifest are not checked."""
    where = calibration.source
    model = model_identity_of(manifest)
    want = calibration.model
    if want.get("sha256") and model.get("sha256") and want["sha256"] != model["sha256"]:
        raise InputError(
            f"calibration was made with model {want.get('name')!r} (sha256 {str(want['sha256'])[:12]}…), the index "
            f"{index_path or ''} uses {model.get('name')!r} (sha256 {str(model['sha256'])[:12]}…): recalibrate",
            path=where)
    idx = index_identity(manifest, index_path)
    for key in ("dimension", "space_type"):
        have, need = idx.get(key), (calibration.index.get(key) if key != "dimension"
                                    else calibration.index.get(key, want.get("dimension")))
        if need is not None and have is not None and need != have:
            raise InputError(f"calibration was made on an index with {key} {need!r}, this index has {have!r}: "
                             "recalibrate", path=where)
    return index_differences(calibration.index, idx, where)


def index_differences(fitted_on: Mapping[str, Any], index: Mapping[str, Any], where: str | None) -> list[str]:
    """check_index's part for one score space: InputError for another text template (product vectors differ);
    warnings for other content, document count or BM25 settings."""
    def differs(key: str) -> bool:
        need, have = fitted_on.get(key), index.get(key)
        return need is not None and have is not None and need != have

    if differs("text_template"):
        raise InputError(f"calibration was made on an index whose embedding text template is "
                         f"{fitted_on['text_template']!r}, this index uses {index['text_template']!r}: recalibrate",
                         path=where)
    fitted = f"calibration {where}" if where else "the calibration"
    warnings = []
    if differs("content_sha256") or differs("documents"):
        warnings.append(f"{fitted} was fitted on another catalog or another version of it ({_content(fitted_on)}; "
                        f"this index: {_content(index)}): its thresholds may not hold here; recalibrate")
    changed = [k for k in ("similarity", "analyzer", "fields") if differs(k)]
    if changed:
        warnings.append(f"{fitted} was fitted with other BM25 settings ({', '.join(changed)}): the blend's lexical "
                        "side may not transfer; recalibrate")
    return warnings


def _content(identity: Mapping[str, Any]) -> str:
    sha = identity.get("content_sha256")
    return f"{identity.get('documents')} documents" + (f", content sha256 {sha[:12]}…" if sha else "")


def min_score_for_level(calibration: Calibration, level: str) -> float:
    """The dense radial min_score that keeps hits predicted at ``level`` or above (its threshold t_L).

    InputError for an unknown level, the lowest level (no cut), or a level whose target was unreachable.
    """
    scheme = calibration.scheme
    try:
        grade = scheme.grade_of(level)
    except KeyError:
        raise InputError(f"--min-level {level!r}: unknown level (levels: {', '.join(scheme.levels)})",
                         path=calibration.source) from None
    name = scheme.name_of(grade)
    if grade == 0:
        raise InputError(f"--min-level {name}: the lowest level keeps everything; choose a higher one",
                         path=calibration.source)
    t = calibration.thresholds.get(name)
    if t is None or t.threshold is None:
        raise InputError(f"--min-level {name}: the calibration has no threshold for it "
                         f"(target precision unreachable on its judgments)", path=calibration.source)
    return float(t.threshold)


def label_hits(hits: Sequence[Hit], calibration: Calibration,
               dense_scores: Mapping[str, float | None] | None = None) -> list[dict[str, Any]]:
    """For each hit: {"level", "probability", "p_at_least", "dense_score", "meets": [levels whose threshold
    the dense score reaches]}, from its dense k-NN score (Hit.scores["dense"], else ``dense_scores[id]``).

    A hit without any dense score gets level None (nothing to calibrate against).
    """
    scores: list[float | None] = []
    for h in hits:
        s = h.scores.get(SUBQUERY_DENSE) if h.scores else None
        if s is None and dense_scores is not None:
            s = dense_scores.get(h.id)
        scores.append(None if s is None else float(s))
    known = [i for i, s in enumerate(scores) if s is not None]
    labels = label_scores(calibration.probability, np.asarray([scores[i] for i in known]), calibration.scheme) \
        if known else []
    out: list[dict[str, Any]] = [{"level": None, "probability": None, "p_at_least": {}, "dense_score": None,
                                  "meets": []} for _ in hits]
    for i, lab in zip(known, labels, strict=True):
        s = scores[i]
        meets = [lv for lv, t in calibration.thresholds.items() if t.threshold is not None and s >= t.threshold]
        out[i] = {**lab, "dense_score": s, "meets": meets}
    return out


def _plain(obj: Any) -> Any:
    """numpy scalars/arrays and tuples → JSON-native values (NaN → None)."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [_plain(v) for v in obj.tolist()]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and obj != obj:
        return None
    return obj


def label_search_hits(engine, query: str, hits: Sequence[Hit], calibration: Calibration,
                      encoder: Any = None) -> list[dict[str, Any]]:
    """label_hits for hits of a search on any backend: hits without a dense score (lexical mode, or hybrid
    hits the k-NN sub-query did not return) get theirs from ``engine.score_documents`` (query encoded once, by
    ``encoder``, default the EmbeddedEngine's own)."""
    missing = [h.id for h in hits if not h.scores or h.scores.get(SUBQUERY_DENSE) is None]
    dense: dict[str, float | None] = {}
    if missing:
        vector = (encoder or engine.open_encoder()).encode_query(query)
        dense = {doc_id: s.get(SUBQUERY_DENSE) for doc_id, s in engine.score_documents(query, vector, missing).items()}
    return label_hits(hits, calibration, dense)


@dataclass
class SearchCalibration:
    """What `mrs search --calibration [--min-level]` applies: the calibration, the dense radial min_score
    (the level's threshold, or the user's --min-score), and the calibrated blend with its pagination depth
    (used in hybrid mode when no --pipeline is given). warnings: check_index's lines (the calibration was
    fitted on another catalog, ...), for the command to print."""

    calibration: Calibration
    min_score: float | None
    pipeline: dict | None
    pagination_depth: int | None
    warnings: list[str] = field(default_factory=list)


def open_for_search(calibration_file: str | os.PathLike | None, engine, mode: str, min_level: str | None,
                    min_score: float | None, index_path: str | os.PathLike | None = None) -> SearchCalibration | None:
    """Read and check a calibration for a search on ``engine`` (an EmbeddedEngine or anything with a
    ``manifest``). None without a calibration file. InputError: --min-level without --calibration, with
    --min-score, or in lexical mode; index/model mismatch (check_index)."""
    if calibration_file is None:
        if min_level is not None:
            raise InputError("--min-level needs --calibration (the file that holds the level thresholds)")
        return None
    cal = read_calibration(calibration_file)
    warnings = check_index(cal, getattr(engine, "manifest", {}) or {}, index_path)
    if min_level is not None:
        if mode == "lexical":
            raise InputError("--min-level cuts on the dense k-NN score: use --mode dense or hybrid")
        if min_score is not None:
            raise InputError("give --min-level or --min-score, not both")
        min_score = min_score_for_level(cal, min_level)
    depth = cal.blend.get("pagination_depth")
    # the embedded hybrid query has two clauses (lexical, dense): a blend of other clauses only labels hits
    two_clause = list(cal.blend.get("subqueries", [SUBQUERY_LEXICAL, SUBQUERY_DENSE])) == [SUBQUERY_LEXICAL,
                                                                                           SUBQUERY_DENSE]
    return SearchCalibration(cal, min_score, cal.pipeline if two_clause else None, int(depth) if depth else None,
                             warnings)


def at_or_above(hits: Sequence[Hit], labels: Sequence[dict[str, Any]], min_dense_score: float) -> tuple[list, list]:
    """Keep the (hit, label) pairs whose dense score (from label_hits) is ≥ ``min_dense_score``: the
    --min-level cut, applied also to hybrid hits the lexical sub-query brought in below the threshold."""
    kept = [(h, lab) for h, lab in zip(hits, labels, strict=True)
            if lab.get("dense_score") is not None and lab["dense_score"] >= min_dense_score]
    return [h for h, _ in kept], [lab for _, lab in kept]
