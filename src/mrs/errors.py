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


class OutputError(Exception):
    """The environment refused a write: a full disk, a read-only file system, no permission.

    path: the output mrs was writing (the target, not its temporary file). error: the OSError raised.
    ``str(err)`` is the one line the CLI prints (exit code 1: the input was fine, the machine was not), e.g.
    ``cannot write out/report.json: no space left on device (ENOSPC)``.
    """

    def __init__(self, path: object, error: OSError):
        self.path = str(path)
        self.error = error
        super().__init__(self.__str__())

    def __str__(self) -> str:
        return f"cannot write {self.path}: {os_reason(self.error)}"


def os_reason(error: OSError) -> str:
    """``no space left on device (ENOSPC)`` for an OSError: its strerror, lower-cased, and the errno name."""
    import errno as errno_names

    code = error.errno
    text = (error.strerror or os_strerror(code) or str(error) or type(error).__name__).strip()
    name = errno_names.errorcode.get(code) if isinstance(code, int) else None
    text = text[:1].lower() + text[1:]
    return f"{text} ({name})" if name else text


def os_strerror(code: object) -> str | None:
    import os

    return os.strerror(code) if isinstance(code, int) else None


def json_error_text(error: object) -> str:
    """A json.JSONDecodeError as ``Expecting ',' delimiter at column 12``: its message (whose own trailing
    "starting at" is folded in, never "starting at at column") and its column."""
    msg = str(getattr(error, "msg", error)).rstrip()
    col = getattr(error, "colno", None)
    if col is None:
        return msg
    if msg.endswith(" at"):
        msg = msg[: -len(" at")]
    return f"{msg} at column {col}"


def read_json(path, what: str):
    """The parsed JSON of the file ``path``; ``what`` names the file in errors (e.g. "calibration").

    InputError naming the file: "cannot read <what>: the file does not exist", "cannot read <what> (<OS
    reason>)", or "malformed JSON (<reason> at column c)" with the line.
    """
    import json
    import os

    p = os.fspath(path)
    try:
        with open(p, encoding="utf-8") as fh:
            text = fh.read()
    except FileNotFoundError:
        raise InputError(f"cannot read {what}: the file does not exist", path=p) from None
    except OSError as e:
        raise InputError(f"cannot read {what} ({e.strerror})", path=p) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(f"malformed JSON ({json_error_text(e)})", path=p, line=e.lineno) from None
