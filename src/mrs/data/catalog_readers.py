"""Catalog readers: JSONL, CSV/TSV and Parquet product files, streamed into ``Product`` records.

A 10M-row catalog is read once, row by row (Parquet by row batches); only the set of ids seen is kept, to
reject duplicates. Column names are normalised to the names the default text template uses (``title``,
``category`` as a list, ``description``, ...) while the original columns are kept too, so ESCI products and
WANDS ``product.csv`` read without flags.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from mrs.data.catalog import ID_FIELDS, Product
from mrs.data.lines import LineReader, check_file
from mrs.data.rejects import Rejects, RowErrors
from mrs.data.text import as_list
from mrs.errors import InputError, json_error_text

JSONL_EXTENSIONS = (".jsonl", ".json", ".ndjson")
CSV_EXTENSIONS = (".csv", ".tsv", ".txt")
PARQUET_EXTENSIONS = (".parquet", ".pq")

# Common field name → source column names it is filled from (first present wins; originals are kept).
FIELD_ALIASES: dict[str, tuple[str, ...]] = {
    "title": ("product_name", "name", "product_title", "item_name"),
    "category": ("category_hierarchy", "categories", "product_category", "category_path"),
    "description": ("product_description", "desc"),
    "bullet_points": ("product_bullet_point", "bullets", "features", "product_features"),
    "brand": ("product_brand", "brand_name", "manufacturer"),
    "color": ("product_color", "colour", "product_color_name"),
    "price": ("product_price",),
}

PARQUET_BATCH_ROWS = 8192
ID_LOOKAHEAD_ROWS = 100  # JSONL: rows read to find the id field before the file is refused
COLUMNS_PER_ROW = "row"  # JSONL: each row names its own fields (no header)
MAX_RECORD_LINES = 1000  # CSV: a quoted field open for more lines than this is unterminated


def catalog_format(path: str | os.PathLike) -> str:
    """'jsonl', 'csv' or 'parquet' from the file extension (a trailing .gz is not supported)."""
    suffix = Path(path).suffix.lower()
    if suffix in JSONL_EXTENSIONS:
        return "jsonl"
    if suffix in CSV_EXTENSIONS:
        return "csv"
    if suffix in PARQUET_EXTENSIONS:
        return "parquet"
    raise InputError(
        f"unknown catalog format {suffix!r}; use .jsonl/.json/.ndjson, .csv/.tsv/.txt or .parquet", str(path)
    )


def normalise_fields(record: dict[str, Any]) -> dict[str, Any]:
    """Adds the common field names (title, category, description, ...) from their usual source columns.

    ``category`` is always a list: a "A / B / C" or "A > B" string is split into its levels.
    Original columns are kept unchanged.
    """
    out = dict(record)
    for common, sources in FIELD_ALIASES.items():
        if _empty(out.get(common)):
            for src in sources:
                if src in record and not _empty(record[src]):
                    out[common] = record[src]
                    break
    if "category" in out:
        out["category"] = as_list(out["category"])
    return out


def _empty(value: Any) -> bool:
    return value is None or value == "" or (isinstance(value, float) and value != value)


def _id_text(value: Any) -> str:
    """A product id as text: integers without '.0', strings stripped, None → ''."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def pick_id_field(columns: Iterable[str], id_field: str | None) -> str | None:
    """The id column: ``id_field`` when given and present, else the first of ID_FIELDS present, else None."""
    cols = list(columns)
    if id_field is not None:
        return id_field if id_field in cols else None
    return next((f for f in ID_FIELDS if f in cols), None)


def _missing_id_error(path: Path, columns: Iterable[str], id_field: str | None, line: int | None) -> InputError:
    cols = ", ".join(list(columns)[:12]) or "none"
    if id_field is not None:
        return InputError(f"no id column {id_field!r} (columns: {cols})", str(path), line)
    return InputError(
        f"no id column: none of {', '.join(ID_FIELDS)} found (columns: {cols}); pass --id-field", str(path), line
    )


