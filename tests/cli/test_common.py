"""Shared CLI plumbing used by several commands: the --id-field option and the rejects bookkeeping."""

from __future__ import annotations

import json

import click
from click.testing import CliRunner

from mrs.cli.common import id_field_option, print_rejects_note, record_rejects
from mrs.data.rejects import Rejects


def test_id_field_option_defaults_to_none_and_passes_the_column():
    @click.command()
    @id_field_option
    def cmd(id_field):
        click.echo(repr(id_field))

    runner = CliRunner()
    assert runner.invoke(cmd, []).output.strip() == "None"  # None: the reader picks the first known id column
    assert runner.invoke(cmd, ["--id-field", "sku"]).output.strip() == "'sku'"
    help_text = " ".join(runner.invoke(cmd, ["--help"]).output.split())  # click wraps help lines
    assert "first of id, _id, asin, product_id" in help_text


def test_record_rejects_writes_beside_the_output_and_reports_counts(tmp_path):
    out = tmp_path / "mined.tsv"
    report: dict = {}
    record_rejects(report, Rejects(), out)
    assert report == {}  # nothing rejected: no key, no file
    assert not (tmp_path / "mined.tsv.rejects.jsonl").exists()

    rejects = Rejects()
    rejects.add(tmp_path / "j.tsv", 3, "bad grade", "q1\tp1\tX")
    rejects.add(tmp_path / "j.tsv", 5, "bad grade", "q2\tp2\tY")
    record_rejects(report, rejects, out)
    path = tmp_path / "mined.tsv.rejects.jsonl"
    assert report["rejects"] == {"count": 2, "path": str(path), "reasons": rejects.reasons()}
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert [r["line"] for r in rows] == [3, 5]


def test_print_rejects_note_names_count_and_file(tmp_path, capsys):
    print_rejects_note({})
    assert capsys.readouterr().err == ""
    print_rejects_note({"rejects": {"count": 2, "path": "x.rejects.jsonl", "reasons": {}}})
    err = capsys.readouterr().err
    assert "2 bad rows skipped" in err and "x.rejects.jsonl" in err


def test_progress_shows_on_a_terminal_even_with_json_and_never_on_a_pipe(monkeypatch):
    import io

    from rich.console import Console

    from mrs.cli import common

    monkeypatch.setattr(common, "err_console", Console(file=io.StringIO(), force_terminal=True))
    assert common.progress(quiet=True).disable is False  # --json: stdout is JSON, the bar is on stderr
    monkeypatch.setattr(common, "err_console", Console(file=io.StringIO(), force_terminal=False))
    assert common.progress(quiet=False).disable is True
