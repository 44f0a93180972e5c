"""Runs: every judged query through a backend per retrieval mode, and TREC run files.

A run is ``{query id: {product id: score}}`` (ranx's dict form). Retrieval goes through the
SearchBackend protocol only (mrs.indexer.backend), so the same code evaluates the embedded engine or a
cluster. Query vectors are encoded once, batched, by the caller's encoder and passed in.

TREC run format, one line per retrieved product: ``qid Q0 docid rank score run_name`` (whitespace
separated). Ids are escaped by mrs.data.trec_ids (percent-encoded when they hold whitespace), the same
escaping the TREC qrels reader decodes, so runs and qrels written by mrs read back to the same ids.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mrs.atomic import OutputSet, output_set
from mrs.data.trec_ids import decode_trec_id, encode_trec_id
from mrs.errors import InputError, json_error_text
from mrs.eval.tuned import TunedOn, pipeline_origin
from mrs.indexer.backend import Hit, SearchBackend

MODES: tuple[str, ...] = ("lexical", "dense", "hybrid", "rrf")
DEFAULT_MODES: tuple[str, ...] = ("lexical", "dense", "hybrid")

# OpenSearch score-ranker-processor (RRF, rank_constant 60), the body of a search pipeline.
RRF_PIPELINE: dict[str, Any] = {
    "description": "mrs eval: reciprocal rank fusion of the lexical and dense sub-queries",
    "phase_results_processors": [
        {"score-ranker-processor": {"combination": {"technique": "rrf", "rank_constant": 60}}}
    ],
}


@dataclass(frozen=True)
class RunSpec:
    """One run to produce. name: its label in every output; mode: lexical | dense | hybrid;
    pipeline: search-pipeline body for hybrid (None = the backend's default pipeline); source: the file the
    pipeline came from (named in errors about it), None for the built-in modes; tuned_on: the query split of
    the calibration that tuned it (mrs.eval.tuned)."""

    name: str
    mode: str
    pipeline: Any = None
    source: str | None = None
    tuned_on: TunedOn | None = None


@dataclass
class RetrievedRun:
    """What one RunSpec returned. hits: {query id: ranked hits}; latency_ms: {query id: backend call
    wall time in milliseconds (query encoding excluded; it is done once, batched)}."""

    spec: RunSpec
    hits: dict[str, list[Hit]] = field(default_factory=dict)
    latency_ms: dict[str, float] = field(default_factory=dict)

    def run(self) -> dict[str, dict[str, float]]:
        return hits_to_run(self.hits)


def parse_modes(modes: str | Sequence[str] | None) -> list[RunSpec]:
    """``"lexical,dense,hybrid"`` → RunSpecs. ``rrf`` is a hybrid run through RRF_PIPELINE."""
    if modes is None:
        names = list(DEFAULT_MODES)
    elif isinstance(modes, str):
        names = [m.strip().lower() for m in modes.split(",") if m.strip()]
    else:
        names = [m.strip().lower() for item in modes for m in str(item).split(",") if m.strip()]
    specs: list[RunSpec] = []
    for n in dict.fromkeys(names):
        if n not in MODES:
            raise InputError(f"unknown mode {n!r}; choose from {', '.join(MODES)}")
        specs.append(RunSpec(n, "hybrid", RRF_PIPELINE) if n == "rrf" else RunSpec(n, n))
    return specs


def parse_pipeline_option(value: str) -> RunSpec:
    """``name=FILE`` (a search-pipeline JSON body, or a calibration.json: its blend) → a hybrid RunSpec
    named ``name``; a pipeline from `mrs calibrate` carries the split it was tuned on (mrs.eval.tuned)."""
    name, sep, path = value.partition("=")
    name, path = name.strip(), path.strip()
    if not sep or not name or not path:
        raise InputError(f"--pipeline {value!r}: expected NAME=FILE (e.g. tuned=pipeline.json)")
    if name in MODES:
        raise InputError(f"--pipeline {value!r}: the name {name!r} is a mode; choose another run name")
    p = Path(path)
    if not p.is_file():
        raise InputError("pipeline file does not exist", path=path)
    try:
        body = json.loads(p.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise InputError(f"malformed JSON ({json_error_text(e)})", path=path, line=e.lineno) from None
    if not isinstance(body, dict):
        raise InputError("a search pipeline must be a JSON object", path=path)
    body, tuned = pipeline_origin(p, body)
    return RunSpec(name, "hybrid", dict(body), source=path, tuned_on=tuned)


def hits_to_run(hits_by_query: Mapping[str, Sequence[Hit]]) -> dict[str, dict[str, float]]:
    """{query id: hits} → {query id: {product id: score}}; a product repeated in one list keeps its first score."""
    out: dict[str, dict[str, float]] = {}
    for q, hits in hits_by_query.items():
        docs: dict[str, float] = {}
        for h in hits:
            docs.setdefault(h.id, float(h.score))
        out[q] = docs
    return out


def search_one(backend: SearchBackend, spec: RunSpec, text: str, vector: np.ndarray | None, k: int,
               filter: Any = None, pagination_depth: int | None = None) -> list[Hit]:
    """One query through the backend in the spec's mode (with its filter, when it has one).
    pagination_depth: candidates per hybrid sub-query, passed to backends whose hybrid() takes it per call
    (the embedded engine); None → the backend's own setting (cluster backends are opened with it,
    mrs.cli.backends.open_backend ``candidates``)."""
    extra = {"filter": filter} if filter is not None else {}
    if spec.mode == "lexical":
        return backend.lexical(text, k, **extra)
    if spec.mode == "dense":
        return backend.knn(vector, k=k, **extra)
    if spec.mode == "hybrid":
        if pagination_depth is not None:
            extra["pagination_depth"] = pagination_depth
        return backend.hybrid(text, vector, k, spec.pipeline, **extra)
    raise InputError(f"unknown mode {spec.mode!r}")


def retrieve(
    backend: SearchBackend,
    queries: Mapping[str, str],
    vectors: Mapping[str, np.ndarray] | None,
    specs: Sequence[RunSpec],
    k: int,
    on_query: Callable[[], None] | None = None,
    filters: Mapping[str, Any] | None = None,
    pagination_depth: int | None = None,
) -> dict[str, RetrievedRun]:
    """Run every query through the backend for every spec.

    queries: {query id: text}; vectors: {query id: query vector} (needed for dense and hybrid);
    k: results per query. on_query: called after each (spec, query) search, for a progress bar.
    filters: {query id: filter} (mrs.engine.filters) for the queries users run filtered.
    pagination_depth: candidates per hybrid sub-query (see search_one).
    Returns {spec name: RetrievedRun}."""
    if k < 1:
        raise InputError(f"--k must be ≥ 1 (got {k})")
    out: dict[str, RetrievedRun] = {}
    for spec in specs:
        if spec.mode != "lexical" and vectors is None:
            raise InputError(f"mode {spec.name!r} needs query vectors (an encoder)")
        rr = RetrievedRun(spec)
        for qid, text in queries.items():
            vec = vectors[qid] if vectors is not None and spec.mode != "lexical" else None
            t0 = time.perf_counter()
            hits = search_one(backend, spec, text, vec, k, (filters or {}).get(qid), pagination_depth)
            rr.latency_ms[qid] = (time.perf_counter() - t0) * 1000.0
            rr.hits[qid] = list(hits)[:k]
            if on_query is not None:
                on_query()
        out[spec.name] = rr
    return out


# TREC run files -----------------------------------------------------------------------------------

def write_trec_run(path: str | os.PathLike, run: Mapping[str, Mapping[str, float]], name: str,
                   outputs: OutputSet | None = None) -> int:
    """Write a run as a TREC run file (ranks by descending score, ties kept in the given order).
    name: run tag (whitespace replaced by '_'). outputs: stage the file in this mrs.atomic.OutputSet (renamed
    with the set's other files) instead of writing it on its own. Returns the number of lines written.
    All or nothing (mrs.atomic)."""
    tag = "_".join(name.split()) or "run"
    n = 0
    with output_set() if outputs is None else nullcontext(outputs) as staged, staged.open(path) as fh:
        for qid, docs in run.items():
            ranked = sorted(docs.items(), key=lambda kv: -kv[1])
            for rank, (doc, score) in enumerate(ranked, start=1):
                fh.write(f"{encode_trec_id(qid)} Q0 {encode_trec_id(doc)} {rank} {score!r} {tag}\n")
                n += 1
    return n


def read_trec_run(path: str | os.PathLike) -> tuple[str, dict[str, dict[str, float]]]:
    """Read a TREC run file → (run tag, {query id: {product id: score}}).

    Ids are percent-decoded (see module doc). InputError with file and line for a line that is not
    ``qid Q0 docid rank score tag``, a non-numeric rank/score, or a product listed twice for one query.
    The run tag is the file's first tag (or the file stem when the file is empty)."""
    p = Path(path)
    if not p.is_file():
        raise InputError("run file does not exist", path=str(path))
    run: dict[str, dict[str, float]] = {}
    tag = None
    with p.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            parts = line.split()
            if len(parts) != 6:
                raise InputError(
                    f"expected 6 columns 'qid Q0 docid rank score tag', got {len(parts)}", path=str(path), line=lineno
                )
            qid, _, doc, rank, score, this_tag = parts
            try:
                int(rank)
                value = float(score)
            except ValueError:
                raise InputError(f"rank {rank!r} / score {score!r} is not a number", path=str(path), line=lineno) from None
            if math.isnan(value):
                raise InputError("score is NaN", path=str(path), line=lineno)
            qid, doc = decode_trec_id(qid), decode_trec_id(doc)
            docs = run.setdefault(qid, {})
            if doc in docs:
                raise InputError(f"product {doc!r} listed twice for query {qid!r}", path=str(path), line=lineno)
            docs[doc] = value
            tag = tag or this_tag
    return (tag or p.stem), run


def check_run_queries(run: Mapping[str, Mapping[str, float]], judged: Mapping[str, str],
                      path: str | os.PathLike) -> None:
    """InputError when a run (e.g. from read_trec_run) names none of the judged query ids: scoring it would
    give 0.0 everywhere. judged: {query id: text} of the judgments; path: the run file, for the message."""
    if run and judged and not set(run) & set(judged):
        raise InputError(f"none of the run's {len(run)} query ids is a judged query id (run: "
                         f"{', '.join(list(run)[:3])}; judgments: {', '.join(list(judged)[:3])}): are the run and "
                         "the judgments for the same queries?", path=str(path))


def write_trec_qrels(path: str | os.PathLike, qrels: Mapping[str, Mapping[str, int]],
                     outputs: OutputSet | None = None) -> int:
    """Write grade qrels as a TREC qrels file ``qid 0 docid grade`` (ids encoded as in run files), so
    trec_eval can re-check the written runs. outputs: as in write_trec_run. Returns the number of lines."""
    n = 0
    with output_set() if outputs is None else nullcontext(outputs) as staged, staged.open(path) as fh:
        for qid, docs in qrels.items():
            for doc, grade in docs.items():
                fh.write(f"{encode_trec_id(qid)} 0 {encode_trec_id(doc)} {int(grade)}\n")
                n += 1
    return n
