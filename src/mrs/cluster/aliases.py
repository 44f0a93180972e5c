"""Blue/green index deployment: write into ``NAME-<timestamp>``, verify it, move the alias ``NAME`` to it in one
atomic ``_aliases`` request, then delete all but the ``keep`` newest older indices.

Readers always query the alias, so they see the old index until the swap and the new one after it,
never a half-written index. The sequence (``swap_alias``):

1. ``GET _alias/NAME`` → indices that hold the alias now (404 → none);
2. ``POST _aliases {"actions": [remove NAME from each old index, add NAME to the new index]}`` (atomic);
3. ``GET NAME-*`` → the generation indices; delete the older ones beyond ``keep`` (never the new one nor
   one that still holds the alias).

The same requests run on OpenSearch and Elasticsearch (opensearch-py and elasticsearch-py clients alike).

Documentation relied on: OpenSearch "Alias" API (api-reference/index-apis/alias, "the actions are performed
atomically"), "Index aliases" (im-plugin/index-alias), "Get alias", "Delete index"; Elasticsearch "Aliases"
(indices-aliases: "atomic" actions add / remove).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from mrs.errors import InputError

_TS_FORMAT = "%Y%m%d%H%M%S"
_NAME_OK = re.compile(r"^[a-z0-9][a-z0-9_\-.]*$")


def alias_swap_actions(alias: str, new_index: str, current_indices: Sequence[str]) -> dict[str, Any]:
    """The ``POST _aliases`` body that moves ``alias`` to ``new_index`` in one atomic step.

    Removes the alias from every index that holds it now, then adds it to the new one; both clusters apply
    all actions of one request atomically, so readers never see zero or two indices behind the alias.
    """
    actions: list[dict[str, Any]] = [
        {"remove": {"index": old, "alias": alias}} for old in sorted(current_indices) if old != new_index
    ]
    actions.append({"add": {"index": new_index, "alias": alias, "is_write_index": True}})
    return {"actions": actions}


def check_index_name(name: str) -> str:
    """Index/alias naming rules of both clusters: lowercase, no spaces or \\ / * ? \" < > | , #, not starting
    with - _ +, at most 255 bytes. InputError names the rule broken."""
    if not name or len(name.encode("utf-8")) > 255 or not _NAME_OK.match(name) or name in (".", ".."):
        raise InputError(
            f"index name {name!r} is not valid: use lowercase letters, digits, '-', '_' or '.', "
            "starting with a letter or digit"
        )
    return name


def generation_name(alias: str, now: datetime | None = None) -> str:
    """``products`` → ``products-20261127113000`` (UTC, to the second)."""
    now = now or datetime.now(UTC)
    return f"{check_index_name(alias)}-{now.astimezone(UTC).strftime(_TS_FORMAT)}"


def generations(alias: str, names: list[str]) -> list[str]:
    """The names that are generations of ``alias`` (``alias-`` + 14 digits), oldest first."""
    pattern = re.compile(re.escape(alias) + r"-\d{14}$")
    return sorted(n for n in names if pattern.match(n))


@dataclass
class SwapResult:
    """alias: the alias moved. index: the new index behind it. previous: indices it was removed from.
    deleted: old generations deleted. kept: old generations kept (newest first)."""

    alias: str
    index: str
    previous: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def alias_targets(client: Any, alias: str) -> list[str]:
    """Indices that hold ``alias`` now ([] when the alias does not exist).

    InputError when ``alias`` is a concrete index (an alias cannot take its name: delete or reindex it first).
    """
    if client.indices.exists(index=alias) and not client.indices.exists_alias(name=alias):
        raise InputError(
            f"{alias!r} is an index, not an alias: blue/green needs the name free for the alias "
            f"(reindex it into a generation, or delete it)"
        )
    try:
        resp = client.indices.get_alias(name=alias)
    except Exception as e:  # opensearch-py's and elasticsearch-py's NotFoundError both carry status_code 404
        if getattr(e, "status_code", None) == 404:
            return []
        raise
    return sorted(resp.keys())


def swap_alias(client: Any, alias: str, new_index: str, keep: int = 1) -> SwapResult:
    """Point ``alias`` at ``new_index`` atomically, then prune old generations to the ``keep`` newest.

    keep: how many previous generations to keep for a quick rollback (0 = delete all older ones).
    """
    if keep < 0:
        raise InputError(f"--keep must be ≥ 0 (got {keep})")
    previous = alias_targets(client, alias)
    client.indices.update_aliases(body=alias_swap_actions(alias, new_index, previous))
    result = SwapResult(alias=alias, index=new_index, previous=[p for p in previous if p != new_index])
    try:
        existing = list(client.indices.get(index=f"{alias}-*").keys())
    except Exception:  # noqa: BLE001 — listing is best effort; nothing is deleted when it fails
        existing = []
    older = [g for g in generations(alias, existing) if g != new_index and g < new_index]
    older.reverse()  # newest first
    result.kept = older[:keep]
    for old in older[keep:]:
        client.indices.delete(index=old)
        result.deleted.append(old)
    return result


def rollback(client: Any, alias: str) -> SwapResult:
    """Move ``alias`` back to the newest generation older than the one it points at now."""
    current = alias_targets(client, alias)
    if len(current) != 1:
        raise InputError(f"alias {alias!r} points at {len(current)} indices; rollback needs exactly one")
    existing = list(client.indices.get(index=f"{alias}-*").keys())
    older = [g for g in generations(alias, existing) if g < current[0]]
    if not older:
        raise InputError(f"no older generation of {alias!r} to roll back to")
    client.indices.update_aliases(body=alias_swap_actions(alias, older[-1], current))
    return SwapResult(alias=alias, index=older[-1], previous=current)
