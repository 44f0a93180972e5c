"""Which queries a tuned blend was tuned on, so `mrs eval` scores it on the others.

`mrs calibrate` searches blends on its train queries and records its query split in calibration.json
(``data.dev_fraction``, ``data.seed``; the split is mrs.data.splits.train_dev_split, where a query's side
depends only on (seed, query id)). A pipeline given to `mrs eval` is *tuned* when it is

- a calibration.json itself (its ``blend.pipeline`` is the run's pipeline), or
- a pipeline JSON written beside one (``<stem>.pipeline.json`` next to ``<stem>.json``, the names
  `mrs calibrate --out <stem>.json` writes) whose body equals that calibration's ``blend.pipeline``.

``TunedOn`` says which side of its split each judged query was on; eval scores every compared run on the
held-out (dev) side, so no tuned row is scored on queries it was tuned on and all rows share one query set.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mrs.data.splits import train_dev_split
from mrs.errors import InputError

CALIBRATION_FORMAT = "mrs-calibration/1"  # mrs.blending.calibration.FORMAT (eval does not import blending)


@dataclass(frozen=True)
class TunedOn:
    """The query split of the calibration a pipeline came from. calibration: its path; dev_fraction / seed:
    the split (dev_fraction 0: tuned on every query, nothing held out); train_queries / dev_queries: how
    many queries each side held when it was calibrated (None when the file does not say)."""

    calibration: str
    dev_fraction: float
    seed: int
    train_queries: int | None = None
    dev_queries: int | None = None

    def sides(self, query_ids: Iterable[str]) -> dict[str, list[str]]:
        """{"train": [...], "dev": [...]}: the side each of ``query_ids`` falls on in this split."""
        train, dev = train_dev_split(query_ids, max(self.dev_fraction, 0.0), self.seed)
        return {"train": train, "dev": dev}

    def key(self) -> tuple[float, int]:
        return (round(self.dev_fraction, 9), self.seed)

    def to_dict(self) -> dict[str, Any]:
        return {"calibration": self.calibration, "dev_fraction": self.dev_fraction, "seed": self.seed,
                "train_queries": self.train_queries, "dev_queries": self.dev_queries}


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None


def is_calibration(body: Any) -> bool:
    """True for a calibration.json object (has ``format`` mrs-calibration/1)."""
    return isinstance(body, Mapping) and body.get("format") == CALIBRATION_FORMAT


def tuned_on(calibration: Mapping[str, Any], path: str | Path) -> TunedOn:
    """TunedOn from a calibration.json object (``data.dev_fraction`` / ``data.seed``; older files without
    them: InputError, because the split cannot be known)."""
    data = calibration.get("data") or {}
    if "dev_fraction" not in data or "seed" not in data:
        raise InputError("calibration does not record its query split (data.dev_fraction, data.seed): "
                         "recalibrate with this version of mrs", path=str(path))
    queries = data.get("queries") or {}
    return TunedOn(str(path), float(data["dev_fraction"]), int(data["seed"]),
                   queries.get("train"), queries.get("dev"))


def sibling_calibration(pipeline_path: str | Path) -> Path | None:
    """``x.pipeline.json`` → ``x.json`` when that file exists (what `mrs calibrate --out x.json` writes)."""
    p = Path(pipeline_path)
    if not p.name.endswith(".pipeline.json"):
        return None
    cal = p.with_name(p.name[: -len(".pipeline.json")] + ".json")
    return cal if cal.is_file() else None


def pipeline_origin(path: str | Path, body: Mapping[str, Any]) -> tuple[Mapping[str, Any], TunedOn | None]:
    """(the search-pipeline body to run, TunedOn or None) for a --pipeline file whose JSON is ``body``.

    A calibration.json gives its blend's pipeline; a pipeline beside its calibration (same body) gives
    itself. Any other pipeline is not known to be tuned (None)."""
    if is_calibration(body):
        pipeline = (body.get("blend") or {}).get("pipeline")
        if not isinstance(pipeline, Mapping):
            raise InputError("calibration has no blend pipeline (blend.pipeline)", path=str(path))
        return pipeline, tuned_on(body, path)
    cal_path = sibling_calibration(path)
    if cal_path is not None:
        cal = _read_json(cal_path)
        if is_calibration(cal) and (cal.get("blend") or {}).get("pipeline") == body:
            return body, tuned_on(cal, cal_path)
    return body, None


def looks_calibrated(body: Mapping[str, Any]) -> bool:
    """A pipeline whose description says `mrs calibrate` wrote it (its calibration was not found)."""
    return str(body.get("description", "")).startswith("mrs calibrate")


@dataclass
class QuerySelection:
    """The judged queries every run of one `mrs eval` is scored on, and why.

    side: all | train | dev; dev_fraction / seed: the split (mrs.data.splits); decided_by: "--split" or
    the calibration whose held-out queries were taken; query_ids: the chosen queries; scored_on:
    {run name: the side its rows are scored on — "dev", "dev, held out" (a tuned run none of whose tuning
    queries are among them), "all, 21 of 30 tuned on"}; warnings: plain sentences for the report."""

    side: str
    dev_fraction: float
    seed: int
    decided_by: str
    query_ids: list[str]
    scored_on: dict[str, str]
    warnings: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {"side": self.side, "dev_fraction": self.dev_fraction, "seed": self.seed,
                "decided_by": self.decided_by, "queries": len(self.query_ids), "scored_on": dict(self.scored_on)}

    def describe(self) -> str:
        """'9 queries: dev split (dev fraction 0.2, seed 0) of demo/calibration.json, held out from tuning'."""
        n = len(self.query_ids)
        if self.side == "all":
            return f"{n} queries: all judged"
        where = "" if self.decided_by == "--split" else f" of {self.decided_by}, held out from tuning"
        return f"{n} queries: {self.side} split (dev fraction {self.dev_fraction:g}, seed {self.seed}){where}"


DEFAULT_DEV_FRACTION = 0.2


def select_queries(query_ids: Iterable[str], specs: Iterable[Any], split: str | None,
                   dev_fraction: float | None, seed: int | None) -> QuerySelection:
    """Choose the queries of an evaluation (see module doc).

    query_ids: every judged query; specs: the RunSpecs (``name``, ``pipeline``, ``tuned_on``); split:
    --split (None: dev when a run is tuned, else all); dev_fraction / seed: --dev-fraction / --seed (None:
    the tuned runs' calibration split, else 0.2 / 0). InputError when tuned runs disagree on their split,
    when --dev-fraction / --seed contradict it, or when the chosen side holds no query."""
    ids = list(dict.fromkeys(query_ids))
    specs = list(specs)
    tuned = {s.name: s.tuned_on for s in specs if getattr(s, "tuned_on", None) is not None}
    warnings: list[str] = []
    decided_by = "--split"
    if tuned:
        first_name, first = next(iter(tuned.items()))
        for name, t in tuned.items():
            if t.key() != first.key():
                raise InputError(
                    f"runs {first_name!r} and {name!r} were tuned on different query splits (dev fraction "
                    f"{first.dev_fraction:g} seed {first.seed} vs {t.dev_fraction:g} seed {t.seed}): no query set is "
                    "held out from both; calibrate both with the same --dev-fraction and --seed")
        for opt, given, want in (("--dev-fraction", dev_fraction, first.dev_fraction), ("--seed", seed, first.seed)):
            if given is not None and given != want:
                raise InputError(f"{opt} {given:g} contradicts the split run {first_name!r} was tuned on "
                                 f"({first.calibration}: dev fraction {first.dev_fraction:g}, seed {first.seed})")
        dev_fraction, seed = first.dev_fraction, first.seed
        if split is None:
            if first.dev_fraction > 0:
                split, decided_by = "dev", first.calibration
            else:
                split = "all"
                warnings.append(f"{first.calibration} was calibrated with dev fraction 0: its blend was tuned on "
                                "every query and no held-out query is left to score it on")
    side = split or "all"
    dev_fraction = DEFAULT_DEV_FRACTION if dev_fraction is None else float(dev_fraction)
    seed = 0 if seed is None else int(seed)
    if side == "all":
        chosen = ids
    else:
        chosen = dict(zip(("train", "dev"), train_dev_split(ids, dev_fraction, seed), strict=True))[side]
    if not chosen:
        raise InputError(f"the {side} split (dev fraction {dev_fraction:g}, seed {seed}) holds no query")
    scored_on = {}
    for s in specs:
        t = tuned.get(s.name)
        label = side
        if t is not None:
            n_tuning = len(set(t.sides(chosen)["train"]))
            if n_tuning == 0:
                label += ", held out"
            else:
                label += f", {n_tuning} of {len(chosen)} tuned on"
                warnings.append(f"run {s.name!r} is scored on {n_tuning} of the {len(chosen)} queries its blend was "
                                f"tuned on ({t.calibration}); score it on held-out queries: --split dev")
        elif isinstance(s.pipeline, Mapping) and looks_calibrated(s.pipeline):
            warnings.append(f"run {s.name!r}: its pipeline was written by mrs calibrate, but the calibration "
                            "beside it was not found, so its tuning queries are unknown and may be among these; "
                            f"give --pipeline {s.name}=<calibration.json>")
        scored_on[s.name] = label
    return QuerySelection(side, dev_fraction, seed, decided_by, chosen, scored_on, warnings)
