"""`mrs eval` end to end: TREC run files (no model), bad input (exit 2), and the sample data through a real
embedded index (the packaged MiniLM)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from mrs.cli.main import cli

HEADER = "query\tproduct_id\tsrw_rating\tesci_label\tgrade\n"


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture()
def files(tmp_path):
    """ESCI-style qrels for two queries and two TREC runs: 'good' ranks the exact products first."""
    j = tmp_path / "judgments.tsv"
    j.write_text(HEADER + "red shirt\tA\t100.000\tE\t3\nred shirt\tB\t1.000\tC\t1\nred shirt\tC\t0.000\tI\t0\n"
                 "blue hat\tD\t100.000\tE\t3\nblue hat\tE\t10.000\tS\t2\n")
    good = tmp_path / "good.trec"
    good.write_text("red%20shirt Q0 A 1 3.0 good\nred%20shirt Q0 B 2 2.0 good\n"
                    "blue%20hat Q0 D 1 3.0 good\nblue%20hat Q0 E 2 2.0 good\n")
    bad = tmp_path / "bad.trec"
    bad.write_text("red%20shirt Q0 C 1 3.0 bad\nred%20shirt Q0 A 2 2.0 bad\nblue%20hat Q0 X 1 1.0 bad\n")
    return j, good, bad


def test_eval_run_files_json(files, tmp_path):
    j, good, bad = files
    result = run("eval", "--judgments", j, "--run", good, "--run", bad, "--metrics", "ndcg@10,mrr,recall@100",
                 "--json", "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert set(out["runs"]) == {"good", "bad"}
    assert set(out["runs"]["good"]) == {"ndcg@10", "mrr", "recall@100"}
    assert out["runs"]["good"]["ndcg@10"] == pytest.approx(1.0)  # both queries in ideal order
    # bad: "red shirt" first relevant (A) at rank 2 → rr ½; "blue hat" nothing relevant → 0; mean ¼
    assert out["runs"]["bad"]["mrr"] == pytest.approx(0.25)
    assert out["judged@10"]["bad"] == pytest.approx((2 / 10 + 0 / 10) / 2)
    assert out["significance"]["pairs"][0]["better"] == "good"
    assert out["settings"]["relevant"].startswith("grade >= 1")
    for name in ("report.json", "report.md", "runs/good.trec", "runs/bad.trec", "metrics.png", "qrels.trec"):
        assert (tmp_path / "out" / name).is_file(), name


def test_eval_table_output(files):
    j, good, bad = files
    result = run("eval", "--judgments", j, "--run", good, "--run", f"worse={bad}")
    assert result.exit_code == 0, result.output
    assert "unjudged" in result.stdout and "good" in result.stdout and "worse" in result.stdout


def test_eval_bad_input_exits_2_with_one_line(files, tmp_path):
    j, good, _ = files
    result = run("eval", "--judgments", j, "--run", good, "--metrics", "ndcg@10,nDGC@5")
    assert result.exit_code == 2 and "unknown metric 'nDGC@5'" in result.output
    assert "Traceback" not in result.output
    assert run("eval", "--judgments", j).exit_code == 2  # neither --index nor --run
    broken = tmp_path / "broken.trec"
    broken.write_text("q Q0 d 1 0.5 r\nq Q0 e 2\n")
    result = run("eval", "--judgments", j, "--run", broken)
    assert result.exit_code == 2 and "broken.trec:2:" in result.output
    result = run("eval", "--judgments", j, "--run", good, "--gains", "esci", "--relevant-level", "exact",
                 "--stat-test", "fisher", "--json")
    assert result.exit_code == 0, result.output
    result = run("eval", "--judgments", j, "--run", good, "--relevant-level", "irrelevant")
    assert result.exit_code == 2


@pytest.mark.slow
def test_eval_sample_index_end_to_end(sample, tmp_path):
    index_dir = tmp_path / "index"
    built = run("index", "catalog", sample.catalog, "--index", index_dir, "--json")
    assert built.exit_code == 0, built.output
    # one extra judgment naming a product the catalog lacks
    judgments = tmp_path / "judgments.tsv"
    text = sample.judgments.read_text(encoding="utf-8")
    first_query = text.splitlines()[1].split("\t")[0]
    judgments.write_text(text + f"{first_query}\tNOT-IN-CATALOG\t100.000\tE\t3\n", encoding="utf-8")
    result = run("eval", "--index", index_dir, "--judgments", judgments, "--modes", "lexical,dense,hybrid,rrf",
                 "--json", "--out", tmp_path / "eval")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert set(out["runs"]) == {"lexical", "dense", "hybrid", "rrf"}
    assert out["coverage"]["judged_products_absent_from_index"] == 1
    assert any("not in the index" in w for w in out["warnings"])
    for name, scores in out["runs"].items():
        # every mode finds judged relevant products on the sample (it is built to be findable)
        assert 0.3 < scores["ndcg@10"] <= 1.0, (name, scores)
        assert out["latency_ms"][name]["n"] == out["settings"]["n_queries"]
    # separation of lexical/dense is over all judged pairs in the index; exact outscores irrelevant
    assert out["separation"]["dense"]["auc"]["exact>irrelevant"]["pooled"] > 0.5
    assert (tmp_path / "eval" / "runs" / "hybrid.trec").is_file()
    # the written run file evaluates to the same figures
    again = run("eval", "--judgments", judgments, "--run", tmp_path / "eval" / "runs" / "hybrid.trec", "--json")
    assert json.loads(again.stdout)["runs"]["hybrid"] == pytest.approx(out["runs"]["hybrid"])


def test_eval_split_evaluates_one_side_of_the_query_split(files):
    from mrs.data.splits import split_queries

    j, good, bad = files
    sides = split_queries(["red shirt", "blue hat"], {"train": 0.5, "dev": 0.5}, seed=3)
    for side, qids in sides.items():
        result = run("eval", "--judgments", j, "--run", good, "--split", side, "--dev-fraction", "0.5",
                     "--seed", "3", "--json")
        if qids:
            assert result.exit_code == 0, result.output
            out = json.loads(result.stdout)
            assert out["settings"]["n_queries"] == len(qids)
            assert {k: out["settings"]["split"][k] for k in ("side", "dev_fraction", "seed")} == \
                {"side": side, "dev_fraction": 0.5, "seed": 3}
        else:
            assert result.exit_code == 2 and "holds no query" in result.output


def test_eval_skips_bad_judgment_rows_into_a_rejects_file(files, tmp_path):
    j, good, _ = files
    j.write_text(j.read_text() + "red shirt\tZ\t5.000\tQ\tnine\n")
    assert run("eval", "--judgments", j, "--run", good).exit_code == 2  # --on-error fail (default)
    result = run("eval", "--judgments", j, "--run", good, "--on-error", "skip", "--out", tmp_path / "o", "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["coverage"]["judgment_rows_rejected"] == 1
    rejects = (tmp_path / "o" / "rejects.jsonl").read_text().splitlines()
    assert len(rejects) == 1 and json.loads(rejects[0])["line"] == 7
