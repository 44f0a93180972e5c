"""A tuned blend is scored on the queries it was not tuned on (issue 16 item 5), the report records the
pipelines and depth behind hybrid runs (items 7, 9), and split warnings are right (item 11)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from mrs.cli.main import cli
from mrs.data.splits import query_point
from mrs.errors import InputError
from mrs.eval.runs import RunSpec
from mrs.eval.tuned import pipeline_origin, select_queries

PIPELINE = {"description": "mrs calibrate: z_score+arithmetic_mean w=[0.4,0.6] (ndcg@10 train 0.9)",
            "phase_results_processors": [{"normalization-processor": {
                "normalization": {"technique": "z_score"},
                "combination": {"technique": "arithmetic_mean", "parameters": {"weights": [0.4, 0.6]}}}}]}


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def calibration(dev_fraction=0.5, seed=0, pipeline=PIPELINE):
    return {"format": "mrs-calibration/1", "scheme": {"name": "esci"},
            "data": {"dev_fraction": dev_fraction, "seed": seed, "queries": {"train": 4, "dev": 4}},
            "blend": {"pipeline": pipeline}}


def write_calibration(folder, **kw):
    cal = folder / "calibration.json"
    cal.write_text(json.dumps(calibration(**kw)))
    pipe = folder / "calibration.pipeline.json"
    pipe.write_text(json.dumps(kw.get("pipeline", PIPELINE)))
    return cal, pipe


def dev_side(ids, dev_fraction, seed):
    """By hand from the split's definition: a query is dev when its point falls in the last share."""
    return [q for q in ids if query_point(q, seed) >= 1.0 - dev_fraction]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """40 products, 8 judged queries, indexed once with the packaged MiniLM."""
    from mrs.data.sample import write_sample

    d = tmp_path_factory.mktemp("tiny")
    paths = write_sample(d, n_products=40, n_queries=8)
    result = run("index", "catalog", paths.catalog, "--index", d / "index", "--json")
    assert result.exit_code == 0, result.output
    return paths, d / "index"


def test_pipeline_beside_its_calibration_is_tuned(tmp_path):
    cal, pipe = write_calibration(tmp_path, dev_fraction=0.3, seed=4)
    body, tuned = pipeline_origin(pipe, PIPELINE)
    assert body == PIPELINE and tuned.dev_fraction == 0.3 and tuned.seed == 4 and tuned.calibration == str(cal)
    body, tuned = pipeline_origin(cal, calibration(dev_fraction=0.3, seed=4))  # the calibration.json itself
    assert body == PIPELINE and tuned.seed == 4
    other = dict(PIPELINE, description="edited by hand")  # not the calibration's blend any more
    assert pipeline_origin(pipe, other)[1] is None


def test_select_queries_takes_the_calibrations_held_out_side(tmp_path):
    _, pipe = write_calibration(tmp_path, dev_fraction=0.5, seed=0)
    body, tuned = pipeline_origin(pipe, PIPELINE)
    ids = [f"q{i}" for i in range(20)]
    specs = [RunSpec("dense", "dense"), RunSpec("tuned", "hybrid", body, str(pipe), tuned)]
    sel = select_queries(ids, specs, None, None, None)
    assert sel.side == "dev" and sel.query_ids == dev_side(ids, 0.5, 0)
    assert 0 < len(sel.query_ids) < 20
    assert sel.scored_on == {"dense": "dev", "tuned": "dev, held out"}
    assert sel.warnings == []
    every = select_queries(ids, specs, "all", None, None)  # asked for: said in the row and warned
    n_train = 20 - len(sel.query_ids)
    assert every.scored_on["tuned"] == f"all, {n_train} of 20 tuned on"
    assert any("tuned on" in w for w in every.warnings)
    with pytest.raises(InputError, match="contradicts"):
        select_queries(ids, specs, None, 0.2, None)


