"""Every command that reads judgments takes --queries and refuses TREC qrels whose query ids are ids
(101, 102) when no queries file names their texts (issue 16, item 1): exit 2, one line, before any work."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from mrs.cli.main import cli

QRELS = "101 0 P1 2\n101 0 P2 0\n102 0 P3 1\n102 0 P1 0\n"


@pytest.fixture()
def shop(tmp_path):
    (tmp_path / "qrels.txt").write_text(QRELS)
    (tmp_path / "topics.tsv").write_text("101\tred pan\n102\tgrey sofa\n")
    (tmp_path / "catalog.jsonl").write_text('{"id": "P1", "title": "red pan"}\n{"id": "P2", "title": "blue pan"}\n'
                                            '{"id": "P3", "title": "grey sofa"}\n')
    (tmp_path / "events.jsonl").write_text(
        '{"action_name": "impression", "query_id": "u1", "user_query": "red pan", '
        '"event_attributes": {"object": {"object_id": "P1"}, "position": {"ordinal": 1}}}\n')
    (tmp_path / "pairs.tsv").write_text("query\tproduct_id\n101\tP1\n102\tP3\n")
    return tmp_path


def _commands(d):
    q, c = d / "qrels.txt", d / "catalog.jsonl"
    return {
        "eval": ["eval", "--index", d / "no-index", "--judgments", q, "--scheme", "three-level"],
        "calibrate": ["calibrate", "--index", d / "no-index", "--judgments", q, "--out", d / "c.json",
                      "--scheme", "three-level"],
        "train stage1": ["train", "stage1", "--catalog", c, "--judgments", q, "--out", d / "s1",
                         "--scheme", "three-level"],
        "train stage2": ["train", "stage2", "--model", "all-minilm-l6-v2", "--judgments", q, "--catalog", c,
                         "--out", d / "s2", "--scheme", "three-level"],
        "judge train": ["judge", "train", "--judgments", q, "--catalog", c, "--out", d / "j",
                        "--scheme", "three-level"],
        "judge annotate": ["judge", "annotate", "--pairs", d / "pairs.tsv", "--catalog", c, "--out", d / "a.tsv",
                           "--llm-url", "http://127.0.0.1:9", "--llm-model", "m", "--scheme", "three-level"],
        "mine": ["mine", "--model", "all-minilm-l6-v2", "--catalog", c, "--judgments", q, "--out", d / "m.tsv",
                 "--scheme", "three-level"],
        "audit": ["audit", "--judgments", q, "--events", d / "events.jsonl", "--out", d / "au.tsv",
                  "--scheme", "three-level"],
    }


@pytest.mark.parametrize("name", ["eval", "calibrate", "train stage1", "train stage2", "judge train",
                                  "judge annotate", "mine", "audit"])
def test_numeric_query_ids_without_queries_file_are_an_error(shop, name):
    args = _commands(shop)[name]
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert result.exit_code == 2, result.output
    assert "are ids, not query texts: pass --queries FILE" in result.output
    assert "Traceback" not in result.output
    assert "--queries" in CliRunner().invoke(cli, [*name.split(), "--help"]).output


def test_queries_option_reads_the_texts(shop):
    """With --queries the ids resolve to texts: audit writes them to its output."""
    result = CliRunner().invoke(cli, [str(a) for a in [*_commands(shop)["audit"], "--queries", shop / "topics.tsv",
                                                       "--json"]])
    assert "not query texts" not in result.output
    assert result.exit_code == 0, result.output
    from mrs.data.readers import read_judgments

    audited = read_judgments(shop / "au.tsv")
    assert audited.queries() == {"101": "red pan", "102": "grey sofa"}


def test_three_level_grades_read_as_esci_get_a_hint(shop):
    result = CliRunner().invoke(cli, ["eval", "--judgments", str(shop / "qrels.txt"), "--queries",
                                      str(shop / "topics.tsv"), "--index", str(shop / "no-index")])
    assert result.exit_code == 2
    assert "grades 0-2 fill three levels" in result.output
    assert "--scheme three-level" in result.output and "--scheme wands" in result.output
