"""Per-query filters from a queries file, so `mrs eval` / `mrs calibrate` run each query as users run it.

The queries file (`--queries`, read for its texts by mrs.data.queries.read_queries) may carry a
filter per query, in the OpenSearch query DSL subset of mrs.engine.filters:
- JSONL: a ``filter`` field holding the DSL object or list (``{"query_id": "q1", "user_query": "tv",
  "filter": {"range": {"price": {"lte": 500}}}}``), or the DSL as a JSON string;
- delimited (TSV / CSV with a header): a ``filter`` column holding the DSL as JSON text (empty = no filter).
``read_query_filters`` returns {query id: (DSL as parsed JSON, line)} for the queries that have one; the DSL
is checked against the index (fields, types) by the caller, which names the query and line on an error.
"""

from __future__ import annotations

import csv
import io
import json
import os
from typing import Any

from mrs.data.lines import LineReader, check_file, json_lines
from mrs.data.rejects import RowErrors
from mrs.errors import InputError

FILTER_KEY = "filter"
_ID_KEYS = ("query_id", "qid", "id")


def filter_json(text: str) -> Any:
    """The JSON value of a filter written as text (a queries-file cell, a --filter option); None when blank.
    ValueError "not valid JSON (<what> at character N)" when it is not JSON."""
    if not text.strip():
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"not valid JSON ({e.msg} at character {e.pos})") from None


def _json_filter(value: Any, path: str, line: int) -> Any:
    if isinstance(value, str):
        try:
            value = filter_json(value)
        except ValueError as e:
            raise InputError(f"the filter is {e}", path, line) from None
    if value is None or value == [] or value == {}:
        return None
    if not isinstance(value, (dict, list)):
        raise InputError("the filter must be a query DSL object or a list of them", path, line)
    return value


def read_query_filters(path: str | os.PathLike) -> dict[str, tuple[Any, int]]:
    """{query id: (filter DSL, 1-based line)} of the queries in ``path`` that carry a filter (module doc)."""
    p = check_file(path)
    out: dict[str, tuple[Any, int]] = {}
    if p.suffix.lower() in (".jsonl", ".ndjson", ".json"):
        for line, obj, _ in json_lines(p, RowErrors("fail")):
            if not isinstance(obj, dict):
                continue
            qid = str(next((obj[k] for k in _ID_KEYS if obj.get(k) not in (None, "")), "")).strip()
            flt = _json_filter(obj.get(FILTER_KEY), str(p), line)
            if qid and flt is not None:
                out.setdefault(qid, (flt, line))
        return out
    lines = list(LineReader(p, RowErrors("fail")))
    if not lines:
        return out
    header = lines[0][1]
    delimiter = "\t" if "\t" in header else ","
    cols = [c.strip().lower() for c in next(csv.reader([header], delimiter=delimiter))]
    if FILTER_KEY not in cols:
        return out
    id_col = next((cols.index(k) for k in _ID_KEYS if k in cols), None)
    if id_col is None:
        raise InputError(f"a {FILTER_KEY} column needs a query id column ({', '.join(_ID_KEYS)})", str(p), 1)
    f_col = cols.index(FILTER_KEY)
    for line, text in lines[1:]:
        if not text.strip():
            continue
        parts = next(csv.reader(io.StringIO(text), delimiter=delimiter))
        if len(parts) <= max(id_col, f_col):
            continue
        flt = _json_filter(parts[f_col], str(p), line)
        if parts[id_col].strip() and flt is not None:
            out.setdefault(parts[id_col].strip(), (flt, line))
    return out
