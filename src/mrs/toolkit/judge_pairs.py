"""Pairs to label (`mrs judge annotate --pairs`): a TSV/CSV or JSONL file of (query, product) rows."""

from __future__ import annotations

import os
from dataclasses import dataclass

from mrs.errors import InputError


@dataclass(frozen=True)
class PairRow:
    """One (query, product) pair to label. product_text: given in the file, else None (render from the catalog).
    line: 1-based line in the pairs file."""

    query_id: str
    query: str
    product_id: str
    product_text: str | None
    line: int


def read_pairs(path: str | os.PathLike, row_errors=None) -> list[PairRow]:
    """Read pairs to label: a TSV/CSV with a header naming ``query`` and ``product_id`` (optional ``query_id``,
    default = the query text; optional ``product_text``), or JSONL objects with those keys. A judgments file
    (any grade columns are ignored) works as a pairs file.

    row_errors: mrs.data.rejects.RowErrors (fail or skip bad rows); default fail. InputError names file and
    line for a bad row or a missing header column."""
    import csv

    from mrs.data.lines import LineReader, check_file, json_lines
    from mrs.data.rejects import RowErrors

    row_errors = row_errors or RowErrors("fail")
    p = check_file(path)
    rows: list[PairRow] = []
    if p.suffix.lower() in {".jsonl", ".ndjson", ".json"}:
        for line, obj, text in json_lines(p, row_errors):
            row = _pair_row(obj, line) if isinstance(obj, dict) else None
            if row is None:
                row_errors.bad(p, line, "pair needs non-empty 'query' and 'product_id'", text)
                continue
            rows.append(row)
    else:
        lines = list(LineReader(p, row_errors))
        if not lines:
            raise InputError("empty pairs file", str(p), 1)
        header_line, header = lines[0]
        delimiter = "\t" if "\t" in header or p.suffix.lower() == ".tsv" else ","
        columns = [c.strip() for c in next(csv.reader([header], delimiter=delimiter))]
        if "query" not in columns or "product_id" not in columns:
            raise InputError(f"pairs header needs 'query' and 'product_id' columns (got {', '.join(columns)})",
                             str(p), header_line)
        for line, text in lines[1:]:
            if not text.strip():
                continue
            cells = next(csv.reader([text], delimiter=delimiter))
            if len(cells) != len(columns):
                row_errors.bad(p, line, f"expected {len(columns)} fields, got {len(cells)}", text)
                continue
            row = _pair_row(dict(zip(columns, cells, strict=True)), line)
            if row is None:
                row_errors.bad(p, line, "pair needs non-empty 'query' and 'product_id'", text)
                continue
            rows.append(row)
    if not rows and row_errors.skipped == 0:
        raise InputError("no pairs in file", str(p), 1)
    return rows


def _pair_row(obj: dict, line: int) -> PairRow | None:
    query = str(obj.get("query") or "").strip()
    pid = str(obj.get("product_id") or "").strip()
    if not query or not pid:
        return None
    qid = str(obj.get("query_id") or "").strip() or query
    text = obj.get("product_text")
    return PairRow(qid, query, pid, str(text).strip() if text else None, line)
