"""Cluster URLs (OpenSearch, Elasticsearch): parsed, checked and redacted here, before any client library
sees them.

A cluster URL is ``http(s)://host[:port][/path-prefix]``. Credentials never go in it: a password with ``/``,
``#``, ``?`` or ``@`` in it breaks every URL parser (the part after ``/`` becomes the path, and client libraries
then print the rest in their errors), and a URL on the command line lands in shell history. So any ``@``
after the scheme is read as ``user:password@`` and refused with a line that says where credentials go (the
environment variables of each backend) and shows the URL with everything up to the last ``@`` replaced by
``***``. A literal ``@`` in a path prefix is written ``%40``.

Everything else that is not such a URL — no scheme, another scheme, no host, a port that is not a number in
1–65535, an unclosed IPv6 bracket, whitespace, a query string or fragment — is an InputError (one line,
exit 2), never a ValueError from urllib or the clients.

Reference: RFC 3986 §3.2 (authority = [userinfo "@"] host [":" port]).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from mrs.errors import InputError

REDACTED = "***"
EXPECTED = "expected http(s)://host[:port][/prefix]"
_SCHEME = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<rest>.*)$", re.DOTALL)
_USERINFO = re.compile(r"(?<=://)\S*@")
_HOSTNAME = re.compile(r"^[A-Za-z0-9._-]+$")


@dataclass(frozen=True)
class ClusterURL:
    """A checked cluster URL. scheme: "http" | "https". host: name or address (IPv6 without brackets).
    port: 1–65535, or None when the URL gives none (the client's default). path_prefix: "" or "/prefix"."""

    scheme: str
    host: str
    port: int | None
    path_prefix: str

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        port = f":{self.port}" if self.port is not None else ""
        return f"{self.scheme}://{host}{port}{self.path_prefix}"


def redact_url(text: str) -> str:
    """Every ``scheme://userinfo@`` in ``text`` → ``scheme://***@`` (up to the last ``@`` before whitespace, so
    a password holding ``/``, ``#``, ``?`` or ``@`` is removed whole)."""
    return _USERINFO.sub(REDACTED + "@", str(text))


def parse_cluster_url(url: str | None, *, product: str, env_url: str, secrets_hint: str) -> ClusterURL:
    """Parse and check ``url`` (see module doc).

    product: the cluster kind named in messages ("OpenSearch"). env_url: the variable a user can set instead
    of --url. secrets_hint: where credentials go (e.g. "MRS_OPENSEARCH_USER and MRS_OPENSEARCH_PASSWORD").
    InputError: no URL; credentials in it (the message never holds them); anything that is not
    http(s)://host[:port][/prefix].
    """
    if url is None or not str(url).strip():
        raise InputError(f"no {product} URL: pass --url or set {env_url}")
    text = str(url).strip()
    m = _SCHEME.match(text)
    rest = m["rest"] if m else text
    if "@" in rest:
        shown = f"{m['scheme']}://{REDACTED}@{rest.rsplit('@', 1)[1]}" if m else f"{REDACTED}@{rest.rsplit('@', 1)[1]}"
        raise InputError(f"{product} URL {shown!r} contains credentials (user:password@), which must not be on the "
                         f"command line or in a URL: set {secrets_hint} instead (a literal '@' in a path is %40)")
    if m is None or m["scheme"].lower() not in ("http", "https"):
        raise InputError(f"bad {product} URL {text!r}: {EXPECTED}")
    if any(c.isspace() or ord(c) < 32 for c in text):
        raise InputError(f"bad {product} URL {text!r}: whitespace or control characters in it; {EXPECTED}")
    scheme = m["scheme"].lower()
    cut = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    authority, tail = rest[:cut], rest[cut:]
    if "?" in tail or "#" in tail:
        raise InputError(f"bad {product} URL {text!r}: a query string or fragment has no place in a cluster URL; "
                         f"{EXPECTED}")
    host, port = _host_and_port(authority, text, product)
    return ClusterURL(scheme, host, port, tail.rstrip("/"))


def _host_and_port(authority: str, text: str, product: str) -> tuple[str, int | None]:
    try:
        parts = urlsplit(f"http://{authority}")
        host, port = parts.hostname, parts.port
    except ValueError as e:  # "Invalid IPv6 URL", "Port out of range 0-65535", "Port could not be cast ..."
        reason = "the port must be a number from 1 to 65535" if "port" in str(e).lower() else str(e)
        raise InputError(f"bad {product} URL {text!r}: {reason}; {EXPECTED}") from None
    if not host:
        raise InputError(f"bad {product} URL {text!r}: no host; {EXPECTED}")
    if ":" not in host and not _HOSTNAME.match(host):
        raise InputError(f"bad {product} URL {text!r}: host {host!r} is not a name or an address; {EXPECTED}")
    if port == 0 or (authority.endswith(":") and port is None):
        raise InputError(f"bad {product} URL {text!r}: the port must be a number from 1 to 65535; {EXPECTED}")
    return host, port
