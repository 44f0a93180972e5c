"""Token streams of mrs's analyzers equal real Lucene 9.9.1's (StandardAnalyzer / EnglishAnalyzer)."""

from __future__ import annotations

import json

import pytest

from mrs.data.text import field_text
from mrs.engine.analysis import Analyzer

pytestmark = pytest.mark.lucene

# Hard strings written for this suite (none taken from Lucene's tests).
HARD = [
    "Spalding® NBA SGT™ Neverflat® Hexagrip™ Basketball 29.5\"", "Material：Leather Strap；Size：M",
    "1⁄2 inch ½ ¾ ² ³ ① H₂O x² 10³", "👍🏻 👨‍👩‍👧‍👦 ❤️‍🔥 🏳️‍🌈 🇺🇸🇬🇧 #️⃣ 1️⃣2 *⃣ 🏻 a🏻 \u200d😀 🏴󠁧󠁢󠁳󠁣󠁴󠁿 ℹ️ ℹ\u200d🔥 Ⓜabc",
    "東京タワー tokyoタワー カタカナabc カタ_abc ひらがなテスト 한국어 텍스트 ภาษาไทยดี ພາສາລາວ",
    "cafe\u0301 naïve Ångström ΣΟΦΟΣ İstanbul ǅemal ﬁne Straße", "don't rock’n’roll ‘quoted’ “double” it's John＇s JOHN'S",
    "1,000,000.50 3;4 5'6\" 1.2.3 v1.2b a.b.c. 1_000 foo_bar __init__ _x_ a__b 12:30 U.S.A.",
    "http://www.example.com/path?q=1&r=2 foo.bar@example.co.uk #hashtag @user",
    "x" * 300 + " " + "ab" * 130 + ".c " + "𝐀" * 140 + " " + "a" * 254 + "bc.d",
    "zero\ufeffwidth \ufeffstart soft\u00adhyphen 10\u202f000 nbsp\u00a0space thin\u2009space",
    "Ⅻ ⅻ ㊗️ 〰 〽️ © ®️ ™ 1st 2nd 4K 1080p 5G Wi‑Fi e‑mail", "\u0600\u0661 \u05d0\"\u05d1 \u05d0' \u05e9\u05dc\u05d5\u05dd",
]


@pytest.mark.parametrize("analyzer", ["standard", "english"])
def test_hard_strings_tokenize_as_lucene(lucene, analyzer):
    ours = [Analyzer(analyzer).tokens(text) for text in HARD]
    assert ours == lucene.tokens(analyzer, HARD)


def _probe(cp: int) -> str:
    ch = chr(cp)
    return f"a{ch}b 1{ch}2 {ch}a {ch}{ch} 𝐀{ch}"


def test_every_code_point_tokenizes_as_lucene(lucene):
    """Each code point (but surrogates, private use and the empty planes 4–13) between letters, digits, twice."""
    points = [cp for cp in range(0x110000) if not (0xD800 <= cp <= 0xF8FF or 0x40000 <= cp <= 0xDFFFF
                                                   or cp >= 0xF0000)]
    texts = [" ".join(_probe(cp) for cp in points[i : i + 128]) for i in range(0, len(points), 128)]
    standard = Analyzer("standard")
    theirs = lucene.tokens("standard", texts)
    mismatched = [i for i, text in enumerate(texts) if standard.tokens(text) != theirs[i]]
    bad = []
    for i in mismatched:
        chunk = points[i * 128 : (i + 1) * 128]
        for cp, tokens in zip(chunk, lucene.tokens("standard", [_probe(cp) for cp in chunk]), strict=True):
            if standard.tokens(_probe(cp)) != tokens:
                bad.append(f"U+{cp:04X}")
    assert bad == []


def test_sample_catalog_tokenizes_as_lucene(lucene, sample):
    texts = []
    with open(sample.catalog, encoding="utf-8") as f:
        for line in f:
            product = json.loads(line)
            texts.extend(field_text(v) for v in product.values() if isinstance(v, (str, list)))
    texts = [t for t in texts if t]
    for analyzer in ("standard", "english"):
        ours = [Analyzer(analyzer).tokens(t) for t in texts]
        assert ours == lucene.tokens(analyzer, texts), analyzer
