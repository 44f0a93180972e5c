"""One place that builds the opensearch-py client: URL, auth, TLS, timeouts, retries — and keeps secrets out of sight.

Where each setting comes from (secrets never from argv, never printed):

| setting | source |
|---|---|
| URL | ``--url`` or ``MRS_OPENSEARCH_URL``, checked by mrs.cluster.url before opensearch-py sees it (a URL with
  ``user:password@`` is refused: put secrets in env) |
| basic auth | ``MRS_OPENSEARCH_USER`` + ``MRS_OPENSEARCH_PASSWORD`` |
| TLS | ``verify_certs`` (default on for https), ``ca_certs`` file (``--ca-file`` or ``MRS_OPENSEARCH_CA_FILE``) |
| AWS SigV4 | ``aws_region`` (``MRS_OPENSEARCH_AWS_REGION``) + ``aws_service`` (``es`` for managed domains,
  ``aoss`` for Serverless); credentials from boto3's default chain (env, profile, instance role);
  opensearch-py's ``RequestsAWSV4SignerAuth`` over ``RequestsHttpConnection`` |
| timeouts / retries | ``timeout_s`` per request; ``max_retries`` on ``retry_on_status`` (502, 503, 504) and timeouts,
  done by opensearch-py's Transport (bulk writes add their own backoff, see mrs.cluster.bulk) |

The rules both clusters share (URL check, basic auth pair, CA file, redaction, ClusterError) are
mrs.cluster.connection's.

Reference: opensearch-py user guide (https://opensearch-project.github.io/opensearch-py/ , "Connecting",
"AWS SigV4"), opensearchpy/helpers/signer.py.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from mrs.cluster.connection import (
    ClusterError,
    basic_auth_from_env,
    checked_url,
    existing_ca_file,
    first_line,
    redact_url,
)
from mrs.errors import InputError

__all__ = ["ClusterError", "ConnectionSettings", "client_kwargs", "describe_error", "make_client", "settings_from_env"]

ENV_URL = "MRS_OPENSEARCH_URL"
ENV_USER = "MRS_OPENSEARCH_USER"
ENV_PASSWORD = "MRS_OPENSEARCH_PASSWORD"
ENV_CA_FILE = "MRS_OPENSEARCH_CA_FILE"
ENV_AWS_REGION = "MRS_OPENSEARCH_AWS_REGION"
ENV_AWS_SERVICE = "MRS_OPENSEARCH_AWS_SERVICE"


@dataclass
class ConnectionSettings:
    """Everything needed to reach a cluster. ``password`` is held here only, never rendered by repr().

    url: http(s)://host:port. timeout_s: seconds per request. max_retries: Transport retries on
    retry_on_status / timeouts. verify_certs: check the server certificate (https). ca_certs: CA bundle path.
    aws_region/aws_service: sign requests with AWS SigV4 instead of basic auth.
    """

    url: str
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_certs: str | None = None
    verify_certs: bool = True
    aws_region: str | None = None
    aws_service: str = "es"
    timeout_s: float = 30.0
    max_retries: int = 3
    retry_on_status: tuple[int, ...] = (502, 503, 504)
    retry_on_timeout: bool = True

    def secrets(self) -> list[str]:
        """The secret strings to redact from any message (password, and AWS keys from env)."""
        found = [s for s in (self.password, os.environ.get("AWS_SECRET_ACCESS_KEY"),
                             os.environ.get("AWS_SESSION_TOKEN")) if s]
        return found

    def describe(self) -> dict[str, Any]:
        """A printable summary: URL (credentials stripped), auth kind, TLS, timeouts. No secret in it."""
        auth = "aws-sigv4" if self.aws_region else ("basic" if self.user else "none")
        return {
            "url": redact_url(self.url),
            "auth": auth,
            "user": self.user,
            "verify_certs": self.verify_certs,
            "ca_certs": self.ca_certs,
            "timeout_s": self.timeout_s,
            "max_retries": self.max_retries,
        }


def settings_from_env(
    url: str | None = None,
    *,
    ca_file: str | None = None,
    verify_certs: bool | None = None,
    aws_region: str | None = None,
    aws_service: str | None = None,
    timeout_s: float = 30.0,
    max_retries: int = 3,
    env: Mapping[str, str] | None = None,
) -> ConnectionSettings:
    """Build ConnectionSettings from explicit options (CLI) + the MRS_OPENSEARCH_* environment.

    InputError when no URL is given, the URL is malformed, or the URL carries credentials (``user:pw@``):
    secrets must come from env so they never appear in argv or shell history.
    """
    env = os.environ if env is None else env
    url = checked_url(url or env.get(ENV_URL), product="OpenSearch", env_url=ENV_URL,
                      secrets_hint=f"{ENV_USER} and {ENV_PASSWORD}")
    user, password = basic_auth_from_env(env, ENV_USER, ENV_PASSWORD)
    ca = existing_ca_file(ca_file or env.get(ENV_CA_FILE))
    region = aws_region or env.get(ENV_AWS_REGION) or None
    service = aws_service or env.get(ENV_AWS_SERVICE) or "es"
    if region and user:
        raise InputError("choose one auth: AWS SigV4 (region set) or basic auth (user/password), not both")
    return ConnectionSettings(
        url=url.rstrip("/"),
        user=user,
        password=password,
        ca_certs=ca,
        verify_certs=True if verify_certs is None else verify_certs,
        aws_region=region,
        aws_service=service,
        timeout_s=timeout_s,
        max_retries=max_retries,
    )


def client_kwargs(settings: ConnectionSettings, connection_class: Any = None) -> dict[str, Any]:
    """The keyword arguments for ``opensearchpy.OpenSearch(**kwargs)`` (pure; tests inspect them).

    connection_class: override the transport connection (tests inject a fake one here).
    """
    parts = urlsplit(settings.url)
    use_ssl = parts.scheme == "https"
    port = parts.port or (443 if use_ssl else 9200)
    kwargs: dict[str, Any] = {
        "hosts": [{"host": parts.hostname, "port": port, "url_prefix": parts.path or ""}],
        "use_ssl": use_ssl,
        "verify_certs": settings.verify_certs if use_ssl else False,
        "ssl_show_warn": settings.verify_certs,
        "timeout": settings.timeout_s,
        "max_retries": settings.max_retries,
        "retry_on_status": settings.retry_on_status,
        "retry_on_timeout": settings.retry_on_timeout,
        "http_compress": True,
    }
    if settings.ca_certs:
        kwargs["ca_certs"] = settings.ca_certs
    if settings.aws_region:
        from opensearchpy import RequestsAWSV4SignerAuth, RequestsHttpConnection

        kwargs["http_auth"] = RequestsAWSV4SignerAuth(_aws_credentials(), settings.aws_region, settings.aws_service)
        kwargs["connection_class"] = RequestsHttpConnection
    elif settings.user:
        kwargs["http_auth"] = (settings.user, settings.password)
    if connection_class is not None:
        kwargs["connection_class"] = connection_class
    return kwargs


def _aws_credentials() -> Any:
    """Credentials from boto3's default chain (env vars, shared profile, instance/task role)."""
    try:
        import boto3
    except ImportError:
        raise InputError(
            "AWS SigV4 needs boto3: pip install 'mine-refine-search[aws]' (or pip install boto3)"
        ) from None
    creds = boto3.Session().get_credentials()
    if creds is None:
        raise InputError("AWS SigV4: no AWS credentials found (env, profile or instance role)")
    return creds


def make_client(settings: ConnectionSettings, connection_class: Any = None) -> Any:
    """An ``opensearchpy.OpenSearch`` client for ``settings``."""
    from opensearchpy import OpenSearch

    return OpenSearch(**client_kwargs(settings, connection_class=connection_class))


def describe_error(err: BaseException, settings: ConnectionSettings | None = None) -> str:
    """One redacted line for an opensearch-py exception: status, error type and reason when present."""
    from opensearchpy.exceptions import ConnectionError as OSConnectionError
    from opensearchpy.exceptions import TransportError

    secrets = settings.secrets() if settings else []
    if isinstance(err, OSConnectionError):
        text = f"cannot reach the cluster: {err.error}"  # opensearch-py: ConnectionError("N/A", message, cause)
    elif isinstance(err, TransportError):
        reason = err.error
        info = err.info if isinstance(err.info, dict) else {}
        detail = info.get("error", {}) if isinstance(info.get("error"), dict) else {}
        if detail.get("reason"):
            reason = f"{detail.get('type', reason)}: {detail['reason']}"
        text = f"HTTP {err.status_code}: {reason}"
    else:
        text = str(err)
    return first_line(text, err, secrets)
