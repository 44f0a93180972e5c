"""Ingest pipelines on the fake clusters: ``_ingest/pipeline/ID`` routes, and running a pipeline over a bulk
document the way the cluster does.

``run_embedding_text_script`` is a statement-for-statement Python transliteration of mrs's Painless script
(mrs.opensearch.ingest_pipeline.EMBEDDING_TEXT_SCRIPT) with Java's semantics where they differ from Python's:
values arrive as the cluster's JSON parser gives them (the test round-trips each document through JSON),
Boolean/Double/Long.toString, String.indexOf/substring, the script's own strip over the description's
whitespace. It never calls mrs's renderer, so comparing its output with ProductTextTemplate.render tests the
script's rules against the local ones. The fake accepts only that exact script source.

Embedding processors (``text_embedding`` / ``inference``) call ``embedders[model_id](text) → list[float]``,
which a test fills (e.g. with the exported ML model run through onnxruntime).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from mrs.opensearch.ingest_pipeline import EMBEDDING_TEXT_SCRIPT


class NoLocalEncoding:
    """The local encoder of a cluster-embedded load: identity and a 3-d dimension only; encoding fails the test."""

    backend = "torch"
    normalize = True
    space_type = "cosinesimil"
    dimension = 3
    identity = {"name": "fake", "sha256": "f" * 64, "path": "/models/fake"}

    def encode(self, texts):
        raise AssertionError("--embed-on cluster encoded locally")


def hashed_vector(text: str) -> list[float]:
    """A deterministic 3-d stand-in for a cluster model's embedding of ``text``."""
    import hashlib

    h = hashlib.sha256(text.encode()).digest()
    return [h[0] + 1.0, h[1] + 1.0, h[2] + 1.0]


class IngestFailure(Exception):
    """A processor failed: the bulk item gets status 400 with this reason."""


def _is_space(s: str, i: int, w: str) -> bool:
    return w.find(s[i:i + 1]) >= 0


def _strip(s: str, w: str) -> str:
    a, b = 0, len(s)
    while a < b and _is_space(s, a, w):
        a += 1
    while b > a and _is_space(s, b - 1, w):
        b -= 1
    return s[a:b]


def _collapse(s: str, w: str) -> str:
    out: list[str] = []
    gap = False
    for i in range(len(s)):
        if _is_space(s, i, w):
            gap = True
        else:
            if gap and out:
                out.append(" ")
            gap = False
            out.append(s[i])
    return "".join(out)


def java_double_to_string(d: float) -> str:
    """Java's Double.toString(d) for d > 0 (Java ≥ 19: the shortest round-trip digits, which are repr's): plain
    with at least one fraction digit for 1e-3 ≤ d < 1e7 ("100.0", "0.001"), else "d.dddE±n" ("1.0E-5")."""
    digits, exp = _shortest_digits(d)
    if 1e-3 <= d < 1e7:
        point = exp + 1
        if point <= 0:
            return "0." + "0" * -point + digits
        whole, frac = (digits + "0" * max(0, point - len(digits)))[:point], digits[point:]
        return whole + "." + (frac or "0")
    return digits[0] + "." + (digits[1:] or "0") + "E" + str(exp)


def _shortest_digits(d: float) -> tuple[str, int]:
    """(significant digits without trailing zeros, decimal exponent of the first digit) of repr(d)."""
    sign, digit_tuple, exponent = Decimal(repr(d)).normalize().as_tuple()
    digits = "".join(map(str, digit_tuple))
    return digits, len(digits) - 1 + exponent


def _py_float(d: float) -> str:
    """The script's pyFloat: parse Double.toString's mantissa / exponent, lay the digits out as repr does."""
    if d != d:
        return ""
    if d in (float("inf"), float("-inf")):
        return "inf" if d > 0 else "-inf"
    if d == 0:
        return "-0.0" if str(d).startswith("-") else "0.0"
    j = java_double_to_string(-d if d < 0 else d)
    e = j.find("E")
    exp10 = 0 if e < 0 else int(j[e + 1:])
    mantissa = j if e < 0 else j[:e]
    dot = mantissa.find(".")
    m = mantissa[:dot] + mantissa[dot + 1:]
    point = dot + exp10
    while len(m) > 1 and m.startswith("0"):
        m, point = m[1:], point - 1
    while len(m) > 1 and m.endswith("0"):
        m = m[:-1]
    sign = "-" if d < 0 else ""
    exp = point - 1
    if exp < -4 or exp >= 16:
        lead = m[:1] + ("." + m[1:] if len(m) > 1 else "")
        ae = -exp if exp < 0 else exp
        return sign + lead + "e" + ("-" if exp < 0 else "+") + ("0" if ae < 10 else "") + str(ae)
    if point <= 0:
        return sign + "0." + "0" * -point + m
    if point >= len(m):
        return sign + m + "0" * (point - len(m)) + ".0"
    return sign + m[:point] + "." + m[point:]


