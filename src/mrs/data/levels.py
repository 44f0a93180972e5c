"""Relevance-level schemes: ordered, named grades (higher grade = more relevant).

A scheme maps names and source labels onto integer grades. ``esci`` has four levels, ``wands`` and
``three-level`` (the Mine & Refine paper's guideline) have three.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mrs.errors import InputError


@dataclass(frozen=True)
class LevelScheme:
    """An ordered relevance scale.

    name: scheme name ("esci"). levels: level names from the LOWEST grade (0) upwards, so
    ``levels[g]`` is the name of grade g. aliases: extra spellings (source labels, ratings) → grade.
    gains: optional per-grade gain for nDCG (ESCI's official 1/0.1/0.01/0), indexed by grade.
    """

    name: str
    levels: tuple[str, ...]
    aliases: dict[str, int] = field(default_factory=dict)
    gains: tuple[float, ...] | None = None

    @property
    def top(self) -> int:
        """Grade of the most relevant level."""
        return len(self.levels) - 1

    def name_of(self, grade: int) -> str:
        return self.levels[grade]

    def grade_of(self, label: object) -> int:
        """Grade for a level name, an alias (e.g. ESCI 'E' or rating '100.000'), or an integer grade.

        Raises KeyError for an unknown label (readers turn it into an InputError with file and line).
        """
        if isinstance(label, bool):
            raise KeyError(label)
        if isinstance(label, int) and 0 <= label <= self.top:
            return label
        text = str(label).strip()
        low = text.lower()
        for g, n in enumerate(self.levels):
            if low == n.lower():
                return g
        if low in self.aliases:
            return self.aliases[low]
        try:
            num = float(text)
        except ValueError:
            raise KeyError(label) from None
        key = _num_key(num)
        if key in self.aliases:
            return self.aliases[key]
        if num.is_integer() and 0 <= int(num) <= self.top:
            return int(num)
        raise KeyError(label)

    def gain_of(self, grade: int) -> float:
        return self.gains[grade] if self.gains is not None else float(grade)


def _num_key(num: float) -> str:
    return f"num:{num:g}"


ESCI = LevelScheme(
    name="esci",
    levels=("irrelevant", "complement", "substitute", "exact"),
    aliases={
        "i": 0, "c": 1, "s": 2, "e": 3,
        _num_key(0.0): 0, _num_key(1.0): 1, _num_key(10.0): 2, _num_key(100.0): 3,
    },
    gains=(0.0, 0.01, 0.1, 1.0),
)
WANDS = LevelScheme(
    name="wands",
    levels=("irrelevant", "partial", "exact"),
    aliases={"irrelevant": 0, "partial": 1, "exact": 2},
)
THREE_LEVEL = LevelScheme(
    name="three-level",
    levels=("irrelevant", "moderately relevant", "relevant"),
    aliases={"moderately_relevant": 1, "moderate": 1},
)

SCHEMES: dict[str, LevelScheme] = {s.name: s for s in (ESCI, WANDS, THREE_LEVEL)}

# The paper's guideline folds substitute and complement into "moderately relevant".
ESCI_TO_THREE_LEVEL: dict[int, int] = {3: 2, 2: 1, 1: 1, 0: 0}


def get_scheme(name: str) -> LevelScheme:
    """Scheme by name (esci, wands, three-level); InputError for an unknown one."""
    try:
        return SCHEMES[name]
    except KeyError:
        raise InputError(f"unknown level scheme {name!r}; choose one of {', '.join(SCHEMES)}") from None


def map_grades(grades: dict[int, int] | None, source: LevelScheme, target: LevelScheme) -> dict[int, int]:
    """Grade mapping source → target; the built-in esci → three-level, or identity for equal schemes."""
    if grades is not None:
        return grades
    if source.name == target.name:
        return {g: g for g in range(len(source.levels))}
    if (source.name, target.name) == ("esci", "three-level"):
        return dict(ESCI_TO_THREE_LEVEL)
    raise InputError(f"no mapping from level scheme {source.name!r} to {target.name!r}")