def test_runs_tuned_on_different_splits_cannot_be_compared(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    specs = []
    for name, folder, seed in (("x", a, 0), ("y", b, 1)):
        _, pipe = write_calibration(folder, seed=seed)
        body, tuned = pipeline_origin(pipe, PIPELINE)
        specs.append(RunSpec(name, "hybrid", body, str(pipe), tuned))
    with pytest.raises(InputError, match="different query splits"):
        select_queries(["q1", "q2"], specs, None, None, None)


def test_eval_scores_every_run_on_the_calibrations_dev_queries(tiny, tmp_path):
    paths, index = tiny
    _, pipe = write_calibration(tmp_path, dev_fraction=0.5, seed=0)
    result = run("eval", "--index", index, "--judgments", paths.judgments, "--modes", "lexical,hybrid",
                 "--pipeline", f"tuned={pipe}", "--metrics", "ndcg@10", "--json", "--out", tmp_path / "eval")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    all_ids = list(dict.fromkeys(line.split("\t")[0] for line in paths.judgments.read_text().splitlines()[1:]))
    dev = dev_side(all_ids, 0.5, 0)
    assert out["settings"]["n_queries"] == len(dev) < len(all_ids)
    assert out["settings"]["split"]["side"] == "dev"
    assert out["settings"]["split"]["scored_on"] == {"lexical": "dev", "hybrid": "dev", "tuned": "dev, held out"}
    per_query = json.loads((tmp_path / "eval" / "report.json").read_text())["per_query"]
    for name in ("lexical", "hybrid", "tuned"):  # every row on the same queries
        assert sorted(per_query[name]["ndcg@10"]) == sorted(dev), name
    # item 9: the report records the bodies behind "hybrid" and "tuned", and the depth they ran with
    pipes = out["settings"]["pipelines"]
    assert pipes["tuned"]["body"] == PIPELINE and pipes["tuned"]["source"] == str(pipe)
    assert pipes["hybrid"]["body"]["phase_results_processors"][0]["normalization-processor"]["combination"] == \
        {"technique": "arithmetic_mean", "parameters": {"weights": [0.7, 0.3]}}
    assert pipes["hybrid"]["pagination_depth"] == 100 == out["settings"]["hybrid_pagination_depth"]
    md = (tmp_path / "eval" / "report.md").read_text()
    assert "held out from tuning" in md and "dev, held out" in md and '"z_score"' in md
    table = run("eval", "--index", index, "--judgments", paths.judgments, "--modes", "lexical",
                "--pipeline", f"tuned={pipe}", "--metrics", "ndcg@10")
    assert "dev split (dev fraction 0.5, seed 0) of" in table.stdout and "scored on" in table.stdout


def test_eval_hybrid_ranks_as_search_does_by_default(tiny):
    """Item 7: one default depth — eval (k 100) and search (k 10) rank hybrid's top 10 the same."""
    paths, index = tiny
    out = json.loads(run("eval", "--index", index, "--judgments", paths.judgments, "--modes", "hybrid",
                         "--metrics", "ndcg@10", "--k", "10", "--json", "--out", index.parent / "e10").stdout)
    assert out["settings"]["hybrid_pagination_depth"] == 100
    trec = (index.parent / "e10" / "runs" / "hybrid.trec").read_text().splitlines()
    from urllib.parse import unquote

    qid = unquote(trec[0].split()[0])
    eval_top = [line.split()[2] for line in trec if unquote(line.split()[0]) == qid]
    hits = json.loads(run("search", qid, "--index", index, "--json").stdout)["hits"]
    assert [h["id"] for h in hits] == eval_top


def test_split_dev_does_not_call_queries_unjudged(tmp_path):
    """Item 11: run-file queries outside the split are 'outside the split', not 'have no judgments'."""
    header = "query\tproduct_id\tsrw_rating\tesci_label\tgrade\n"
    j = tmp_path / "judgments.tsv"
    ids = [f"query {i}" for i in range(12)]
    j.write_text(header + "".join(f"{q}\tA{i}\t100.000\tE\t3\n" for i, q in enumerate(ids)))
    r = tmp_path / "r.trec"
    r.write_text("".join(f"{q.replace(' ', '%20')} Q0 A{i} 1 1.0 r\n" for i, q in enumerate(ids))
                 + "stranger Q0 Z 1 1.0 r\n")
    out = json.loads(run("eval", "--judgments", j, "--run", r, "--split", "dev", "--json").stdout)
    n_dev = len(dev_side(ids, 0.2, 0))
    assert out["settings"]["n_queries"] == n_dev
    assert f"run 'r': {12 - n_dev} queries are outside the dev split and are left out" in out["warnings"]
    assert "run 'r': 1 queries have no judgments and are ignored" in out["warnings"]  # 'stranger' only
