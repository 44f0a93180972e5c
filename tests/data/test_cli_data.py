"""`mrs data sample` and `mrs data inspect`: JSON output, exit code 2 with one line naming file and line,
--on-error skip writing a rejects file beside the input and counting."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from mrs.cli.main import cli


def _run(*args):
    return CliRunner().invoke(cli, list(args))


def test_sample_then_inspect_each_kind(tmp_path):
    out = tmp_path / "demo"
    r = _run("data", "sample", "--out", str(out), "--products", "60", "--queries", "9", "--json")
    assert r.exit_code == 0, r.output
    made = json.loads(r.stdout)
    assert made["products"] == 60 and made["queries"] == 9

    cat = json.loads(_run("data", "inspect", str(out / "catalog.jsonl"), "--json").stdout)
    assert cat["kind"] == "catalog" and cat["rows"] == 60 and cat["rejected"] == 0
    assert cat["fields"]["title"] == 60 and cat["fields"]["category"] == 60

    jud = json.loads(_run("data", "inspect", str(out / "judgments.tsv"), "--json").stdout)
    assert jud["kind"] == "judgments" and jud["format"] == "esci" and jud["queries"] == 9
    assert jud["rows"] == made["judgments"] == sum(jud["levels"].values())
    assert list(jud["levels"]) == ["exact", "substitute", "complement", "irrelevant"]
    assert jud["rejected"] == 0

    ev = json.loads(_run("data", "inspect", str(out / "events.jsonl"), "--json").stdout)
    assert ev["kind"] == "events" and ev["rows"] == made["events"] == sum(ev["actions"].values())
    assert ev["actions"]["impression"] > ev["actions"]["click"] > 0 and ev["rejected"] == 0


def test_human_output_is_a_table(tmp_path):
    p = tmp_path / "c.jsonl"
    p.write_text('{"id": "1", "title": "Mug"}\n', encoding="utf-8")
    r = _run("data", "inspect", str(p))
    assert r.exit_code == 0 and "rows" in r.stdout and "field title" in r.stdout


BAD = [
    ("bad.jsonl", b'{"id": "1"}\n{"id": 2\n', "bad.jsonl:2: malformed JSON"),
    ("bad.csv", b"id,title\n1,a\n,b\n", "bad.csv:3: empty id"),
    ("dup.jsonl", b'{"id": "1"}\n{"id": "1"}\n', "dup.jsonl:2: duplicate id '1'"),
    ("noid.jsonl", b'{"sku": "1"}\n', "noid.jsonl:1: no id column"),
    ("utf.jsonl", b'{"id": "1"}\n{"id": "\xff"}\n', "utf.jsonl:2: not UTF-8"),
    ("empty.jsonl", b"", "empty.jsonl:1: empty file"),
    ("label.tsv", b"query\tproduct_id\tsrw_rating\tesci_label\tgrade\nq\tP1\t\tZ\t\n", "label.tsv:2: unknown label 'Z'"),
]


@pytest.mark.parametrize(("name", "data", "message"), BAD)
def test_bad_input_exits_2_with_one_line(tmp_path, name, data, message):
    p = tmp_path / name
    p.write_bytes(data)
    r = _run("data", "inspect", str(p), "--json")
    assert r.exit_code == 2
    assert r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in r.stderr


def test_wrong_delimiter_and_missing_file_exit_2(tmp_path):
    p = tmp_path / "product.csv"
    p.write_text("product_id\tproduct_name\n1\tbed\n", encoding="utf-8")
    r = _run("data", "inspect", str(p), "--delimiter", ",")
    assert r.exit_code == 2 and "product.csv:1: only one column with delimiter ','" in r.stderr
    assert _run("data", "inspect", str(p), "--delimiter", "\\t", "--json").exit_code == 0
    r = _run("data", "inspect", str(tmp_path / "missing.jsonl"))
    assert r.exit_code == 2 and "missing.jsonl: no such file" in r.stderr


def test_skip_writes_rejects_beside_the_input_and_counts(tmp_path):
    p = tmp_path / "c.jsonl"
    p.write_bytes(b'{"id": "1"}\n{"id": 2\n{"id": "1"}\n{"id": "3"}\n')
    r = _run("data", "inspect", str(p), "--on-error", "skip", "--json")
    assert r.exit_code == 0, r.stderr
    result = json.loads(r.stdout)
    assert result["rows"] == 2 and result["rejected"] == 2
    rejects_file = tmp_path / "c.jsonl.rejects.jsonl"
    assert result["rejects_file"] == str(rejects_file)
    rows = [json.loads(line) for line in rejects_file.read_text(encoding="utf-8").splitlines()]
    assert [(row["line"], row["raw"]) for row in rows] == [(2, '{"id": 2'), (3, '{"id": "1"}')]


def test_help_has_an_example():
    for sub in ("sample", "inspect"):
        r = _run("data", sub, "--help")
        assert r.exit_code == 0 and "Example" in r.output and "mrs data" in r.output
