"""Reading a text file line by line the way every mrs reader does: UTF-8, BOM stripped, bad bytes reported.

Lines are decoded one at a time, so a file is streamed (never loaded whole) and a line with non-UTF-8 bytes
is reported with its line number instead of failing the whole file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mrs.data.rejects import RowErrors
from mrs.errors import InputError, json_error_text

BOM = "\ufeff"


def check_file(path: str | os.PathLike) -> Path:
    """The path as a Path; InputError when it is missing, a directory, or empty (0 bytes)."""
    p = Path(path)
    if not p.exists():
        raise InputError("no such file", str(p))
    if p.is_dir():
        raise InputError("is a directory, expected a file", str(p))
    if p.stat().st_size == 0:
        raise InputError("empty file: no rows", str(p), 1)
    return p


class LineReader:
    """Iterates (line number, text) over a UTF-8 file; ``line`` holds the last physical line number read.

    Line endings are stripped; a UTF-8 BOM on the first line is removed. A line that is not valid UTF-8 goes
    to ``row_errors`` ("not UTF-8") and is not yielded.
    """

    def __init__(self, path: str | os.PathLike, row_errors: RowErrors):
        self.path = check_file(path)
        self.row_errors = row_errors
        self.line = 0

    def __iter__(self) -> Iterator[tuple[int, str]]:
        with open(self.path, "rb") as f:
            for raw in f:
                self.line += 1
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError as e:
                    self.row_errors.bad(self.path, self.line,
                                        f"not UTF-8 (byte 0x{raw[e.start]:02x} at column {e.start + 1})", raw)
                    continue
                if self.line == 1 and text.startswith(BOM):
                    text = text[1:]
                yield self.line, text.rstrip("\r\n")


def json_lines(path: str | os.PathLike, row_errors: RowErrors) -> Iterator[tuple[int, Any, str]]:
    """(line number, decoded JSON value, line text) for every non-blank line of a JSONL file.

    A line that is not JSON goes to ``row_errors`` as "malformed JSON (<what> at column N)" (an InputError
    naming file and line when it fails) and is not yielded; so does a non-UTF-8 line (LineReader)."""
    reader = LineReader(path, row_errors)
    for line, text in reader:
        if not text.strip():
            continue
        try:
            value = json.loads(text)
        except json.JSONDecodeError as e:
            row_errors.bad(reader.path, line, f"malformed JSON ({json_error_text(e)})", text)
            continue
        yield line, value, text


def delimiter_of(header: str) -> str:
    """The delimiter of a delimited text file from its header line: tab when it holds one, else comma."""
    return "\t" if "\t" in header else ","


def delimited_header(path: str | os.PathLike, row_errors: RowErrors,
                     empty: str) -> tuple[list[str], str, Iterator[tuple[int, str]]]:
    """(header cells as written, delimiter, the (line number, text) iterator of the lines after the header).

    The header is the first UTF-8 line; ``empty``: the InputError text (at line 1) when there is none."""
    lines = iter(LineReader(path, row_errors))
    try:
        _, header = next(lines)
    except StopIteration:
        raise InputError(empty, str(Path(path)), 1) from None
    delimiter = delimiter_of(header)
    return header.split(delimiter), delimiter, lines
