"""Engagement audit rules on hand-made engagement: smoothing, position awareness, actions, nothing lost."""

from __future__ import annotations

import pytest

from mrs.data.judgments import Judgment, JudgmentSet
from mrs.data.levels import ESCI
from mrs.errors import InputError
from mrs.toolkit.audit import (
    AuditConfig,
    PairStats,
    audit_judgments,
    beta_smoothed,
    examination_propensity,
)


def _judgments() -> JudgmentSet:
    return JudgmentSet(ESCI, [
        Judgment("q1", "Red Shirt", "P1", 0),
        Judgment("q1", "Red Shirt", "P2", 3),
        Judgment("q1", "Red Shirt", "P3", 3),
        Judgment("q2", "blue jeans", "P4", 0),
        Judgment("q2", "blue jeans", "P5", 0),
        Judgment("q2", "blue jeans", "P6", 2),  # no engagement at all
    ])


def _engagement() -> dict:
    return {
        ("red shirt", "P1"): PairStats(impressions=4, clicks=3, carts=2, positions=[1, 1, 1, 1]),
        ("red shirt", "P2"): PairStats(impressions=20, clicks=0, positions=[1] * 20),
        ("red shirt", "P3"): PairStats(impressions=6, clicks=3, positions=[3] * 6),
        ("blue jeans", "P4"): PairStats(impressions=10, clicks=1, positions=[1] * 10),
        ("blue jeans", "P5"): PairStats(impressions=5, clicks=3, positions=[1] * 5),
    }


CONFIG = AuditConfig(
    low_ctr_ratio=0.5,
    high_ctr_ratio=1.4,
    actions={"irrelevant_converted": "drop", "irrelevant_clicked": "keep", "top_ignored": "rejudge"},
)


def test_examination_propensity_and_beta_smoothing():
    assert examination_propensity(1) == pytest.approx(1.0)
    assert examination_propensity(3) == pytest.approx(0.5)  # 1/log2(4)
    # Six impressions at position 3 are three expected examinations.
    assert PairStats(impressions=6, clicks=3, positions=[3] * 6).examinations == pytest.approx(3.0)
    # Unpositioned impressions count one each; examinations never fall below clicks.
    assert PairStats(impressions=4, clicks=1).examinations == 4.0
    assert PairStats(impressions=1, clicks=2, positions=[7]).examinations == 2.0
    # (2 + 0.1 * 10) / (8 + 10) = 3 / 18
    assert beta_smoothed(2, 8, 0.1, 10) == pytest.approx(3 / 18)


def test_rules_fire_on_hand_computed_rates():
    calls = []

    def judge(pairs):
        calls.append([(j.query, j.product_id) for j in pairs])
        return [(2, 0.9) for _ in pairs]

    audited, report = audit_judgments(_judgments(), _engagement(), CONFIG, rejudge=judge)
    # Examinations: P1 4, P2 20, P3 6 × 0.5 = 3, P4 10, P5 5 → 42; clicks 10; carts 2.
    assert report.global_ctr == pytest.approx(10 / 42)  # 0.238095
    assert report.global_conversion_rate == pytest.approx(2 / 42)  # 0.047619
    by_product = {f.product_id: f for f in report.flags}
    # P1 (irrelevant): conv = (2 + 2/42·10)/(4 + 10) = 0.176871 ≥ 2 × 0.047619 → irrelevant_converted (drop)
    assert by_product["P1"].rule == "irrelevant_converted"
    assert by_product["P1"].smoothed_conversion_rate == pytest.approx((2 + 20 / 42) / 14)
    # P2 (exact, 20 impressions): ctr = (0 + 100/42)/(20 + 10) = 0.079365 ≤ 0.5 × 0.238095 → top_ignored
    assert by_product["P2"].rule == "top_ignored"
    assert by_product["P2"].smoothed_ctr == pytest.approx((100 / 42) / 30)
    # P5 (irrelevant, 3 clicks): ctr = (3 + 100/42)/(5 + 10) = 0.358730 ≥ 1.4 × 0.238095 = 0.333333
    assert by_product["P5"].rule == "irrelevant_clicked"
    # P3 has only 6 impressions (< 10); P4 one click (< 2); P6 no engagement.
    assert set(by_product) == {"P1", "P2", "P5"}
    assert report.matched_pairs == 5
    assert report.counts()["irrelevant_converted"] == {"drop": 1}

    # Actions: P1 dropped and listed, P2 re-judged by the judge, P5 kept as it was.
    assert calls == [[("Red Shirt", "P2")]]
    out = {j.product_id: j for j in audited}
    assert "P1" not in out
    assert [f.product_id for f in report.dropped()] == ["P1"]
    assert (out["P2"].grade, out["P2"].source, out["P2"].confidence) == (2, "audited", 0.9)
    assert by_product["P2"].new_grade == 2
    assert out["P5"] == Judgment("q2", "blue jeans", "P5", 0)
    assert report.judgments_in == 6 and report.judgments_out == 5 == len(audited)
    md = report.to_markdown()
    assert "## Dropped (1)" in md and "P1" in md
    assert report.to_dict()["dropped"][0]["product_id"] == "P1"


def test_rejudge_without_a_judge_is_bad_input():
    with pytest.raises(InputError, match="re-judge 1 pairs"):
        audit_judgments(_judgments(), _engagement(), CONFIG, rejudge=None)


def test_unknown_action_is_rejected():
    with pytest.raises(InputError, match="unknown action"):
        AuditConfig(actions={"top_ignored": "delete"})


