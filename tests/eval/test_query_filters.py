"""Per-query filters in the queries file: read (JSONL field, TSV column), checked against the index with the file
and line on an error, and applied by `mrs eval`'s retrieval and `mrs calibrate`'s candidate collection."""

from __future__ import annotations

import json

import pytest

from fakes.filter_catalog import CATALOG, TableEncoder
from mrs.blending.candidates import collect
from mrs.data.judgments import Judgment, JudgmentSet
from mrs.data.query_filters import read_query_filters
from mrs.engine.engine import EmbeddedEngine
from mrs.errors import InputError
from mrs.eval.harness import EvalConfig, check_query_filters, evaluate_backend
from mrs.eval.runs import parse_modes


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    index_dir = tmp_path_factory.mktemp("qf") / "index"
    EmbeddedEngine.build(index_dir, CATALOG, encoder=TableEncoder(), template="{title}", fields={"title": 1.0})
    return EmbeddedEngine.open(index_dir)


def judgments() -> JudgmentSet:
    js = JudgmentSet()
    for pid, grade in (("p1", 3), ("p3", 2), ("p5", 1), ("p2", 0)):
        js.add(Judgment("q-red", "red", pid, grade))
    for pid, grade in (("p1", 3), ("p2", 3), ("p4", 0)):
        js.add(Judgment("q-shirt", "shirt", pid, grade))
    return js


def test_read_filters_from_jsonl_and_tsv(tmp_path):
    jsonl = tmp_path / "queries.jsonl"
    jsonl.write_text("\n".join(json.dumps(r) for r in [
        {"query_id": "q-red", "user_query": "red", "filter": {"term": {"in_stock": True}}},
        {"query_id": "q-shirt", "user_query": "shirt"},
        {"query_id": "q-x", "user_query": "x", "filter": '[{"term": {"brand": "Acme"}}]'},
    ]) + "\n")
    assert read_query_filters(jsonl) == {"q-red": ({"term": {"in_stock": True}}, 1),
                                         "q-x": ([{"term": {"brand": "Acme"}}], 3)}
    tsv = tmp_path / "queries.tsv"
    tsv.write_text('query_id\tquery\tfilter\nq-red\tred\t{"range": {"price": {"lte": 60}}}\nq-shirt\tshirt\t\n')
    assert read_query_filters(tsv) == {"q-red": ({"range": {"price": {"lte": 60}}}, 2)}
    tsv.write_text('query_id\tquery\tfilter\nq-red\tred\t{"range": \n')
    with pytest.raises(InputError, match=r"queries.tsv:2: the filter is not valid JSON"):
        read_query_filters(tsv)


def test_bad_filter_names_the_file_line_and_query(engine):
    with pytest.raises(InputError, match=r"^q.jsonl:7: query 'q-red': filter: unknown field 'size'"):
        check_query_filters(engine, {"q-red": ({"term": {"size": "M"}}, 7)}, "q.jsonl")


def test_eval_runs_each_query_with_its_filter(engine):
    filters = check_query_filters(engine, {"q-red": ({"term": {"in_stock": True}}, 1)})
    config = EvalConfig(k=10)
    report, retrieved = evaluate_backend(engine, TableEncoder(), judgments(), parse_modes("lexical,dense"), config,
                                         filters=filters)
    # q-red filtered to in-stock products (p1, p3, p4): lexical matches p1, p3 only; dense returns p1, p3, p4
    assert [h.id for h in retrieved["lexical"].hits["q-red"]] == ["p1", "p3"]
    assert [h.id for h in retrieved["dense"].hits["q-red"]] == ["p1", "p3", "p4"]
    # q-shirt has no filter: every product the query reaches
    assert [h.id for h in retrieved["dense"].hits["q-shirt"]] == ["p1", "p2", "p3", "p4", "p5"]
    # judged p5 and p2 of q-red are outside its filter
    assert report["coverage"]["queries_filtered"] == 1 and report["coverage"]["judged_pairs_outside_filter"] == 2
    assert any("outside their query's filter" in w for w in report["warnings"])


def test_calibration_candidates_come_from_filtered_sub_queries(engine):
    js = judgments()
    vectors = {q: TableEncoder().encode_query(t) for q, t in js.queries().items()}
    candidates, pairs = collect(engine, js, vectors, 10, filters={"q-red": engine.parse_filter(
        {"term": {"brand": "Acme"}})})
    red = next(c for c in candidates if c.query_id == "q-red")
    assert set(red.ids) == {"p1", "p3", "p5"}  # Acme only, from both sub-queries
    assert len(pairs) == 7  # every judged pair is still scored (thresholds do not depend on the filter)


def test_mrs_eval_reads_filters_from_the_queries_file(engine, tmp_path, monkeypatch):
    from click.testing import CliRunner

    import mrs.cli.eval as cli_eval
    from mrs.cli.main import cli

    # the index's model is the table encoder, which no model directory holds: hand it to the command
    monkeypatch.setattr(cli_eval, "open_backend", lambda *a, **kw: (engine, TableEncoder()))
    judged = tmp_path / "judgments.tsv"
    judged.write_text("query\tproduct_id\tsrw_rating\tesci_label\tgrade\n"
                      "red\tp1\t100.000\tE\t3\nred\tp5\t10.000\tS\t2\nred\tp2\t0.000\tI\t0\n")
    queries = tmp_path / "queries.jsonl"
    queries.write_text(json.dumps({"query_id": "red", "user_query": "red", "filter": {"term": {"in_stock": True}}})
                       + "\n")
    out = CliRunner().invoke(cli, ["eval", "--index", str(engine.directory), "--judgments", str(judged),
                                   "--queries", str(queries), "--modes", "lexical,dense", "--json"])
    assert out.exit_code == 0, out.output
    report = json.loads(out.stdout)
    # in stock: p1 (exact) matches "red", p5 (substitute) is outside the filter → recall@100 1 of 2 relevant
    assert report["coverage"]["queries_filtered"] == 1 and report["coverage"]["judged_pairs_outside_filter"] == 2
    assert report["runs"]["lexical"]["recall@100"] == pytest.approx(0.5)
    assert report["runs"]["dense"]["recall@100"] == pytest.approx(0.5)
    queries.write_text(json.dumps({"query_id": "red", "user_query": "red", "filter": {"match": {"brand": "x"}}})
                       + "\n")
    out = CliRunner().invoke(cli, ["eval", "--index", str(engine.directory), "--judgments", str(judged),
                                   "--queries", str(queries), "--modes", "lexical"])
    assert out.exit_code == 2 and "queries.jsonl:1: query 'red': filter: match: unsupported clause" in out.output
