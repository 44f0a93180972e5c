"""Product text for embedding: one template shared by training and indexing, so both see identical text.

The paper embeds short product text: item name + a short taxonomy path, as natural language. The default
template is title, brand, color and the last two category levels; long descriptions stay BM25 fields.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mrs.data.catalog import Product
from mrs.errors import InputError

DEFAULT_TEMPLATE = "{title}. Brand: {brand}. Color: {color}. Category: {category[-2:]}"

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(\[(-?\d*):(-?\d*)\])?\}")


def field_text(value: object) -> str:
    """A field value as plain text: lists joined with ' > ' (category paths) or '; ', None → ''."""
    if value is None:
        return ""
    if isinstance(value, float) and value != value:  # NaN from CSV/Parquet
        return ""
    if isinstance(value, (list, tuple)):
        return " > ".join(field_text(v) for v in value if field_text(v))
    return str(value).strip()


def as_list(value: object) -> list[str]:
    """A list-ish field (category path) as a list: lists as is, 'A > B' / 'A / B' / 'A|B' strings split."""
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [field_text(v) for v in value if field_text(v)]
    text = field_text(value)
    for sep in (" > ", ">", " / ", "|", "/"):
        if sep in text:
            return [t.strip() for t in text.split(sep) if t.strip()]
    return [text] if text else []


@dataclass(frozen=True)
class ProductTextTemplate:
    """Renders a product to its embedding text.

    template: a format string with ``{field}`` placeholders and optional list slices ``{category[-2:]}``.
    A segment (text between '. ' separators) whose placeholders are all empty is dropped, so a product
    without a brand does not read "Brand: .".
    """

    template: str = DEFAULT_TEMPLATE

    def __post_init__(self) -> None:
        if not _PLACEHOLDER.search(self.template):
            raise InputError(f"text template {self.template!r} has no {{field}} placeholder")

    @property
    def fields(self) -> list[str]:
        return [m.group(1) for m in _PLACEHOLDER.finditer(self.template)]

    def render(self, product: Product) -> str:
        parts = []
        for segment in self.template.split(". "):
            filled = False

            def sub(m: re.Match) -> str:
                nonlocal filled
                name, sl = m.group(1), m.group(2)
                value = product.id if name == "id" else product.get(name)
                if sl:
                    start = int(m.group(3)) if m.group(3) else None
                    stop = int(m.group(4)) if m.group(4) else None
                    text = " > ".join(as_list(value)[start:stop])
                else:
                    text = field_text(value)
                filled = filled or bool(text)
                return text

            out = _PLACEHOLDER.sub(sub, segment).strip()
            if filled and out:
                parts.append(out)
        text = ". ".join(parts)
        return re.sub(r"\s+", " ", text).strip()
