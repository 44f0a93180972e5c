"""The harness end to end on the fake backend: report shape, warnings, report files."""

from __future__ import annotations

import json

import pytest

from mrs.data.judgments import Judgment, JudgmentSet
from mrs.data.levels import ESCI
from mrs.errors import InputError
from mrs.eval.harness import EvalConfig, build_report, evaluate_backend
from mrs.eval.metrics import parse_metrics
from mrs.eval.report import json_view, write_report
from mrs.eval.runs import parse_modes, read_trec_run

from .fakes import FakeBackend, FakeEncoder


def _judgments() -> JudgmentSet:
    rows = [
        ("q1", "red shirt", "p-red-shirt", 3), ("q1", "red shirt", "p-blue-shirt", 2),
        ("q1", "red shirt", "p-red-hat", 1), ("q1", "red shirt", "p-green-sock", 0),
        ("q2", "blue hat", "p-blue-hat", 3), ("q2", "blue hat", "p-red-hat", 2),
        ("q2", "blue hat", "p-gone", 3),  # not in the index
        ("q3", "green sock", "p-green-sock", 0),  # no relevant product
    ]
    return JudgmentSet(ESCI, [Judgment(*r) for r in rows])


def test_evaluate_backend_report_shape_and_figures():
    config = EvalConfig(metrics=parse_metrics("ndcg@10,recall@100,mrr"), k=100, judged_k=3)
    report, retrieved = evaluate_backend(FakeBackend(), FakeEncoder(), _judgments(),
                                         parse_modes("lexical,dense,hybrid"), config)
    assert set(report["runs"]) == {"lexical", "dense", "hybrid"}
    assert set(report["runs"]["lexical"]) == {"ndcg@10", "recall@100", "mrr"}
    # lexical q1 "red shirt": red-shirt 2 words, then red-hat / blue-shirt 1 word each → the exact product first
    assert report["per_query"]["lexical"]["mrr"]["q1"] == 1.0
    # q2's judged "p-gone" is absent from the index: recall@100 of q2 ≤ 2/3 for every run
    assert all(report["per_query"][r]["recall@100"]["q2"] <= 2 / 3 + 1e-9 for r in report["runs"])
    # q3 has only an irrelevant judgment → left out of the metrics, with a warning
    assert report["settings"]["n_queries"] == 2
    assert any("no product at grade ≥ 1" in w and "'q3'" in w for w in report["warnings"])
    assert any("1 of 6 judged products" in w for w in report["warnings"])
    assert report["coverage"]["judged_products_absent_from_index"] == 1
    # judged@3 for dense q1: all 5 products scored, top 3 — judged positions counted over k = 3
    assert 0.0 <= report["judged@3"]["dense"] <= 1.0
    assert report["per_level"]["lexical"]["recall@100"].keys() == {"exact", ">=substitute", ">=complement"}
    # separation of lexical/dense covers ALL judged pairs present in the index (7 pairs, p-gone skipped)
    assert report["separation"]["lexical"]["n_pairs"] == 7
    assert report["separation"]["dense"]["n_pairs"] == 7
    assert set(report["latency_ms"]["hybrid"]) >= {"p50", "p95"}
    pairs = report["significance"]["pairs"]
    assert {(p["a"], p["b"]) for p in pairs} == {("lexical", "dense"), ("lexical", "hybrid"), ("dense", "hybrid")}
    assert set(retrieved) == {"lexical", "dense", "hybrid"}


def test_build_report_on_runs_and_unknown_queries():
    runs = {"a": {"q1": {"p-red-shirt": 1.0}, "zzz": {"x": 1.0}}}
    report = build_report(_judgments(), runs, EvalConfig(metrics=parse_metrics("mrr")))
    assert report["runs"]["a"]["mrr"] == pytest.approx(0.5)  # q1 → 1, q2 (no results) → 0
    assert any("1 queries have no judgments" in w for w in report["warnings"])
    assert any("1 judged queries have no results" in w for w in report["warnings"])
    with pytest.raises(InputError):
        build_report(_judgments(), {}, EvalConfig())


def test_write_report_files(tmp_path):
    config = EvalConfig(metrics=parse_metrics("ndcg@10,recall@100"))
    report, retrieved = evaluate_backend(FakeBackend(), FakeEncoder(), _judgments(),
                                         parse_modes("lexical,rrf"), config)
    runs = {n: rr.run() for n, rr in retrieved.items()}
    written = write_report(tmp_path, report, runs, _judgments().qrels())
    for name in ("report.json", "report.md", "metrics.png", "scores_lexical.png", "runs/lexical.trec",
                 "runs/rrf.trec", "qrels.trec"):
        assert (tmp_path / name).is_file(), name
    assert (tmp_path / "metrics.png").read_bytes()[:4] == b"\x89PNG"
    saved = json.loads((tmp_path / "report.json").read_text())
    assert saved["runs"]["lexical"]["ndcg@10"] == pytest.approx(report["runs"]["lexical"]["ndcg@10"])
    assert "per_query" in saved
    md = (tmp_path / "report.md").read_text()
    assert "| lexical |" in md and "unjudged products count as irrelevant" in md.lower()
    # the TREC file evaluates to the same figures as the run it came from
    _, back = read_trec_run(written["run:lexical"])
    again = build_report(_judgments(), {"lexical": back}, config)
    assert again["runs"]["lexical"] == pytest.approx(report["runs"]["lexical"])
    view = json_view(report)
    assert "per_query" not in view and "table" not in view["significance"]
