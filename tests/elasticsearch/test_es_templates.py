"""Elasticsearch search templates: hostile query strings round-trip through both mrs's renderer and chevron
configured as Elasticsearch's mustache (JSON-escaped {{var}}, toJson raw for scalars); calibrated thresholds
become raw knn similarities; calibrated weights become linear-retriever weights; set written, read, installed."""

from __future__ import annotations

import json

import pytest

from fakes.mustache import chevron_render
from mrs.blending.deployment import deployment_from_dict as calibration_from_dict
from mrs.cluster.mustache import render_json
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


def _entry(name, normalization, combination, weights, train, bounds=None):
    norm = {"technique": normalization}
    if bounds:
        norm["parameters"] = {"lower_bounds": bounds}
    return {"name": name, "train": train, "dev": None, "family": name.split(" w=")[0], "pipeline": {
        "description": f"mrs calibrate: {name}", "phase_results_processors": [{"normalization-processor": {
            "normalization": norm, "combination": {"technique": combination,
                                                   "parameters": {"weights": weights}}}}]}}


def test_opensearch_calibration_deploys_the_best_expressible_ranked_blend(tmp_path):
    ranking = [
        _entry("z_score+arithmetic_mean w=[0.4,0.6]", "z_score", "arithmetic_mean", [0.4, 0.6], 0.92),
        _entry("min_max[lb]+arithmetic_mean w=[0.3,0.7]", "min_max", "arithmetic_mean", [0.3, 0.7], 0.91,
               [{"mode": "ignore"}, {"mode": "apply", "min_score": 0.8}]),
        _entry("min_max+geometric_mean w=[0.5,0.5]", "min_max", "geometric_mean", [0.5, 0.5], 0.90),
        _entry("l2+arithmetic_mean w=[0.2,0.8]", "l2", "arithmetic_mean", [0.2, 0.8], 0.89),
        _entry("min_max+arithmetic_mean w=[0.6,0.4]", "min_max", "arithmetic_mean", [0.6, 0.4], 0.88),
    ]
    data = {"blend": {"pipeline": ranking[0]["pipeline"], "ranking": ranking, "target": "opensearch"}}
    rs = render_set(calibration_from_dict(data), SPEC)
    # #1 z_score, #2 bounds, #3 geometric are not Elasticsearch's; #4 l2 + arithmetic_mean is
    assert rs.blend["substituted"] is True and rs.blend["ranking_position"] == 4
    assert rs.blend["deployed"] == "l2+arithmetic_mean w=[0.2,0.8]"
    assert "no z_score normalizer" in rs.blend["reason"] and rs.blend["fitted_for"] == "opensearch"
    linear = rs.retrievers["linear"]["linear"]["retrievers"]
    assert [(r["normalizer"], r["weight"]) for r in linear] == [("l2_norm", 0.2), ("l2_norm", 0.8)]
    write_set(rs, tmp_path / "es")
    assert json.loads((tmp_path / "es" / "manifest.json").read_text())["blend"] == rs.blend
    assert read_set(tmp_path / "es").blend == rs.blend
    # without a ranking there is nothing measured to fall back to: one line saying what to do
    with pytest.raises(InputError, match="re-run `mrs calibrate --target elasticsearch`"):
        render_set(calibration_from_dict({"blend": {"pipeline": ranking[0]["pipeline"]}}), SPEC)


def test_weighted_rrf_calibration_deploys_weighted_rrf_and_the_best_linear():
    rrf_pipeline = {"description": "mrs calibrate: rrf k=20 w=[0.7,0.3]", "phase_results_processors": [
        {"score-ranker-processor": {"combination": {"technique": "rrf", "rank_constant": 20,
                                                    "parameters": {"weights": [0.7, 0.3]}}}}]}
    ranking = [{"name": "rrf k=20 w=[0.7,0.3]", "train": 0.9, "dev": None, "pipeline": rrf_pipeline},
               _entry("min_max+arithmetic_mean w=[0.4,0.6]", "min_max", "arithmetic_mean", [0.4, 0.6], 0.8)]
    rs = render_set(calibration_from_dict({"blend": {"pipeline": rrf_pipeline, "ranking": ranking}}), SPEC)
    assert rs.blend["substituted"] is False
    rrf = render_json(rs.templates[RRF_TEMPLATE], sample_params(SPEC))["retriever"]["rrf"]
    assert [r["weight"] for r in rrf["retrievers"]] == [0.7, 0.3] and rrf["rank_constant"] == 20
    assert "standard" in rrf["retrievers"][0]["retriever"] and "knn" in rrf["retrievers"][1]["retriever"]
    assert "weighted rrf needs Elasticsearch ≥ 9.2 (rrf retriever [weight])" in rs.blend["notes"]
    linear = rs.retrievers["linear"]["linear"]["retrievers"]
    assert [(r["normalizer"], r["weight"]) for r in linear] == [("minmax", 0.4), ("minmax", 0.6)]


def test_cli_says_on_stderr_when_it_substitutes(tmp_path):
    from click.testing import CliRunner

    from mrs.cli.main import cli

    ranking = [_entry("z_score+arithmetic_mean w=[0.4,0.6]", "z_score", "arithmetic_mean", [0.4, 0.6], 0.92),
               _entry("min_max+arithmetic_mean w=[0.2,0.8]", "min_max", "arithmetic_mean", [0.2, 0.8], 0.91)]
    cal = tmp_path / "cal.json"
    cal.write_text(json.dumps({"blend": {"pipeline": ranking[0]["pipeline"], "ranking": ranking}}))
    result = CliRunner().invoke(cli, ["templates", "render", "--target", "elasticsearch", "--calibration", str(cal),
                                      "--dimension", "4", "--out", str(tmp_path / "es"), "--json"])
    assert result.exit_code == 0, result.output
    assert "deploying the best Elasticsearch-expressible configuration of the calibration's ranking (#2): " \
           "min_max+arithmetic_mean w=[0.2,0.8]" in " ".join(result.stderr.split())
    assert json.loads(result.stdout)["blend"]["deployed"] == "min_max+arithmetic_mean w=[0.2,0.8]"


def test_manifest_says_scores_match_only_on_one_shard(tmp_path):
    from mrs.cluster.mapping import shard_notes

    rs = rendered_set()
    write_set(rs, tmp_path / "es")
    scoring = json.loads((tmp_path / "es" / "manifest.json").read_text())["scoring"]
    assert rs.index["settings"]["index"]["number_of_shards"] == 1
    assert scoring == ["BM25 idf and avgdl are per shard: lexical scores, the calibrated thresholds and the blend "
                       "equal the embedded engine's only on one shard (number_of_shards: 1, as rendered)"]
    three = shard_notes(3)
    assert three[0].startswith("warning: number_of_shards 3") and "rejects search_type=dfs_query_then_fetch" in three[0]
    assert "dfs_query_then_fetch, which makes term and field statistics global" in shard_notes(2, "elasticsearch")[0]


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