def _text(v: Any, d: dict, name: str) -> str:
    if v is None:
        return ""
    if isinstance(v, list):
        out: list[str] = []
        for item in v:
            t = _text(item, d, name)
            if t:
                out.append(t)
        return d["list_joiner"].join(out)
    if isinstance(v, dict):
        raise IngestFailure(f"mrs text template: field [{name}] holds an object")
    if isinstance(v, bool):
        return "True" if v else "False"
    if isinstance(v, float):
        return _strip(_py_float(v), d["whitespace"])
    return _strip(str(v), d["whitespace"])  # String, Integer/Long/BigInteger.toString


def _as_list(v: Any, d: dict, name: str) -> list[str]:
    if v is None:
        return []
    if isinstance(v, list):
        return [t for t in (_text(item, d, name) for item in v) if t]
    s = _text(v, d, name)
    for sep in d["path_separators"]:
        if s.find(sep) >= 0:
            out, at = [], 0
            while True:
                nxt = s.find(sep, at)
                piece = _strip(s[at:] if nxt < 0 else s[at:nxt], d["whitespace"])
                if piece:
                    out.append(piece)
                if nxt < 0:
                    return out
                at = nxt + len(sep)
    return [s] if s else []


def _bound(b: Any, n: int, missing: int) -> int:
    if b is None:
        return missing
    if b < 0:
        return 0 if n + b < 0 else n + b
    return b if b < n else n


def run_embedding_text_script(ctx: dict[str, Any], params: dict[str, Any]) -> None:
    """The Painless script's body over ``ctx`` (the document source plus ``_id``), writing params.target_field."""
    d = params["description"]
    product = ctx.get("product")
    w = d["whitespace"]
    kept = []
    for segment in d["segments"]:
        filled = False
        pieces = []
        for part in segment:
            if "text" in part:
                pieces.append(part["text"])
                continue
            name = part["field"]
            value = ctx["_id"] if name == "id" else (None if product is None else product.get(name))
            if "slice" in part:
                items = _as_list(value, d, name)
                n = len(items)
                a, b = _bound(part["slice"][0], n, 0), _bound(part["slice"][1], n, n)
                t = d["list_joiner"].join(items[a:b]) if b > a else ""
            else:
                t = _text(value, d, name)
            if t:
                filled = True
            pieces.append(t)
        out = _strip("".join(pieces), w)
        if filled and out:
            kept.append(out)
    ctx[params["target_field"]] = _collapse(d["segment_separator"].join(kept), w)


class IngestPipelines:
    """Pipelines by id and the embedders their embedding processors call."""

    def __init__(self) -> None:
        self.bodies: dict[str, dict[str, Any]] = {}
        self.embedders: dict[str, Callable[[str], list[float]]] = {}

    def route(self, method: str, parts: list[str], body: Any) -> tuple[int, Any] | None:
        if parts[:2] != ["_ingest", "pipeline"] or len(parts) != 3:
            return None
        name = parts[2]
        if method == "PUT":
            self.bodies[name] = json.loads(body)
            return 200, {"acknowledged": True}
        if method == "GET":
            if name not in self.bodies:
                return 404, {}
            return 200, {name: self.bodies[name]}
        return None

    def run(self, name: str, doc_id: str, source: dict[str, Any]) -> dict[str, Any]:
        """The source after pipeline ``name``; IngestFailure for a missing pipeline or a failing processor."""
        if name not in self.bodies:
            raise IngestFailure(f"pipeline with id [{name}] does not exist")
        ctx = json.loads(json.dumps(source))  # values as the cluster's JSON parser gives them
        ctx["_id"] = doc_id
        for processor in self.bodies[name]["processors"]:
            (kind, conf), = processor.items()
            if kind == "script":
                if conf.get("source") != EMBEDDING_TEXT_SCRIPT:
                    raise IngestFailure("the fake runs only mrs's embedding-text script")
                run_embedding_text_script(ctx, conf["params"])
            elif kind == "text_embedding":  # neural-search ≥ 2.19 skips a blank field (no vector)
                (src, dst), = conf["field_map"].items()
                if ctx.get(src) and ctx[src].strip():
                    ctx[dst] = self._embed(conf["model_id"], ctx[src])
            elif kind == "inference":
                for io in conf["input_output"]:
                    ctx[io["output_field"]] = self._embed(conf["model_id"], ctx[io["input_field"]])
            else:
                raise IngestFailure(f"processor {kind} not supported by the fake")
        ctx.pop("_id")
        return ctx

    def _embed(self, model_id: str, text: str) -> list[float]:
        if model_id not in self.embedders:
            raise IngestFailure(f"model [{model_id}] is not deployed")
        return [float(x) for x in self.embedders[model_id](text)]
