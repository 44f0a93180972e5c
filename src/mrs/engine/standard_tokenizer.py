"""Lucene 9.9.1's StandardTokenizer and LowerCaseFilter (what OpenSearch's ``standard`` tokenizer runs).

Reference: Unicode Standard Annex #29 "Unicode Text Segmentation", word boundaries
(https://unicode.org/reports/tr29/), and the token rules of Lucene's grammar
(lucene/core/src/java/org/apache/lucene/analysis/standard/StandardTokenizerImpl.jflex). Lucene 9.9.1's
compiled grammar holds the Unicode 12.1 properties and emoji data (``mrs.engine.word_break_tables``, generated
by tools/gen_word_break_tables.py): a character assigned after 12.1 is no word character here, as in Lucene,
whatever Python's own ``unicodedata`` version says.

At each position the longest match of these rules is a token (JFlex's longest match); a character that starts
none is skipped (spaces, punctuation, symbols, ``½``, ``²``, ``①``, a lone ``_``):

- word (``<ALPHANUM>``, ``<NUM>``, ``<HANGUL>``, ``<KATAKANA>``): letters (WB ALetter / Hebrew_Letter, incl.
  Hangul) and digits (WB Numeric, fullwidth digits), each with its trailing Extend / Format / ZWJ characters
  (rule WB4: ``cafe\u0301``, U+00AD and U+FEFF inside a word stay in it). Letters and digits follow each other
  freely (``4k``, ``a1``); a letter–letter pair may be joined by one MidLetter / MidNumLet / single quote
  (``'`` ``’`` ``.`` ``:`` ``·`` ``：`` …: ``don't``, ``u.s.a``, ``material：leather``) and a digit–digit pair
  by one MidNum / MidNumLet / single quote (``,`` ``.`` ``;`` ``'`` ``⁄`` ``；`` …: ``1,000.50``); ExtendNumLet
  (``_``, U+202F, ``‿``) joins anything and may lead or trail. Katakana runs are words of their own: they
  join Latin only through ExtendNumLet (``カタカナabc`` → ``カタカナ``, ``abc``).
- ``<SOUTHEAST_ASIAN>``: a run of Line_Break Complex_Context characters (Thai, Lao, Myanmar, Khmer), whole.
- ``<IDEOGRAPHIC>`` / ``<HIRAGANA>``: one Han or Hiragana character per token.
- ``<EMOJI>``: an emoji sequence (Unicode TR #51): an emoji character with an optional U+FE0F, or a modifier
  sequence, joined by ZWJ (``👨‍👩‍👧``) or followed by a tag sequence; a keycap (``#️⃣``); a flag (two regional
  indicators). Extended_Pictographic includes ``©``, ``®``, ``™``: ``Spalding®`` → ``spalding``, ``®``.

A token longer than ``max_token_length`` UTF-16 code units (Java chars; an astral character counts 2) is cut
as Lucene's scanner cuts it with its buffer of that size: the longest match within the first
max_token_length code units is a token and scanning resumes right after it.

``lowercase(token)`` is LowerCaseFilter: ``Character.toLowerCase`` per code point (simple case mapping: no
final sigma, ``İ`` → ``i``).
"""

from __future__ import annotations

import re

from mrs.engine import word_break_tables as tables

MAX_TOKEN_LENGTH = 255


def _ranges(table: str) -> list[tuple[int, int]]:
    out = []
    for item in table.split():
        lo, _, hi = item.partition("-")
        out.append((int(lo, 16), int(hi or lo, 16)))
    return out


def _without(ranges: list[tuple[int, int]], points: set[int]) -> list[tuple[int, int]]:
    out = []
    for lo, hi in ranges:
        start = lo
        for cp in range(lo, hi + 1):
            if cp in points:
                if start < cp:
                    out.append((start, cp - 1))
                start = cp + 1
        if start <= hi:
            out.append((start, hi))
    return out


def _cls(*range_lists: list[tuple[int, int]]) -> str:
    """A regular-expression character class holding the given code point ranges."""
    body = "".join(f"\\U{lo:08X}" if lo == hi else f"\\U{lo:08X}-\\U{hi:08X}"
                   for ranges in range_lists for lo, hi in ranges)
    return f"[{body}]"


