"""Which target's semantics a hybrid blend runs with: an OpenSearch search pipeline (``HybridPipeline``:
normalization-processor / score-ranker-processor, mrs.engine.hybrid.combine) or an Elasticsearch retriever
(``RetrieverSpec``: linear / rrf, mrs.engine.retriever_combine.combine_retriever).

``parse_blend(body, target)`` turns what a user gives (None, a parsed blend, or a JSON body) into one of the
two types; the engine runs the semantics of the type it gets. ``target`` says which format a JSON body is in
(mrs.engine.techniques.TARGETS); without it the body's root key names its format, as each target's
documentation defines it: ``linear`` / ``rrf`` (optionally under ``retriever``) is an Elasticsearch retriever,
anything else an OpenSearch search-pipeline body (``phase_results_processors`` or a bare processor).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mrs.engine.pipeline import HybridPipeline, default_pipeline, parse_pipeline
from mrs.engine.retriever import RetrieverSpec, is_retriever_body, parse_retriever
from mrs.engine.techniques import ELASTICSEARCH, OPENSEARCH, TARGET_LABELS, check_target
from mrs.errors import InputError

Blend = HybridPipeline | RetrieverSpec


def semantics_of(blend: Blend) -> str:
    """The target whose semantics ``blend`` runs with: opensearch (HybridPipeline) | elasticsearch."""
    return ELASTICSEARCH if isinstance(blend, RetrieverSpec) else OPENSEARCH


def body_target(body: Mapping[str, Any]) -> str:
    """The target whose format a JSON blend body is in, by its root key (module doc)."""
    return ELASTICSEARCH if is_retriever_body(body) else OPENSEARCH


def parse_blend(blend: Any, target: str | None = None, n_subqueries: int = 2) -> Blend:
    """None → the default pipeline (min_max + arithmetic_mean, lexical 0.7 / dense 0.3); a HybridPipeline or
    RetrieverSpec → itself; a JSON body → parsed as ``target``'s format (None: the format its root key names).
    InputError when the body is not in ``target``'s format or a parsed blend is another target's."""
    if blend is None:
        return default_pipeline() if target in (None, OPENSEARCH) else _default_retriever()
    if isinstance(blend, (HybridPipeline, RetrieverSpec)):
        if target is not None and semantics_of(blend) != check_target(target):
            raise InputError(f"a {TARGET_LABELS[semantics_of(blend)]} blend cannot run with "
                             f"{TARGET_LABELS[target]}'s semantics")
        return blend
    if not isinstance(blend, Mapping):
        raise InputError(f"a hybrid blend is a search-pipeline or retriever JSON object, got {type(blend).__name__}")
    fmt = body_target(blend)
    if target is not None and fmt != check_target(target):
        expected = ("a search-pipeline body (normalization-processor / score-ranker-processor)" if target == OPENSEARCH
                    else "a linear / rrf retriever body")
        raise InputError(f"{TARGET_LABELS[target]} takes {expected}, this is a {TARGET_LABELS[fmt]} blend")
    if fmt == ELASTICSEARCH:
        return parse_retriever(blend)
    return parse_pipeline(dict(blend), n_subqueries=n_subqueries)


def _default_retriever() -> RetrieverSpec:
    from mrs.engine.retriever import default_linear

    return default_linear()
