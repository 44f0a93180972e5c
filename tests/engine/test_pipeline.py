"""OpenSearch search-pipeline bodies: parse what a cluster accepts, reject what it rejects, write it back."""

from __future__ import annotations

import json

import pytest

from mrs.engine.pipeline import (
    HybridPipeline,
    default_pipeline,
    load_pipeline,
    parse_pipeline,
    pipeline_body,
)
from mrs.engine.techniques.min_max import ScoreBound
from mrs.errors import InputError

NORM_BODY = {
    "description": "hybrid with bounds",
    "phase_results_processors": [
        {
            "normalization-processor": {
                "normalization": {
                    "technique": "min_max",
                    "parameters": {
                        "lower_bounds": [{"mode": "apply", "min_score": 0.1}, {"mode": "clip", "min_score": 0.5}],
                        "upper_bounds": [{"mode": "ignore"}, {"max_score": 0.9}],
                    },
                },
                "combination": {"technique": "arithmetic_mean", "parameters": {"weights": [0.6, 0.4]}},
            }
        }
    ],
    "response_processors": [{"hybrid_score_explanation": {}}],
}
RRF_BODY = {
    "phase_results_processors": [
        {"score-ranker-processor": {"combination": {"technique": "rrf", "rank_constant": 40,
                                                    "parameters": {"weights": [0.3, 0.7]}}}}
    ]
}


def test_parse_normalization_processor_with_bounds():
    p = parse_pipeline(NORM_BODY)
    assert p.normalization == "min_max" and p.combination == "arithmetic_mean"
    assert p.weights == (0.6, 0.4)
    assert p.lower_bounds == (ScoreBound("apply", 0.1), ScoreBound("clip", 0.5))
    # missing mode → apply; missing max_score → 1.0 (neural-search defaults)
    assert p.upper_bounds == (ScoreBound("ignore", 1.0), ScoreBound("apply", 0.9))
    assert p.explanation and p.processor == "normalization-processor"


def test_parse_score_ranker():
    p = parse_pipeline(RRF_BODY)
    assert (p.normalization, p.combination, p.rank_constant, p.weights) == ("rrf", "rrf", 40, (0.3, 0.7))
    assert parse_pipeline({"phase_results_processors": [{"score-ranker-processor": {"combination": {"technique": "rrf"}}}]}).rank_constant == 60


def test_defaults_and_round_trip():
    p = default_pipeline()
    assert (p.normalization, p.combination, p.weights) == ("min_max", "arithmetic_mean", (0.7, 0.3))
    for pipeline in (p, parse_pipeline(NORM_BODY), parse_pipeline(RRF_BODY),
                     HybridPipeline("z_score", "arithmetic_mean")):
        assert parse_pipeline(json.loads(json.dumps(pipeline_body(pipeline)))) == pipeline
    # technique omitted → min_max + arithmetic_mean with 1.0 weights
    bare = parse_pipeline({"phase_results_processors": [{"normalization-processor": {}}]})
    assert (bare.normalization, bare.combination, bare.weights) == ("min_max", "arithmetic_mean", None)


def _norm(normalization=None, combination=None):
    proc = {}
    if normalization is not None:
        proc["normalization"] = normalization
    if combination is not None:
        proc["combination"] = combination
    return {"phase_results_processors": [{"normalization-processor": proc}]}


@pytest.mark.parametrize(
    "body,n,message",
    [
        (_norm({"technique": "softmax"}), 2, "normalization technique \\[softmax\\]"),
        (_norm(combination={"technique": "median"}), 2, "combination technique \\[median\\]"),
        (_norm(combination={"technique": "arithmetic_mean", "parameters": {"weights": [0.5, 0.6]}}), 2, "sum of weights"),
        (_norm(combination={"technique": "arithmetic_mean", "parameters": {"weights": [0.5, 0.25, 0.25]}}), 2,
         "number of weights \\[3\\]"),
        (_norm(combination={"parameters": {"weights": [1.5, -0.5]}}), 2, "range"),
        (_norm({"technique": "z_score"}, {"technique": "geometric_mean"}), 2, "z_score"),
        (_norm(), 6, "1 to 5 sub-queries"),
        (_norm({"technique": "min_max", "parameters": {"lower_bounds": [{"min_score": 10001}, {"min_score": 0}]}}), 2,
         "between"),
        (_norm({"technique": "min_max", "parameters": {"lower_bounds": [{"mode": "floor"}, {}]}}), 2, "invalid bound mode"),
        (_norm({"technique": "min_max", "parameters": {"lower_bounds": [{"min_score": 0.1}]}}), 2, "2 elements"),
        (_norm({"technique": "min_max", "parameters": {"lower_bounds": [{}] * 6}}), 6, "less than or equal to 5"),
        (_norm({"technique": "l2", "parameters": {"lower_bounds": []}}), 2, "unknown parameter"),
        (_norm({"technique": "min_max", "parameters": {"bounds": []}}), 2, "unknown parameter \\[bounds\\]"),
        (_norm(combination={"parameters": {"weight": [0.5, 0.5]}}), 2, "unknown parameter \\[weight\\]"),
        ({"phase_results_processors": [{"score-ranker-processor": {"combination": {"technique": "rrf",
                                                                                   "rank_constant": 0}}}]}, 2,
         "rank constant"),
        ({"phase_results_processors": [{"score-ranker-processor": {"combination": {"technique": "min_max"}}}]}, 2,
         "not supported"),
        ({"phase_results_processors": [{"rerank": {}}]}, 2, "unknown phase results processor"),
        ({"phase_results_processors": []}, 2, "exactly one"),
        ({**_norm(), "response_processors": [{"rename_field": {}}]}, 2, "not supported by the embedded engine"),
        ({**_norm(), "request_processors": [{"filter_query": {}}]}, 2, "request_processors"),
        ([], 2, "JSON object"),
    ],
)
def test_rejects_what_opensearch_rejects(body, n, message):
    with pytest.raises(InputError, match=message):
        parse_pipeline(body, n_subqueries=n)


def test_load_pipeline_names_file_and_line(tmp_path):
    good = tmp_path / "p.json"
    good.write_text(json.dumps(RRF_BODY))
    assert load_pipeline(good).rank_constant == 40
    bad = tmp_path / "bad.json"
    bad.write_text('{\n  "phase_results_processors": [\n    {oops}\n  ]\n}\n')
    with pytest.raises(InputError) as err:
        load_pipeline(bad)
    assert str(err.value).startswith(f"{bad}:3: malformed JSON")
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps(_norm({"technique": "softmax"})))
    with pytest.raises(InputError, match="wrong.json: provided normalization technique"):
        load_pipeline(wrong)
    with pytest.raises(InputError, match="cannot read"):
        load_pipeline(tmp_path / "missing.json")
