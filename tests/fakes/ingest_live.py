"""What the live OpenSearch and Elasticsearch ingest tests share: the edge catalog as ``_simulate`` documents,
the simulated sources, and the cosine between cluster and local vectors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from mrs.data.catalog import Product


def simulate_docs(products: list[Product]) -> list[dict[str, Any]]:
    """``_ingest/pipeline/_simulate`` docs: one per product, its fields under ``product`` as mrs indexes them."""
    return [{"_id": p.id, "_source": {"id": p.id, "product": p.fields}} for p in products]


def simulated_sources(simulate: Callable[..., dict[str, Any]], pipeline: dict[str, Any],
                      products: list[Product]) -> list[dict[str, Any]]:
    """The ``_source`` the pipeline wrote for each product; simulate(pipeline=, docs=) is the client's call."""
    result = simulate(pipeline=pipeline, docs=simulate_docs(products))
    return [d["doc"]["_source"] for d in result["docs"]]


def row_cosines(remote: np.ndarray, local: np.ndarray) -> np.ndarray:
    """Cosine of each row of ``remote`` with the same row of ``local``."""
    remote = np.asarray(remote, dtype=np.float64)
    local = np.asarray(local, dtype=np.float64)
    return (remote * local).sum(axis=1) / (np.linalg.norm(remote, axis=1) * np.linalg.norm(local, axis=1))
