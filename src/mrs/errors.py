"""Errors every room raises for bad input; the CLI turns them into one line and exit code 2."""

from __future__ import annotations


class InputError(Exception):
    """Bad input the user can fix: a file, a line in it, and what is wrong.

    ``str(err)`` is the one line the CLI prints, e.g. ``catalog.jsonl:17: malformed JSON (Expecting ',')``.
    """

    def __init__(self, message: str, path: str | None = None, line: int | None = None):
        self.message = message
        self.path = str(path) if path is not None else None
        self.line = line
        super().__init__(self.__str__())

    def __str__(self) -> str:
        where = ""
        if self.path is not None:
            where = f"{self.path}:{self.line}: " if self.line is not None else f"{self.path}: "
        return f"{where}{self.message}"
