"""Mustache templates: hostile query strings cannot break or inject JSON (checked with mrs's renderer AND with
chevron, an independent mustache implementation); render from calibration; install + _render/template check.

Docs: search-plugins/search-template ("Convert to JSON": {{#toJson}}var{{/toJson}}), mustache(5) manual.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from fakes.mustache import chevron_render
from mrs.blending.deployment import deployment_from_dict as calibration_from_dict
from mrs.cluster.mustache import render_json, render_mustache
from mrs.errors import InputError
from mrs.opensearch.mapping import IndexSpec
from mrs.opensearch.pipelines import normalization_pipeline
from mrs.opensearch.templates import (
    dense_template,
    hybrid_template,
    install_set,
    lexical_template,
    radial_template,
    read_set,
    render_set,
    write_set,
)

HOSTILE = [
    'say "hello"',
    "back\\slash \\\" \\u0000",
    "close }} the {{template}} {{/toJson}} early",
    '"}}, "size": 10000, "x": {"',
    '", "query": {"match_all": {}}, "y": "',
    "line\nbreak\ttab\r",
    "unicode: café 中文 🙂 \u2028",
    "",
]

SPEC = IndexSpec(dimension=4, text_fields={"title": 3.0, "brand": 2.0, "description": 1.0})


def params(text, **extra):
    return {"query_text": text, "query_vector": [0.1, -0.2, 0.3, 0.4], "k": 7, "size": 5, **extra}


@pytest.mark.parametrize("text", HOSTILE)
@pytest.mark.parametrize("renderer", ["mrs", "chevron"])
def test_hostile_query_text_round_trips_in_lexical_and_hybrid(text, renderer):
    render = render_json if renderer == "mrs" else chevron_render
    lexical = render(lexical_template(SPEC), params(text))
    mm = lexical["query"]["multi_match"]
    assert mm["query"] == text  # exactly the user's text, as one JSON string
    assert set(lexical) == {"size", "_source", "query"} and set(lexical["query"]) == {"multi_match"}
    assert mm["fields"] == ["title^3", "brand^2", "description"] and lexical["size"] == "5"  # coerced by OpenSearch
    hybrid = render(hybrid_template(SPEC, pagination_depth=50), params(text))
    queries = hybrid["query"]["hybrid"]["queries"]
    assert queries[0]["multi_match"]["query"] == text
    assert queries[1]["knn"]["embedding"] == {"vector": [0.1, -0.2, 0.3, 0.4], "k": "7"}
    assert hybrid["query"]["hybrid"]["pagination_depth"] == 50


@pytest.mark.parametrize("renderer", ["mrs", "chevron"])
def test_dense_templates_with_and_without_filter(renderer):
    render = render_json if renderer == "mrs" else chevron_render
    flt = {"bool": {"filter": [{"term": {"brand.keyword": 'Ac"me'}}]}}
    with_filter = render(dense_template(SPEC), params("", has_filter=True, filter=flt))
    assert with_filter["query"]["knn"]["embedding"] == {"vector": [0.1, -0.2, 0.3, 0.4], "k": "7", "filter": flt}
    without = render(dense_template(SPEC), params("", has_filter=False))
    assert without["query"]["knn"]["embedding"] == {"vector": [0.1, -0.2, 0.3, 0.4], "k": "7"}
    radial = render(radial_template(SPEC, 0.8125), params("", has_filter=False))
    assert radial["query"]["knn"]["embedding"] == {"vector": [0.1, -0.2, 0.3, 0.4], "min_score": 0.8125}


def test_a_string_where_a_number_belongs_stays_a_string():
    # k given as an injection attempt renders as a JSON string (OpenSearch rejects it), never as structure
    out = render_json(dense_template(SPEC), params("", k='7, "min_score": 0', has_filter=False))
    assert out["query"]["knn"]["embedding"]["k"] == '7, "min_score": 0'
    assert "min_score" not in out["query"]["knn"]["embedding"]


@pytest.mark.parametrize("renderer", ["mrs", "chevron"])
def test_to_json_on_a_string_would_be_an_injection(renderer):
    """Why the query text goes in as "{{query_text}}" and not through toJson: OpenSearch's toJson writes a
    plain string raw, so a crafted query rewrites the request."""
    render = render_json if renderer == "mrs" else chevron_render
    unsafe = '{"size": 10, "query": {"match": {"title": {{#toJson}}q{{/toJson}}}}}'
    attack = '"x"}}, "size": 10000, "aggs": {"a": {"terms": {"field": "brand.keyword"'
    out = render(unsafe, {"q": attack + "}"})  # the template's own }}} close the rest
    assert out["size"] == 10000 and "aggs" in out  # injected
    with pytest.raises((InputError, json.JSONDecodeError)):
        render(unsafe, {"q": 'say "hi"'})  # and ordinary quotes break it
    safe = render(lexical_template(SPEC), params(attack + "}"))
    assert safe["query"]["multi_match"]["query"] == attack + "}" and safe["size"] == "5"


def test_renderer_basics_match_mustache_semantics():
    assert render_mustache('{"a": "{{x}}"}', {"x": 'q"\\'}) == '{"a": "q\\"\\\\"}'  # {{var}} is JSON-escaped
    assert render_mustache("{{#xs}}[{{.}}]{{/xs}}", {"xs": [1, 2]}) == "[1][2]"
    assert render_mustache("{{^missing}}default{{/missing}}", {}) == "default"
    assert render_mustache("{{#join}}xs{{/join}}", {"xs": ["a", "b"]}) == "a,b"
    with pytest.raises(InputError, match="not closed"):
        render_mustache("{{#a}}x", {})


def calibration():
    return calibration_from_dict({
        "model": {"dimension": 4},
        "thresholds": {"dense": {"exact": {"threshold": 0.82}, "Sub Stitute": {"threshold": 0.74}}},
        "blend": {"pipeline": normalization_pipeline("min_max", "arithmetic_mean", [0.6, 0.4],
                                                     lower_bounds=[{"mode": "clip", "min_score": 0.0}, None])},
    }, source="calibration.json")


def test_rendered_pipelines_answer_explain_and_rrf_has_its_own_weights():
    """Issue 16 item 9: both deployed pipelines carry the hybrid_score_explanation response processor (an
    explain=true search needs it, docs/opensearch.md), also when the calibrated blend body lacks it; RRF
    deploys calibrate's best RRF configuration, not the z_score/min_max winner's weights."""
    blend = {"description": "mrs calibrate: z_score", "phase_results_processors": [{"normalization-processor": {
        "normalization": {"technique": "z_score"},
        "combination": {"technique": "arithmetic_mean", "parameters": {"weights": [0.4, 0.6]}}}}]}
    rrf_best = {"description": "mrs calibrate: rrf k=20", "phase_results_processors": [{"score-ranker-processor": {
        "combination": {"technique": "rrf", "rank_constant": 20, "parameters": {"weights": [0.3, 0.7]}}}}]}
    cal = calibration_from_dict({"model": {"dimension": 4},
                                 "blend": {"pipeline": blend, "rrf_best": {"pipeline": rrf_best}}})
    rendered = render_set(cal, SPEC)
    for name in ("mrs-hybrid", "mrs-hybrid-rrf"):
        assert rendered.pipelines[name]["response_processors"] == [{"hybrid_score_explanation": {}}], name
    assert rendered.pipelines["mrs-hybrid"]["phase_results_processors"] == blend["phase_results_processors"]
    assert rendered.pipelines["mrs-hybrid-rrf"]["phase_results_processors"] == rrf_best["phase_results_processors"]
    again = render_set(cal, SPEC, rank_constant=90)  # an explicit --rank-constant keeps the calibrated weights
    comb = again.pipelines["mrs-hybrid-rrf"]["phase_results_processors"][0]["score-ranker-processor"]["combination"]
    assert comb == {"technique": "rrf", "rank_constant": 90, "parameters": {"weights": [0.3, 0.7]}}


def test_render_set_from_calibration(tmp_path):
    rendered = render_set(calibration(), SPEC, pagination_depth=80, rank_constant=40)
    assert rendered.pipelines["mrs-hybrid"] == calibration().pipeline
    rrf = rendered.pipelines["mrs-hybrid-rrf"]["phase_results_processors"][0]["score-ranker-processor"]
    # no calibrated RRF in this calibration: equal weights (OpenSearch's default), never the blend's 0.6/0.4
    assert rrf == {"combination": {"technique": "rrf", "rank_constant": 40}}
    assert sorted(rendered.templates) == ["mrs-dense", "mrs-dense-min-exact", "mrs-dense-min-sub-stitute",
                                          "mrs-hybrid", "mrs-lexical"]
    radial = render_json(rendered.templates["mrs-dense-min-exact"], params("", has_filter=False))
    assert radial["query"]["knn"]["embedding"]["min_score"] == 0.82
    files = write_set(rendered, tmp_path)
    assert (tmp_path / "templates" / "mrs-lexical.json").exists() and len(files) == 1 + 2 + 5 + 1
    stored = json.loads((tmp_path / "templates" / "mrs-hybrid.json").read_text())
    assert stored["script"]["lang"] == "mustache"
    again = read_set(tmp_path)
    assert again.templates == rendered.templates and again.pipelines == rendered.pipelines
    # the releases each pipeline needs, from the technique registry; the shard note beside the mapping
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["requires"] == {"mrs-hybrid": ["needs OpenSearch ≥ 2.10 (normalization-processor)"],
                                    # equal weights (no calibrated RRF): plain RRF, no [weights]
                                    "mrs-hybrid-rrf": ["rrf needs OpenSearch ≥ 2.19 (score-ranker-processor)"]}
    assert manifest["scoring"][0].startswith("BM25 idf and avgdl are per shard")


def test_render_set_rejects_a_dimension_mismatch():
    with pytest.raises(InputError, match="4-d vectors, index has 8"):
        render_set(calibration(), IndexSpec(dimension=8))


def test_install_puts_everything_and_checks_with_render_template(cluster):
    rendered = render_set(calibration(), SPEC)
    result = install_set(cluster.client(), rendered, SPEC.dimension)
    assert set(cluster.pipelines) == {"mrs-hybrid", "mrs-hybrid-rrf"}
    assert set(cluster.scripts) == set(rendered.templates)
    assert result["checked"] == len(rendered.templates)
    puts = [p for m, p, *_ in cluster.requests if m == "PUT"]
    assert "/_search/pipeline/mrs-hybrid" in puts and "/_scripts/mrs-lexical" in puts
    renders = [p for m, p, *_ in cluster.requests if p.startswith("/_render/template/")]
    assert len(renders) == len(rendered.templates)


def test_install_fails_when_the_cluster_mangles_the_query(cluster):
    rendered = render_set(calibration(), SPEC)
    cluster.render = lambda template_id, prm: {"query": {"multi_match": {"query": "mangled"}}}
    with pytest.raises(InputError, match="rendered the query text differently"):
        install_set(cluster.client(), rendered, SPEC.dimension)


def test_cli_render_without_calibration_uses_defaults(tmp_path):
    from mrs.cli.main import cli

    r = CliRunner().invoke(cli, ["templates", "render", "--dimension", "384", "--out", str(tmp_path), "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["templates"] == ["mrs-dense", "mrs-hybrid", "mrs-lexical"] and out["radial_levels"] == {}
    pipe = json.loads((tmp_path / "pipelines" / "mrs-hybrid.json").read_text())
    comb = pipe["phase_results_processors"][0]["normalization-processor"]["combination"]
    assert comb == {"technique": "arithmetic_mean", "parameters": {"weights": [0.7, 0.3]}}
    index = json.loads((tmp_path / "index.json").read_text())
    assert index["mappings"]["properties"]["embedding"]["dimension"] == 384


def test_cli_render_bad_calibration_exits_2(tmp_path):
    from mrs.cli.main import cli

    cal = tmp_path / "calibration.json"
    cal.write_text('{"index": {"space_type": "l2"}, "model": {"dimension": 4}}')
    r = CliRunner().invoke(cli, ["templates", "render", "--calibration", str(cal), "--space", "cosinesimil",
                                 "--out", str(tmp_path / "o")])
    assert r.exit_code == 2 and "l2 scores" in r.output


def test_cli_install_puts_and_checks(tmp_path, cluster, monkeypatch):
    from mrs.cli import templates as templates_cli
    from mrs.cli.main import cli
    from mrs.opensearch.connection import settings_from_env

    out_dir = tmp_path / "os"
    runner = CliRunner()
    assert runner.invoke(cli, ["templates", "render", "--dimension", "4", "--out", str(out_dir)]).exit_code == 0
    monkeypatch.setattr(templates_cli, "cluster_client",
                        lambda opts: (cluster.client(), settings_from_env("http://fake:9200", env={})))
    r = runner.invoke(cli, ["templates", "install", str(out_dir), "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["checked"] == 3 and out["pipelines"] == ["mrs-hybrid", "mrs-hybrid-rrf"]
    assert set(cluster.scripts) == {"mrs-lexical", "mrs-dense", "mrs-hybrid"}
    cluster.fault("PUT", "/_search/pipeline/*", [500])
    r = runner.invoke(cli, ["templates", "install", str(out_dir)])
    assert r.exit_code == 1 and "cluster error" in r.output and "HTTP 500" in r.output


ATTR_SPEC = IndexSpec(dimension=4, text_fields={"title": 3.0, "brand": 2.0},
                      attributes={"brand": "keyword", "category": "path", "price": "numeric"})


@pytest.mark.parametrize("text", HOSTILE)
@pytest.mark.parametrize("renderer", ["mrs", "chevron"])
def test_every_template_takes_a_filter_with_hostile_values(text, renderer):
    from mrs.engine.filters import cluster_filter

    render = render_json if renderer == "mrs" else chevron_render
    flt = cluster_filter({"bool": {"filter": [{"term": {"brand": text}}, {"range": {"price": {"lte": 60}}}],
                                   "must_not": [{"prefix": {"category_path": text}}]}}, ATTR_SPEC.attributes)
    assert flt["bool"]["filter"][0] == {"term": {"attr.brand": text}}
    p = params(text, has_filter=True, filter=flt)
    lexical = render(lexical_template(ATTR_SPEC), p)["query"]
    assert lexical["bool"]["filter"] == [flt] and lexical["bool"]["must"][0]["multi_match"]["query"] == text
    hybrid = render(hybrid_template(ATTR_SPEC, pagination_depth=50), p)["query"]["hybrid"]["queries"]
    assert hybrid[0]["bool"]["filter"] == [flt] and hybrid[1]["knn"]["embedding"]["filter"] == flt
    assert render(dense_template(ATTR_SPEC), p)["query"]["knn"]["embedding"]["filter"] == flt
    assert render(radial_template(ATTR_SPEC, 0.8), p)["query"]["knn"]["embedding"]["filter"] == flt
    unfiltered = render(hybrid_template(ATTR_SPEC), params(text, has_filter=False))["query"]["hybrid"]["queries"]
    assert set(unfiltered[0]) == {"multi_match"} and "filter" not in unfiltered[1]["knn"]["embedding"]


def test_filtered_templates_send_what_the_backend_sends():
    """A filtered hybrid search through the template is the request OpenSearchBackend builds itself."""
    from mrs.opensearch.backend import OpenSearchBackend

    backend = OpenSearchBackend(None, "shop", ATTR_SPEC, pipeline="mrs-hybrid")
    where = {"bool": {"filter": [{"term": {"brand": "Acme"}}, {"range": {"price": {"gt": 5}}}]}}
    body, _ = backend.hybrid_body("red shirt", [0.1, -0.2, 0.3, 0.4], 7, filter=where)
    p = params("red shirt", has_filter=True, filter=backend.filter_dsl(where))
    templated = render_json(hybrid_template(ATTR_SPEC, pagination_depth=7), p)
    sent = body["query"]["hybrid"]["queries"]
    rendered = templated["query"]["hybrid"]["queries"]
    assert rendered[0]["bool"]["filter"] == sent[0]["bool"]["filter"]
    assert rendered[0]["bool"]["must"][0]["multi_match"]["query"] == sent[0]["bool"]["must"][0]["multi_match"]["query"]
    assert rendered[1]["knn"]["embedding"]["filter"] == sent[1]["knn"]["embedding"]["filter"]
    # the deployable set maps the attributes and its hostile render check covers the filter too
    rendered_set = render_set(calibration_from_dict({}, None), ATTR_SPEC)
    assert rendered_set.index["mappings"]["properties"]["attr"]["properties"]["category_path"] == {"type": "keyword"}