def read_catalog(
    path: str | os.PathLike,
    *,
    id_field: str | None = None,
    fields: Iterable[str] | None = None,
    delimiter: str | None = None,
    on_error: str = "fail",
    rejects: Rejects | None = None,
) -> Iterator[Product]:
    """Stream the products of a catalog file.

    path: .jsonl/.json/.ndjson (one JSON object a line; a .json file holding one JSON array also works),
    .csv/.tsv/.txt (header row; delimiter given, '\\t' for .tsv, else sniffed), or .parquet (row batches).
    id_field: the id column; default the first of id, _id, asin, product_id present.
    fields: when given, keep only these columns (names before or after normalisation) besides the id.
    on_error: "fail" raises InputError(file, line) at the first bad row; "skip" adds it to ``rejects``.
    Yields Product(id, fields, source_line) with fields normalised by ``normalise_fields``.
    Bad rows: malformed JSON, not an object, non-UTF-8 bytes, empty id, duplicate id, wrong field count.
    File-level errors always raise: missing or empty file, no id column (CSV: at line 1, the header; JSONL:
    when none of the first ID_LOOKAHEAD_ROWS rows has one — rows before the first that has it are row
    rejects), a single column (wrong delimiter), unreadable (corrupt) Parquet data.
    Every data row is either yielded or rejected: rows in = products + rejects, each at the line it starts on.
    """
    row_errors = RowErrors(on_error, rejects)
    p = check_file(path)
    fmt = catalog_format(p)
    keep = set(fields) if fields is not None else None
    if fmt == "jsonl":
        records, columns_at = _jsonl_records(p, row_errors), COLUMNS_PER_ROW
    elif fmt == "csv":
        records, columns_at = _csv_records(p, row_errors, delimiter), 1
    else:
        records, columns_at = _parquet_records(p), None
    yield from _products(p, records, id_field, keep, row_errors, columns_at)


def _products(
    path: Path,
    records: Iterator[tuple[int, dict[str, Any], str]],
    id_field: str | None,
    keep: set[str] | None,
    row_errors: RowErrors,
    columns_at: int | str | None,
) -> Iterator[Product]:
    """Products from (line, record, raw) rows. columns_at: where the columns are declared — a line number
    (CSV header: a missing id column is reported there), None (Parquet schema: no line), or COLUMNS_PER_ROW
    (JSONL: the id field is the first row's that has one; the rows before it are rejected)."""
    first_line: dict[str, int] = {}
    chosen: str | None = None
    pending: list[tuple[int, dict[str, Any], str]] = []
    n_rows = 0
    for line, record, raw in records:
        n_rows += 1
        if chosen is None:
            chosen = pick_id_field(record.keys(), id_field)
            if chosen is None:
                if columns_at != COLUMNS_PER_ROW:
                    raise _missing_id_error(path, record.keys(), id_field, columns_at)
                pending.append((line, record, raw))
                if len(pending) >= ID_LOOKAHEAD_ROWS:
                    break
                continue
            for p_line, _, p_raw in pending:
                row_errors.bad(path, p_line, f"no id field {chosen!r} (later rows have one)", p_raw)
            pending = []
        if chosen not in record:
            row_errors.bad(path, line, f"no id field {chosen!r}", raw)
            continue
        pid = _id_text(record.get(chosen))
        if not pid:
            row_errors.bad(path, line, f"empty id (column {chosen!r})", raw)
            continue
        if pid in first_line:
            row_errors.bad(path, line, f"duplicate id {pid!r} (first on line {first_line[pid]})", raw)
            continue
        first_line[pid] = line
        fields = normalise_fields(record)
        if keep is not None:
            fields = {k: v for k, v in fields.items() if k in keep or k == chosen}
        yield Product(pid, fields, line)
    if pending:
        raise _missing_id_error(path, pending[0][1].keys(), id_field, pending[0][0])
    if n_rows == 0 and row_errors.skipped == 0:
        raise InputError("empty file: no rows", str(path), 1)


