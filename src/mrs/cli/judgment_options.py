"""The judgment-input options every command that reads judgments shares: ``--queries`` and ``--scheme``.

One definition, so eval, calibrate, train stage1/stage2, judge train/annotate, mine and audit spell, document
and read them alike; ``read_judgment_input`` is the one call they read judgments through
(mrs.data.judgment_readers.read_judgments with these options).
"""

from __future__ import annotations

import os
from collections.abc import Callable

import click

from mrs.data.levels import SCHEMES

QUERIES_HELP = ("Query id → text file (TREC topics 'id<TAB>text', WANDS query.csv, CSV/TSV with query_id and "
                "query, or JSONL): needed when the judgments name queries by id (TREC qrels, WANDS labels). In eval "
                "and calibrate a 'filter' field/column (query DSL JSON) runs that query filtered.")


def queries_option(f: Callable | None = None, *, dest: str = "queries_path") -> Callable:
    """Adds --queries FILE (parameter ``dest``, default None): the query texts of id-keyed judgments.
    Use as ``@queries_option`` or ``@queries_option(dest="queries_file")``."""
    def add(func: Callable) -> Callable:
        return click.option("--queries", dest, default=None, type=click.Path(dir_okay=False),
                            help=QUERIES_HELP)(func)

    return add(f) if f is not None else add


def scheme_option(f: Callable) -> Callable:
    """Adds --scheme NAME (parameter ``scheme``, default None = the format's own scheme)."""
    return click.option("--scheme", type=click.Choice(sorted(SCHEMES)), default=None,
                        help="Level scheme of the judgments [default: the format's; esci for TREC grades 0-3]. "
                             "TREC/WANDS grades 0-2: three-level or wands.")(f)


def read_judgment_input(path: str | os.PathLike, *, queries_path: str | os.PathLike | None = None,
                        scheme: str | None = None, fmt: str | None = None, on_error: str = "fail",
                        rejects=None, needs_query_text: bool = True):
    """Judgments as a command's options name them → mrs.data.judgments.JudgmentSet.

    path: --judgments; queries_path: --queries; scheme: --scheme name (None = the format's); fmt: --format
    (None = detect). needs_query_text: the command searches or trains on the query texts, so id-keyed
    judgments without --queries are an InputError (see read_judgments)."""
    from mrs.data.judgment_readers import read_judgments

    return read_judgments(path, fmt=fmt, scheme=scheme, queries=queries_path, on_error=on_error, rejects=rejects,
                          needs_query_text=needs_query_text)
