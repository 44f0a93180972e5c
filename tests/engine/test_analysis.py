"""Analyzers mirroring OpenSearch's standard and english analyzers."""

from __future__ import annotations

import pytest

from mrs.engine.analysis import ENGLISH_STOP_WORDS, Analyzer, porter_stem
from mrs.errors import InputError


def test_standard_lowercases_and_splits_like_uax29():
    a = Analyzer("standard")
    assert a.tokens("Men's Running-Shoes, size 10.5") == ["men's", "running", "shoes", "size", "10.5"]
    # letters joined by '.', digits by ',' (MidLetter / MidNum); underscore and letter+digit runs stay whole
    assert a.tokens("U.S.A. 1,000 foo_bar 4K") == ["u.s.a", "1,000", "foo_bar", "4k"]
    # a comma between letters splits; a trailing apostrophe is not part of the token
    assert a.tokens("red,blue dogs'") == ["red", "blue", "dogs"]
    # unicode letters are word characters; Han ideographs are one token each
    assert a.tokens("Café Ñandú 東京abc") == ["café", "ñandú", "東", "京", "abc"]
    assert a.tokens("") == [] and a.tokens(None) == [] and a.tokens("!!! --") == []


def test_standard_keeps_stop_words():
    assert Analyzer("standard").tokens("the shoe") == ["the", "shoe"]


def test_tokens_longer_than_max_are_split():
    a = Analyzer("standard")
    toks = a.tokens("x" * 600)
    assert [len(t) for t in toks] == [255, 255, 90]
    assert Analyzer("standard", max_token_length=3).tokens("abcdefg") == ["abc", "def", "g"]


def test_english_possessive_stopwords_and_porter():
    e = Analyzer("english")
    assert e.tokens("The Men's running shoes are in the box") == ["men", "run", "shoe", "box"]
    assert e.tokens("JOHN'S") == ["john"]
    assert len(ENGLISH_STOP_WORDS) == 33 and "not" in ENGLISH_STOP_WORDS


@pytest.mark.parametrize(
    "word,stem",
    # examples from Porter (1980) and the reference implementation (bli → ble, logi → log)
    [
        ("caresses", "caress"), ("ponies", "poni"), ("ties", "ti"), ("cats", "cat"),
        ("feed", "feed"), ("agreed", "agre"), ("plastered", "plaster"), ("bled", "bled"),
        ("motoring", "motor"), ("sing", "sing"), ("conflated", "conflat"), ("troubled", "troubl"),
        ("sized", "size"), ("hopping", "hop"), ("falling", "fall"), ("hissing", "hiss"),
        ("filing", "file"), ("happy", "happi"), ("sky", "sky"), ("relational", "relat"),
        ("conditional", "condit"), ("digitizer", "digit"), ("conformabli", "conform"),
        ("vietnamization", "vietnam"), ("callousness", "callous"), ("sensibiliti", "sensibl"),
        ("triplicate", "triplic"), ("formative", "form"), ("electrical", "electr"),
        ("goodness", "good"), ("allowance", "allow"), ("adjustment", "adjust"), ("adoption", "adopt"),
        ("homologous", "homolog"), ("effective", "effect"), ("probate", "probat"), ("rate", "rate"),
        ("controll", "control"), ("roll", "roll"), ("generalizations", "gener"), ("is", "is"),
    ],
)
def test_porter_stemmer(word, stem):
    assert porter_stem(word) == stem


def test_unknown_analyzer_rejected():
    with pytest.raises(InputError, match="unknown analyzer"):
        Analyzer("whitespace")
