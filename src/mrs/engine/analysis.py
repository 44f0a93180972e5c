"""Text analysis mirroring OpenSearch's ``standard`` and ``english`` analyzers.

- ``standard`` (OpenSearch's default analyzer: StandardTokenizer + LowerCaseFilter, max_token_length 255,
  https://opensearch.org/docs/latest/analyzers/supported-analyzers/standard/): Lucene's StandardTokenizer
  implements Unicode word segmentation (UAX #29). We approximate it with one regex: a token is a run of word
  characters (letters, digits, marks, underscore — UAX #29's ExtendNumLet keeps ``foo_bar`` whole), where a
  letter–letter pair may be joined by ``'``, ``’``, ``.`` or ``:`` (MidLetter/MidNumLet: ``don't``, ``u.s.a``)
  and a digit–digit pair by ``.``, ``,``, ``;``, ``'`` or ``’`` (MidNum/MidNumLet: ``3.5``, ``1,000``).
  Han ideographs and Hiragana become one token per character, as UAX #29 leaves them unjoined.
  Tokens longer than 255 characters are split every 255 characters, as StandardTokenizer does.
  Known differences: emoji and symbol-only tokens are dropped (Lucene keeps emoji), Katakana/Thai/Lao
  segmentation is not dictionary-based, and lowercasing uses Python's ``str.lower`` (Lucene lowercases per code
  point; the two differ only for a few characters such as ``İ``).
- ``english`` (https://opensearch.org/docs/latest/analyzers/language-analyzers/english/; Lucene's
  EnglishAnalyzer): the standard tokenizer, then English possessive removal (a trailing ``'s``/``’s``),
  lowercase, Lucene's English stop set (33 words, below), then the Porter stemmer. The stemmer here is a port
  of Martin Porter's reference algorithm, the one Lucene's PorterStemFilter uses (with the reference's
  ``bli → ble`` and ``logi → log`` rules). Differences from OpenSearch's ``english`` analyzer: no
  ``stem_exclusion`` keyword list, and the tokenizer approximation above.

Analyzers are pure: ``Analyzer("standard").tokens("Men's Shoes") == ["men's", "shoes"]``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from mrs.errors import InputError

MAX_TOKEN_LENGTH = 255

# Lucene EnglishAnalyzer.ENGLISH_STOP_WORDS_SET
ENGLISH_STOP_WORDS = frozenset(
    "a an and are as at be but by for if in into is it no not of on or such that the their then there these "
    "they this to was will with".split()
)

_IDEOGRAPHIC = "\u3040-\u309f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_WORD = rf"[^\W{_IDEOGRAPHIC}]"
_LETTER = rf"[^\W\d_{_IDEOGRAPHIC}]"
_TOKEN_RE = re.compile(
    rf"[{_IDEOGRAPHIC}]"
    rf"|{_WORD}+(?:(?:(?<={_LETTER})['’.:](?={_LETTER})|(?<=\d)[.,;'’](?=\d)){_WORD}+)*"
)
_POSSESSIVE_RE = re.compile(r"['’][sS]$")
# Fast pass: word runs with any joiner; only the rare candidates that contain a joiner or an ideograph (or are
# too long) are re-split with the exact _TOKEN_RE, which gives the same tokens as running it on the whole text.
_CANDIDATE_RE = re.compile(r"\w+(?:['’.:,;]\w+)*")
_NEEDS_EXACT_RE = re.compile(rf"['’.:,;{_IDEOGRAPHIC}]")


def standard_tokens(text: str, max_token_length: int = MAX_TOKEN_LENGTH, lowercase: bool = True) -> list[str]:
    """Tokens of ``text`` as OpenSearch's standard tokenizer (+ lowercase filter) produces them (see module doc)."""
    if lowercase:
        text = text.lower()
    out: list[str] = []
    needs_exact = _NEEDS_EXACT_RE.search
    for cand in _CANDIDATE_RE.findall(text):
        if len(cand) <= max_token_length and not needs_exact(cand):
            out.append(cand)
            continue
        for tok in _TOKEN_RE.findall(cand):
            if len(tok) <= max_token_length:
                out.append(tok)
            else:
                out.extend(tok[i : i + max_token_length] for i in range(0, len(tok), max_token_length))
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
        # english: possessive filter runs on the tokenizer output, before lowercasing (case-insensitive 's).
        toks = standard_tokens(text, self.max_token_length, lowercase=False)
        out = []
        for tok in toks:
            tok = _POSSESSIVE_RE.sub("", tok).lower()
            if not tok or tok in ENGLISH_STOP_WORDS:
                continue
            out.append(porter_stem(tok))
        return out

    def to_dict(self) -> dict:
        return {"name": self.name, "max_token_length": self.max_token_length}


ANALYZERS = ("standard", "english")

# Default analysis of BM25 fields: OpenSearch's built-in `english` analyzer (Porter stemming + stop words).
# Measured on the ESCI subset (docs/eval.md): lexical nDCG@10 0.682 → 0.714 and recall@100 0.795 → 0.846 over
# `standard`, almost all from stemming (towels → towel).
DEFAULT_ANALYZER = "english"


# ---------------------------------------------------------------------------------------------------------
# Porter stemmer (M. F. Porter, "An algorithm for suffix stripping", 1980; reference implementation rules)
# ---------------------------------------------------------------------------------------------------------


