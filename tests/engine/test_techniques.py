"""The technique registry: which blends each deployment target can run, and the reasons it gives."""

from __future__ import annotations

import pytest

from mrs.engine.techniques import (
    COMBINATION,
    ELASTICSEARCH,
    NORMALIZATION,
    OPENSEARCH,
    TECHNIQUES,
    blend_unsupported,
    names,
    version_notes,
)


def test_each_target_runs_what_its_documentation_lists():
    assert names(NORMALIZATION, OPENSEARCH) == ("min_max", "l2", "z_score")
    assert names(NORMALIZATION, ELASTICSEARCH) == ("min_max", "l2", "none")
    assert names(COMBINATION, OPENSEARCH) == ("arithmetic_mean", "geometric_mean", "harmonic_mean")
    assert names(COMBINATION, ELASTICSEARCH) == ("arithmetic_mean",)
    assert TECHNIQUES["min_max"].targets[ELASTICSEARCH].name == "minmax"
    assert TECHNIQUES["l2"].targets[ELASTICSEARCH].name == "l2_norm"


@pytest.mark.parametrize("args, kwargs, reason", [
    (("z_score", "arithmetic_mean"), {}, "Elasticsearch's linear retriever has no z_score normalizer"),
    (("min_max", "arithmetic_mean"), {"bounded": True}, "minmax normalizer has no lower/upper score bounds"),
    (("min_max", "geometric_mean"), {}, "is a weighted sum; geometric_mean has no equivalent"),
])
def test_elasticsearch_refusals(args, kwargs, reason):
    assert reason in blend_unsupported(ELASTICSEARCH, *args, **kwargs)
    assert blend_unsupported(OPENSEARCH, *args, **kwargs) is None


def test_supported_blends():
    for target in (OPENSEARCH, ELASTICSEARCH):
        assert blend_unsupported(target, "min_max", "arithmetic_mean") is None
        assert blend_unsupported(target, "l2", "arithmetic_mean") is None
        assert blend_unsupported(target, "rrf", "rrf", weighted=True) is None  # ES ≥ 9.2, OpenSearch ≥ 3.1
    assert "only be used with arithmetic_mean" in blend_unsupported(OPENSEARCH, "z_score", "harmonic_mean")
    assert "no none normalizer" in blend_unsupported(OPENSEARCH, "none", "arithmetic_mean")
    with pytest.raises(ValueError, match="unknown target"):
        blend_unsupported("solr", "min_max", "arithmetic_mean")


def test_version_notes_name_the_release():
    assert version_notes(ELASTICSEARCH, fusion=True, weighted=True) == [
        "weighted rrf needs Elasticsearch ≥ 9.2 (rrf retriever [weight])"]
    assert version_notes(OPENSEARCH, fusion=True, weighted=True) == [
        "weighted rrf needs OpenSearch ≥ 3.1 (score-ranker-processor [weights])"]


def test_every_target_of_every_technique_has_its_functions():
    from mrs.engine.techniques import FUSION, TARGETS

    for technique in TECHNIQUES.values():
        assert technique.targets and set(technique.targets) <= set(TARGETS), technique.name
        for support in technique.targets.values():
            needs_normalize = technique.kind in (NORMALIZATION, FUSION)
            needs_combine = technique.kind in (COMBINATION, FUSION)
            assert (support.normalize is not None) == needs_normalize, technique.name
            assert (support.combine is not None) == needs_combine, technique.name


def test_lookups_by_target_name():
    import numpy as np

    from mrs.engine.techniques import named_on, normalizer

    assert named_on(ELASTICSEARCH, "l2_norm", NORMALIZATION).name == "l2"
    with pytest.raises(KeyError, match="no normalization technique 'z_score'"):
        named_on(ELASTICSEARCH, "z_score", NORMALIZATION)
    # OpenSearch floors the lowest min_max score at 0.001, Elasticsearch keeps 0: (1 − 1)/(3 − 1) = 0
    assert normalizer("min_max", OPENSEARCH)(np.array([3.0, 1.0])).tolist() == [1.0, np.float32(0.001)]
    assert normalizer("min_max", ELASTICSEARCH)(np.array([3.0, 1.0])).tolist() == [1.0, 0.0]
    with pytest.raises(KeyError, match="Elasticsearch has no z_score"):
        normalizer("z_score", ELASTICSEARCH)