_T = {name: _ranges(getattr(tables, name)) for name in (
    "AHLETTER", "HEBREW_LETTER", "NUMERIC", "KATAKANA", "MID_LETTER", "MID_NUM", "EXTEND_NUM_LET", "SINGLE_QUOTE",
    "DOUBLE_QUOTE", "EXTEND_FORMAT_ZWJ", "HAN", "HIRAGANA", "COMPLEX_CONTEXT", "REGIONAL_INDICATOR", "EMOJI_CHAR",
    "EMOJI_MODIFIER_BASE", "EMOJI_MODIFIER")}

_X = _cls(_T["EXTEND_FORMAT_ZWJ"]) + "*"  # WB4: a character absorbs the Extend / Format / ZWJ after it
_XS = _cls(_without(_T["EXTEND_FORMAT_ZWJ"], {0xFE0E, 0xFE0F})) + "*"  # the same, presentation selectors apart


def _ex(name: str) -> str:
    return f"(?:{_cls(_T[name])}{_X})"


_AL, _HL, _NU, _KA = _ex("AHLETTER"), _ex("HEBREW_LETTER"), _ex("NUMERIC"), _ex("KATAKANA")
_ML, _MN, _EN = _ex("MID_LETTER"), _ex("MID_NUM"), _ex("EXTEND_NUM_LET")
_SQ, _DQ = _ex("SINGLE_QUOTE"), _ex("DOUBLE_QUOTE")

# UAX #29 WB5–WB13b as Lucene's grammar groups them: letter and digit runs, then Katakana runs, joined by
# ExtendNumLet.
_LETTERS_DIGITS = (f"(?:{_HL}(?:{_SQ}|{_DQ}{_HL})|{_NU}(?:(?:{_EN}*|{_MN}){_NU})*"
                   f"|{_AL}(?:(?:{_EN}*|{_ML}){_AL})*)+")
_CORE = f"(?:{_KA}(?:{_EN}*{_KA})*|{_LETTERS_DIGITS})"
_WORD = f"{_EN}*{_CORE}(?:{_EN}+{_CORE})*{_EN}*"

# TR #51 emoji sequences, as Lucene's grammar writes them.
_ZWJ = "\u200d"
_EMOJI_UNIT = (f"(?:{_ZWJ}*{_cls(_T['EMOJI_CHAR'])}{_XS}\ufe0f?"
               f"|(?:{_ZWJ}*{_cls(_T['EMOJI_MODIFIER_BASE'])}{_XS})?{_cls(_T['EMOJI_MODIFIER'])}{_XS})")
# A unit's trailing Extend run may already hold the ZWJ that joins the next unit; the lookbehind lets the next
# unit follow it directly, which is the same sequence (a regex does not backtrack into a match that succeeded).
_EMOJI = (f"{_EMOJI_UNIT}(?:[\U000e0020-\U000e007e]+\U000e007f|(?:{_ZWJ}{_EMOJI_UNIT}|(?<={_ZWJ}){_EMOJI_UNIT})*)"
          f"|[0-9#*]{_XS}\ufe0f?\u20e3{_XS}"
          f"|{_ex('REGIONAL_INDICATOR')}{{2}}")

_TOKEN = re.compile(f"{_WORD}|{_EMOJI}|(?:{_ex('COMPLEX_CONTEXT')})+|{_ex('HAN')}|{_ex('HIRAGANA')}")
_EMOJI_RE = re.compile(_EMOJI)
# Characters that start both a word and an emoji sequence (ℹ, Ⓜ, 🅰…): there the longer of the two wins.
_OVERLAP_CHARS = "".join(
    chr(cp)
    for name in ("EMOJI_CHAR", "EMOJI_MODIFIER_BASE", "EMOJI_MODIFIER")
    for lo, hi in _T[name] for cp in range(lo, hi + 1)
    if re.fullmatch(_WORD, chr(cp))
)
_HAS_OVERLAP = re.compile(f"[{re.escape(_OVERLAP_CHARS)}]").search if _OVERLAP_CHARS else (lambda _text: None)