class _Porter:
    __slots__ = ("b", "k", "j")

    def __init__(self, word: str):
        self.b = list(word)
        self.k = len(word) - 1
        self.j = 0

    def cons(self, i: int) -> bool:
        ch = self.b[i]
        if ch in "aeiou":
            return False
        if ch == "y":
            return True if i == 0 else not self.cons(i - 1)
        return True

    def m(self) -> int:
        """Number of VC sequences in b[0..j]."""
        n = 0
        i = 0
        j = self.j
        while True:
            if i > j:
                return n
            if not self.cons(i):
                break
            i += 1
        i += 1
        while True:
            while True:
                if i > j:
                    return n
                if self.cons(i):
                    break
                i += 1
            i += 1
            n += 1
            while True:
                if i > j:
                    return n
                if not self.cons(i):
                    break
                i += 1
            i += 1

    def vowel_in_stem(self) -> bool:
        return any(not self.cons(i) for i in range(self.j + 1))

    def doublec(self, j: int) -> bool:
        return j >= 1 and self.b[j] == self.b[j - 1] and self.cons(j)

    def cvc(self, i: int) -> bool:
        if i < 2 or not self.cons(i) or self.cons(i - 1) or not self.cons(i - 2):
            return False
        return self.b[i] not in "wxy"

    def ends(self, s: str) -> bool:
        n = len(s)
        if n > self.k + 1:
            return False
        if "".join(self.b[self.k - n + 1 : self.k + 1]) != s:
            return False
        self.j = self.k - n
        return True

    def setto(self, s: str) -> None:
        self.b[self.j + 1 :] = list(s)
        self.k = self.j + len(s)

    def r(self, s: str) -> None:
        if self.m() > 0:
            self.setto(s)

    def step1ab(self) -> None:
        b = self.b
        if b[self.k] == "s":
            if self.ends("sses"):
                self.k -= 2
            elif self.ends("ies"):
                self.setto("i")
            elif b[self.k - 1] != "s":
                self.k -= 1
            del b[self.k + 1 :]
        if self.ends("eed"):
            if self.m() > 0:
                self.k -= 1
        elif (self.ends("ed") or self.ends("ing")) and self.vowel_in_stem():
            self.k = self.j
            if self.ends("at"):
                self.setto("ate")
            elif self.ends("bl"):
                self.setto("ble")
            elif self.ends("iz"):
                self.setto("ize")
            elif self.doublec(self.k):
                self.k -= 1
                if self.b[self.k] in "lsz":
                    self.k += 1
            else:
                self.j = self.k
                if self.m() == 1 and self.cvc(self.k):
                    self.setto("e")
        del self.b[self.k + 1 :]

    def step1c(self) -> None:
        if self.ends("y") and self.vowel_in_stem():
            self.b[self.k] = "i"

    _STEP2 = {
        "a": (("ational", "ate"), ("tional", "tion")),
        "c": (("enci", "ence"), ("anci", "ance")),
        "e": (("izer", "ize"),),
        "l": (("bli", "ble"), ("alli", "al"), ("entli", "ent"), ("eli", "e"), ("ousli", "ous")),
        "o": (("ization", "ize"), ("ation", "ate"), ("ator", "ate")),
        "s": (("alism", "al"), ("iveness", "ive"), ("fulness", "ful"), ("ousness", "ous")),
        "t": (("aliti", "al"), ("iviti", "ive"), ("biliti", "ble")),
        "g": (("logi", "log"),),
    }
    _STEP3 = {
        "e": (("icate", "ic"), ("ative", ""), ("alize", "al")),
        "i": (("iciti", "ic"),),
        "l": (("ical", "ic"), ("ful", "")),
        "s": (("ness", ""),),
    }
    _STEP4 = {
        "a": ("al",),
        "c": ("ance", "ence"),
        "e": ("er",),
        "i": ("ic",),
        "l": ("able", "ible"),
        "n": ("ant", "ement", "ment", "ent"),
        "o": ("ion", "ou"),
        "s": ("ism",),
        "t": ("ate", "iti"),
        "u": ("ous",),
        "v": ("ive",),
        "z": ("ize",),
    }

    def _replace_first(self, rules) -> None:
        for suffix, repl in rules:
            if self.ends(suffix):
                self.r(repl)
                return

    def step2(self) -> None:
        if self.k >= 1:
            self._replace_first(self._STEP2.get(self.b[self.k - 1], ()))
            del self.b[self.k + 1 :]

    def step3(self) -> None:
        self._replace_first(self._STEP3.get(self.b[self.k], ()))
        del self.b[self.k + 1 :]

    def step4(self) -> None:
        if self.k < 1:
            return
        for suffix in self._STEP4.get(self.b[self.k - 1], ()):
            if self.ends(suffix):
                if suffix == "ion" and not (self.j >= 0 and self.b[self.j] in "st"):
                    continue
                break
        else:
            return
        if self.m() > 1:
            self.k = self.j
            del self.b[self.k + 1 :]

    def step5(self) -> None:
        self.j = self.k
        if self.b[self.k] == "e":
            a = self.m()
            if a > 1 or (a == 1 and not self.cvc(self.k - 1)):
                self.k -= 1
        if self.b[self.k] == "l" and self.doublec(self.k):
            self.j = self.k
            if self.m() > 1:
                self.k -= 1
        del self.b[self.k + 1 :]

    def stem(self) -> str:
        if self.k <= 1:  # words of one or two letters are left alone
            return "".join(self.b)
        self.step1ab()
        if self.k > 0:
            self.step1c()
            self.step2()
            self.step3()
            self.step4()
            self.step5()
        return "".join(self.b[: self.k + 1])


@lru_cache(maxsize=200_000)
def porter_stem(word: str) -> str:
    """Porter-stem one lowercase token (``"running" → "run"``, ``"generalizations" → "gener"``)."""
    return _Porter(word).stem()
