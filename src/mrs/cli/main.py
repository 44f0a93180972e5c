"""The `mrs` command group. Each subcommand lives in its own module under mrs.cli, imported only when it runs.

`mrs --help` and `mrs data inspect` must not pay for torch, ranx, scipy.stats or sentence-transformers:
the group lists its commands from ``COMMANDS`` (module + one-line summary) and imports a command's module
in ``get_command`` (click's lazy-loading pattern, https://click.palletsprojects.com/en/stable/complex/).
tests/cli/test_main.py checks each summary against the command's own docstring.
"""

from __future__ import annotations

import importlib
import os

import click

from mrs import __version__
from mrs.cli.common import MrsGroup

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

COMMANDS: dict[str, tuple[tuple[str, ...], str]] = {
    # name: (modules to import — the first defines `command` —, the summary `mrs --help` shows)
    "audit": (("mrs.cli.audit",),
              "Flag labels that contradict engagement; keep, re-judge or drop them; write the audited judgments "
              "and a report."),
    "calibrate": (("mrs.cli.calibrate",),
                  "Calibrate per-level dense thresholds, probabilities and the hybrid blend from judgments."),
    "compare": (("mrs.cli.compare",),
                "Compare two indexes (or models) side by side on the same judgments, with significance tests."),
    "data": (("mrs.cli.data",),
             "Datasets: write the sample data, inspect catalogs, judgments and engagement events."),
    "eval": (("mrs.cli.eval",),
             "Evaluate retrieval against graded judgments with ranx: metrics per run, significance between runs, "
             "judged@k, recall per level, score separation (AUC) per level, latency."),
    "export": (("mrs.cli.export",), "Export models for deployment."),
    "index": (("mrs.cli.index",), "Build search indexes."),
    "judge": (("mrs.cli.judge",),
              "Relevance judge: a cross-encoder classifier over the level scheme (or an OpenAI-compatible LLM)."),
    "mine": (("mrs.cli.mine",),
             "Embed the catalog with the Stage-1 model, search it with faiss for every training query, keep the "
             "unjudged products near a level boundary, and label them with the judge."),
    "search": (("mrs.cli.search",),
               "Search an index built by `mrs index catalog`: embedded, or on OpenSearch / Elasticsearch "
               "(--backend)."),
    "templates": (("mrs.cli.templates",),
                  "Render and install OpenSearch search templates, pipelines and the index mapping."),
    # `train stage2` attaches itself to the train group when mrs.cli.train_stage2 is imported
    "train": (("mrs.cli.train", "mrs.cli.train_stage2"),
              "Train embedding models with the Mine & Refine recipe (stage1: graded SupCon; stage2: mine & "
              "refine)."),
}


class LazyGroup(MrsGroup):
    """mrs's group (MrsGroup: the one error boundary) whose subcommands are imported on first use; listing
    them (help) imports nothing."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(COMMANDS) | set(self.commands))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands:
            return self.commands[cmd_name]
        if cmd_name not in COMMANDS:
            return None
        modules, _ = COMMANDS[cmd_name]
        loaded = [importlib.import_module(m) for m in modules]
        command = loaded[0].command
        self.add_command(command, cmd_name)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The commands section of `mrs --help` from COMMANDS' summaries (no subcommand module imported)."""
        names = self.list_commands(ctx)
        if not names:
            return
        limit = formatter.width - 6 - max(len(n) for n in names)
        rows = []
        for name in names:
            if name in COMMANDS:
                rows.append((name, _truncate(COMMANDS[name][1], limit)))
            else:
                rows.append((name, self.commands[name].get_short_help_str(limit)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def _truncate(text: str, limit: int) -> str:
    """click's short-help truncation: whole words up to ``limit`` characters, then '...'."""
    if len(text) <= limit:
        return text
    cut = text[: max(limit - 3, 0)].rsplit(" ", 1)[0]
    return cut.rstrip(" .,:;") + "..."


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(__version__, prog_name="mrs")
def cli() -> None:
    """mrs — Mine & Refine Search: train graded-relevance embeddings, index a catalog with BM25 + vectors,
    calibrate hybrid search and deploy it to OpenSearch or Elasticsearch.

    \b
    Example (embedded engine, no server, no download):
      mrs data sample --out demo
      mrs index catalog demo/catalog.jsonl --index demo/index
      mrs search "red cotton shirt" --index demo/index --mode hybrid
    """


def main() -> None:
    cli(prog_name="mrs")


if __name__ == "__main__":
    main()
