"""The `mrs` group: lazy subcommands (issue 16 item 12) and their summaries."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from mrs.cli.main import COMMANDS, cli

SRC = str(Path(__file__).resolve().parents[2] / "src")
HEAVY = ("torch", "ranx", "scipy.stats", "sentence_transformers", "transformers", "numba", "matplotlib", "faiss")


def _loaded_after(code: str) -> list[str]:
    """HEAVY modules present in sys.modules after running ``code`` in a fresh interpreter."""
    probe = code + f"\nimport json, sys\nprint(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_importing_the_cli_loads_no_heavy_library():
    assert _loaded_after("import mrs.cli.main") == []


def test_help_and_data_inspect_load_no_heavy_library(tmp_path):
    from mrs.data.sample import write_sample

    write_sample(tmp_path, n_products=40, n_queries=3)
    runs = ("from click.testing import CliRunner\nfrom mrs.cli.main import cli\n"
            "r = CliRunner().invoke(cli, ['--help']); assert r.exit_code == 0, r.output\n"
            f"r = CliRunner().invoke(cli, ['data', 'inspect', {str(tmp_path / 'judgments.tsv')!r}])\n"
            "assert r.exit_code == 0, r.output")
    assert _loaded_after(runs) == []


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_summary_is_the_commands_own_short_help(name):
    modules, summary = COMMANDS[name]
    command = importlib.import_module(modules[0]).command
    assert command.name == name
    assert command.get_short_help_str(limit=10_000) == summary


def test_help_lists_every_command_and_each_runs_its_own_help():
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for name in COMMANDS:
        assert f"  {name} " in result.output
        sub = CliRunner().invoke(cli, [name, "--help"])
        assert sub.exit_code == 0, sub.output
        assert "Example" in sub.output or "Commands:" in sub.output


def test_train_group_holds_both_stages():
    result = CliRunner().invoke(cli, ["train", "--help"])
    assert "stage1" in result.output and "stage2" in result.output
