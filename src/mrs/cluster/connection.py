"""Connection settings both cluster clients share: the checked URL, credentials from the environment only, the
CA file, redaction of secrets, and the one error type a failed cluster call raises.

Each backend keeps its own environment variables and client keyword arguments (mrs.opensearch.connection,
mrs.elasticsearch.connection); what they have in common is decided here once:

| concern | rule |
|---|---|
| URL | ``http(s)://host[:port][/prefix]``, checked by mrs.cluster.url before a client library sees it; a URL
  with ``user:password@`` is refused (secrets go in env vars) |
| basic auth | a user and a password from two env vars: both or neither |
| CA file | must exist when given (InputError naming the path) |
| messages | every secret string and any URL userinfo replaced by ``***`` (``redact``) |
| failures | ``ClusterError``: one redacted line, raised after the client's and mrs's retries |

Reference: RFC 3986 §3.2 (URL authority); opensearch-py and elasticsearch-py "Connecting" guides.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from mrs.cluster.url import REDACTED, parse_cluster_url, redact_url
from mrs.errors import InputError

__all__ = ["REDACTED", "ClusterError", "basic_auth_from_env", "checked_url", "existing_ca_file", "first_line",
           "redact", "redact_url"]


class ClusterError(RuntimeError):
    """A cluster call failed (after retries). The message is redacted: no password, no URL userinfo."""


def redact(text: str, secrets: list[str] | None = None) -> str:
    """``text`` with every string of ``secrets`` and any URL userinfo replaced by ``***``."""
    out = redact_url(str(text))
    for s in secrets or []:
        if s:
            out = out.replace(s, REDACTED)
    return out


def first_line(text: str, err: BaseException, secrets: list[str] | None = None) -> str:
    """The first line of an error description, redacted (the exception's type name when ``text`` is empty)."""
    first = text.splitlines()[0] if text else type(err).__name__
    return redact(first, secrets)


def checked_url(url: str | None, *, product: str, env_url: str, secrets_hint: str) -> str:
    """``url`` checked and normalised by mrs.cluster.url.parse_cluster_url (``http(s)://host[:port][/prefix]``,
    no credentials, no trailing slash), as a string.

    product: the cluster kind named in messages ("OpenSearch"). env_url: the URL variable a user can set.
    secrets_hint: where credentials go instead (e.g. "MRS_OPENSEARCH_USER and MRS_OPENSEARCH_PASSWORD").
    InputError: no URL, not http(s)://host[:port][/prefix], credentials inside the URL (never echoed).
    """
    return str(parse_cluster_url(url, product=product, env_url=env_url, secrets_hint=secrets_hint))


def basic_auth_from_env(env: Mapping[str, str], env_user: str, env_password: str) -> tuple[str | None, str | None]:
    """(user, password) from the environment variables ``env_user``/``env_password`` (empty counts as unset).
    InputError when only one of the two is set."""
    user = env.get(env_user) or None
    password = env.get(env_password) or None
    if bool(user) != bool(password):
        raise InputError(f"set both {env_user} and {env_password} (or neither)")
    return user, password


def existing_ca_file(ca: str | None) -> str | None:
    """The CA bundle path (None when not given). InputError naming the path when the file does not exist."""
    ca = ca or None
    if ca and not os.path.isfile(ca):
        raise InputError("CA file not found", path=ca)
    return ca
