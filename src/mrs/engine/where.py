"""The ``--where`` short form of a filter: ``brand=Apple``, ``price<=100`` ... → a mrs.engine.filters tree.

| condition | clause |
|---|---|
| ``brand=Apple`` | term |
| ``brand=Apple|Samsung`` | terms |
| ``brand!=Apple`` | bool must_not term |
| ``price<=100`` / ``<`` / ``>=`` / ``>`` | range lte / lt / gte / gt |
| ``category_path=Electronics*`` | prefix |
| ``rating=*`` / ``rating!=*`` | exists / bool must_not exists |

Values stay strings here; binding to an index (mrs.engine.filters.bind) types them by the field.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from mrs.engine.filters import Bool, Exists, Node, Prefix, Range, Term, Terms, combine
from mrs.errors import InputError

_WHERE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_.\-]*)\s*(<=|>=|!=|=|<|>)\s*(.*?)\s*$", re.S)
_RANGE_OPS = {"<": "lt", "<=": "lte", ">": "gt", ">=": "gte"}


def parse_where(items: Sequence[str]) -> Node | None:
    """``--where`` conditions, all of which must hold:

    ``brand=Apple`` (term), ``brand=Apple|Samsung`` (terms), ``brand!=Apple`` (must_not), ``price<=100`` /
    ``<`` / ``>=`` / ``>`` (range), ``category_path=Electronics*`` (prefix), ``rating=*`` (exists),
    ``rating!=*`` (missing). Values are typed by the index's field types when the filter is bound."""
    clauses: list[Node] = []
    for item in items:
        m = _WHERE.match(item)
        if not m or not m.group(3):
            raise InputError(f"--where: {item!r} is not FIELD=VALUE, FIELD!=VALUE or FIELD<=|<|>=|>NUMBER")
        field, op, value = m.groups()
        if op in _RANGE_OPS:
            clauses.append(Range(field, **{_RANGE_OPS[op]: value}))
            continue
        if value == "*":
            clause: Node = Exists(field)
        elif value.endswith("*") and "|" not in value:
            clause = Prefix(field, value[:-1])
        elif "|" in value:
            clause = Terms(field, tuple(v.strip() for v in value.split("|")))
        else:
            clause = Term(field, value)
        clauses.append(clause if op == "=" else Bool(must_not=(clause,)))
    return combine(*clauses)
