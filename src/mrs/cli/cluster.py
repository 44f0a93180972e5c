"""Shared CLI options for commands that talk to an OpenSearch cluster (``--backend opensearch``).

Secrets never come from argv: basic auth from MRS_OPENSEARCH_USER / MRS_OPENSEARCH_PASSWORD, AWS keys from
boto3's default chain. Use ``@cluster_options`` on a command, then ``cluster_client(opts)`` with the options it
received (their names: url, ca_file, insecure, aws_region, aws_service, timeout_s, max_retries).
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any, NoReturn

import click

from mrs.opensearch.connection import ConnectionSettings, make_client, settings_from_env

CLUSTER_KEYS = ("url", "ca_file", "insecure", "aws_region", "aws_service", "timeout_s", "max_retries")


def cluster_options(f: Callable) -> Callable:
    """Adds --url, --ca-file, --insecure, --aws-region, --aws-service, --timeout, --retries."""
    options = [
        click.option("--url", default=None, help="Cluster URL [default: $MRS_OPENSEARCH_URL]. Credentials: "
                     "$MRS_OPENSEARCH_USER / $MRS_OPENSEARCH_PASSWORD (never on the command line)."),
        click.option("--ca-file", default=None, type=click.Path(dir_okay=False),
                     help="CA bundle to verify the cluster's TLS certificate [default: $MRS_OPENSEARCH_CA_FILE]."),
        click.option("--insecure", is_flag=True, help="Do not verify TLS certificates (development only)."),
        click.option("--aws-region", default=None,
                     help="Sign requests with AWS SigV4 for this region (Amazon OpenSearch Service) "
                     "[default: $MRS_OPENSEARCH_AWS_REGION]."),
        click.option("--aws-service", type=click.Choice(["es", "aoss"]), default=None,
                     help="SigV4 service: es (managed domain, default) or aoss (Serverless)."),
        click.option("--timeout", "timeout_s", type=click.FloatRange(min=0.1), default=30.0, show_default=True,
                     help="Seconds per request."),
        click.option("--retries", "max_retries", type=click.IntRange(min=0), default=3, show_default=True,
                     help="Retries on 429/5xx/connection errors."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def cluster_settings(opts: dict[str, Any]) -> ConnectionSettings:
    """ConnectionSettings from the options of @cluster_options (and the MRS_OPENSEARCH_* environment)."""
    return settings_from_env(
        opts.get("url"), ca_file=opts.get("ca_file"), verify_certs=not opts.get("insecure", False),
        aws_region=opts.get("aws_region"), aws_service=opts.get("aws_service"),
        timeout_s=float(opts.get("timeout_s", 30.0)), max_retries=int(opts.get("max_retries", 3)),
    )


def cluster_client(opts: dict[str, Any]) -> tuple[Any, ConnectionSettings]:
    """(opensearchpy.OpenSearch client, its settings) for the options of @cluster_options."""
    settings = cluster_settings(opts)
    _LAST_SETTINGS[:] = [settings]
    return make_client(settings), settings


def pop_cluster_options(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Remove the @cluster_options keys from a command's kwargs and return them."""
    return {k: kwargs.pop(k) for k in CLUSTER_KEYS if k in kwargs}


def exit_with_cluster_error(message: str, settings: Any = None) -> NoReturn:
    """Print ``message`` as one ``cluster error:`` line on stderr, its secrets (``settings.secrets()``) and any URL
    userinfo redacted, and exit 1. Shared by the OpenSearch and Elasticsearch error wrappers."""
    from rich.markup import escape

    from mrs.cli.common import EXIT_FAILURE, err_console
    from mrs.cluster.connection import redact

    message = redact(message, settings.secrets() if settings is not None else [])
    err_console.print(f"[bold red]cluster error:[/] {escape(message)}", highlight=False, soft_wrap=True, markup=True)
    sys.exit(EXIT_FAILURE)


def error_wrapper(transport_errors: Callable[[], tuple[type[BaseException], ...]],
                  describe: Callable[[BaseException, Any], str], last_settings: list) -> Callable[[Callable], Callable]:
    """A command decorator that turns one client's failures (after retries) into one redacted ``cluster error:``
    line on stderr and exit code 1. transport_errors(): the client's exception types (imported lazily);
    describe(error, settings): its one-line description; last_settings: the list the client factory fills with
    the settings it used (their secrets are redacted)."""

    def decorate(f: Callable) -> Callable:
        @functools.wraps(f)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            from mrs.cluster.bulk import BulkVerificationError
            from mrs.cluster.connection import ClusterError

            errors = transport_errors()
            try:
                return f(*args, **kwargs)
            except (ClusterError, BulkVerificationError) as e:
                message = str(e)
            except errors as e:
                message = describe(e, last_settings[0] if last_settings else None)
            exit_with_cluster_error(message, last_settings[0] if last_settings else None)

        return wrapper

    return decorate


def _opensearch_errors() -> tuple[type[BaseException], ...]:
    from opensearchpy.exceptions import TransportError

    return (TransportError,)


def _describe_opensearch(error: BaseException, settings: Any) -> str:
    from mrs.opensearch.connection import describe_error

    return describe_error(error, settings)


_LAST_SETTINGS: list[ConnectionSettings] = []
cluster_errors = error_wrapper(_opensearch_errors, _describe_opensearch, _LAST_SETTINGS)
"""OpenSearch failures (after retries) → one redacted line on stderr, exit 1."""
