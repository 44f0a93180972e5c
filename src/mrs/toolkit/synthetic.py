"""Synthetic queries generated from product fields, for long-tail coverage (labeled top level for their product).

A ``QueryGenerator`` turns one product into candidate query strings. ``TemplateQueryGenerator`` composes
them from fields (brand + product type, color/material + type, category leaf + attribute, salient title
n-grams); ``OpenAICompatibleQueryGenerator`` asks any OpenAI-compatible chat endpoint.
``generate_synthetic`` runs a generator over a catalog and returns deduplicated judgments.
"""

from __future__ import annotations

import json
import math
import random
import re
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Protocol, runtime_checkable

from mrs.data.catalog import Product
from mrs.data.judgments import Judgment
from mrs.data.text import as_list, field_text
from mrs.errors import InputError
from mrs.toolkit.llm_keys import llm_api_key

_WORD = re.compile(r"[a-z0-9][a-z0-9'\-]*")
STOPWORDS = frozenset(
    "a an and are as at be by for from in into is it of on or the to with without your you our this that "
    "new pack set pcs pc piece pieces size inch inches ft oz lb count ct x".split()
)
# Title segments end at these markers: "Foam Mattress - CertiPUR-US Certified, Queen" → "Foam Mattress".
_SEGMENT_END = re.compile(r"\s[-–—|]\s|,|\(|\[|\bwith\b|\bfor\b", re.IGNORECASE)


def normalize_query(text: str) -> str:
    """Lowercase, tokens joined by one space: the key used to deduplicate queries."""
    return " ".join(_WORD.findall(text.lower()))


@runtime_checkable
class QueryGenerator(Protocol):
    """Turns a product into candidate queries. ``generate(product, n, rng)`` returns up to n strings, best
    first; it may return fewer (or none) when the product's fields are too thin."""

    def generate(self, product: Product, n: int, rng: random.Random) -> list[str]: ...


