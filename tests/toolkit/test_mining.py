"""Mining: dev queries excluded (same split as Stage 1), judged pairs excluded or re-judged as configured,
the boundary band, judge labeling with provenance, and the merge for Stage 2."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mrs.data.judgments import Judgment, JudgmentSet
from mrs.data.levels import ESCI, THREE_LEVEL
from mrs.data.splits import split_queries
from mrs.data.splits import train_dev_split as training_queries
from mrs.toolkit.judge import JudgeLabel
from mrs.toolkit.mining import (
    MiningConfig,
    level_boundaries,
    merge_mined,
    mine,
    select_candidates,
)


def _vec(cos: float) -> list[float]:
    return [cos, math.sqrt(max(0.0, 1 - cos * cos))]


class TableEncoder:
    """Queries encode to (1, 0); product text "c=0.83" encodes to a unit vector with cosine 0.83 to it."""

    def __call__(self, texts):
        return np.array([_vec(float(t[2:])) if t.startswith("c=") else [1.0, 0.0] for t in texts], dtype=np.float32)


class GradeByCosine:
    """A judge that reads the cosine from the product text: >= 0.7 relevant, >= 0.4 moderate, else irrelevant."""

    scheme = THREE_LEVEL

    def __init__(self):
        self.seen = []

    def label(self, pairs):
        self.seen.extend(pairs)
        return [JudgeLabel(2 if float(t[2:]) >= 0.7 else 1 if float(t[2:]) >= 0.4 else 0, 0.9) for _, t in pairs]


def test_level_boundaries_are_midpoints_of_medians():
    # grades 2: cos 0.9, 0.8; grade 1: 0.6; grade 0: 0.2, 0.1, 0.3
    b = level_boundaries([0.9, 0.8, 0.6, 0.2, 0.1, 0.3], [2, 2, 1, 0, 0, 0], 3)
    # b=1: median(>=1: 0.9, 0.8, 0.6) = 0.8, median(0: 0.1, 0.2, 0.3) = 0.2 → 0.5
    # b=2: median(2: 0.9, 0.8) = 0.85, median(<2: 0.6, 0.2, 0.1, 0.3) = 0.25 → 0.55
    assert b == pytest.approx({1: 0.5, 2: 0.55})
    assert level_boundaries([0.9, 0.8], [2, 2], 3) == {}


def test_select_keeps_unjudged_in_band_closest_first_and_wrong_side_judged_on_request():
    judged = {"J2": (2, 0.9), "J1": (1, 0.6), "J0": (0, 0.1), "Jbad": (0, 0.7)}
    # boundaries: b=1: median(0.9, 0.6) = 0.75, median(0.1, 0.7) = 0.4 → 0.575; b=2: 0.9 vs median(0.6, 0.1, 0.7)
    # = 0.6 → 0.75
    hits = [("J2", 0.9), ("U1", 0.85), ("U2", 0.76), ("Jbad", 0.7), ("U3", 0.66), ("U4", 0.58), ("U5", 0.2)]
    cfg = MiningConfig(band=0.05, per_query=10)
    got = select_candidates("q", "query", hits, judged, 3, cfg)
    # U1 |0.85 − 0.75| = 0.10 out; U2 0.01 in; U3 min(0.085, 0.09) out; U4 0.005 in; U5 out
    assert [(c.product_id, c.rank) for c in got] == [("U4", 6), ("U2", 3)]
    assert all(c.judged_grade is None for c in got)
    cfg2 = MiningConfig(band=0.05, per_query=1, include_judged=True)
    got2 = select_candidates("q", "query", hits, judged, 3, cfg2)
    # per_query caps the unjudged ones; Jbad (grade 0 at cos 0.7 > boundary 0.575) is on the wrong side;
    # J1 (grade 1, cos 0.6 > 0.575 and < 0.75) is on the right side of both boundaries.
    assert [c.product_id for c in got2] == ["U4", "Jbad"]
    assert got2[1].judged_grade == 0 and got2[1].distance == pytest.approx(0.125)


def _judgments(n_queries: int = 20) -> JudgmentSet:
    rows = []
    for i in range(n_queries):
        qid = f"q{i}"
        rows += [Judgment(qid, f"query {i}", f"P{i}_hi", 2), Judgment(qid, f"query {i}", f"P{i}_mid", 1),
                 Judgment(qid, f"query {i}", f"P{i}_lo", 0)]
    return JudgmentSet(THREE_LEVEL, rows)


def _catalog(n_queries: int = 20) -> dict[str, str]:
    texts = {}
    for i in range(n_queries):
        texts[f"P{i}_hi"], texts[f"P{i}_mid"], texts[f"P{i}_lo"] = "c=0.95", "c=0.6", "c=0.1"
    for n, c in enumerate([0.9, 0.62, 0.35, 0.3, 0.05]):
        texts[f"U{n}"] = f"c={c}"
    return texts


def test_mine_excludes_dev_queries_and_judged_pairs_and_labels_with_the_judge():
    jset, texts = _judgments(), _catalog()
    train, dev = training_queries(jset, 0.2, seed=0)
    expected = split_queries(list(jset.queries()), {"train": 0.8, "dev": 0.2}, seed=0)
    assert (train, dev) == (expected["train"], expected["dev"]) and dev
    judge = GradeByCosine()
    result = mine(TableEncoder(), texts, jset, MiningConfig(k=len(texts), band=0.1, per_query=0), judge=judge)
    mined_queries = {j.query_id for j in result.judgments}
    assert mined_queries == set(train)  # every training query mined, no dev query
    assert result.stats["dev_queries_excluded"] == len(dev)
    judged = {(j.query_id, j.product_id) for j in jset}
    assert not any((j.query_id, j.product_id) in judged for j in result.judgments)
    # Each query's judged cosines (0.95 / 0.6 / 0.1) give boundaries b=1: (median(0.95, 0.6) = 0.775 + 0.1)/2
    # = 0.4375 and b=2: (0.95 + median(0.6, 0.1) = 0.35)/2 = 0.65. Within band 0.1: U1 (0.62, 0.03 from 0.65)
    # and U2 (0.35, 0.0875 from 0.4375); out: U0 (0.9), U3 (0.3, 0.1375), U4 (0.05). Other queries' judged
    # products are unjudged for this query: their "c=0.6" (0.05 from 0.65) is in band too.
    per_query = {p for j in result.judgments if j.query_id == train[0] for p in [j.product_id]}
    assert {"U1", "U2"} <= per_query and not {"U0", "U3", "U4"} & per_query
    assert {j.source for j in result.judgments} == {"mined"}
    by_pid = {j.product_id: j for j in result.judgments if j.query_id == train[0]}
    assert (by_pid["U1"].grade, by_pid["U2"].grade, by_pid["U1"].confidence) == (1, 0, 0.9)


def test_mine_without_judge_writes_hard_negatives_and_rejudge_needs_judge():
    jset, texts = _judgments(), _catalog()
    cfg = MiningConfig(k=len(texts), band=0.1, per_query=2, include_judged=True)
    result = mine(TableEncoder(), texts, jset, cfg, judge=None)
    assert {(j.grade, j.source, j.confidence) for j in result.judgments} == {(0, "mined_negative", 0.0)}
    assert all(len([j for j in result.judgments if j.query_id == q]) <= 2 for q in result.train_queries)


def test_mine_rejects_a_judge_of_another_scheme():
    from mrs.errors import InputError

    class EsciJudge(GradeByCosine):
        scheme = ESCI

    with pytest.raises(InputError, match="scheme"):
        mine(TableEncoder(), _catalog(), _judgments(), judge=EsciJudge())


def test_merge_adds_mined_replaces_only_rejudged_and_filters_confidence():
    human = JudgmentSet(THREE_LEVEL, [Judgment("q", "x", "A", 2), Judgment("q", "x", "B", 0)])
    mined = JudgmentSet(THREE_LEVEL, [
        Judgment("q", "x", "B", 1, source="audited", confidence=0.8),   # re-judged: replaces B
        Judgment("q", "x", "A", 0, source="mined", confidence=0.9),     # mined duplicate of a judged pair: ignored
        Judgment("q", "x", "C", 1, source="mined", confidence=0.95),    # new
        Judgment("q", "x", "D", 2, source="mined", confidence=0.3),     # below min confidence
        Judgment("q", "x", "E", 0, source="mined_negative", confidence=0.0),  # negatives carry no confidence
    ])
    merged, counts = merge_mined(human, mined, min_confidence=0.5)
    assert [(j.product_id, j.grade, j.source) for j in merged] == [
        ("A", 2, "human"), ("B", 1, "audited"), ("C", 1, "mined"), ("E", 0, "mined_negative")]
    assert counts == {"added": 2, "replaced": 1, "low_confidence": 1, "duplicates": 1}


def test_mine_cli_on_sample_excludes_dev_queries(sample, tmp_path):
    import json

    from click.testing import CliRunner

    from mrs.cli.main import cli
    from mrs.data.readers import read_judgments

    out = tmp_path / "mined.tsv"
    result = CliRunner().invoke(cli, ["mine", "--model", "default", "--catalog", str(sample.catalog), "--judgments",
                                      str(sample.judgments), "--out", str(out), "--k", "10", "--band", "0",
                                      "--per-query", "2", "--json"])
    assert result.exit_code == 0, result.output
    stats = json.loads(result.stdout)
    judgments = read_judgments(sample.judgments)
    train, dev = training_queries(judgments, 0.2, seed=0)
    mined = read_judgments(out)
    assert {j.query_id for j in mined} <= set(train) and not {j.query_id for j in mined} & set(dev)
    assert stats["dev_queries_excluded"] == len(dev) and stats["index"] == "flat_ip"
    judged = {(j.query_id, j.product_id) for j in judgments}
    assert all((j.query_id, j.product_id) not in judged for j in mined)
    assert {j.source for j in mined} == {"mined_negative"}  # no --judge
    assert json.loads((tmp_path / "mined.tsv.report.json").read_text())["candidates"] == len(mined)