# Pure-ASCII text (most catalog fields): the same word rule over ASCII's only classes (letters, digits, "_",
# MidLetter ":", MidNum "," ";", MidNumLet ".", single quote "'"); no ASCII character starts anything else.
_ASCII_TOKEN = re.compile(r"_*(?:(?:[0-9](?:(?:_*|[,;.'])[0-9])*|[A-Za-z](?:(?:_*|[:.'])[A-Za-z])*)+)"
                          r"(?:_+(?:[0-9](?:(?:_*|[,;.'])[0-9])*|[A-Za-z](?:(?:_*|[:.'])[A-Za-z])*)+)*_*")

# Most non-ASCII catalog text holds only "simple" characters (accented letters, curly quotes, dashes, ™): each
# is mapped to an ASCII stand-in of its class (letter "a", digit "0", MidLetter ":", MidNum ",", MidNumLet ".",
# ExtendNumLet "_", Extend/Format "\x01", emoji character "\x02", anything else " "), and one small pattern
# finds the token spans; the translation keeps every offset. A character whose rules need the full grammar
# (Han, Hiragana, Katakana, Hebrew, Southeast Asian, ZWJ, presentation selectors, keycaps, modifiers, flags,
# tags, ℹ-like overlaps) maps to "\x00" and sends the text to the full pattern.
_FAST_X = "\x01*"
_FAST_CORE = (f"(?:[0-9]{_FAST_X}(?:(?:(?:_{_FAST_X})*|[,;.']{_FAST_X})[0-9]{_FAST_X})*"
              f"|[A-Za-z]{_FAST_X}(?:(?:(?:_{_FAST_X})*|[:.']{_FAST_X})[A-Za-z]{_FAST_X})*)+")
_FAST_TOKEN = re.compile(f"(?:_{_FAST_X})*{_FAST_CORE}(?:(?:_{_FAST_X})+{_FAST_CORE})*(?:_{_FAST_X})*"
                         f"|\x02{_FAST_X}")
_COMPLEX = "\x00"
_CLASS_TESTS = [(re.compile(_cls(_T[name])).match, stand_in) for name, stand_in in (
    ("HAN", _COMPLEX), ("HIRAGANA", _COMPLEX), ("KATAKANA", _COMPLEX), ("HEBREW_LETTER", _COMPLEX),
    ("COMPLEX_CONTEXT", _COMPLEX), ("REGIONAL_INDICATOR", _COMPLEX), ("EMOJI_MODIFIER", _COMPLEX),
    ("EMOJI_MODIFIER_BASE", _COMPLEX), ("EMOJI_CHAR", "\x02"), ("AHLETTER", "a"), ("NUMERIC", "0"),
    ("EXTEND_NUM_LET", "_"), ("EXTEND_FORMAT_ZWJ", "\x01"))]
_MID_LETTER, _MID_NUM = re.compile(_cls(_T["MID_LETTER"])).match, re.compile(_cls(_T["MID_NUM"])).match


class _StandIns(dict):
    """code point → its ASCII stand-in (see above), computed on first use."""

    def __missing__(self, cp: int) -> str:
        ch = chr(cp)
        if ch in _OVERLAP_CHARS or ch in "\u200d\ufe0e\ufe0f\u20e3" or 0xE0020 <= cp <= 0xE007F:
            stand_in = _COMPLEX
        elif _MID_LETTER(ch) or _MID_NUM(ch):
            stand_in = "." if _MID_LETTER(ch) and _MID_NUM(ch) else (":" if _MID_LETTER(ch) else ",")
        else:
            stand_in = next((s for test, s in _CLASS_TESTS if test(ch)), " ")
        self[cp] = stand_in
        return stand_in


_STAND_INS = _StandIns({cp: chr(cp) for cp in range(128)} | {0: " ", 1: " ", 2: " "})


# Runs of word characters joined by single joiners: no token crosses a run's ends, and a run of letters and
# digits only is one token; the exact pattern re-splits only the other runs (with "_", a joiner, "\x01"...).
_CANDIDATE = re.compile("[A-Za-z0-9_\x01\x02]+(?:[:.',;][A-Za-z0-9_\x01\x02]+)*")


