"""Runs: modes, pipeline options, retrieval through the backend protocol, TREC run files."""

from __future__ import annotations

import json

import pytest

from mrs.errors import InputError
from mrs.eval.runs import (
    RRF_PIPELINE,
    hits_to_run,
    parse_modes,
    parse_pipeline_option,
    read_trec_run,
    retrieve,
    write_trec_qrels,
    write_trec_run,
)
from mrs.indexer.backend import Hit

from .fakes import FakeBackend


def test_trec_run_round_trip_keeps_ids_with_spaces(tmp_path):
    run = {"t towels kitchen": {"B07NCQWCQS": 2.5, "B0 7": 1.25}, "q%2": {"x": -0.5}}
    path = tmp_path / "a.trec"
    assert write_trec_run(path, run, "my run") == 3
    lines = path.read_text().splitlines()
    assert lines[0] == "t%20towels%20kitchen Q0 B07NCQWCQS 1 2.5 my_run"
    tag, back = read_trec_run(path)
    assert tag == "my_run" and back == run


def test_trec_run_errors_name_file_and_line(tmp_path):
    path = tmp_path / "bad.trec"
    path.write_text("q1 Q0 d1 1 0.5 r\nq1 Q0 d2 2 r\n")
    with pytest.raises(InputError, match=r"bad.trec:2: expected 6 columns"):
        read_trec_run(path)
    path.write_text("q1 Q0 d1 1 high r\n")
    with pytest.raises(InputError, match=r"bad.trec:1: .*not a number"):
        read_trec_run(path)
    path.write_text("q1 Q0 d1 1 0.5 r\nq1 Q0 d1 2 0.4 r\n")
    with pytest.raises(InputError, match=r"bad.trec:2: product 'd1' listed twice"):
        read_trec_run(path)
    with pytest.raises(InputError, match="does not exist"):
        read_trec_run(tmp_path / "missing.trec")


def test_trec_qrels_file(tmp_path):
    write_trec_qrels(tmp_path / "q.trec", {"red shirt": {"p1": 3, "p2": 0}})
    assert (tmp_path / "q.trec").read_text().splitlines() == ["red%20shirt 0 p1 3", "red%20shirt 0 p2 0"]


def test_parse_modes_and_pipelines(tmp_path):
    specs = parse_modes("lexical, dense,hybrid,rrf")
    assert [(s.name, s.mode) for s in specs] == [("lexical", "lexical"), ("dense", "dense"), ("hybrid", "hybrid"),
                                                 ("rrf", "hybrid")]
    assert specs[3].pipeline == RRF_PIPELINE
    with pytest.raises(InputError, match="unknown mode 'bm25'"):
        parse_modes("lexical,bm25")
    body = {"phase_results_processors": []}
    (tmp_path / "p.json").write_text(json.dumps(body))
    spec = parse_pipeline_option(f"tuned={tmp_path / 'p.json'}")
    assert (spec.name, spec.mode, spec.pipeline) == ("tuned", "hybrid", body)
    (tmp_path / "bad.json").write_text("{\n  nope\n}")
    with pytest.raises(InputError, match=r"bad.json:2: malformed JSON"):
        parse_pipeline_option(f"x={tmp_path / 'bad.json'}")
    with pytest.raises(InputError, match="NAME=FILE"):
        parse_pipeline_option("tuned")


def test_retrieve_sends_each_query_through_the_backend_per_mode():
    backend = FakeBackend()
    queries = {"q1": "red shirt", "q2": "blue hat"}
    vectors = {"q1": backend.vector("red shirt"), "q2": backend.vector("blue hat")}
    out = retrieve(backend, queries, vectors, parse_modes("lexical,dense,hybrid"), k=2)
    assert set(out) == {"lexical", "dense", "hybrid"}
    assert [c[0] for c in backend.calls] == ["lexical"] * 2 + ["knn"] * 2 + ["hybrid"] * 2
    for rr in out.values():
        assert set(rr.latency_ms) == {"q1", "q2"} and all(v >= 0 for v in rr.latency_ms.values())
        assert all(len(h) <= 2 for h in rr.hits.values())
    assert list(out["lexical"].run()["q1"])[0] == "p-red-shirt"


def test_hits_to_run_keeps_first_score_of_a_repeated_product():
    assert hits_to_run({"q": [Hit("a", 2.0), Hit("b", 1.0), Hit("a", 0.5)]}) == {"q": {"a": 2.0, "b": 1.0}}
