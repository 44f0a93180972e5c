"""Judgment readers and writer: ESCI qrels TSV, OpenSearch Search-Relevance JSON, WANDS, TREC qrels, mrs TSV
(the query texts some of them need come from mrs.data.queries.read_queries).

Every format is read into one ``JudgmentSet`` (query id, query text, product id, grade of a LevelScheme).
The format is detected from the extension and the header; ``fmt`` forces it. Bad rows (unknown label,
missing field, duplicate (query, product) pair, non-UTF-8 bytes) raise InputError with file and line, or go
to ``rejects`` with ``on_error="skip"``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from mrs.atomic import atomic_file
from mrs.data.judgment_checks import check_query_ids, check_trec_grades_fill, schemes_fitting
from mrs.data.judgments import Judgment, JudgmentSet
from mrs.data.levels import ESCI, SCHEMES, WANDS, LevelScheme, get_scheme, map_grades
from mrs.data.lines import LineReader, check_file, delimited_header, delimiter_of
from mrs.data.queries import read_queries
from mrs.data.rejects import Rejects, RowErrors
from mrs.data.trec_ids import decode_trec_id
from mrs.errors import InputError, json_error_text

JUDGMENT_FORMATS = ("esci", "srw", "wands", "trec", "mrs")
MRS_COLUMNS = ("query_id", "query", "product_id", "grade", "level", "source", "confidence")


def detect_judgment_format(path: str | os.PathLike) -> str:
    """One of JUDGMENT_FORMATS from the extension and the first line; InputError when it cannot tell."""
    p = check_file(path)
    suffix = p.suffix.lower()
    if suffix == ".json":
        return "srw"
    if suffix in (".qrels", ".trec"):
        return "trec"
    with open(p, "rb") as f:
        first = f.readline().decode("utf-8", errors="replace").lstrip("\ufeff").strip()
    cols = {c.strip().lower() for c in first.split(delimiter_of(first))}
    if {"query_id", "product_id", "grade", "level"} <= cols:
        return "mrs"
    if cols & {"esci_label", "srw_rating"} and "product_id" in cols:
        return "esci"
    if {"query_id", "product_id", "label"} <= cols:
        return "wands"
    parts = first.split()
    if len(parts) == 4 and parts[1] in ("0", "Q0", "q0"):
        return "trec"
    raise InputError(
        f"cannot tell the judgments format from the header {first[:80]!r}; pass --format "
        f"({'|'.join(JUDGMENT_FORMATS)})", str(p), 1)


def _as_scheme(scheme: LevelScheme | str | None) -> LevelScheme | None:
    if scheme is None or isinstance(scheme, LevelScheme):
        return scheme
    return get_scheme(scheme)


@dataclass
class _Collector:
    """Builds a JudgmentSet, rejecting duplicate (query id, product id) pairs and unknown labels."""

    path: Path
    scheme: LevelScheme
    row_errors: RowErrors
    jset: JudgmentSet = field(init=False)
    first_line: dict[tuple[str, str], int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.jset = JudgmentSet(self.scheme)

    def grade(self, label: object, line: int | None, raw: object) -> int | None:
        try:
            return self.scheme.grade_of(label)
        except KeyError:
            fits = [name for name in schemes_fitting(label) if name != self.scheme.name]
            hint = f"; it is a level of --scheme {' / --scheme '.join(fits)}" if fits else ""
            self.row_errors.bad(self.path, line, f"unknown label {label!r} for level scheme "
                                f"{self.scheme.name} ({', '.join(self.scheme.levels)}){hint}", raw)
            return None

    def add(self, line: int | None, raw: object, query_id: str, query: str, product_id: str, grade: int,
            source: str = "human", confidence: float = 1.0) -> None:
        query_id, query, product_id = query_id.strip(), query.strip(), product_id.strip()
        if not query_id or not query:
            self.row_errors.bad(self.path, line, "empty query", raw)
            return
        if not product_id:
            self.row_errors.bad(self.path, line, "empty product id", raw)
            return
        key = (query_id, product_id)
        if key in self.first_line:
            self.row_errors.bad(self.path, line, f"duplicate judgment for query {query_id!r} and product "
                                f"{product_id!r} (first on line {self.first_line[key]})", raw)
            return
        self.first_line[key] = line or 0
        self.jset.add(Judgment(query_id, query, product_id, grade, source, confidence))


def read_judgments(
    path: str | os.PathLike,
    *,
    fmt: str | None = None,
    scheme: LevelScheme | str | None = None,
    queries: str | os.PathLike | dict[str, str] | None = None,
    on_error: str = "fail",
    rejects: Rejects | None = None,
    needs_query_text: bool = True,
) -> JudgmentSet:
    """Read graded judgments from any supported format.

    fmt: esci (qrels TSV: query, product_id, srw_rating, esci_label, grade; the query text is its id),
    srw (OpenSearch Search-Relevance judgments JSON: judgmentRatings[query, ratings[docId, rating]], ratings
    100/10/1/0 → esci grades 3/2/1/0), wands (label.csv: id, query_id, product_id, label; needs ``queries``),
    trec (``qid 0 docid grade``, ids decoded by mrs.data.trec_ids; query text = qid unless ``queries`` maps
    it), mrs (``write_judgments`` TSV); None = detect from extension and header.
    scheme: the level scheme (name or LevelScheme). Default: esci for esci/srw/trec, wands for wands, the
    scheme whose level names match for mrs. Asking esci data for three-level maps grades with the built-in
    esci → three-level mapping.
    queries: query id → text, as a dict or a path for ``read_queries``.
    needs_query_text: the caller searches or trains on the query texts. Then TREC qrels read without
    ``queries`` whose query ids look like ids, not texts (``check_query_ids``) are an InputError asking for
    ``--queries``; False (scoring run files against qrels needs only the ids) skips that check.
    TREC grades read with the default scheme must fill it: grades 0–2 (three levels) without ``scheme`` are an
    InputError naming the three-level schemes, so a 3-level file is never read as 4-level ESCI.
    Returns a JudgmentSet in file order.
    """
    row_errors = RowErrors(on_error, rejects)
    p = check_file(path)
    fmt = fmt or detect_judgment_format(p)
    if fmt not in JUDGMENT_FORMATS:
        raise InputError(f"unknown judgments format {fmt!r}; choose one of {', '.join(JUDGMENT_FORMATS)}")
    wanted = _as_scheme(scheme)
    query_texts = read_queries(queries) if isinstance(queries, (str, os.PathLike)) else queries
    if fmt == "mrs":
        return _read_mrs(p, wanted, row_errors)
    native = WANDS if fmt == "wands" else ESCI
    read_scheme = wanted if wanted is not None and (fmt == "trec" or wanted.name == native.name) else native
    col = _Collector(p, read_scheme, row_errors)
    if fmt == "srw":
        _read_srw(p, col)
    elif fmt == "esci":
        _read_esci(p, col, row_errors)
    elif fmt == "wands":
        if query_texts is None:
            raise InputError("WANDS label.csv needs the query texts: pass queries=query.csv (--queries)", str(p))
        _read_wands(p, col, row_errors, query_texts)
    else:
        _read_trec(p, col, row_errors, query_texts)
    jset = col.jset
    if len(jset) == 0 and row_errors.skipped == 0:
        raise InputError("no judgments in file", str(p), 1)
    if fmt == "trec" and wanted is None:
        check_trec_grades_fill(jset, p)
    if fmt == "trec" and query_texts is None and needs_query_text:
        check_query_ids(jset, p)
    if wanted is not None and wanted.name != read_scheme.name:
        mapping = map_grades(None, read_scheme, wanted)
        jset = JudgmentSet(wanted, [Judgment(j.query_id, j.query, j.product_id, mapping[j.grade], j.source,
                                             j.confidence) for j in jset])
    return jset


def _header_rows(p: Path, row_errors: RowErrors, required: tuple[str, ...]
                 ) -> Iterator[tuple[int, dict[str, str], str]]:
    """Rows of a delimited file with a header (tab if the header has one, else comma) as dicts."""
    header, delim, lines = delimited_header(p, row_errors, "empty file: no header")
    cols = [c.strip().lower() for c in header]
    missing = [c for c in required if c not in cols]
    if missing:
        hint = " (is the delimiter right?)" if len(cols) == 1 else ""
        raise InputError(f"missing column(s) {', '.join(missing)}{hint}; header has: {', '.join(cols)}",
                         str(p), 1)
    for line, text in lines:
        if not text.strip():
            continue
        parts = text.split(delim)
        if len(parts) != len(cols):
            row_errors.bad(p, line, f"expected {len(cols)} fields, got {len(parts)}", text)
            continue
        yield line, dict(zip(cols, parts, strict=True)), text


def _read_esci(p: Path, col: _Collector, row_errors: RowErrors) -> None:
    rows = _header_rows(p, row_errors, ("query", "product_id"))
    for line, row, raw in rows:
        grade = _esci_row_grade(p, col, row, line, raw)
        if grade is not None:
            query = row["query"]
            col.add(line, raw, row.get("query_id") or query, query, row["product_id"], grade)


def _esci_row_grade(p: Path, col: _Collector, row: dict[str, str], line: int, raw: str) -> int | None:
    """The grade of an ESCI row from the first non-empty of its label columns, each read as what it holds:
    esci_label a label (Exact/E, ...), srw_rating a Search-Relevance rating (100/10/1/0), grade an integer
    grade of the scheme (0..top; never a rating, so grade 10 is an error, not "substitute")."""
    column = next((k for k in ("esci_label", "srw_rating", "grade") if row.get(k, "").strip()), None)
    if column is None:
        col.row_errors.bad(p, line, "no label (esci_label, srw_rating or grade)", raw)
        return None
    value = row[column].strip()
    if column != "grade":
        return col.grade(value, line, raw)
    try:
        number = float(value)
    except ValueError:
        number = float("nan")
    if not (number.is_integer() and 0 <= number <= col.scheme.top):
        col.row_errors.bad(p, line, f"grade {value!r} is not a grade of level scheme {col.scheme.name} "
                           f"(0–{col.scheme.top}: {', '.join(col.scheme.levels)})", raw)
        return None
    return int(number)


def _read_wands(p: Path, col: _Collector, row_errors: RowErrors, query_texts: dict[str, str]) -> None:
    for line, row, raw in _header_rows(p, row_errors, ("query_id", "product_id", "label")):
        grade = col.grade(row["label"], line, raw)
        if grade is None:
            continue
        qid = row["query_id"].strip()
        if qid not in query_texts:
            row_errors.bad(p, line, f"query id {qid!r} not in the queries file", raw)
            continue
        col.add(line, raw, qid, query_texts[qid], row["product_id"], grade)


def _read_trec(p: Path, col: _Collector, row_errors: RowErrors, query_texts: dict[str, str] | None) -> None:
    for line, text in LineReader(p, row_errors):
        if not text.strip() or text.lstrip().startswith("#"):
            continue
        parts = text.split()
        if len(parts) != 4:
            row_errors.bad(p, line, f"expected 4 fields (qid 0 docid grade), got {len(parts)}", text)
            continue
        qid, _, docid, label = parts
        qid, docid = decode_trec_id(qid), decode_trec_id(docid)
        grade = col.grade(label, line, text)
        if grade is None:
            continue
        if query_texts is not None and qid not in query_texts:
            row_errors.bad(p, line, f"query id {qid!r} not in the queries file", text)
            continue
        col.add(line, text, qid, query_texts[qid] if query_texts is not None else qid, docid, grade)


class _LineCounter:
    """Line number of an offset in a text; offsets must not decrease (counts newlines incrementally)."""

    def __init__(self, text: str):
        self.text, self.offset, self.line = text, 0, 1

    def at(self, offset: int) -> int:
        if offset > self.offset:
            self.line += self.text.count("\n", self.offset, offset)
            self.offset = offset
        return self.line


def _read_srw(p: Path, col: _Collector) -> None:
    raw_bytes = p.read_bytes()
    try:
        text = raw_bytes.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise InputError(f"not UTF-8 (byte 0x{raw_bytes[e.start]:02x})", str(p),
                         raw_bytes.count(b"\n", 0, e.start) + 1) from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(f"malformed JSON ({json_error_text(e)})", str(p), e.lineno) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("judgmentRatings"), list):
        raise InputError("not a Search-Relevance judgments file: no 'judgmentRatings' list", str(p), 1)
    cursor = 0
    lines = _LineCounter(text)
    for entry in doc["judgmentRatings"]:
        query = str(entry.get("query", "")) if isinstance(entry, dict) else ""
        qpos = text.find(json.dumps(query, ensure_ascii=False)[1:-1], cursor) if query else -1
        cursor = qpos if qpos >= 0 else cursor
        qline = lines.at(cursor)
        if not query:
            col.row_errors.bad(p, qline, "judgmentRatings entry without a query", entry)
            continue
        ratings = entry.get("ratings")
        if not isinstance(ratings, list):
            col.row_errors.bad(p, qline, f"query {query!r} has no 'ratings' list", entry)
            continue
        for r in ratings:
            doc_id = str(r.get("docId", "")) if isinstance(r, dict) else ""
            dpos = text.find(json.dumps(doc_id)[1:-1], cursor) if doc_id else -1
            cursor = dpos if dpos >= 0 else cursor
            line = lines.at(cursor)
            if not isinstance(r, dict) or "rating" not in r:
                col.row_errors.bad(p, line, "rating without 'rating'", r)
                continue
            grade = col.grade(r["rating"], line, r)
            if grade is not None:
                col.add(line, r, query, query, doc_id, grade)


def _read_mrs(p: Path, scheme: LevelScheme | None, row_errors: RowErrors) -> JudgmentSet:
    rows = []
    for line, row, raw in _header_rows(p, row_errors, ("query_id", "query", "product_id", "grade")):
        try:
            grade = int(row["grade"])
            confidence = float(row.get("confidence") or 1.0)
        except ValueError:
            row_errors.bad(p, line, f"grade {row['grade']!r} or confidence is not a number", raw)
            continue
        rows.append((line, raw, row, grade, confidence))
    if scheme is None:
        scheme = _scheme_for_levels(p, [(r[0], r[3], (r[2].get("level") or "").strip().lower()) for r in rows])
    col = _Collector(p, scheme, row_errors)
    for line, raw, row, grade, confidence in rows:
        problem = _mrs_level_problem(scheme, grade, (row.get("level") or "").strip())
        if problem is not None:
            row_errors.bad(p, line, problem, raw)
            continue
        col.add(line, raw, row["query_id"], row["query"], row["product_id"], grade,
                row.get("source") or "human", confidence)
    if len(col.jset) == 0 and row_errors.skipped == 0:
        raise InputError("no judgments in file", str(p), 1)
    return col.jset


def _mrs_level_problem(scheme: LevelScheme, grade: int, level: str) -> str | None:
    """What is wrong with an mrs row's (grade, level) under ``scheme``; None when they agree."""
    names = ", ".join(f"{g} {n}" for g, n in enumerate(scheme.levels))
    if not 0 <= grade <= scheme.top:
        return f"grade {grade} is outside level scheme {scheme.name} (grades {names})"
    if not level:
        return None
    known = [g for g, n in enumerate(scheme.levels) if n.lower() == level.lower()]
    if not known:
        return f"unknown level {level!r} for level scheme {scheme.name} (grades {names})"
    if known[0] != grade:
        return (f"grade {grade} contradicts level {level!r}, which is grade {known[0]} in level scheme "
                f"{scheme.name} (grades {names})")
    return None


