"""Elasticsearch search templates: hostile query strings round-trip through both mrs's renderer and chevron
configured as Elasticsearch's mustache (JSON-escaped {{var}}, toJson raw for scalars); calibrated thresholds
become raw knn similarities; calibrated weights become linear-retriever weights; set written, read, installed."""

from __future__ import annotations

import json

import pytest

from fakes.mustache import chevron_render
from mrs.elasticsearch.mapping import ElasticIndexSpec
from mrs.elasticsearch.templates import (
    KNN_MIN_PREFIX,
    LINEAR_TEMPLATE,
    RRF_TEMPLATE,
    install_set,
    read_set,
    render_set,
    sample_params,
    write_set,
)
from mrs.errors import InputError
from mrs.opensearch.pipelines import calibration_from_dict
from mrs.opensearch.templates import render_json

SPEC = ElasticIndexSpec(dimension=4, text_fields={"title": 3.0, "brand": 2.0})
HOSTILE = [
    'plain red shirt',
    'quote " inside',
    'back\\slash \\" and \\\\',
    'braces }} {{query_text}} {{#toJson}}x{{/toJson}}',
    '", "boost": 1000, "x": "',
    'new\nline\ttab',
    'unicode é 中文 🧵',
    '</script><b>',
]
CALIBRATION = {"blend": {"pipeline": {"phase_results_processors": [{"normalization-processor": {
    "normalization": {"technique": "l2"},
    "combination": {"technique": "arithmetic_mean", "parameters": {"weights": [0.4, 0.6]}}}}]}},
    "thresholds": {"dense": {"exact": {"threshold": 0.8}, "substitute": {"threshold": 0.7}}},
    "index": {"space_type": "cosinesimil"}, "model": {"dimension": 4}}


def rendered_set():
    return render_set(calibration_from_dict(CALIBRATION, "cal.json"), SPEC, rank_window_size=50, rank_constant=20)


@pytest.mark.parametrize("text", HOSTILE)
@pytest.mark.parametrize("renderer", ["mrs", "chevron"])
def test_hostile_query_text_round_trips(text, renderer):
    render = render_json if renderer == "mrs" else chevron_render
    rs = rendered_set()
    params = {**sample_params(SPEC, text), "has_filter": False}  # with a filter: test_every_template_takes_a_filter
    lexical = render(rs.templates["mrs-lexical"], params)
    assert lexical["query"]["multi_match"]["query"] == text
    assert set(lexical["query"]["multi_match"]) == {"query", "type", "fields", "tie_breaker"}  # nothing injected
    for name in (LINEAR_TEMPLATE, RRF_TEMPLATE):
        out = render(rs.templates[name], params)
        (method, conf), = out["retriever"].items()
        first = conf["retrievers"][0]
        standard = first["retriever"]["standard"] if method == "linear" else first["standard"]
        assert standard["query"]["multi_match"]["query"] == text
        assert int(out["size"]) == 10


def test_tojson_on_a_string_would_inject():
    # Why the query text is "{{query_text}}": Elasticsearch's toJson writes a plain string raw.
    bad = '{"query": {"match": {"title": {{#toJson}}query_text{{/toJson}}}}}'
    with pytest.raises(json.JSONDecodeError):
        chevron_render(bad, {"query_text": "red shirt"})
    injected = chevron_render(bad, {"query_text": '"x"}}, "size": 9999, "a": {"b": {"c": "d"'})
    assert injected["size"] == 9999


@pytest.mark.parametrize("renderer", ["mrs", "chevron"])
def test_knn_templates_vector_filter_and_thresholds(renderer):
    render = render_json if renderer == "mrs" else chevron_render
    rs = rendered_set()
    params = sample_params(SPEC)
    knn = render(rs.templates["mrs-knn"], params)["knn"]
    assert knn["query_vector"] == [0.0, 0.0, 0.0, 1.0] and knn["filter"] == params["filter"]
    assert (int(knn["k"]), int(knn["num_candidates"])) == (10, 100)
    assert "similarity" not in knn
    # exact: cosinesimil 0.8 → cos 2·0.8 − 1 = 0.6; substitute: 0.7 → 0.4
    exact = render(rs.templates[KNN_MIN_PREFIX + "exact"], {**params, "has_filter": False})["knn"]
    assert exact["similarity"] == pytest.approx(0.6) and "filter" not in exact
    sub = render(rs.templates[KNN_MIN_PREFIX + "substitute"], params)["knn"]
    assert sub["similarity"] == pytest.approx(0.4)
    assert rs.knn_levels["exact"] == {"score_threshold": 0.8, "knn_similarity": pytest.approx(0.6)}


def test_linear_weights_and_normalizer_from_calibration():
    rs = rendered_set()
    out = render_json(rs.templates[LINEAR_TEMPLATE], sample_params(SPEC))
    linear = out["retriever"]["linear"]
    assert [(r["weight"], r["normalizer"]) for r in linear["retrievers"]] == [(0.4, "l2_norm"), (0.6, "l2_norm")]
    assert linear["rank_window_size"] == 50
    assert linear["retrievers"][1]["retriever"]["knn"]["k"] == 50
    rrf = render_json(rs.templates[RRF_TEMPLATE], sample_params(SPEC))["retriever"]["rrf"]
    assert (rrf["rank_constant"], rrf["rank_window_size"]) == (20, 50)
    assert rs.retrievers["linear"]["linear"]["retrievers"][0] == {"retriever": "lexical", "weight": 0.4,
                                                                   "normalizer": "l2_norm"}


