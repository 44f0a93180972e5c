"""An LLM relevance judge over any OpenAI-compatible chat-completions endpoint.

The written level guideline is the system prompt; each (query, product) pair is one request asking for a
JSON object ``{"level": "<level name>", "confidence": <0..1>}`` (``response_format: json_object``,
temperature 0). Failed requests (network errors, HTTP 429/5xx) and unparseable answers are retried with
exponential back-off; after the last try the pair raises LLMJudgeError (nothing is labeled by guess).

The API key comes from the environment (MRS_LLM_API_KEY by default), never from argv, and is never logged.
The HTTP transport is pluggable so request/response handling is tested without a live endpoint.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from mrs.data.levels import ESCI, THREE_LEVEL, WANDS, LevelScheme
from mrs.toolkit.judge_protocol import JudgeLabel
from mrs.toolkit.llm_keys import API_KEY_ENV, llm_api_key  # noqa: F401  (API_KEY_ENV: public name)

# transport(url, headers, body, timeout_s) -> (HTTP status, parsed JSON body or None)
Transport = Callable[[str, dict, dict, float], tuple[int, dict | None]]

LEVEL_DEFINITIONS: dict[str, dict[str, str]] = {
    ESCI.name: {
        "exact": "the product is what the query asks for and satisfies every stated attribute (brand, size, "
                 "color, model, quantity).",
        "substitute": "the product is not exactly what was asked for but could be used instead (another brand, "
                      "a near variant, a missing non-essential attribute).",
        "complement": "the product does not answer the query but is used together with what was asked for "
                      "(a case for a phone, batteries for a toy).",
        "irrelevant": "the product is unrelated to the query or contradicts an essential attribute.",
    },
    WANDS.name: {
        "exact": "the product fully matches the query.",
        "partial": "the product matches the query in part (right kind of product, some attributes wrong).",
        "irrelevant": "the product is unrelated to the query.",
    },
    THREE_LEVEL.name: {
        "relevant": "the product is what the query asks for (an exact match of the intent and its attributes).",
        "moderately relevant": "a reasonable substitute for, or a complement of, what the query asks for.",
        "irrelevant": "the product is unrelated to the query.",
    },
}


class LLMJudgeError(RuntimeError):
    """The endpoint failed or answered unusably after every retry."""


def guideline_prompt(scheme: LevelScheme) -> str:
    """The written level guideline for a scheme, as a system prompt (levels from the top down)."""
    defs = LEVEL_DEFINITIONS.get(scheme.name, {})
    lines = [
        "You judge the relevance of an e-commerce product to a shopper's search query.",
        "Choose exactly one level:",
    ]
    for g in range(scheme.top, -1, -1):
        name = scheme.name_of(g)
        lines.append(f"- {name}: {defs.get(name, f'grade {g} of {scheme.top}.')}")
    lines += [
        "Judge the product against the query's intent, not against other products.",
        'Answer with one JSON object: {"level": "<one level name above>", "confidence": <number 0..1>}.',
    ]
    return "\n".join(lines)


def user_prompt(query: str, product_text: str) -> str:
    return f"Query: {query}\nProduct: {product_text}"


def parse_answer(content: str, scheme: LevelScheme) -> JudgeLabel:
    """The model's message content → JudgeLabel; ValueError when it is not a JSON object naming a level.

    Accepts {"level": name or grade, "confidence": p}; confidence defaults to 1.0 and is clipped to [0, 1]."""
    text = content.strip()
    if text.startswith("```"):  # some servers wrap JSON mode output in a code fence
        text = text.strip("`")
        text = text[text.find("{"):] if "{" in text else text
    obj = json.loads(text)
    if not isinstance(obj, dict) or "level" not in obj:
        raise ValueError(f"answer has no 'level': {content[:200]!r}")
    try:
        grade = scheme.grade_of(obj["level"])
    except KeyError:
        raise ValueError(f"unknown level {obj['level']!r} for scheme {scheme.name}") from None
    try:
        confidence = float(obj.get("confidence", 1.0))
    except (TypeError, ValueError):
        confidence = 1.0
    return JudgeLabel(grade, min(max(confidence, 0.0), 1.0))


def urllib_transport(url: str, headers: dict, body: dict, timeout_s: float) -> tuple[int, dict | None]:
    """POST JSON with the standard library; returns (status, parsed JSON or None)."""
    req = urllib.request.Request(url, data=json.dumps(body).encode("utf-8"), headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=timeout_s) as resp:  # noqa: S310 - user-given endpoint
            return resp.status, json.loads(resp.read().decode("utf-8"))
    except urllib.error.HTTPError as e:
        return e.code, None


@dataclass
class LLMJudge:
    """Judge pairs with a chat model behind an OpenAI-compatible ``/chat/completions`` endpoint.

    url: the API base (``http://localhost:8000/v1``) or the full ``.../chat/completions`` URL. model: the
    model name the server expects. api_key: taken from env ``API_KEY_ENV`` when None (may be empty for local
    servers). retries: extra tries per pair. backoff_s: first wait, doubled each retry.

    Example::

        judge = LLMJudge("http://localhost:8000/v1", "qwen2.5-7b-instruct", ESCI)
        judge.label([("red shirt", "Red cotton shirt. Brand: Acme")])   # [JudgeLabel(grade=3, confidence=0.9)]
    """

    url: str
    model: str
    scheme: LevelScheme = ESCI
    api_key: str | None = None
    retries: int = 3
    backoff_s: float = 1.0
    timeout_s: float = 60.0
    transport: Transport = urllib_transport
    sleep: Callable[[float], None] = time.sleep

    def __post_init__(self) -> None:
        if self.api_key is None:
            self.api_key = llm_api_key()
        self.endpoint = self.url.rstrip("/")
        if not self.endpoint.endswith("/chat/completions"):
            self.endpoint += "/chat/completions"
        self.system_prompt = guideline_prompt(self.scheme)

    def __repr__(self) -> str:  # never show the key
        return f"LLMJudge(url={self.url!r}, model={self.model!r}, scheme={self.scheme.name!r})"

    def request_body(self, query: str, product_text: str) -> dict:
        return {
            "model": self.model,
            "temperature": 0,
            "response_format": {"type": "json_object"},
            "messages": [
                {"role": "system", "content": self.system_prompt},
                {"role": "user", "content": user_prompt(query, product_text)},
            ],
        }

    def _headers(self) -> dict:
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        return headers

    def label_one(self, query: str, product_text: str) -> JudgeLabel:
        body = self.request_body(query, product_text)
        last = "no attempt"
        for attempt in range(self.retries + 1):
            if attempt:
                self.sleep(self.backoff_s * 2 ** (attempt - 1))
            try:
                status, data = self.transport(self.endpoint, self._headers(), body, self.timeout_s)
            except (OSError, TimeoutError) as e:
                last = f"request failed: {type(e).__name__}"
                continue
            if status != 200 or data is None:
                last = f"HTTP {status}"
                if status in (400, 401, 403, 404):
                    break  # the request itself is wrong: retrying will not help
                continue
            try:
                content = data["choices"][0]["message"]["content"]
                return parse_answer(content, self.scheme)
            except (KeyError, IndexError, TypeError, ValueError) as e:
                last = f"unusable answer: {e}"
        raise LLMJudgeError(f"LLM judge gave no label for query {query!r} after {attempt + 1} tries ({last})")

    def label(self, pairs: Sequence[tuple[str, str]]) -> list[JudgeLabel]:
        return [self.label_one(q, text) for q, text in pairs]
