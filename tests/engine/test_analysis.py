"""Analyzers as Lucene runs OpenSearch's standard and english analyzers (hand-derived from UAX #29 and Lucene's
grammar; tests/lucene checks the same against real Lucene)."""

from __future__ import annotations

import pytest

from mrs.engine.analysis import DEFAULT_ANALYZER, ENGLISH_STOP_WORDS, Analyzer, porter_stem
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


def test_joiners_follow_uax29_mid_classes():
    a = Analyzer("standard")
    # fullwidth colon is MidLetter, fullwidth semicolon MidNum, fraction slash MidNum, ‘ ’ MidNumLet
    assert a.tokens("Material：Leather 3；4 1⁄2 ‘quoted’ rock’n’roll") == [
        "material：leather", "3；4", "1⁄2", "quoted", "rock’n’roll"]
    # one joiner OR a run of "_" between two letters/digits, never both; "_" may lead and trail
    assert a.tokens("1_,2 a_.b a__b __ _x_") == ["1_", "2", "a_", "b", "a__b", "_x_"]
    # narrow no-break space is ExtendNumLet; a letter–digit pair needs no joiner; "." between them splits
    assert a.tokens("10\u202f000 v1.2b a.1") == ["10\u202f000", "v1.2b", "a", "1"]


def test_numbers_without_word_break_class_are_dropped():
    # ½ ² ① are No but not WB Numeric: no token
    assert Analyzer("standard").tokens("½ ¾ ² ① x²") == ["x"]


def test_extend_and_format_stay_in_their_word():
    a = Analyzer("standard")
    assert a.tokens("cafe\u0301 ab\u00adc zero\ufeffwidth") == ["cafe\u0301", "ab\u00adc", "zero\ufeffwidth"]
    assert a.tokens("\ufeffabc \u0301x") == ["abc", "x"]  # a leading one belongs to no token


def test_emoji_are_tokens():
    a = Analyzer("standard")
    assert a.tokens("Spalding® NBA SGT™") == ["spalding", "®", "nba", "sgt", "™"]
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    assert a.tokens(f"{family} 👍🏻x 🇺🇸🇬🇧 #\ufe0f\u20e3 😀😀") == [
        family, "👍🏻", "x", "🇺🇸", "🇬🇧", "#\ufe0f\u20e3", "😀", "😀"]


def test_asian_scripts():
    a = Analyzer("standard")
    # Han and Hiragana one per character, Katakana runs (joined to Latin only by "_"), Thai runs whole
    assert a.tokens("東京abc ひら カタカナabc カタ_abc ภาษาไทย") == [
        "東", "京", "abc", "ひ", "ら", "カタカナ", "abc", "カタ_abc", "ภาษาไทย"]


def test_unicode_version_is_lucenes():
    # U+1E2C0 (Wancho, Unicode 12.0) is a letter for Lucene 9.9.1; U+10E80 (Yezidi, 13.0) is not yet
    assert Analyzer("standard").tokens("a\U0001e2c0b a\U00010e80b") == ["a\U0001e2c0b", "a", "b"]


def test_lowercase_is_per_code_point():
    assert Analyzer("standard").tokens("ΣΑΣ İSTANBUL") == ["σασ", "istanbul"]  # no final ς, İ → i


def test_long_tokens_are_cut_in_utf16_units():
    a = Analyzer("standard")
    # the longest match within 255 code units: "a"×254 then "." cannot end a word
    assert [len(t) for t in a.tokens("a" * 254 + ".b")] == [254, 1]
    assert a.tokens("a" * 254 + "bc.d")[1:] == ["c.d"]
    # an astral letter is two UTF-16 units: 127 of them fit in 255
    assert [len(t) for t in a.tokens("\U0001d400" * 200)] == [127, 73]


def test_english_possessive_stopwords_and_porter():
    e = Analyzer("english")
    assert e.tokens("The Men's running shoes are in the box") == ["men", "run", "shoe", "box"]
    assert e.tokens("JOHN'S John＇s john’S") == ["john", "john", "john"]
    # Java strings are UTF-16: the stemmer sees an astral letter as two characters, so "𝐀s" is stemmed
    assert e.tokens("\U0001d400s") == ["\U0001d400"]
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


def test_default_analyzer_of_an_index_is_english():
    assert DEFAULT_ANALYZER == "english" and Analyzer().name == "standard"
