"""Product text for embedding: one template shared by training, indexing and the cluster's ingest pipeline.

The paper embeds short product text: item name + a short taxonomy path, as natural language. The default
template is title, brand, color and the last two category levels; long descriptions stay BM25 fields.

A template compiles to one description (``ProductTextTemplate.description()``, JSON): its segments, each a
list of literal texts and field placeholders (with an optional list slice), plus the joiners and the
whitespace set the rules use. The local renderer (``render_description``) and the cluster's ingest script
(mrs.opensearch.ingest_pipeline, Painless) both interpret that description, so the text a cluster embeds is
the text mrs embeds locally.

Rules (what both renderers do):
- a field value as text (``field_text``): None / NaN → ''; a list → its non-empty items' texts joined with
  ' > '; anything else → ``str(value)`` stripped of WHITESPACE (Python's ``str.isspace`` set).
- a sliced placeholder ``{category[-2:]}`` reads the value as a list (``as_list``: a list as is, a string split
  on the first of PATH_SEPARATORS it contains), slices it as Python does, joins with ' > '.
- the template splits into segments at '. '; a segment whose placeholders are all empty is dropped, so a
  product without a brand does not read "Brand: ."; each kept segment is stripped; kept segments are joined
  with '. ', every whitespace run becomes one space, and the result is stripped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from mrs.data.catalog import Product
from mrs.errors import InputError

DEFAULT_TEMPLATE = "{title}. Brand: {brand}. Color: {color}. Category: {category[-2:]}"
DESCRIPTION_FORMAT = "mrs-text-template/1"
SEGMENT_SEPARATOR = ". "
LIST_JOINER = " > "
PATH_SEPARATORS = (" > ", ">", " / ", "|", "/")
# Python's str.isspace() characters (also what re's \s matches in str patterns): stated, so that the
# cluster's script strips and collapses exactly these.
WHITESPACE = ("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
              "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000")

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(\[(-?\d*):(-?\d*)\])?\}")
_WHITESPACE_RUN = re.compile("[" + re.escape(WHITESPACE) + "]+")


def field_text(value: object) -> str:
    """A field value as plain text: lists joined with ' > ' (category paths) or '; ', None → ''."""
    if value is None:
        return ""
    if isinstance(value, float) and value != value:  # NaN from CSV/Parquet
        return ""
    if isinstance(value, (list, tuple)):
        return LIST_JOINER.join(field_text(v) for v in value if field_text(v))
    return str(value).strip(WHITESPACE)


def as_list(value: object) -> list[str]:
    """A list-ish field (category path) as a list: lists as is, 'A > B' / 'A / B' / 'A|B' strings split."""
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [field_text(v) for v in value if field_text(v)]
    text = field_text(value)
    for sep in PATH_SEPARATORS:
        if sep in text:
            return [t.strip(WHITESPACE) for t in text.split(sep) if t.strip(WHITESPACE)]
    return [text] if text else []


def parse_template(template: str) -> list[list[dict[str, Any]]]:
    """A template → its segments: lists of {"text": literal} and {"field": name, "slice": [start, stop]}
    (slice only for ``{name[a:b]}``; a missing bound is None). Literal texts are never empty."""
    segments = []
    for segment in template.split(SEGMENT_SEPARATOR):
        parts: list[dict[str, Any]] = []
        at = 0
        for m in _PLACEHOLDER.finditer(segment):
            if m.start() > at:
                parts.append({"text": segment[at:m.start()]})
            part: dict[str, Any] = {"field": m.group(1)}
            if m.group(2):
                part["slice"] = [int(m.group(3)) if m.group(3) else None, int(m.group(4)) if m.group(4) else None]
            parts.append(part)
            at = m.end()
        if at < len(segment):
            parts.append({"text": segment[at:]})
        segments.append(parts)
    return segments


def _placeholder_text(part: Mapping[str, Any], product: Product) -> str:
    name = part["field"]
    value = product.id if name == "id" else product.get(name)
    if "slice" in part:
        start, stop = part["slice"]
        return LIST_JOINER.join(as_list(value)[start:stop])
    return field_text(value)


def render_description(description: Mapping[str, Any], product: Product) -> str:
    """The embedding text of ``product`` under a template description (ProductTextTemplate.description)."""
    kept = []
    for segment in description["segments"]:
        filled = False
        pieces = []
        for part in segment:
            if "text" in part:
                pieces.append(part["text"])
                continue
            text = _placeholder_text(part, product)
            filled = filled or bool(text)
            pieces.append(text)
        out = "".join(pieces).strip(WHITESPACE)
        if filled and out:
            kept.append(out)
    return _WHITESPACE_RUN.sub(" ", description["segment_separator"].join(kept)).strip(WHITESPACE)


@dataclass(frozen=True)
class ProductTextTemplate:
    """Renders a product to its embedding text (rules in the module doc).

    template: a format string with ``{field}`` placeholders and optional list slices ``{category[-2:]}``.
    """

    template: str = DEFAULT_TEMPLATE

    def __post_init__(self) -> None:
        if not _PLACEHOLDER.search(self.template):
            raise InputError(f"text template {self.template!r} has no {{field}} placeholder")

    @property
    def fields(self) -> list[str]:
        return [m.group(1) for m in _PLACEHOLDER.finditer(self.template)]

    @cached_property
    def _description(self) -> dict[str, Any]:
        return {"format": DESCRIPTION_FORMAT, "template": self.template, "segments": parse_template(self.template),
                "segment_separator": SEGMENT_SEPARATOR, "list_joiner": LIST_JOINER,
                "path_separators": list(PATH_SEPARATORS), "whitespace": WHITESPACE}

    def description(self) -> dict[str, Any]:
        """The template as data (JSON): what the local renderer and the cluster's ingest script interpret."""
        import copy

        return copy.deepcopy(self._description)

    def render(self, product: Product) -> str:
        return render_description(self._description, product)