def _scheme_for_levels(p: Path, rows: list[tuple[int, int, str]]) -> LevelScheme:
    """The built-in scheme of an mrs file from its (line, grade, level) rows: the one that knows the most of
    the level names, then the one whose grades agree with them on the most rows (esci first on a tie; esci
    when no row names a level). Rows it disagrees with are then reported at their lines. InputError (at the
    first row with a level) when no scheme knows any of the names."""
    named = [(line, g, lvl) for line, g, lvl in rows if lvl]
    if not named:
        return ESCI
    names = {lvl for _, _, lvl in named}

    def fit(s: LevelScheme) -> tuple[int, int]:
        levels = [n.lower() for n in s.levels]
        return (sum(n in levels for n in names),
                sum(0 <= g <= s.top and levels[g] == lvl for _, g, lvl in named))

    best = max(SCHEMES.values(), key=fit)  # max keeps the first of equals: esci, wands, three-level
    if fit(best)[0] == 0:
        known = "; ".join(s.name + ": " + ", ".join(s.levels) for s in SCHEMES.values())
        raise InputError(f"level names {sorted(names)} match no level scheme ({known}); pass --scheme",
                         str(p), named[0][0])
    return best


def write_judgments(jset: JudgmentSet, path: str | os.PathLike) -> Path:
    """Write judgments as mrs TSV (query_id, query, product_id, grade, level, source, confidence), atomically.

    Tabs and newlines inside query text are replaced by spaces. ``read_judgments`` reads it back (fmt mrs).
    """
    path = Path(path)
    with atomic_file(path, newline="") as out:
        out.write("\t".join(MRS_COLUMNS) + "\n")
        for j in jset:
            cells = (j.query_id, j.query, j.product_id, str(j.grade), jset.scheme.name_of(j.grade), j.source,
                     f"{j.confidence:g}")
            out.write("\t".join(" ".join(str(c).split()) for c in cells) + "\n")
    return path
