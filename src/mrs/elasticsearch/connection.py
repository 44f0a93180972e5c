"""One place that builds the ``elasticsearch.Elasticsearch`` client: URL, API key or basic auth, TLS CA,
timeouts, retries — with secrets kept out of argv, reprs, messages and logs.

| setting | source |
|---|---|
| URL | ``--url`` or ``MRS_ELASTICSEARCH_URL`` (a URL with ``user:password@`` is refused: secrets go in env) |
| API key | ``MRS_ELASTICSEARCH_API_KEY`` (the base64 ``id:api_key`` "encoded" form Kibana shows) |
| basic auth | ``MRS_ELASTICSEARCH_USER`` + ``MRS_ELASTICSEARCH_PASSWORD`` (not together with an API key) |
| TLS | ``verify_certs`` (default on), ``ca_certs`` (``--ca-file`` or ``MRS_ELASTICSEARCH_CA_FILE``) |
| timeouts / retries | ``request_timeout``; ``max_retries`` with ``retry_on_status`` (429, 502, 503, 504) and
  ``retry_on_timeout`` — done by elastic_transport; bulk writes add their own backoff (mrs.cluster.bulk) |

The rules both clusters share (URL check, basic auth pair, CA file, redaction, ClusterError) are
mrs.cluster.connection's.

Documentation relied on: elasticsearch-py "Connecting" (https://www.elastic.co/docs/reference/elasticsearch/
clients/python/connecting: ``Elasticsearch(url, api_key=..., basic_auth=(user, pw), ca_certs=...)``),
the client's ``Elasticsearch.__init__`` parameters (request_timeout, max_retries, retry_on_status,
retry_on_timeout, node_class) and elastic_transport's exceptions (ApiError.meta.status, ConnectionError).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mrs.cluster.connection import (
    ClusterError,
    basic_auth_from_env,
    checked_url,
    existing_ca_file,
    first_line,
    redact_url,
)
from mrs.errors import InputError

ENV_URL = "MRS_ELASTICSEARCH_URL"
ENV_API_KEY = "MRS_ELASTICSEARCH_API_KEY"
ENV_USER = "MRS_ELASTICSEARCH_USER"
ENV_PASSWORD = "MRS_ELASTICSEARCH_PASSWORD"
ENV_CA_FILE = "MRS_ELASTICSEARCH_CA_FILE"

__all__ = ["ClusterError", "ElasticsearchSettings", "client_kwargs", "describe_error", "make_client",
           "settings_from_env", "status_of"]


@dataclass
class ElasticsearchSettings:
    """How to reach an Elasticsearch cluster. ``api_key`` and ``password`` never appear in repr() or describe().

    url: http(s)://host:port[/prefix]. api_key: encoded API key. user/password: basic auth. ca_certs: CA bundle
    path. verify_certs: check the server certificate. timeout_s: seconds per request. max_retries: transport
    retries on retry_on_status and timeouts.
    """

    url: str
    api_key: str | None = field(default=None, repr=False)
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_certs: str | None = None
    verify_certs: bool = True
    timeout_s: float = 30.0
    max_retries: int = 3
    retry_on_status: tuple[int, ...] = (429, 502, 503, 504)
    retry_on_timeout: bool = True

    def secrets(self) -> list[str]:
        """The secret strings to redact from any message."""
        return [s for s in (self.api_key, self.password) if s]

    def describe(self) -> dict[str, Any]:
        """A printable summary (no secret): URL, auth kind, user, TLS, timeouts."""
        auth = "api-key" if self.api_key else ("basic" if self.user else "none")
        return {"url": redact_url(self.url), "auth": auth, "user": self.user, "verify_certs": self.verify_certs,
                "ca_certs": self.ca_certs, "timeout_s": self.timeout_s, "max_retries": self.max_retries}


def settings_from_env(
    url: str | None = None,
    *,
    ca_file: str | None = None,
    verify_certs: bool | None = None,
    timeout_s: float = 30.0,
    max_retries: int = 3,
    env: Mapping[str, str] | None = None,
) -> ElasticsearchSettings:
    """ElasticsearchSettings from explicit options (CLI) + the MRS_ELASTICSEARCH_* environment.

    InputError: no URL, a malformed URL, credentials inside the URL, a user without a password (or the
    reverse), an API key together with basic auth, a CA file that does not exist.
    """
    env = os.environ if env is None else env
    url = checked_url(url or env.get(ENV_URL), product="Elasticsearch", env_url=ENV_URL,
                      secrets_hint=f"{ENV_API_KEY} or {ENV_USER}/{ENV_PASSWORD}")
    api_key = env.get(ENV_API_KEY) or None
    user, password = basic_auth_from_env(env, ENV_USER, ENV_PASSWORD)
    if api_key and user:
        raise InputError(f"choose one auth: {ENV_API_KEY} or {ENV_USER}/{ENV_PASSWORD}, not both")
    ca = existing_ca_file(ca_file or env.get(ENV_CA_FILE))
    return ElasticsearchSettings(url=url.rstrip("/"), api_key=api_key, user=user, password=password, ca_certs=ca,
                                 verify_certs=True if verify_certs is None else verify_certs,
                                 timeout_s=float(timeout_s), max_retries=int(max_retries))


def client_kwargs(settings: ElasticsearchSettings, node_class: Any = None) -> dict[str, Any]:
    """Keyword arguments for ``elasticsearch.Elasticsearch(**kwargs)`` (pure; tests inspect them).

    node_class: an elastic_transport node class (tests inject an in-memory node here).
    """
    kwargs: dict[str, Any] = {
        "hosts": [settings.url],
        "request_timeout": settings.timeout_s,
        "max_retries": settings.max_retries,
        "retry_on_status": settings.retry_on_status,
        "retry_on_timeout": settings.retry_on_timeout,
    }
    if settings.url.startswith("https"):
        kwargs["verify_certs"] = settings.verify_certs
        if not settings.verify_certs:
            kwargs["ssl_show_warn"] = False
        if settings.ca_certs:
            kwargs["ca_certs"] = settings.ca_certs
    if settings.api_key:
        kwargs["api_key"] = settings.api_key
    elif settings.user:
        kwargs["basic_auth"] = (settings.user, settings.password)
    if node_class is not None:
        kwargs["node_class"] = node_class
    return kwargs


def make_client(settings: ElasticsearchSettings, node_class: Any = None) -> Any:
    """An ``elasticsearch.Elasticsearch`` client for ``settings``."""
    from elasticsearch import Elasticsearch

    return Elasticsearch(**client_kwargs(settings, node_class=node_class))


def status_of(err: BaseException) -> Any:
    """HTTP status of an elasticsearch/elastic_transport error; "N/A" when no response came back."""
    meta = getattr(err, "meta", None)
    status = getattr(meta, "status", None)
    if isinstance(status, int):
        return status
    status = getattr(err, "status_code", None)
    return status if isinstance(status, int) else "N/A"


def describe_error(err: BaseException, settings: ElasticsearchSettings | None = None) -> str:
    """One redacted line for an elasticsearch-py exception: HTTP status, error type and reason when present."""
    from elastic_transport import ConnectionError as ESConnectionError
    from elasticsearch import ApiError

    secrets = settings.secrets() if settings else []
    if isinstance(err, ESConnectionError):
        text = f"cannot reach the cluster: {err}"
    elif isinstance(err, ApiError):
        body = err.body if isinstance(err.body, dict) else {}
        detail = body.get("error") if isinstance(body.get("error"), dict) else {}
        reason = f"{detail.get('type', 'error')}: {detail['reason']}" if detail.get("reason") else err.message
        text = f"HTTP {status_of(err)}: {reason}"
    else:
        text = str(err) or type(err).__name__
    return first_line(text, err, secrets)
