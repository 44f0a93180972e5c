"""An in-memory stand-in for an OpenSearch node, plugged in at opensearch-py's connection layer.

``FakeCluster.client()`` returns a real ``opensearchpy.OpenSearch`` whose Transport talks to ``FakeConnection``
(a subclass of ``opensearchpy.Connection``): every request goes through opensearch-py's own serialization,
Transport and helpers, only the HTTP hop is replaced. Failures are injected per request (``faults``: status
codes or connection errors) and per bulk item (``item_faults``), and every request is recorded as
(method, path, params, body).

The cluster state and the routes both targets share are tests/fakes/cluster.py; this module adds the
OpenSearch root answer, search pipelines (``_search/pipeline/ID``) and ``search_responder(index, req, params)``.
Templates render with chevron set up as OpenSearch's mustache (tests/fakes/mustache.py), not with mrs's own
renderer, so tests are not circular.
"""

from __future__ import annotations

import json
from typing import Any

from opensearchpy import Connection, OpenSearch
from opensearchpy.exceptions import ConnectionError as OSConnectionError

from fakes.cluster import InMemoryCluster

JSON = {"content-type": "application/json"}


class FakeCluster(InMemoryCluster):
    def __init__(self, version: str = "3.1.0") -> None:
        super().__init__(version)
        self.pipelines: dict[str, Any] = {}
        self.ml_models: dict[str, dict[str, Any]] = {}  # GET /_plugins/_ml/models/ID answers
        self.requests: list[tuple[str, str, dict, Any]] = []

    def client(self, **kwargs: Any) -> OpenSearch:
        cluster = self

        class _Conn(FakeConnection):
            fake = cluster

        kwargs.setdefault("max_retries", 0)
        return OpenSearch(hosts=[{"host": "fake", "port": 9200}], connection_class=_Conn, **kwargs)

    def root_info(self) -> dict[str, Any]:
        return {"version": {"number": self.version, "distribution": "opensearch"}}

    def route(self, method: str, parts: list[str], body: Any) -> tuple[int, Any] | None:
        if parts[:2] == ["_search", "pipeline"]:
            self.pipelines[parts[2]] = json.loads(body)
            return 200, {"acknowledged": True}
        if parts[:3] == ["_plugins", "_ml", "models"] and len(parts) == 4 and method == "GET":
            found = self.ml_models.get(parts[3])
            return (200, found) if found is not None else (404, {"status": 404, "error": {
                "type": "status_exception", "reason": "Failed to find model"}})
        return None

    def search_hits(self, index: str, req: dict, params: dict) -> list[dict]:
        if self.search_responder is not None:
            return self.search_responder(index, req, params)
        return self._all_docs(index, req)

    def searches(self) -> list[tuple[str, dict, dict]]:
        return [(p, prm, json.loads(b) if b else {}) for m, p, prm, b in self.requests if p.endswith("/_search")]


class FakeConnection(Connection):
    """opensearch-py Connection whose perform_request answers from ``fake`` (a FakeCluster)."""

    fake: FakeCluster

    def perform_request(self, method, url, params=None, body=None, timeout=None, ignore=(), headers=None):
        path = url.split("?")[0]
        if isinstance(body, bytes):
            body = body.decode("utf-8")
        self.fake.requests.append((method, path, dict(params or {}), body))
        injected = self.fake.injected(method, path)
        if injected == "conn":
            raise OSConnectionError("N/A", "connection refused (injected)", None)
        if isinstance(injected, int):
            err = {"error": {"type": "injected", "reason": f"injected {injected}"}, "status": injected}
            self._raise_error(injected, json.dumps(err), "application/json")
        status, data = self.fake.handle(method, path, body, params or {})
        raw = "" if data is None else json.dumps(data)
        if not 200 <= status < 300 and status not in ignore:
            self._raise_error(status, raw, "application/json")
        return status, JSON, raw