def test_l2_index_thresholds_are_distances():
    spec = ElasticIndexSpec(dimension=4, space_type="l2")
    cal = calibration_from_dict({"thresholds": {"dense": {"exact": {"threshold": 0.2}}},
                                 "index": {"space_type": "l2"}})
    rs = render_set(cal, spec)
    # l2 score 0.2 = 1/(1 + d²) → d² = 4 → the knn similarity is the distance 2
    assert rs.knn_levels["exact"]["knn_similarity"] == pytest.approx(2.0)


def test_unsupported_blends_are_refused_with_the_file():
    cal = calibration_from_dict({"blend": {"pipeline": {"phase_results_processors": [{"normalization-processor": {
        "normalization": {"technique": "z_score"}, "combination": {"technique": "arithmetic_mean"}}}]}}},
        "cal.json")
    with pytest.raises(InputError, match="z_score") as err:
        render_set(cal, SPEC)
    assert "cal.json" in str(err.value)
    with pytest.raises(InputError, match="cosinesimil"):
        render_set(calibration_from_dict({"index": {"space_type": "l2"}}), SPEC)


def test_write_read_install(es, tmp_path):
    rs = rendered_set()
    paths = write_set(rs, tmp_path / "es")
    assert (tmp_path / "es" / "templates" / "mrs-hybrid-linear.json").exists()
    assert json.loads((tmp_path / "es" / "templates" / "mrs-lexical.json").read_text())["script"]["lang"] == "mustache"
    back = read_set(tmp_path / "es")
    assert back.templates == rs.templates and back.retrievers == rs.retrievers
    result = install_set(es.client(), back, SPEC.dimension)
    assert result["checked"] == len(rs.templates) and sorted(es.scripts) == sorted(rs.templates)
    assert any(m == "POST" and p.startswith("/_render/template/") for m, p, _ in es.requests)
    assert len(paths) == 1 + len(rs.templates) + len(rs.retrievers) + 1


def test_cli_render_target_elasticsearch(tmp_path):
    from click.testing import CliRunner

    from mrs.cli.main import cli

    cal = tmp_path / "cal.json"
    cal.write_text(json.dumps(CALIBRATION))
    result = CliRunner().invoke(cli, ["templates", "render", "--target", "elasticsearch", "--calibration", str(cal),
                                      "--dimension", "4", "--fields", "title^3,brand^2", "--out",
                                      str(tmp_path / "es"), "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["target"] == "elasticsearch" and "mrs-knn-min-exact" in out["templates"]
    assert out["knn_levels"]["exact"]["knn_similarity"] == pytest.approx(0.6)
    bad = CliRunner().invoke(cli, ["templates", "render", "--target", "elasticsearch", "--dimension", "4",
                                   "--index-options", "bbq_hnsw", "--out", str(tmp_path / "x")])
    assert bad.exit_code == 2 and "dims ≥ 64" in bad.output


ATTR_SPEC = ElasticIndexSpec(dimension=4, text_fields={"title": 3.0, "brand": 2.0},
                             attributes={"brand": "keyword", "in_stock": "boolean", "price": "numeric"})


@pytest.mark.parametrize("text", HOSTILE)
@pytest.mark.parametrize("renderer", ["mrs", "chevron"])
def test_every_template_takes_a_filter_with_hostile_values(text, renderer):
    from mrs.engine.filters import cluster_filter

    render = render_json if renderer == "mrs" else chevron_render
    rendered = render_set(calibration_from_dict(CALIBRATION, "cal.json"), ATTR_SPEC, rank_window_size=50)
    flt = cluster_filter([{"term": {"brand": text}}, {"term": {"in_stock": True}}], ATTR_SPEC.attributes)
    p = {**sample_params(ATTR_SPEC, text), "filter": flt}
    lexical = render(rendered.templates["mrs-lexical"], p)["query"]["bool"]
    assert lexical["filter"] == [flt] and lexical["must"][0]["multi_match"]["query"] == text
    assert render(rendered.templates["mrs-knn"], p)["knn"]["filter"] == flt
    for name in (LINEAR_TEMPLATE, RRF_TEMPLATE):
        retriever = render(rendered.templates[name], p)["retriever"]
        (kind, body), = retriever.items()
        subs = [r["retriever"] if "retriever" in r else r for r in body["retrievers"]]
        standard = next(s["standard"] for s in subs if "standard" in s)
        knn = next(s["knn"] for s in subs if "knn" in s)
        assert standard["query"]["bool"]["filter"] == [flt] and knn["filter"] == flt
    unfiltered = render(rendered.templates["mrs-lexical"], {**p, "has_filter": False})["query"]
    assert set(unfiltered) == {"multi_match"}
    assert rendered.index["mappings"]["properties"]["attr"]["properties"]["in_stock"] == {"type": "boolean"}
