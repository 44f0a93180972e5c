"""One API-key variable for every OpenAI-compatible endpoint (issue 16 item 9): MRS_LLM_API_KEY, with
OPENAI_API_KEY still read (and a notice) when it is unset."""

from __future__ import annotations

import warnings

import pytest

from mrs.toolkit.llm_keys import LegacyKeyNotice, llm_api_key
from mrs.toolkit.synthetic import OpenAICompatibleQueryGenerator


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    monkeypatch.delenv("MRS_LLM_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)


def test_the_documented_variable_wins_silently(monkeypatch):
    monkeypatch.setenv("MRS_LLM_API_KEY", "sk-mrs")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-old")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert llm_api_key() == "sk-mrs"


def test_the_old_variable_is_read_with_a_notice(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-old")
    with pytest.warns(LegacyKeyNotice, match=r"\$MRS_LLM_API_KEY"):
        assert llm_api_key() == "sk-old"


def test_an_explicit_variable_is_the_only_one_read(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-old")
    assert llm_api_key("MY_KEY") == ""
    monkeypatch.setenv("MY_KEY", "sk-mine")
    assert llm_api_key("MY_KEY") == "sk-mine"


def test_stage1_generator_reads_the_judges_variable(monkeypatch):
    monkeypatch.setenv("MRS_LLM_API_KEY", "sk-mrs")
    seen = {}

    def transport(url, body, headers, timeout):
        seen.update(headers)
        return 200, b'{"choices": [{"message": {"content": "a query"}}]}'

    from mrs.data.catalog import Product

    gen = OpenAICompatibleQueryGenerator("http://llm.local", "m", transport=transport)
    import random

    gen.generate(Product(id="p1", fields={"title": "Sofa"}), 1, random.Random(0))
    assert seen["Authorization"] == "Bearer sk-mrs"