class TemplateQueryGenerator:
    """Queries composed from product fields, the way shoppers type them: short, lowercase, no punctuation.

    Patterns (each yields a query only when its fields are present):
      brand + type ("ashley foam mattress"), color + type ("black foam mattress"), material + type,
      category leaf + attribute (the title's most salient word not in the leaf: "mattresses memory"),
      and the title's most salient 2- and 3-grams (highest mean IDF over the catalog's titles, see ``fit``).
    The product type is the last two content words of the title's head segment (the text before " - ",
    ",", "(", "with", "for", ...), else the category leaf. Candidates with the same set of words
    ("white mattresses" / "mattresses white") count once.

    title_field, brand_field, color_field, material_field, category_field: field names in the catalog.
    """

    def __init__(
        self,
        *,
        title_field: str = "title",
        brand_field: str = "brand",
        color_field: str = "color",
        material_field: str = "material",
        category_field: str = "category",
        max_words: int = 5,
    ) -> None:
        self.title_field = title_field
        self.brand_field = brand_field
        self.color_field = color_field
        self.material_field = material_field
        self.category_field = category_field
        self.max_words = max_words
        self.idf: dict[str, float] = {}

    def fit(self, products: Iterable[Product]) -> TemplateQueryGenerator:
        """Learn word IDF over the titles (for salient n-grams). Returns self."""
        df: Counter[str] = Counter()
        n = 0
        for p in products:
            n += 1
            df.update(set(_words(field_text(p.get(self.title_field)))))
        self.idf = {w: math.log(1 + (n - c + 0.5) / (c + 0.5)) for w, c in df.items()}
        return self

    def product_type(self, product: Product) -> str:
        """The last two content words of the title's head segment, else the category leaf ("" if none)."""
        title = field_text(product.get(self.title_field))
        head = _SEGMENT_END.split(title, maxsplit=1)[0]
        words = [w for w in _words(head) if w not in STOPWORDS and not w.isdigit()]
        if words:
            return " ".join(words[-2:])
        leaf = as_list(product.get(self.category_field))
        return " ".join(_words(leaf[-1])[: self.max_words]) if leaf else ""

    def generate(self, product: Product, n: int, rng: random.Random) -> list[str]:
        ptype = self.product_type(product)
        brand = " ".join(_words(field_text(product.get(self.brand_field)))[:3])
        color = " ".join(_words(field_text(product.get(self.color_field)))[:2])
        material = " ".join(_words(field_text(product.get(self.material_field)))[:2])
        leaf = " ".join(_words((as_list(product.get(self.category_field)) or [""])[-1])[:3])
        candidates: list[str] = []
        if ptype:
            for attr in (brand, color, material):
                if attr and attr not in ptype:
                    candidates.append(f"{attr} {ptype}")
        title = field_text(product.get(self.title_field))
        if leaf:
            leaf_words = set(leaf.split())
            salient = [w for w in self.salient_words(title) if w not in leaf_words]
            if salient:
                candidates.append(f"{leaf} {salient[0]}")
        candidates.extend(self.salient_ngrams(title, k=3))
        if ptype:
            candidates.append(ptype)
        seen: set[frozenset[str]] = set()
        out: list[str] = []
        for c in candidates:
            key = normalize_query(c)
            bag = frozenset(key.split())
            if key and bag not in seen and len(key.split()) <= self.max_words:
                seen.add(bag)
                out.append(key)
        # Keep the field patterns first but vary which ones a product gets when n is small.
        head, tail = out[: max(n, 0) * 2], out[max(n, 0) * 2 :]
        rng.shuffle(head)
        return (head + tail)[:n]

    def salient_words(self, title: str) -> list[str]:
        """Title content words (no stopwords, no numbers), highest IDF first."""
        words = {w for w in _words(title) if w not in STOPWORDS and not w.isdigit() and len(w) > 2}
        return sorted(words, key=lambda w: (-self.idf.get(w, 0.0), w))

    def salient_ngrams(self, title: str, k: int = 3) -> list[str]:
        """The k title 2-/3-grams (no stopword at either end, no bare numbers) with the highest mean IDF."""
        words = _words(_SEGMENT_END.split(title, maxsplit=1)[0]) or _words(title)
        default_idf = max(self.idf.values(), default=1.0)
        scored: list[tuple[float, int, str]] = []
        for size in (2, 3):
            for i in range(len(words) - size + 1):
                gram = words[i : i + size]
                if gram[0] in STOPWORDS or gram[-1] in STOPWORDS or all(w.isdigit() for w in gram):
                    continue
                score = sum(self.idf.get(w, default_idf) for w in gram) / size
                scored.append((-score, i, " ".join(gram)))
        scored.sort()
        return [g for _, _, g in scored[:k]]


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


# Transport(url, body, headers, timeout) -> (HTTP status, response body). Tests pass a fake one.
Transport = Callable[[str, bytes, dict[str, str], float], tuple[int, bytes]]


