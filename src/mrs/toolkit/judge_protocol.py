"""The judge contract: what every relevance judge answers and the file that names a judge directory's kind.

Every judge (mrs.toolkit.judge.CrossEncoderJudge, mrs.toolkit.judge_ordinal.OrdinalJudge,
mrs.toolkit.llm_judge.LLMJudge) implements ``Judge``: ``judge.label(pairs)`` → one JudgeLabel(grade,
confidence) per (query text, product text) pair. A judge directory holds ``judge.json`` (JUDGE_FILE), whose
``kind`` says which class reads it (mrs.toolkit.judge.load_judge).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from mrs.data.levels import LevelScheme

JUDGE_FILE = "judge.json"


@dataclass(frozen=True)
class JudgeLabel:
    """A judge's answer for one pair. grade: level of the judge's scheme; confidence: probability of that
    level in [0, 1]."""

    grade: int
    confidence: float


class Judge(Protocol):
    """Anything with a level scheme that labels (query text, product text) pairs."""

    scheme: LevelScheme

    def label(self, pairs: Sequence[tuple[str, str]]) -> list[JudgeLabel]:
        """[(query text, product text)] → one JudgeLabel per pair, same order."""
        ...
