"""Which target's semantics a blend runs with: parse_blend turns bodies into typed blends, and says no when a
body is in the other target's format."""

from __future__ import annotations

import pytest

from mrs.engine.pipeline import HybridPipeline, default_pipeline
from mrs.engine.retriever import RetrieverSpec, SubRetriever
from mrs.engine.semantics import parse_blend, semantics_of
from mrs.errors import InputError

PIPELINE = {"phase_results_processors": [{"normalization-processor": {
    "normalization": {"technique": "l2"},
    "combination": {"technique": "arithmetic_mean", "parameters": {"weights": [0.4, 0.6]}}}}]}
LINEAR = {"linear": {"retrievers": [{"retriever": "lexical", "weight": 0.4, "normalizer": "minmax"},
                                    {"retriever": "dense", "weight": 0.6, "normalizer": "minmax"}],
                     "rank_window_size": 20}}


def test_bodies_parse_to_their_targets_types():
    p = parse_blend(PIPELINE, "opensearch")
    assert isinstance(p, HybridPipeline) and (p.normalization, p.weights) == ("l2", (0.4, 0.6))
    r = parse_blend(LINEAR, "elasticsearch")
    assert isinstance(r, RetrieverSpec) and r.rank_window_size == 20
    assert r.subretrievers == (SubRetriever("lexical", 0.4, "minmax"), SubRetriever("dense", 0.6, "minmax"))
    # without a target, the body's root key names its format
    assert semantics_of(parse_blend(LINEAR)) == "elasticsearch" and semantics_of(parse_blend(PIPELINE)) == "opensearch"


def test_defaults_per_target():
    assert parse_blend(None) == default_pipeline()
    spec = parse_blend(None, "elasticsearch")  # linear minmax, lexical 0.7 / dense 0.3
    assert [(s.kind, s.weight, s.normalizer) for s in spec.subretrievers] == [("lexical", 0.7, "minmax"),
                                                                              ("dense", 0.3, "minmax")]


def test_a_body_in_the_other_targets_format_is_refused():
    with pytest.raises(InputError, match="OpenSearch takes a search-pipeline body"):
        parse_blend(LINEAR, "opensearch")
    with pytest.raises(InputError, match="Elasticsearch takes a linear / rrf retriever body"):
        parse_blend(PIPELINE, "elasticsearch")
    with pytest.raises(InputError, match="cannot run with Elasticsearch's semantics"):
        parse_blend(default_pipeline(), "elasticsearch")
    with pytest.raises(ValueError, match="unknown target"):
        parse_blend(PIPELINE, "solr")