def _jsonl_records(path: Path, row_errors: RowErrors) -> Iterator[tuple[int, dict[str, Any], str]]:
    lines = LineReader(path, row_errors)
    seen_content = False
    for line, text in lines:
        stripped = text.strip()
        if not stripped:
            continue
        if not seen_content and stripped.startswith("[") and path.suffix.lower() == ".json":
            yield from _json_array_records(path, row_errors)
            return
        seen_content = True
        try:
            record = json.loads(stripped)
        except json.JSONDecodeError as e:
            row_errors.bad(path, line, f"malformed JSON ({json_error_text(e)})", text)
            continue
        if not isinstance(record, dict):
            row_errors.bad(path, line, f"expected a JSON object, got {type(record).__name__}", text)
            continue
        yield line, record, text


def _json_array_records(path: Path, row_errors: RowErrors) -> Iterator[tuple[int, dict[str, Any], str]]:
    """A .json file holding one array of objects (loaded whole; use JSONL for large catalogs)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError as e:
        raise InputError(f"not UTF-8 (byte at offset {e.start})", str(path)) from None
    except json.JSONDecodeError as e:
        raise InputError(f"malformed JSON ({json_error_text(e)})", str(path), e.lineno) from None
    for i, record in enumerate(data, start=1):
        if not isinstance(record, dict):
            row_errors.bad(path, i, f"array item {i}: expected a JSON object", record)
            continue
        yield i, record, json.dumps(record, ensure_ascii=False, default=str)


def sniff_delimiter(path: Path, header: str, sample: str) -> str:
    """Delimiter of a delimited file: '\\t' for .tsv; else csv.Sniffer over the first lines, preferring tab."""
    if path.suffix.lower() == ".tsv":
        return "\t"
    try:
        return csv.Sniffer().sniff(sample, delimiters=",\t;|").delimiter
    except csv.Error:
        counts = {d: header.count(d) for d in ("\t", ",", ";", "|")}
        best = max(counts, key=lambda d: counts[d])
        return best if counts[best] > 0 else ","


def _csv_records(
    path: Path, row_errors: RowErrors, delimiter: str | None
) -> Iterator[tuple[int, dict[str, Any], str]]:
    """(line the row starts on, row as a dict, raw text) for each data row of a delimited file.

    A quoted field may run over several lines. A record that spans lines but is not well-formed CSV (its
    quote closes in the middle of a later field, or never) or has the wrong field count is rejected at the
    line it starts on, and reading starts again on the next line: an unterminated quote on line 11 costs
    line 11 only, never the rows after it."""
    lines = _PushbackLines(LineReader(path, row_errors))
    head = lines.peek(20)  # header + a few rows to sniff the delimiter
    if not head or not "".join(t for _, t in head).strip():
        raise InputError("empty file: no header", str(path), 1)
    if delimiter is None:
        delimiter = sniff_delimiter(path, head[0][1], "\n".join(t for _, t in head))
    delimiter = "\t" if delimiter in ("\\t", "tab", "TAB") else delimiter
    header_line, header_text = lines.next()
    try:
        header = [h.strip() for h in next(csv.reader([header_text], delimiter=delimiter, strict=True))]
    except (csv.Error, StopIteration) as e:
        raise InputError(f"unreadable header ({e})", str(path), header_line) from None
    if len(header) == 1:
        others = [d for d in ("\t", ",", ";", "|") if d != delimiter and d in header[0]]
        hint = f"; the header contains {others[0]!r}: pass --delimiter {others[0]!r}" if others else ""
        raise InputError(f"only one column with delimiter {delimiter!r}{hint}", str(path), header_line)
    if len(set(header)) != len(header):
        dup = next(h for h in header if header.count(h) > 1)
        raise InputError(f"duplicate column {dup!r} in header", str(path), header_line)
    while (record := _next_record(lines, delimiter)) is not None:
        start, texts, row, problem = record
        raw = "\n".join(texts)
        if problem is None and len(row) != len(header) and any(c.strip() for c in row):
            problem = f"expected {len(header)} fields, got {len(row)}"
        if problem is not None:
            if len(texts) > 1:  # reject the first line only; the lines it swallowed are rows of their own
                problem = f"{problem}; the quoted field opened here runs to line {start + len(texts) - 1}"
                lines.push_back(list(zip(range(start + 1, start + len(texts)), texts[1:], strict=True)))
                raw = texts[0]
            row_errors.bad(path, start, problem, raw)
            continue
        if not row or all(not c.strip() for c in row):
            continue
        yield start, dict(zip(header, row, strict=True)), raw


class _PushbackLines:
    """(line number, text) pairs from a LineReader, with look-ahead and push-back (for re-reading the lines an
    unterminated quote swallowed)."""

    def __init__(self, reader: LineReader):
        self._it = iter(reader)
        self._back: list[tuple[int, str]] = []  # next items, in order

    def peek(self, n: int) -> list[tuple[int, str]]:
        while len(self._back) < n:
            item = next(self._it, None)
            if item is None:
                break
            self._back.append(item)
        return self._back[:n]

    def next(self) -> tuple[int, str] | None:
        if self._back:
            return self._back.pop(0)
        return next(self._it, None)

    def push_back(self, items: list[tuple[int, str]]) -> None:
        self._back[:0] = items


def _next_record(lines: _PushbackLines, delimiter: str) -> tuple[int, list[str], list[str], str | None] | None:
    """The next CSV record: (start line, its physical lines, its fields, None or what is wrong with it);
    None at the end of the file. A record is extended line by line while a quoted field is open."""
    first = lines.next()
    if first is None:
        return None
    start, text = first
    texts = [text]
    while True:
        try:
            row = next(csv.reader(["\n".join(texts) + "\n"], delimiter=delimiter, strict=True), [])
            return start, texts, row, None
        except csv.Error as e:
            open_quote = "unexpected end of data" in str(e)
            if not open_quote:  # e.g. `"a"b`: lenient CSV takes it on one line; across lines it is a stray quote
                if len(texts) == 1:
                    return start, texts, next(csv.reader([text + "\n"], delimiter=delimiter), []), None
                return start, texts, [], f"unbalanced quote ({e})"
        more = lines.next() if len(texts) < MAX_RECORD_LINES else None
        if more is None:
            return start, texts, [], "unterminated quoted field"
        texts.append(more[1])


def _parquet_records(path: Path) -> Iterator[tuple[int, dict[str, Any], str]]:
    """(row number from 1, record, record as JSON) by row batches. InputError naming the file when it is not
    Parquet, or when a data page cannot be decoded (corrupt or truncated pages: the rows after it cannot be
    read, so the whole file is refused, with or without --on-error skip)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except Exception as e:  # pyarrow raises ArrowInvalid for a file that is not Parquet
        raise InputError(f"not a readable Parquet file ({e})", str(path)) from None
    row = 0
    batches = pf.iter_batches(batch_size=PARQUET_BATCH_ROWS)
    while True:
        try:
            batch = next(batches, None)
        except (OSError, pa.ArrowException) as e:
            reason = (str(e).splitlines() or [type(e).__name__])[0].rstrip(".")
            raise InputError(f"corrupt Parquet data after row {row} of {pf.metadata.num_rows} ({reason}); the "
                             "file cannot be read past it: rewrite or re-export it", str(path)) from None
        if batch is None:
            return
        for record in batch.to_pylist():
            row += 1
            yield row, record, json.dumps(record, ensure_ascii=False, default=str)
