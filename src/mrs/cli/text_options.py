"""The product-text template option every command that renders product texts shares: ``--text-template``.

index, train stage1/stage2, mine and judge train/annotate spell it alike. ``--template``, the name some of
them used before, still works as a hidden deprecated alias (a warning on stderr says to use the new name).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import click
from click.core import ParameterSource

_ALIAS_DEST = "deprecated_template_alias"


def text_template_option(*, dest: str = "template", default: str | None = None,
                         help: str = "Product text template: {field} placeholders, {category[-2:]} slices list "
                                     "fields.") -> Callable[[Callable], Callable]:
    """Adds --text-template TEMPLATE (parameter ``dest``) and its hidden deprecated alias --template.

    default: the template used when neither is given (None: the command's own fallback, e.g. Stage 1's).
    Giving both names is a usage error (exit 2)."""

    def decorate(f: Callable) -> Callable:
        @functools.wraps(f)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            old = kwargs.pop(_ALIAS_DEST, None)
            if old is not None:
                ctx = click.get_current_context()
                if ctx.get_parameter_source(dest) is ParameterSource.COMMANDLINE:
                    raise click.UsageError("give --text-template only (--template is its deprecated old name)")
                click.echo("warning: --template is deprecated; use --text-template", err=True)
                kwargs[dest] = old
            return f(*args, **kwargs)

        wrapper = click.option("--template", _ALIAS_DEST, default=None, hidden=True)(wrapper)
        return click.option("--text-template", dest, default=default, show_default=default is not None,
                            help=help)(wrapper)

    return decorate
