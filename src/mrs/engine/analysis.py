"""The analyzers of BM25 fields: OpenSearch's built-in ``standard`` and ``english``, exactly as Lucene runs them.

- ``standard`` (OpenSearch's default analyzer of a text field; Lucene's StandardAnalyzer as OpenSearch
  configures it, https://opensearch.org/docs/latest/analyzers/supported-analyzers/standard/):
  StandardTokenizer (max_token_length 255) → LowerCaseFilter, no stop words.
- ``english`` (https://opensearch.org/docs/latest/analyzers/language-analyzers/english/; OpenSearch builds
  Lucene's EnglishAnalyzer with its default stop set and no stem exclusions): StandardTokenizer →
  EnglishPossessiveFilter (drops a trailing ``'s``, ``’s`` or ``＇s``, any case of ``s``) → LowerCaseFilter →
  StopFilter (Lucene's 33 English stop words, below) → PorterStemFilter.

The tokenizer and the lowercase filter are ``mrs.engine.standard_tokenizer`` (UAX #29 word boundaries with
Lucene 9.9.1's token rules and Unicode 9.0 tables), the stemmer ``mrs.engine.porter``. Real Lucene is the
oracle: tests/lucene/ compares token streams and BM25 scores with it.

Analyzers are pure: ``Analyzer("standard").tokens("Men's Shoes") == ["men's", "shoes"]``;
``Analyzer("english").tokens("Men's Shoes") == ["men", "shoe"]``.
"""

from __future__ import annotations

from dataclasses import dataclass

from mrs.engine.porter import porter_stem
from mrs.engine.standard_tokenizer import MAX_TOKEN_LENGTH, standard_tokens
from mrs.errors import InputError

__all__ = ["ANALYZERS", "DEFAULT_ANALYZER", "ENGLISH_STOP_WORDS", "MAX_TOKEN_LENGTH", "Analyzer", "porter_stem",
           "standard_tokens"]

# Lucene EnglishAnalyzer.ENGLISH_STOP_WORDS_SET
ENGLISH_STOP_WORDS = frozenset(
    "a an and are as at be but by for if in into is it no not of on or such that the their then there these "
    "they this to was will with".split()
)

# EnglishPossessiveFilter: the apostrophes it recognises before a final s / S
_POSSESSIVE_APOSTROPHES = "'\u2019\uff07"

ANALYZERS = ("standard", "english")

# Default analysis of the BM25 fields of an index (`mrs index`, build_index, the generated OpenSearch and
# Elasticsearch mappings, which name it explicitly): `english`. OpenSearch's own default for a text field
# mapped without an analyzer is `standard` (also ``Analyzer()``'s default here); docs/scoring.md says when to
# choose which, and docs/eval.md what english's stemming does to lexical quality on ESCI.
DEFAULT_ANALYZER = "english"


def english_tokens(text: str, max_token_length: int = MAX_TOKEN_LENGTH) -> list[str]:
    """Terms of OpenSearch's ``english`` analyzer (see the module docstring), in order."""
    out = []
    for tok in standard_tokens(text, max_token_length):
        # Possessive before lowercase in Lucene; it ignores the case of the s, so after lowercase is the same.
        if len(tok) >= 2 and tok[-1] == "s" and tok[-2] in _POSSESSIVE_APOSTROPHES:
            tok = tok[:-2]
        if tok in ENGLISH_STOP_WORDS:
            continue
        out.append(porter_stem(tok))
    return out


@dataclass(frozen=True)
class Analyzer:
    """One analysis chain. name: "standard" | "english". max_token_length: as OpenSearch's setting (255).

    ``tokens(text) -> list[str]``: the indexed terms, in order. The number of tokens is the field length
    Lucene stores in its norm (no position overlaps arise in these chains).
    """

    name: str = "standard"
    max_token_length: int = MAX_TOKEN_LENGTH

    def __post_init__(self) -> None:
        if self.name not in ANALYZERS:
            raise InputError(f"unknown analyzer {self.name!r} (expected one of {', '.join(ANALYZERS)})")
        if self.max_token_length < 1:
            raise InputError(f"max_token_length must be ≥ 1, got {self.max_token_length}")

    def tokens(self, text: str | None) -> list[str]:
        if not text:
            return []
        if self.name == "standard":
            return standard_tokens(text, self.max_token_length)
        return english_tokens(text, self.max_token_length)

    def to_dict(self) -> dict:
        return {"name": self.name, "max_token_length": self.max_token_length}
