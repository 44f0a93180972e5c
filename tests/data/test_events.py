"""UBI events reader: per (query, product) counts and positions, per-action totals, counted skips."""

from __future__ import annotations

import json

import pytest

from mrs.data.readers import Rejects, read_ubi_events
from mrs.errors import InputError


def _event(action, qid=None, query=None, obj=None, pos=None, app="shop", message_type=None, message=None):
    attrs = {}
    if obj is not None:
        attrs["object"] = {"object_id": obj, "object_id_field": "asin"}
    if pos is not None:
        attrs["position"] = {"ordinal": pos}
    e = {"application": app, "action_name": action, "query_id": qid, "event_attributes": attrs,
         "message_type": message_type, "message": message}
    if query is not None:
        e["user_query"] = query
    return e


def _write(tmp_path, events, name="events.jsonl"):
    p = tmp_path / name
    p.write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
    return p


def test_counts_per_pair_action_and_positions(tmp_path):
    p = _write(tmp_path, [
        _event("impression", "q1", "sofa", "A", 1), _event("impression", "q1", "sofa", "B", 2),
        _event("click", "q1", "sofa", "A", 1), _event("impression", "q1", "sofa", "A", 3),
        _event("add_to_cart", "q1", "sofa", "A", 1), _event("purchase", "q1", "sofa", "A"),
        _event("search", "q1", "sofa"),  # no object: counted as skipped, not lost
    ])
    c = read_ubi_events(p)
    a = c.pair("sofa", "A")
    assert dict(a.actions) == {"impression": 2, "click": 1, "add_to_cart": 1, "purchase": 1}
    assert a.positions == [1, 1, 3, 1]  # the purchase event carried no position
    assert a.positions_of("impression") == [1, 3] and a.positions_of("click") == [1]
    assert a.positions_of("purchase") == []
    assert dict(c.pair("sofa", "B").actions) == {"impression": 1}
    assert c.pair("sofa", "Z").count("click") == 0
    assert dict(c.action_totals) == {"impression": 3, "click": 1, "add_to_cart": 1, "purchase": 1, "search": 1}
    assert dict(c.skipped) == {"no object id": 1}
    assert c.events == 7 and c.attributed() == 6
    assert c.queries() == ["sofa"]


def test_query_text_from_queries_file_and_from_query_events(tmp_path):
    queries = tmp_path / "ubi_queries.jsonl"
    queries.write_text(json.dumps({"query_id": "q1", "user_query": "red sofa"}) + "\n", encoding="utf-8")
    p = _write(tmp_path, [
        _event("click", "q1", None, "A", 2),
        _event("click", "q2", None, "B", 1),  # its text comes from the QUERY event below
        _event("on_search", "q2", None, None, message_type="QUERY", message="desk lamp"),
        _event("click", "q3", None, "C", 1),  # never resolvable
        _event("click", None, None, "D", 1),  # no query id at all
    ])
    c = read_ubi_events(p, queries=queries)
    assert c.pair("red sofa", "A").count("click") == 1
    assert c.pair("desk lamp", "B").count("click") == 1
    assert dict(c.skipped) == {"no object id": 1, "unknown query": 2}
    without = read_ubi_events(p)
    assert dict(without.skipped) == {"no object id": 1, "unknown query": 3}
    assert c.events == without.events == 5


def test_application_filter_counts_the_others(tmp_path):
    p = _write(tmp_path, [_event("click", "q", "sofa", "A", 1, app="shop"),
                          _event("click", "q", "sofa", "A", 1, app="demo")])
    c = read_ubi_events(p, application="shop")
    assert c.pair("sofa", "A").count("click") == 1
    assert dict(c.skipped) == {"other application": 1}
    assert c.action_totals["click"] == 2


def test_malformed_line_fails_or_is_counted(tmp_path):
    p = tmp_path / "e.jsonl"
    p.write_text(json.dumps(_event("click", "q", "sofa", "A", 1)) + "\n{not json\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"e\.jsonl:2: malformed JSON"):
        read_ubi_events(p)
    rejects = Rejects()
    c = read_ubi_events(p, on_error="skip", rejects=rejects)
    assert c.skipped["malformed line"] == 1 and rejects.count == 1 and rejects.rows[0].line == 2
    assert c.pair("sofa", "A").count("click") == 1


def test_empty_and_missing(tmp_path):
    empty = tmp_path / "e.jsonl"
    empty.write_text("\n", encoding="utf-8")
    with pytest.raises(InputError, match="no events"):
        read_ubi_events(empty)
    with pytest.raises(InputError, match="no such file"):
        read_ubi_events(tmp_path / "none.jsonl")
