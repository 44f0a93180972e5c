"""All mrs.data readers in one import: catalogs, judgments, queries, UBI events, and the rejects they fill.

``from mrs.data.readers import read_catalog, read_judgments, read_ubi_events, Rejects, rejects_path_for``
"""

from __future__ import annotations

from mrs.data.catalog_readers import catalog_format, normalise_fields, read_catalog
from mrs.data.events import EngagementCounts, PairEngagement, read_ubi_events
from mrs.data.judgment_readers import (
    JUDGMENT_FORMATS,
    detect_judgment_format,
    read_judgments,
    write_judgments,
)
from mrs.data.queries import read_queries
from mrs.data.rejects import Rejects, rejects_path_for

__all__ = [
    "JUDGMENT_FORMATS",
    "EngagementCounts",
    "PairEngagement",
    "Rejects",
    "catalog_format",
    "detect_judgment_format",
    "normalise_fields",
    "read_catalog",
    "read_judgments",
    "read_queries",
    "read_ubi_events",
    "rejects_path_for",
    "write_judgments",
]