def test_ubi_events_file_feeds_the_audit(tmp_path):
    import json

    from mrs.data.events import read_ubi_events
    from mrs.toolkit.audit import stats_from_engagement

    def ev(action, pid, ordinal):
        return {"application": "shop", "action_name": action, "query_id": "u1", "user_query": "Red Shirt ",
                "event_attributes": {"object": {"object_id": pid}, "position": {"ordinal": ordinal}}}

    rows = [ev("impression", "P1", 0), ev("impression", "P1", 0), ev("click", "P1", 0),
            ev("add_to_cart", "P1", 0), ev("impression", "P2", 2), ev("hover", "P2", 0)]
    rows.append({**ev("impression", "P2", 2), "application": "other"})
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    stats = stats_from_engagement(read_ubi_events(path, application="shop"))
    p1, p2 = stats[("red shirt", "P1")], stats[("red shirt", "P2")]
    assert (p1.impressions, p1.clicks, p1.carts, p1.purchases) == (2, 1, 1, 0)
    # Ordinals are 0-based in this log (a 0 occurs): ordinal 0 → position 1, ordinal 2 → position 3.
    assert set(p1.positions) == {1} and p2.positions == [3]
    # P2: one impression at position 3 → 1/log2(4) = 0.5 examinations (the hover at ordinal 0 is not where
    # it was shown, so it does not count)
    assert (p2.impressions, p2.clicks) == (1, 0)
    assert p2.examinations == pytest.approx(0.5)


# --- `mrs audit` on the generated sample (its manifest lists the planted contradictions) ----------------

def test_audit_cli_finds_the_planted_contradictions_and_lists_drops(sample, tmp_path):
    import json

    from click.testing import CliRunner

    from mrs.cli.main import cli
    from mrs.data.readers import read_judgments

    out = tmp_path / "audited.tsv"
    result = CliRunner().invoke(cli, [
        "audit", "--judgments", str(sample.judgments), "--events", str(sample.events), "--out", str(out),
        "--action", "irrelevant_converted=drop", "--action", "top_ignored=keep", "--examples", "100", "--json",
        "--dev-fraction", "0"])  # audit every query: no training split protects dev queries here
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    planted = json.loads(sample.manifest.read_text())["contradictions"]
    planted_irrelevant = {(c["query"], c["product_id"]) for c in planted if c["label"] == "I"}
    planted_exact = {(c["query"], c["product_id"]) for c in planted if c["label"] == "E"}
    dropped = {(d["query"], d["product_id"]) for d in summary["dropped"]}
    assert dropped == planted_irrelevant
    report = json.loads((tmp_path / "audited.tsv.report.json").read_text())
    assert report["counts"]["top_ignored"]["keep"] >= len(planted_exact) > 0
    flagged_top = {(e["query"], e["product_id"]) for e in report["examples"]["top_ignored"]}
    assert planted_exact <= flagged_top
    audited = read_judgments(out)
    original = read_judgments(sample.judgments)
    assert len(audited) == len(original) - len(planted_irrelevant)
    assert "## Dropped" in (tmp_path / "audited.tsv.report.md").read_text()


def test_audit_cli_bad_action_and_missing_judge_exit_2(sample, tmp_path):
    from click.testing import CliRunner

    from mrs.cli.main import cli

    base = ["audit", "--judgments", str(sample.judgments), "--events", str(sample.events),
            "--out", str(tmp_path / "a.tsv")]
    bad = CliRunner().invoke(cli, [*base, "--action", "top_ignored=delete"])
    assert bad.exit_code == 2 and "bad --action" in bad.output
    # The default actions re-judge: without --judge that is bad input, said in one line.
    no_judge = CliRunner().invoke(cli, base)
    assert no_judge.exit_code == 2 and "--judge DIR" in no_judge.output
    assert "Traceback" not in no_judge.output


def test_held_out_queries_are_never_flagged_or_changed():
    audited, report = audit_judgments(_judgments(), _engagement(), CONFIG, rejudge=lambda rows: [(1, 0.9)] * len(rows),
                                      held_out={"q1"})
    assert {f.query_id for f in report.flags} <= {"q2"}
    assert [j for j in audited if j.query_id == "q1"] == [j for j in _judgments() if j.query_id == "q1"]
    assert report.held_out_judgments == 3


def test_audit_cli_leaves_every_dev_row_byte_identical(sample, tmp_path):
    """Dev queries (train stage1's split: dev fraction 0.2, seed 0) keep their labels through the audit, even
    where a planted contradiction sits in a dev query and the rules say drop."""
    import json

    from click.testing import CliRunner

    from mrs.cli.main import cli
    from mrs.data.readers import read_judgments, write_judgments
    from mrs.data.splits import train_dev_split as training_queries

    original = read_judgments(sample.judgments)
    _, dev = training_queries(original, 0.2, seed=0)
    planted = json.loads(sample.manifest.read_text())["contradictions"]
    assert {c["query"] for c in planted} & set(dev), "the sample must plant a contradiction in a dev query"
    out = tmp_path / "audited.tsv"
    result = CliRunner().invoke(cli, [
        "audit", "--judgments", str(sample.judgments), "--events", str(sample.events), "--out", str(out),
        "--action", "irrelevant_converted=drop", "--action", "top_ignored=drop", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["split"] == {"dev_fraction": 0.2, "seed": 0, "dev_queries": len(dev)}
    write_judgments(original, tmp_path / "original.tsv")

    def dev_rows(path):
        return [line for line in path.read_bytes().splitlines(keepends=True)[1:]
                if line.split(b"\t")[0].decode() in set(dev)]

    assert dev_rows(out) == dev_rows(tmp_path / "original.tsv")
    assert summary["held_out_judgments"] == len(dev_rows(out))
    assert summary["dropped"] and not {d["query_id"] for d in summary["dropped"]} & set(dev)