def urllib_transport(url: str, body: bytes, headers: dict[str, str], timeout: float) -> tuple[int, bytes]:
    """POST with the standard library; HTTP errors come back as (status, body), not exceptions."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (user-given URL)
            return response.status, response.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


DEFAULT_PROMPT = (
    "You write search queries that online shoppers would type to find this product. "
    "Write {n} different short queries (2-5 words, lowercase, no quotes, no numbering), one per line.\n\n"
    "Product: {text}"
)


class OpenAICompatibleQueryGenerator:
    """Queries from any OpenAI-compatible ``/v1/chat/completions`` endpoint (OpenAI, vLLM, llama.cpp, Ollama).

    url: the server base URL ("http://localhost:8000" or ".../v1"); model: the model name the server
    expects; api_key_env: the environment variable holding the API key (None: MRS_LLM_API_KEY, see
    mrs.toolkit.llm_keys; never passed on the command line; no key → no Authorization header, fine for local
    servers); render: product → text for the prompt
    (default: title, brand, color, category); prompt: format string with {n} and {text};
    transport: injectable HTTP function (tests use a fake). Each answer line becomes one query.
    """

    def __init__(
        self,
        url: str,
        model: str,
        *,
        api_key_env: str | None = None,
        render: Callable[[Product], str] | None = None,
        prompt: str = DEFAULT_PROMPT,
        temperature: float = 0.7,
        timeout: float = 60.0,
        transport: Transport | None = None,
    ) -> None:
        base = url.rstrip("/")
        self.endpoint = base + ("/chat/completions" if base.endswith("/v1") else "/v1/chat/completions")
        self.model = model
        self.api_key_env = api_key_env
        self.render = render or _default_render
        self.prompt = prompt
        self.temperature = temperature
        self.timeout = timeout
        self.transport = transport or urllib_transport

    def request_body(self, product: Product, n: int) -> dict:
        """The chat-completions request for one product (a pure function of its inputs)."""
        return {
            "model": self.model,
            "messages": [{"role": "user", "content": self.prompt.format(n=n, text=self.render(product))}],
            "temperature": self.temperature,
        }

    def generate(self, product: Product, n: int, rng: random.Random) -> list[str]:
        headers = {"Content-Type": "application/json"}
        key = llm_api_key(self.api_key_env)
        if key:
            headers["Authorization"] = f"Bearer {key}"
        body = json.dumps(self.request_body(product, n)).encode("utf-8")
        try:
            status, raw = self.transport(self.endpoint, body, headers, self.timeout)
        except OSError as e:
            raise InputError(f"cannot reach the query-generation endpoint: {e}", path=self.endpoint) from None
        if status != 200:
            raise InputError(f"query-generation endpoint answered HTTP {status}", path=self.endpoint)
        try:
            content = json.loads(raw)["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError):
            raise InputError("query-generation endpoint returned no choices[0].message.content",
                             path=self.endpoint) from None
        return parse_query_lines(content)[:n]


def parse_query_lines(content: str) -> list[str]:
    """Model answer → queries: one per line, list markers/numbering/quotes stripped, empty lines dropped."""
    out = []
    for line in content.splitlines():
        text = re.sub(r"^\s*(?:[-*•]|\d+[.)])\s*", "", line).strip().strip("\"'").strip()
        if text:
            out.append(text)
    return out


def _default_render(product: Product) -> str:
    parts = [field_text(product.get("title"))]
    for name in ("brand", "color"):
        value = field_text(product.get(name))
        if value:
            parts.append(f"{name}: {value}")
    category = as_list(product.get("category"))
    if category:
        parts.append("category: " + " > ".join(category[-2:]))
    return "; ".join(p for p in parts if p)


def generate_synthetic(
    products: Iterable[Product],
    generator: QueryGenerator,
    per_product: int,
    *,
    top_grade: int,
    real_queries: Sequence[str] = (),
    seed: int = 0,
) -> list[Judgment]:
    """Synthetic judgments: up to per_product queries per product, each labeled ``top_grade`` for its product.

    Deduplicated (normalize_query) against ``real_queries`` (pass ALL real queries, dev included, so no
    evaluation query is trained on) and across the whole synthetic set (a query generated for two products
    is kept for the first only, so every synthetic query is tied to exactly one product).
    query_id: "syn:<product id>:<k>"; source: "synthetic".
    """
    if per_product <= 0:
        return []
    rng = random.Random(seed)
    taken = {normalize_query(q) for q in real_queries}
    out: list[Judgment] = []
    for product in products:
        k = 0
        # Ask for spares: some candidates fall to deduplication.
        for query in generator.generate(product, per_product * 2, rng):
            if k >= per_product:
                break
            key = normalize_query(query)
            if not key or key in taken:
                continue
            taken.add(key)
            out.append(Judgment(query_id=f"syn:{product.id}:{k}", query=query, product_id=product.id,
                                grade=top_grade, source="synthetic"))
            k += 1
    return out
