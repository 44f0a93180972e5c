"""An in-memory stand-in for an Elasticsearch node, plugged in at elastic_transport's node layer.

``FakeES.client()`` returns a real ``elasticsearch.Elasticsearch`` whose Transport talks to ``FakeNode`` (a
subclass of ``elastic_transport.BaseNode``): every request goes through elasticsearch-py's own serialization,
Transport, product check and helpers; only the HTTP hop is replaced. Failures are injected per request
(``fault``: an HTTP status, (status, reason) or "conn" for a connection error raised by the node) and per bulk
item (``item_faults``); every request is recorded as (method, path, body).

The cluster state and the routes both targets share are tests/fakes/cluster.py; this module adds the
Elasticsearch root answer and ``search_responder(index, req)`` (default: every document, score 1.0). Templates
render with chevron set up as Elasticsearch's mustache (tests/fakes/mustache.py), not with mrs's renderer.
"""

from __future__ import annotations

import json
from typing import Any

from elastic_transport import ApiResponseMeta, BaseNode, HttpHeaders
from elastic_transport import ConnectionError as ESConnectionError
from elastic_transport._node import NodeApiResponse
from elasticsearch import Elasticsearch

from fakes.cluster import InMemoryCluster

__all__ = ["FakeES", "FakeNode"]

HEADERS = {"content-type": "application/json", "x-elastic-product": "Elasticsearch"}


class FakeES(InMemoryCluster):
    def __init__(self, version: str = "9.1.0") -> None:
        super().__init__(version)
        self.requests: list[tuple[str, str, Any]] = []
        self.inference_endpoints: dict[str, dict[str, Any]] = {}  # GET _inference/text_embedding/ID answers

    def route(self, method: str, parts: list[str], body: Any) -> tuple[int, Any] | None:
        if parts[:1] == ["_inference"] and len(parts) == 3 and method == "GET":
            found = self.inference_endpoints.get(parts[2])
            if found is None:
                return 404, {"status": 404, "error": {"type": "resource_not_found_exception",
                                                      "reason": f"Inference endpoint not found [{parts[2]}]"}}
            return 200, {"endpoints": [found]}
        return None

    def client(self, **kwargs: Any) -> Elasticsearch:
        fake = self

        class _Node(FakeNode):
            cluster = fake

        kwargs.setdefault("max_retries", 0)
        return Elasticsearch("http://fake:9200", node_class=_Node, **kwargs)

    def root_info(self) -> dict[str, Any]:
        return {"version": {"number": self.version, "build_flavor": "default"}, "tagline": "You Know, for Search"}

    def search_hits(self, index: str, req: dict, params: dict) -> list[dict]:
        if self.search_responder is not None:
            return self.search_responder(index, req)
        return self._all_docs(index, req)

    def searches(self) -> list[dict]:
        return [json.loads(b) for m, p, b in self.requests if p.endswith("/_search") and b]


class FakeNode(BaseNode):
    """elastic_transport node answering from ``cluster`` (a FakeES)."""

    cluster: FakeES

    def perform_request(self, method, target, body=None, headers=None, request_timeout=None) -> NodeApiResponse:
        if isinstance(body, bytes):
            body = body.decode("utf-8")
        path = target.split("?")[0]
        self.cluster.requests.append((method, path, body))
        injected = self.cluster.injected(method, path)
        if injected == "conn":
            raise ESConnectionError("connection refused (injected)")
        if isinstance(injected, tuple):  # (status, reason): an error whose text the test chooses
            status, reason = injected
            data: Any = {"error": {"type": "security_exception", "reason": reason}, "status": status}
        elif isinstance(injected, int):
            status = injected
            data = {"error": {"type": "injected", "reason": f"injected {injected}"}, "status": injected}
        else:
            status, data = self.cluster.handle(method, target, body)
        raw = b"" if data is None else json.dumps(data).encode("utf-8")
        meta = ApiResponseMeta(status=status, http_version="1.1", headers=HttpHeaders(HEADERS), duration=0.0,
                               node=self.config)
        return NodeApiResponse(meta, raw)

    def close(self) -> None:
        pass
