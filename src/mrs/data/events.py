"""OpenSearch User Behavior Insights (UBI) events → engagement counts per (query text, product id).

A UBI event (one JSON object a line) has ``action_name`` (impression, click, add_to_cart, purchase, ...),
a ``query_id`` and often the query text (``user_query``), and ``event_attributes.object.object_id`` (the
product) with ``event_attributes.position.ordinal`` (its rank on the page). The query text is taken from, in
order: the event's ``user_query``; the ubi_queries file (query_id → user_query) when given; a QUERY-type
event (``message_type`` QUERY, text in ``message``) with the same query_id anywhere in the file.
Events that cannot be attributed are counted by reason, never dropped silently.
"""

from __future__ import annotations

import json
import os
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from mrs.data.lines import LineReader, check_file
from mrs.data.queries import read_queries
from mrs.data.rejects import Rejects, RowErrors
from mrs.errors import InputError

# Skip reasons counted in EngagementCounts.skipped.
SKIP_NO_OBJECT = "no object id"
SKIP_UNKNOWN_QUERY = "unknown query"
SKIP_OTHER_APPLICATION = "other application"
SKIP_MALFORMED = "malformed line"


@dataclass
class PairEngagement:
    """Engagement of one (query text, product id) pair. actions: {action name: count}; positions: ordinals seen
    (0- or 1-based as the source logged them), one per event of any action that carried a position;
    action_positions: the same ordinals per action (``positions_of("impression")``: where it was shown)."""

    actions: Counter = field(default_factory=Counter)
    positions: list[int] = field(default_factory=list)
    action_positions: dict[str, list[int]] = field(default_factory=dict)

    def count(self, action: str) -> int:
        return self.actions.get(action, 0)

    def positions_of(self, action: str) -> list[int]:
        """Ordinals logged with events of one action (empty when none carried a position)."""
        return self.action_positions.get(action, [])


@dataclass
class EngagementCounts:
    """Per (query text, product id) engagement, plus totals.

    pairs: {(query text, product id): PairEngagement}. action_totals: {action: events read} over ALL events
    (attributed or not). skipped: {reason: events not attributed to a pair}. events: lines read as events.
    """

    pairs: dict[tuple[str, str], PairEngagement] = field(default_factory=dict)
    action_totals: Counter = field(default_factory=Counter)
    skipped: Counter = field(default_factory=Counter)
    events: int = 0

    def pair(self, query: str, product_id: str) -> PairEngagement:
        """The engagement of one pair (an empty one when it was never seen)."""
        return self.pairs.get((query, product_id), PairEngagement())

    def queries(self) -> list[str]:
        """Query texts with at least one attributed event, in first-seen order."""
        return list(dict.fromkeys(q for q, _ in self.pairs))

    def by_query(self) -> dict[str, dict[str, PairEngagement]]:
        """{query text: {product id: PairEngagement}}."""
        out: dict[str, dict[str, PairEngagement]] = defaultdict(dict)
        for (q, pid), eng in self.pairs.items():
            out[q][pid] = eng
        return dict(out)

    def attributed(self) -> int:
        """Events counted into some pair."""
        return sum(sum(e.actions.values()) for e in self.pairs.values())


def _object_id(attrs: dict) -> str:
    obj = attrs.get("object") if isinstance(attrs, dict) else None
    if not isinstance(obj, dict):
        return ""
    value = obj.get("object_id")
    return "" if value is None else str(value).strip()


def _ordinal(attrs: dict) -> int | None:
    pos = attrs.get("position") if isinstance(attrs, dict) else None
    if isinstance(pos, dict) and isinstance(pos.get("ordinal"), (int, float)) and not isinstance(
            pos.get("ordinal"), bool):
        return int(pos["ordinal"])
    return None


def read_ubi_events(
    path: str | os.PathLike,
    *,
    queries: str | os.PathLike | dict[str, str] | None = None,
    application: str | None = None,
    on_error: str = "fail",
    rejects: Rejects | None = None,
) -> EngagementCounts:
    """Count UBI events per (query text, product id) and action.

    path: UBI events JSONL. queries: ubi_queries JSONL path (or {query_id: text}) to resolve query ids.
    application: keep only events of this ``application`` (others are counted as skipped).
    on_error: "fail" (default) raises InputError naming file and line for a malformed or non-UTF-8 line;
    "skip" counts it under skipped["malformed line"] and records it in ``rejects`` when given.
    Returns EngagementCounts; every event is either in a pair or in ``skipped``.
    """
    p = check_file(path)
    own_rejects = rejects if rejects is not None else Rejects()
    row_errors = RowErrors(on_error, own_rejects)
    query_texts = read_queries(queries) if isinstance(queries, (str, os.PathLike)) else dict(queries or {})
    counts = EngagementCounts()
    message_queries: dict[str, str] = {}
    # Events whose query text is not known yet: query_id → [(product id, action, ordinal)].
    pending: dict[str, list[tuple[str, str, int | None]]] = defaultdict(list)
    for line, text in LineReader(p, row_errors):
        if not text.strip():
            continue
        try:
            event = json.loads(text)
            if not isinstance(event, dict):
                raise ValueError(f"expected a JSON object, got {type(event).__name__}")
        except (json.JSONDecodeError, ValueError) as e:
            row_errors.bad(p, line, f"malformed JSON ({getattr(e, 'msg', e)})", text)
            continue
        counts.events += 1
        action = str(event.get("action_name") or "(none)")
        counts.action_totals[action] += 1
        qid = str(event.get("query_id") or "").strip()
        if str(event.get("message_type") or "").upper() == "QUERY" and qid and event.get("message"):
            message_queries.setdefault(qid, str(event["message"]).strip())
        if application is not None and event.get("application") != application:
            counts.skipped[SKIP_OTHER_APPLICATION] += 1
            continue
        attrs = event.get("event_attributes") or {}
        product_id = _object_id(attrs)
        if not product_id:
            counts.skipped[SKIP_NO_OBJECT] += 1
            continue
        query = str(event.get("user_query") or "").strip() or query_texts.get(qid, "")
        if query:
            _count(counts, query, product_id, action, _ordinal(attrs))
        elif qid:
            pending[qid].append((product_id, action, _ordinal(attrs)))
        else:
            counts.skipped[SKIP_UNKNOWN_QUERY] += 1
    for qid, events in pending.items():
        query = message_queries.get(qid, "")
        for product_id, action, ordinal in events:
            if query:
                _count(counts, query, product_id, action, ordinal)
            else:
                counts.skipped[SKIP_UNKNOWN_QUERY] += 1
    if row_errors.skipped:
        counts.skipped[SKIP_MALFORMED] = row_errors.skipped
    if counts.events == 0 and row_errors.skipped == 0:
        raise InputError("no events in file", str(Path(p)), 1)
    return counts


def _count(counts: EngagementCounts, query: str, product_id: str, action: str, ordinal: int | None) -> None:
    eng = counts.pairs.get((query, product_id))
    if eng is None:
        eng = counts.pairs[(query, product_id)] = PairEngagement()
    eng.actions[action] += 1
    if ordinal is not None:
        eng.positions.append(ordinal)
        eng.action_positions.setdefault(action, []).append(ordinal)
