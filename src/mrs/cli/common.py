"""Shared CLI plumbing: error handling (exit 2 for bad input), JSON output, progress bars."""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from mrs.errors import InputError, OutputError, os_reason

# Human output goes to stderr when --json is used, so stdout stays machine-readable.
console = Console()
err_console = Console(stderr=True)

EXIT_BAD_INPUT = 2
EXIT_FAILURE = 1


def json_option(f: Callable) -> Callable:
    """Adds --json: print one machine-readable JSON object on stdout instead of tables."""
    return click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON on stdout.")(f)


def on_error_option(f: Callable) -> Callable:
    """Adds --on-error fail|skip (default fail): skip writes bad rows to a rejects file and counts them."""
    return click.option(
        "--on-error",
        type=click.Choice(["fail", "skip"]),
        default="fail",
        show_default=True,
        help="fail: stop at the first bad row (exit 2). skip: write bad rows to a rejects file and go on.",
    )(f)


def id_field_option(f: Callable) -> Callable:
    """Adds --id-field (default None): the catalog id column; None lets the catalog reader take the first of
    mrs.data.catalog.ID_FIELDS present."""
    return click.option("--id-field", default=None,
                        help="Catalog id column (default: first of id, _id, asin, product_id).")(f)


def record_rejects(report: dict[str, Any], rejects: Any, beside: str | os.PathLike) -> None:
    """When ``rejects`` (mrs.data.rejects.Rejects) holds rows: write them to the rejects file beside ``beside``
    (mrs.data.rejects.rejects_path_for) and set ``report["rejects"]`` = {"count", "path", "reasons"}.
    Nothing is written and ``report`` is unchanged when no row was rejected."""
    from mrs.data.rejects import rejects_path_for

    if rejects.count:
        path = rejects.write(rejects_path_for(beside))
        report["rejects"] = {"count": rejects.count, "path": str(path), "reasons": rejects.reasons()}


def print_rejects_note(report: dict[str, Any]) -> None:
    """The human-output line for ``report["rejects"]`` (set by record_rejects) on stderr; nothing when absent."""
    if report.get("rejects"):
        err_console.print(f"[yellow]{report['rejects']['count']} bad rows skipped[/] → {report['rejects']['path']}")


def error_exit_code(e: BaseException) -> int | None:
    """Print the one line for an error the user or the machine caused and return its exit code; None for
    anything else (a bug: its traceback is the useful output).

    InputError → 2 (bad input or usage). FileNotFoundError, IsADirectoryError, NotADirectoryError → 2 (a
    path the user gave). OutputError (mrs.atomic: full disk, read-only file system, no permission) and any
    other OSError (the environment: ENOSPC, EROFS, EACCES, EIO, EMFILE, ...) → 1, naming the file when the
    error carries one.
    """
    if isinstance(e, InputError):
        _error_line(str(e))
        return EXIT_BAD_INPUT
    if isinstance(e, FileNotFoundError):
        _error_line(f"{e.filename or e}: no such file")
        return EXIT_BAD_INPUT
    if isinstance(e, (IsADirectoryError, NotADirectoryError)):
        _error_line(f"{e.filename}: {os_reason(e)}" if e.filename else os_reason(e))
        return EXIT_BAD_INPUT
    if isinstance(e, OutputError):
        _error_line(str(e))
        return EXIT_FAILURE
    if isinstance(e, OSError):
        where = f"{e.filename}: " if e.filename else ""
        _error_line(f"{where}{os_reason(e)}")
        return EXIT_FAILURE
    return None


def _error_line(text: str) -> None:
    first = text.splitlines()[0] if text else "error"
    err_console.print(f"[bold red]error:[/] {escape(first)}", highlight=False, markup=True, soft_wrap=True)


def handle_errors(f: Callable) -> Callable:
    """One command's error boundary: error_exit_code's one line and exit code instead of a traceback."""

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return f(*args, **kwargs)
        except (InputError, OutputError, OSError) as e:
            code = error_exit_code(e)
            if code is None:  # pragma: no cover - error_exit_code covers these types
                raise
            sys.exit(code)

    return wrapper


class MrsGroup(click.Group):
    """The `mrs` group (and its sub-groups): every command runs inside error_exit_code's boundary, so an
    InputError, a full disk or a read-only directory ends in one line on stderr and exit 2 / 1, whichever
    command it happened in."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (InputError, OutputError, OSError) as e:
            code = error_exit_code(e)
            if code is None:  # pragma: no cover
                raise
            ctx.exit(code)


def print_json(obj: Any) -> None:
    """One JSON object on stdout (numpy scalars converted)."""
    click.echo(json.dumps(obj, indent=2, ensure_ascii=False, default=_json_default))


def _json_default(o: Any) -> Any:
    try:
        import numpy as np

        if isinstance(o, np.generic):
            return o.item()
        if isinstance(o, np.ndarray):
            return o.tolist()
    except ImportError:  # pragma: no cover
        pass
    if isinstance(o, set):
        return sorted(o)
    return str(o)


def progress(quiet: bool = False) -> Progress:
    """A rich progress bar on stderr, shown whenever stderr is a terminal.

    quiet (--json): stdout carries only the JSON document; the bar still goes to a terminal's stderr (a
    14-minute training run must not look hung), and is off when stderr is a file or pipe either way."""
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err_console,
        disable=not err_console.is_terminal,
        transient=quiet,
    )
