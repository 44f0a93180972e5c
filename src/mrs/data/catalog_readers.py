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
from mrs.errors import InputError

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


def _missing_id_error(path: Path, columns: Iterable[str], id_field: str | None, line: int) -> InputError:
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
    File-level errors always raise: missing or empty file, no id column, a single column (wrong delimiter).
    """
    row_errors = RowErrors(on_error, rejects)
    p = check_file(path)
    fmt = catalog_format(p)
    keep = set(fields) if fields is not None else None
    if fmt == "jsonl":
        records = _jsonl_records(p, row_errors)
    elif fmt == "csv":
        records = _csv_records(p, row_errors, delimiter)
    else:
        records = _parquet_records(p)
    yield from _products(p, records, id_field, keep, row_errors)


def _products(
    path: Path,
    records: Iterator[tuple[int, dict[str, Any], str]],
    id_field: str | None,
    keep: set[str] | None,
    row_errors: RowErrors,
) -> Iterator[Product]:
    first_line: dict[str, int] = {}
    chosen: str | None = None
    n_rows = 0
    for line, record, raw in records:
        n_rows += 1
        if chosen is None:
            chosen = pick_id_field(record.keys(), id_field)
            if chosen is None:
                raise _missing_id_error(path, record.keys(), id_field, line)
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
            row_errors.bad(path, line, f"malformed JSON ({e.msg} at column {e.colno})", text)
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
        raise InputError(f"malformed JSON ({e.msg})", str(path), e.lineno) from None
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
    numbered = iter(LineReader(path, row_errors))
    head: list[tuple[int, str]] = []
    for item in numbered:  # header + a few rows to sniff the delimiter
        head.append(item)
        if len(head) >= 20:
            break
    if not head or not "".join(t for _, t in head).strip():
        raise InputError("empty file: no header", str(path), 1)
    if delimiter is None:
        delimiter = sniff_delimiter(path, head[0][1], "\n".join(t for _, t in head))
    delimiter = "\t" if delimiter in ("\\t", "tab", "TAB") else delimiter
    current = {"line": 0}  # physical line of the last text handed to csv.reader (a row's last line)

    def all_texts() -> Iterator[str]:
        for line, text in head:
            current["line"] = line
            yield text + "\n"
        for line, text in numbered:
            current["line"] = line
            yield text + "\n"

    reader = csv.reader(all_texts(), delimiter=delimiter)
    try:
        header = [h.strip() for h in next(reader)]
    except csv.Error as e:
        raise InputError(f"unreadable header ({e})", str(path), 1) from None
    if len(header) == 1:
        others = [d for d in ("\t", ",", ";", "|") if d != delimiter and d in header[0]]
        hint = f"; the header contains {others[0]!r}: pass --delimiter {others[0]!r}" if others else ""
        raise InputError(f"only one column with delimiter {delimiter!r}{hint}", str(path), 1)
    if len(set(header)) != len(header):
        dup = next(h for h in header if header.count(h) > 1)
        raise InputError(f"duplicate column {dup!r} in header", str(path), 1)
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            row_errors.bad(path, current["line"], f"malformed CSV row ({e})", "")
            continue
        line = current["line"]
        raw = delimiter.join(row)
        if not row or all(not c.strip() for c in row):
            continue
        if len(row) != len(header):
            row_errors.bad(path, line, f"expected {len(header)} fields, got {len(row)}", raw)
            continue
        yield line, dict(zip(header, row, strict=True)), raw


def _parquet_records(path: Path) -> Iterator[tuple[int, dict[str, Any], str]]:
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except Exception as e:  # pyarrow raises ArrowInvalid for a file that is not Parquet
        raise InputError(f"not a readable Parquet file ({e})", str(path)) from None
    row = 0
    for batch in pf.iter_batches(batch_size=PARQUET_BATCH_ROWS):
        for record in batch.to_pylist():
            row += 1
            yield row, record, json.dumps(record, ensure_ascii=False, default=str)
