"""The queries file: query id → query text, for judgments that carry only ids (WANDS, TREC) and for events.

(A queries file may also carry per-query filters: mrs.data.query_filters reads those.)
"""

from __future__ import annotations

import os

from mrs.data.lines import check_file, delimited_header, json_lines
from mrs.data.rejects import RowErrors
from mrs.errors import InputError


def read_queries(path: str | os.PathLike) -> dict[str, str]:
    """query id → query text from a queries file.

    Accepts WANDS query.csv (tab-separated: query_id, query, query_class), any delimited file with a header
    naming an id column (query_id/qid/id) and a text column (query/query_text/text/user_query), a headerless
    two-column ``id<TAB>text`` file (TREC topics), or JSONL such as UBI ubi_queries.jsonl (query_id,
    user_query). Raises InputError for a missing file or a row without id or text.
    """
    p = check_file(path)
    row_errors = RowErrors("fail")
    out: dict[str, str] = {}
    text_keys = ("query", "user_query", "query_text", "text", "queryText")
    if p.suffix.lower() in (".jsonl", ".ndjson", ".json"):
        for line, obj, _ in json_lines(p, row_errors):
            qid = str(obj.get("query_id", obj.get("qid", obj.get("id", "")))).strip()
            qtext = next((str(obj[k]) for k in text_keys if obj.get(k)), "")
            if not qid or not qtext:
                raise InputError("query row without query_id or query text", str(p), line)
            out.setdefault(qid, qtext.strip())
        return out
    header, delim, lines = delimited_header(p, row_errors, "empty file: no queries")
    cols = [c.strip() for c in header]
    low = [c.lower() for c in cols]
    id_col = next((low.index(k) for k in ("query_id", "qid", "id") if k in low), None)
    text_col = next((low.index(k.lower()) for k in text_keys if k.lower() in low), None)
    rows: list[tuple[int, list[str]]] = []
    if id_col is None or text_col is None:  # headerless: id, text
        id_col, text_col = 0, 1
        rows.append((1, cols))
    for line, text in lines:
        if text.strip():
            rows.append((line, text.split(delim)))
    for line, parts in rows:
        if len(parts) <= max(id_col, text_col) or not parts[id_col].strip() or not parts[text_col].strip():
            raise InputError("query row without id or text", str(p), line)
        out.setdefault(parts[id_col].strip(), parts[text_col].strip())
    return out
