"""`mrs eval` on what a new user tries first (issue 16, items 2 and 3): a lexical-only eval needs no model,
and mrs scores the qrels and run files it writes itself."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from mrs.cli.main import cli
from mrs.data.catalog import Product
from mrs.data.readers import read_judgments
from mrs.engine.engine import EmbeddedEngine
from mrs.eval.runs import read_trec_run, write_trec_qrels, write_trec_run

HEADER = "query\tproduct_id\tsrw_rating\tesci_label\tgrade\n"


class ModelFreeEncoder:
    """Builds an index with 3-d vectors; its identity names no loadable model, so any attempt to load the
    query encoder of the index fails."""

    identity = {"name": "no-such-model", "path": "/nonexistent/model", "sha256": "0" * 64}
    backend = "torch"
    normalize = True
    dimension = 3
    space_type = "cosinesimil"

    def encode(self, texts, **_):
        return np.tile(np.array([[1.0, 0.0, 0.0]], dtype=np.float32), (len(texts), 1))


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_lexical_only_eval_loads_no_model(tmp_path):
    products = [Product("A", {"title": "red shirt"}), Product("B", {"title": "blue hat"}),
                Product("C", {"title": "red hat"})]
    EmbeddedEngine.build(tmp_path / "index", products, encoder=ModelFreeEncoder())
    judgments = tmp_path / "j.tsv"
    judgments.write_text(HEADER + "red shirt\tA\t100.000\tE\t3\nred shirt\tC\t1.000\tC\t1\n"
                                  "blue hat\tB\t100.000\tE\t3\n")
    result = run("eval", "--index", tmp_path / "index", "--judgments", judgments, "--modes", "lexical",
                 "--metrics", "ndcg@10", "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    # red shirt: A (3) first, C (1) second — ideal order; blue hat: B alone. nDCG@10 = 1 for both.
    assert out["runs"]["lexical"]["ndcg@10"] == pytest.approx(1.0)


def test_written_qrels_and_runs_read_back_to_the_same_ids(tmp_path):
    qrels = {"red frying pan": {"P1": 3, "P 2": 0}, "50% off": {"P3": 2}, "101": {"P1": 1}}
    write_trec_qrels(tmp_path / "qrels.trec", qrels)
    write_trec_run(tmp_path / "run.trec", {"red frying pan": {"P1": 2.0, "P 2": 1.0}, "50% off": {"P3": 1.0}},
                   "lexical")
    jset = read_judgments(tmp_path / "qrels.trec", needs_query_text=False)
    assert jset.qrels() == qrels
    _, run_read = read_trec_run(tmp_path / "run.trec")
    assert set(run_read) <= set(jset.queries())


def test_eval_scores_its_own_qrels_and_run_files(tmp_path):
    """The files `mrs eval --out` writes: qrels.trec and runs/*.trec (ids with spaces percent-encoded)."""
    write_trec_qrels(tmp_path / "qrels.trec", {"red shirt": {"A": 3, "B": 0}, "blue hat": {"D": 3}})
    write_trec_run(tmp_path / "lexical.trec", {"red shirt": {"A": 2.0, "B": 1.0}, "blue hat": {"X": 1.0}},
                   "lexical")
    result = run("eval", "--judgments", tmp_path / "qrels.trec", "--run", tmp_path / "lexical.trec",
                 "--metrics", "ndcg@10,mrr", "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    # red shirt: exact first → 1; blue hat: nothing relevant retrieved → 0
    assert out["runs"]["lexical"]["mrr"] == pytest.approx(0.5)
    assert out["runs"]["lexical"]["ndcg@10"] == pytest.approx(0.5)


def test_run_matching_no_judged_query_is_an_error(tmp_path):
    write_trec_qrels(tmp_path / "qrels.trec", {"red shirt": {"A": 3}})
    (tmp_path / "other.trec").write_text("101 Q0 A 1 1.0 x\n102 Q0 A 1 1.0 x\n")
    result = run("eval", "--judgments", tmp_path / "qrels.trec", "--run", tmp_path / "other.trec")
    assert result.exit_code == 2
    assert "other.trec: none of the run's 2 query ids is a judged query id" in result.output
    assert "Traceback" not in result.output


def test_constant_per_query_differences_warn_in_the_report_not_on_the_terminal():
    """a beats b by the same nDCG on every query: scipy's t-test warns of catastrophic cancellation."""
    import warnings

    from mrs.data.levels import ESCI
    from mrs.eval.metrics import compare_runs, gain_table, parse_metrics

    qrels = {f"q{i}": {"A": 3, "B": 1} for i in range(10)}
    a = {q: {"A": 2.0, "B": 1.0} for q in qrels}
    b = {q: {"B": 2.0, "A": 1.0} for q in qrels}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = compare_runs(qrels, {"a": a, "b": b}, parse_metrics("ndcg@10"), gain_table(ESCI, "grades"))
    assert len(out["warnings"]) == 1
    assert out["warnings"][0].startswith("student test: Precision loss occurred in moment calculation")
    assert "p-values are unreliable" in out["warnings"][0]
