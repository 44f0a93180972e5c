"""Synthetic queries: non-empty, deduplicated, tied to their product; the LLM generator over a fake transport."""

from __future__ import annotations

import json
import random

import pytest

from mrs.data.catalog import Product
from mrs.errors import InputError
from mrs.toolkit.synthetic import (
    OpenAICompatibleQueryGenerator,
    QueryGenerator,
    TemplateQueryGenerator,
    generate_synthetic,
    normalize_query,
    parse_query_lines,
)

PRODUCTS = [
    Product("p1", {"title": "Memory Foam Mattress - Queen, Medium Firm", "brand": "Ashley", "color": "White",
                   "category": ["Home", "Furniture", "Mattresses"]}),
    Product("p2", {"title": "Cotton Crew Neck T-Shirt (3 Pack)", "brand": "Hanes", "color": "Red",
                   "material": "Cotton", "category": "Clothing > Men > Shirts"}),
    Product("p3", {"title": "USB-C Charging Cable with Braided Nylon", "brand": "Anker", "color": "Black"}),
    Product("p4", {"title": "Memory Foam Mattress - Twin", "brand": "Ashley", "color": "White",
                   "category": ["Home", "Furniture", "Mattresses"]}),
]


def test_template_queries_come_from_the_product_fields():
    gen = TemplateQueryGenerator().fit(PRODUCTS)
    assert gen.product_type(PRODUCTS[0]) == "foam mattress"  # head segment before " - "
    queries = gen.generate(PRODUCTS[0], 10, random.Random(0))
    assert "ashley foam mattress" in queries  # brand + type
    assert "white foam mattress" in queries  # color + type
    assert any(q.startswith("mattresses ") for q in queries)  # category leaf + attribute
    assert all(q == q.lower() and 1 <= len(q.split()) <= 5 for q in queries)
    shirt = gen.generate(PRODUCTS[1], 10, random.Random(0))
    assert "hanes neck t-shirt" in shirt and "cotton neck t-shirt" in shirt  # brand + type, material + type
    assert "shirts cotton" in shirt  # leaf of a "A > B > C" category string + attribute
    assert len(gen.generate(PRODUCTS[2], 2, random.Random(0))) == 2


def test_synthetic_judgments_are_deduplicated_and_tied_to_their_product():
    gen = TemplateQueryGenerator().fit(PRODUCTS)
    real = ["ashley foam mattress"]
    out = generate_synthetic(PRODUCTS, gen, 3, top_grade=3, real_queries=real, seed=0)
    assert out, "no synthetic queries"
    keys = [normalize_query(j.query) for j in out]
    assert len(keys) == len(set(keys))  # no query twice, even across products p1/p4 with equal fields
    assert "ashley foam mattress" not in keys  # never a real (possibly dev) query
    by_id = {p.id: p for p in PRODUCTS}
    for j in out:
        assert j.grade == 3 and j.source == "synthetic" and j.product_id in by_id
        assert j.query_id.startswith(f"syn:{j.product_id}:")
    per_product = {}
    for j in out:
        per_product[j.product_id] = per_product.get(j.product_id, 0) + 1
    assert max(per_product.values()) <= 3
    assert generate_synthetic(PRODUCTS, gen, 0, top_grade=3) == []


def test_generator_interface_is_pluggable():
    class Fixed:
        def generate(self, product, n, rng):
            return [f"query for {product.id}", "shared query"][:n]

    assert isinstance(Fixed(), QueryGenerator)
    out = generate_synthetic(PRODUCTS[:2], Fixed(), 2, top_grade=2)
    assert [(j.product_id, j.query) for j in out] == [
        ("p1", "query for p1"), ("p1", "shared query"), ("p2", "query for p2")]


def test_openai_compatible_generator_with_fake_transport(monkeypatch):
    calls = []

    def fake(url, body, headers, timeout):
        calls.append((url, json.loads(body), headers))
        answer = "1. memory foam mattress\n- queen mattress firm\n\n\"ashley mattress\"\n"
        return 200, json.dumps({"choices": [{"message": {"role": "assistant", "content": answer}}]}).encode()

    monkeypatch.setenv("MRS_TEST_KEY", "sk-test")
    gen = OpenAICompatibleQueryGenerator("http://llm.local:8000/v1/", "qwen", api_key_env="MRS_TEST_KEY",
                                         transport=fake)
    queries = gen.generate(PRODUCTS[0], 3, random.Random(0))
    assert queries == ["memory foam mattress", "queen mattress firm", "ashley mattress"]
    url, body, headers = calls[0]
    assert url == "http://llm.local:8000/v1/chat/completions"
    assert body["model"] == "qwen" and "Memory Foam Mattress" in body["messages"][0]["content"]
    assert headers["Authorization"] == "Bearer sk-test"
    out = generate_synthetic([PRODUCTS[0]], gen, 2, top_grade=3)
    assert [j.query for j in out] == ["memory foam mattress", "queen mattress firm"]


def test_openai_compatible_generator_errors_are_input_errors(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    seen = {}

    def unauthorized(url, body, headers, timeout):
        seen.update(headers)
        return 401, b'{"error": "no key"}'

    gen = OpenAICompatibleQueryGenerator("http://llm.local", "m", transport=unauthorized)
    with pytest.raises(InputError, match="HTTP 401"):
        gen.generate(PRODUCTS[0], 2, random.Random(0))
    assert "Authorization" not in seen  # no key in the environment → no header
    assert gen.endpoint == "http://llm.local/v1/chat/completions"
    broken = OpenAICompatibleQueryGenerator("http://llm.local", "m", transport=lambda *a: (200, b"{}"))
    with pytest.raises(InputError, match="choices"):
        broken.generate(PRODUCTS[0], 2, random.Random(0))


def test_parse_query_lines_strips_markers():
    assert parse_query_lines("1) a b\n2. c d\n* e\n  \n'f g'") == ["a b", "c d", "e", "f g"]
