"""Catalog products: an id plus named text/number fields, read as a stream.

Readers live in ``mrs.data.readers``; this module holds the record type and the field conventions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Default id fields, tried in order when --id-field is not given.
ID_FIELDS: tuple[str, ...] = ("id", "_id", "asin", "product_id")


@dataclass
class Product:
    """One catalog row. id: the product id as a string; fields: every other column, as read.

    source_line: 1-based line (or row) number in the source file, for error messages.
    """

    id: str
    fields: dict[str, Any] = field(default_factory=dict)
    source_line: int | None = None

    def get(self, name: str, default: Any = None) -> Any:
        return self.fields.get(name, default)
