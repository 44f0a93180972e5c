"""Additive spelling augmentation: misspelled copies of TRAINING queries are added beside the clean ones.

The Mine & Refine paper found that adding noisy copies (same labels) beats replacing clean queries or tying
them with a regulariser. Edits, each a single Damerau-Levenshtein operation: keyboard-adjacent substitution,
deletion, insertion of a keyboard-adjacent letter, transposition of two neighbours, and a doubled letter.
A misspelled copy carries 1 or 2 edits. Everything is seeded.
"""

from __future__ import annotations

import random
from collections.abc import Iterable

from mrs.data.judgments import Judgment

_QWERTY_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")

EDIT_KINDS: tuple[str, ...] = ("substitute", "delete", "insert", "transpose", "double")


def _keyboard_neighbours() -> dict[str, str]:
    """letter → letters next to it on a QWERTY keyboard: left/right on its row, and the two keys touching
    it on the rows above and below (the rows are staggered: above at columns c and c+1, below at c-1 and c)."""
    pos = {ch: (r, c) for r, row in enumerate(_QWERTY_ROWS) for c, ch in enumerate(row)}
    out: dict[str, str] = {}
    for ch, (r, c) in pos.items():
        near = [
            other
            for other, (r2, c2) in pos.items()
            if (r2 == r and abs(c2 - c) == 1) or (r2 == r - 1 and c2 in (c, c + 1)) or (r2 == r + 1 and c2 in (c - 1, c))
        ]
        out[ch] = "".join(sorted(near))
    return out


KEYBOARD_NEIGHBOURS: dict[str, str] = _keyboard_neighbours()


def _editable_positions(text: str) -> list[int]:
    """Indices of letters inside words of 3+ letters (short words and digits/units stay intact)."""
    positions: list[int] = []
    i = 0
    while i < len(text):
        if text[i].isalpha():
            j = i
            while j < len(text) and text[j].isalpha():
                j += 1
            if j - i >= 3:
                positions.extend(range(i, j))
            i = j
        else:
            i += 1
    return positions


def _neighbour(ch: str, rng: random.Random) -> str:
    low = ch.lower()
    near = KEYBOARD_NEIGHBOURS.get(low)
    if not near:
        return ch
    out = rng.choice(near)
    return out.upper() if ch.isupper() else out


def apply_edit(text: str, kind: str, rng: random.Random) -> str:
    """One edit of ``kind`` (see EDIT_KINDS) at a random letter of a 3+-letter word; ``text`` unchanged when
    no letter qualifies or the edit would be a no-op (e.g. transposing two equal letters)."""
    positions = _editable_positions(text)
    if not positions:
        return text
    i = rng.choice(positions)
    ch = text[i]
    if kind == "substitute":
        new = _neighbour(ch, rng)
        return text[:i] + new + text[i + 1 :]
    if kind == "delete":
        return text[:i] + text[i + 1 :]
    if kind == "insert":
        return text[:i] + _neighbour(ch, rng) + text[i:]
    if kind == "transpose":
        pairs = [p for p in positions if p + 1 in positions and text[p] != text[p + 1]]
        if not pairs:
            return text
        p = rng.choice(pairs)
        return text[:p] + text[p + 1] + text[p] + text[p + 2 :]
    if kind == "double":
        return text[:i] + ch + text[i:]
    raise ValueError(f"unknown edit kind {kind!r}; choose from {', '.join(EDIT_KINDS)}")


def misspell(text: str, rng: random.Random, max_edits: int = 2) -> str:
    """A misspelled variant of ``text`` with 1..max_edits edits (Damerau-Levenshtein distance 1..max_edits
    from the original; equal to ``text`` only when no word has 3+ letters)."""
    max_edits = max(1, max_edits)
    out = text
    for _retry in range(10):
        out = text
        for _ in range(rng.randint(1, max_edits)):
            for _attempt in range(5):
                candidate = apply_edit(out, rng.choice(EDIT_KINDS), rng)
                if candidate != out:
                    out = candidate
                    break
        # Two edits can undo each other or overlap (a transposition then an insertion between the pair is 3
        # in the restricted distance): keep only variants within the promised distance.
        if 1 <= edit_distance(text, out) <= max_edits:
            return out
    return out if 1 <= edit_distance(text, out) <= max_edits else text


def augment_spelling(
    judgments: Iterable[Judgment], rate: float, seed: int = 0, max_edits: int = 2
) -> list[Judgment]:
    """Misspelled copies of the given (training) queries, to be ADDED to the clean ones.

    rate: expected copies per query: 0.5 → half the queries get one copy; 2 → every query two copies
    (floor(rate) copies each, plus one more with probability rate − floor(rate)). Each copy gets every
    judgment of its clean query with the same grade, query id ``<id>~sp<k>`` and source "augmented".
    A copy identical to the clean query or to another copy is skipped. Returns only the new judgments;
    the input is not modified. Pass only training queries: dev/test queries must never be augmented.
    """
    if rate < 0:
        raise ValueError(f"spelling rate must be >= 0, got {rate}")
    by_query: dict[str, list[Judgment]] = {}
    for j in judgments:
        by_query.setdefault(j.query_id, []).append(j)
    rng = random.Random(seed)
    added: list[Judgment] = []
    whole = int(rate)
    frac = rate - whole
    for qid, rows in by_query.items():
        copies = whole + (1 if rng.random() < frac else 0)
        query = rows[0].query
        seen = {query}
        for k in range(copies):
            variant = misspell(query, rng, max_edits)
            if variant in seen:
                continue
            seen.add(variant)
            added.extend(
                Judgment(query_id=f"{qid}~sp{k}", query=variant, product_id=j.product_id, grade=j.grade,
                         source="augmented", confidence=j.confidence)
                for j in rows
            )
    return added


def edit_distance(a: str, b: str) -> int:
    """Optimal-string-alignment (restricted Damerau-Levenshtein) distance: insert, delete, substitute and
    transpose adjacent characters each cost 1."""
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return prev[len(b)]
