"""Checks that judgments were read as their author meant: query texts rather than ids, a level scheme
that fits the grades.

Used by mrs.data.judgment_readers.read_judgments; each failure is an InputError naming the file and the
option that fixes it (``--queries FILE``, ``--scheme NAME``).
"""

from __future__ import annotations

import os

from mrs.data.judgments import JudgmentSet
from mrs.data.levels import ESCI, SCHEMES
from mrs.errors import InputError


def schemes_fitting(label: object) -> list[str]:
    """Names of the built-in level schemes that know ``label`` (a level name, alias or integer grade)."""
    out = []
    for scheme in SCHEMES.values():
        try:
            scheme.grade_of(label)
        except KeyError:
            continue
        out.append(scheme.name)
    return out


def looks_like_ids(query_ids: list[str]) -> bool:
    """True when query ids are identifiers rather than query texts: none holds whitespace and every one holds
    a digit (TREC topic numbers 101, q101, UUIDs). Texts used as ids (ESCI, mrs-written qrels) hold spaces."""
    return bool(query_ids) and all(not any(c.isspace() for c in q) and any(c.isdigit() for c in q)
                                   for q in query_ids)


def check_query_ids(jset: JudgmentSet, path: str | os.PathLike) -> None:
    """InputError when the judgments' query "texts" are their ids (``looks_like_ids``): searching or training
    on ``101`` would silently measure nothing. The message asks for ``--queries FILE``."""
    queries = jset.queries()
    if all(q == text for q, text in queries.items()) and looks_like_ids(list(queries)):
        examples = ", ".join(list(queries)[:3])
        raise InputError(f"the query ids ({examples}, ...) are ids, not query texts: pass --queries FILE with "
                         "the topics/queries file (id<TAB>text, a CSV with query_id and query, or JSONL)", str(path))


def check_trec_grades_fill(jset: JudgmentSet, path: str | os.PathLike) -> None:
    """InputError when TREC grades read with the default 4-level esci scheme only reach grade 2."""
    top = max(j.grade for j in jset)
    if top == 2 and jset.scheme.top == 3:
        three = [s.name for s in SCHEMES.values() if s.top == 2]
        raise InputError(f"grades 0-2 fill three levels but the default scheme esci has four "
                         f"({', '.join(ESCI.levels)}): pass --scheme {' or --scheme '.join(three)} "
                         "(or --scheme esci to read them as ESCI)", str(path))