def _ascii_tokens(text: str) -> list[str]:
    """Tokens of a pure-ASCII text (the word rule only)."""
    out = []
    for cand in _CANDIDATE.findall(text):
        if cand.isalnum():
            out.append(cand)
        else:
            out.extend(_ASCII_TOKEN.findall(cand))
    return out


def _fast_spans(text: str) -> list[str] | None:
    """Tokens of text by the stand-in pattern, or None when a character needs the full grammar."""
    classes = text.translate(_STAND_INS)
    if _COMPLEX in classes:
        return None
    out = []
    for cand in _CANDIDATE.finditer(classes):
        start, end = cand.span()
        if classes[start:end].isalnum():
            out.append(text[start:end])
        else:
            out.extend(text[m.start() : m.end()] for m in _FAST_TOKEN.finditer(classes, start, end))
    return out


# LowerCaseFilter is Character.toLowerCase per code point; str.lower differs only where it applies
# SpecialCasing: U+0130 (İ → i̇) and final sigma (Σ → ς). Mapping those two first makes lower() per code point.
_SIMPLE_LOWER = {0x0130: "i", 0x03A3: "\u03c3"}


def lowercase(token: str) -> str:
    """LowerCaseFilter on one token: simple lowercase mapping per code point."""
    if token.isascii():
        return token.lower()
    return token.translate(_SIMPLE_LOWER).lower()


def _utf16_length(text: str) -> int:
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def _window_end(text: str, start: int, max_units: int) -> int:
    """The end of the longest text[start:end] of at most max_units UTF-16 code units (≥ 1 character)."""
    units = 0
    end = start
    while end < len(text):
        units += 2 if ord(text[end]) > 0xFFFF else 1
        if units > max_units:
            break
        end += 1
    return max(end, start + 1)


def _longest_end(text: str, start: int, end: int, endpos: int) -> int:
    """End of the longest rule match at ``start``: the word/other match ends at ``end``; an emoji sequence may
    be longer where its first character also starts a word."""
    if text[start] in _OVERLAP_CHARS:
        emoji = _EMOJI_RE.match(text, start, endpos)
        if emoji and emoji.end() > end:
            return emoji.end()
    return end


def _scan(text: str, max_token_length: int) -> list[str]:
    """The exact scanner: longest match at each position, tokens cut to max_token_length code units."""
    out = []
    n = len(text)
    pos = 0
    while pos < n:
        match = _TOKEN.search(text, pos)
        if match is None:
            break
        start = match.start()
        end = _longest_end(text, start, match.end(), n)
        if end - start > max_token_length // 2 and _utf16_length(text[start:end]) > max_token_length:
            window = _window_end(text, start, max_token_length)
            cut = _TOKEN.match(text, start, window)
            end = _longest_end(text, start, cut.end() if cut else start, window)
            if end == start:  # nothing fits the window (an astral character with max_token_length 1)
                pos = start + 1
                continue
        out.append(text[start:end])
        pos = end
    return out


def standard_tokens(text: str, max_token_length: int = MAX_TOKEN_LENGTH, lowercase_tokens: bool = True) -> list[str]:
    """Tokens of ``text`` as Lucene's StandardTokenizer emits them (then LowerCaseFilter when lowercase_tokens).

    text: any string. max_token_length: in UTF-16 code units, ≥ 1 (OpenSearch's default 255).
    Returns the terms in order (see the module docstring for the rules).
    """
    if text.isascii():
        if lowercase_tokens:
            text = text.lower()
        tokens = _ascii_tokens(text)
        if any(len(tok) > max_token_length for tok in tokens):
            tokens = _scan(text, max_token_length)
        return tokens
    tokens = _fast_spans(text)
    if tokens is None and _HAS_OVERLAP(text):
        tokens = _scan(text, max_token_length)
    else:
        if tokens is None:
            tokens = _TOKEN.findall(text)
        half = max_token_length // 2
        if any(len(tok) > half and _utf16_length(tok) > max_token_length for tok in tokens):
            tokens = _scan(text, max_token_length)
    if lowercase_tokens:
        return [lowercase(tok) for tok in tokens]
    return tokens
