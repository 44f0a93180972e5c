"""The hostile cases of benchmarks/hostile_corpus.py, several per class of issue 20. Each builds its own
files and faults and says what the CLI must do with them (see hostile_harness for the checks)."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from hostile_harness import (
    SECRET,
    Case,
    Context,
    Result,
    all_checks,
    leaves_only,
    mount,
    mount_with,
    mrs,
    one_line,
    one_line_problem,
    python,
)

# ---- the corpus --------------------------------------------------------------------------------------

def url_cases() -> list[Case]:
    cases = []
    for backend in ("opensearch", "elasticsearch"):
        for label, url in (("slash", f"http://user:ab/{SECRET}@127.0.0.1:9"), ("hash", f"http://user:a#{SECRET}@127.0.0.1:9"),
                           ("query", f"http://user:a?{SECRET}@127.0.0.1:9"), ("at", f"http://user:p@{SECRET}@127.0.0.1:9")):
            cases.append(Case("urls", f"{backend}: password with {label} in --url",
                              lambda ctx, b=backend, u=url: mrs(ctx, "search", "grey sofa", "--backend", b, "--url", u,
                                                                "--index", "products"),
                              one_line(2, r"contains credentials", r"MRS_(OPEN|ELASTIC)SEARCH_", r"\*\*\*@127\.0\.0\.1")))
        for label, url, must in (("port 99999", "http://h:99999", "port must be a number"),
                                 ("open IPv6 bracket", "http://[::1", "Invalid IPv6"),
                                 ("query string", "http://h:9200/?pretty", "query string")):
            cases.append(Case("urls", f"{backend}: {label}",
                              lambda ctx, b=backend, u=url: mrs(ctx, "search", "sofa", "--backend", b, "--url", u,
                                                                "--index", "products"), one_line(2, must)))
    cases.append(Case("urls", "opensearch: credentials in MRS_OPENSEARCH_URL",
                      lambda ctx: mrs(ctx, "search", "sofa", "--backend", "opensearch", "--index", "products",
                                      env={"MRS_OPENSEARCH_URL": f"https://admin:x/{SECRET}@h:9200"}),
                      one_line(2, "contains credentials")))
    return cases


def _inspect_counts(r: Result) -> dict:
    try:
        return json.loads(r.out)
    except ValueError:
        return {}


def _rejects(path: Path) -> list[dict]:
    p = path.with_name(path.name + ".rejects.jsonl")
    return [json.loads(line) for line in p.read_text().splitlines()] if p.exists() else []


def csv_cases() -> list[Case]:
    def accounted(path: str, rows: int, lines: list[int]) -> Callable[[Result, Context], str | None]:
        def check(r: Result, ctx: Context) -> str | None:
            if r.code != 0:
                return f"exit {r.code}: {r.err.strip()[:160]}"
            d = _inspect_counts(r)
            got = (d.get("rows"), d.get("rejected"))
            rejected = [x["line"] for x in _rejects(ctx.work / "hostile" / path)]
            if (got[0] or 0) + (got[1] or 0) != rows or rejected != lines:
                return f"rows {got[0]} + rejected {got[1]} (lines {rejected}); expected {rows} rows in, rejects {lines}"
            return None

        return check

    def inspect(name: str) -> Callable[[Context], Result]:
        return lambda ctx: mrs(ctx, "data", "inspect", str(ctx.work / "hostile" / name), "--on-error", "skip",
                               "--json")

    def index_counts(r: Result, ctx: Context) -> str | None:
        if r.code != 0:
            return f"exit {r.code}: {r.err.strip()[:160]}"
        d = _inspect_counts(r)
        if (d.get("documents"), d.get("rejected")) != (19, 1):
            return f"documents {d.get('documents')}, rejected {d.get('rejected')}; expected 19 + 1 = 20"
        return None

    return [
        Case("csv-rows", "unterminated quote on line 11 of 20 rows (inspect)", inspect("quote11.csv"),
             accounted("quote11.csv", 20, [11])),
        Case("csv-rows", "quote open until the end of the file", inspect("quote_eof.csv"),
             accounted("quote_eof.csv", 20, [21])),
        Case("csv-rows", "a real multi-line quoted field", inspect("multiline.csv"), accounted("multiline.csv", 2, [])),
        Case("csv-rows", "unterminated quote: index catalog --on-error skip",
             lambda ctx: mrs(ctx, "index", "catalog", str(ctx.work / "hostile" / "quote11.csv"), "--index",
                             str(ctx.work / "idx-quote"), "--on-error", "skip", "--json"), index_counts),
        Case("csv-rows", "unterminated quote with --on-error fail: error at line 11",
             lambda ctx: mrs(ctx, "data", "inspect", str(ctx.work / "hostile" / "quote11.csv")),
             one_line(2, r"quote11\.csv:11: ", "runs to line 14")),
    ]


def one_line_cases() -> list[Case]:
    demo = ("demo", "catalog.jsonl")

    def on_ro(ctx: Context) -> Path:
        return mount(ctx, "ro", "ro,size=64k")

    return [
        Case("one-line", "corrupt Parquet pages", lambda ctx: mrs(ctx, "data", "inspect",
                                                                  str(ctx.work / "hostile" / "corrupt.parquet")),
             one_line(2, "corrupt Parquet data", forbid=("OSError",))),
        Case("one-line", "corrupt Parquet pages with --on-error skip (index catalog)",
             lambda ctx: mrs(ctx, "index", "catalog", str(ctx.work / "hostile" / "corrupt.parquet"), "--index",
                             str(ctx.work / "idx-parquet"), "--on-error", "skip"),
             one_line(2, "corrupt Parquet data")),
        Case("one-line", "data sample --out on a read-only mount",
             lambda ctx: mrs(ctx, "data", "sample", "--out", str(on_ro(ctx) / "demo")),
             one_line(1, r"read-only file system \(EROFS\)"), needs_mount=True),
        Case("one-line", "index catalog into a read-only mount",
             lambda ctx: mrs(ctx, "index", "catalog", str(ctx.work.joinpath(*demo)), "--index",
                             str(on_ro(ctx) / "idx")), one_line(1, r"read-only file system \(EROFS\)"),
             needs_mount=True),
        Case("one-line", "calibrate --out into a read-only mount",
             lambda ctx: mrs(ctx, "calibrate", "--index", str(ctx.work / "idx"), "--judgments",
                             str(ctx.work / "demo" / "judgments.tsv"), "--out", str(on_ro(ctx) / "cal.json"),
                             "--bootstrap", "0", "--min-pairs", "1"),
             one_line(1, r"read-only file system \(EROFS\)"), needs_mount=True),
        Case("one-line", "index catalog onto a full disk",
             lambda ctx: mrs(ctx, "index", "catalog", str(ctx.work.joinpath(*demo)), "--index",
                             str(mount(ctx, "full-index", "size=64k") / "idx")),
             all_checks(one_line(1, r"no space left on device \(ENOSPC\)"),
                        leaves_only(lambda ctx: ctx.work / "mnt" / "full-index", {".idx.lock"})), needs_mount=True),
    ]


def atomic_cases() -> list[Case]:
    def eval_full(ctx: Context) -> Result:
        full = mount(ctx, "full-eval", "size=24k")
        return mrs(ctx, "eval", "--index", str(ctx.work / "idx"), "--judgments", str(ctx.work / "demo" / "judgments.tsv"),
                   "--modes", "dense", "--out", str(full / "report"))  # (--modes lexical alone: issue i16a)

    def calibrate_full(ctx: Context) -> Result:
        full = mount(ctx, "full-cal", "size=96k")
        return mrs(ctx, "calibrate", "--index", str(ctx.work / "idx"), "--judgments",
                   str(ctx.work / "demo" / "judgments.tsv"), "--out", str(full / "cal.json"), "--bootstrap", "0",
                   "--min-pairs", "1")

    def inspect_full(ctx: Context) -> Result:
        def fill(d: Path) -> None:
            shutil.copy(ctx.work / "hostile" / "many_bad.jsonl", d / "catalog.jsonl")
        full = mount_with(ctx, "full-rejects", "size=64k", fill)
        return mrs(ctx, "data", "inspect", str(full / "catalog.jsonl"), "--on-error", "skip")

    kill = (
        "import os, signal, sys\n"
        "from mrs.engine import store\n"
        "real = os.rename\n"
        "def rename(a, b):\n"
        "    real(a, b)\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
        "store.os.rename = rename\n"
        "from mrs.cli.main import cli\n"
        "cli(['index', 'catalog', {catalog!r}, '--index', {index!r}], prog_name='mrs')\n"
    )

    def killed_then_rerun(ctx: Context) -> Result:
        index = ctx.work / "killed" / "idx"
        index.parent.mkdir(exist_ok=True)
        catalog = str(ctx.work / "demo" / "catalog.jsonl")
        first = mrs(ctx, "index", "catalog", catalog, "--index", str(index))
        if first.code:
            return first
        killed = python(ctx, kill.format(catalog=catalog, index=str(index)))
        left = sorted(p.name for p in index.parent.iterdir())
        if killed.code != -signal.SIGKILL or "idx" in left:
            return Result(99, "", f"the kill between the renames did not happen (exit {killed.code}, {left})", 0)
        return mrs(ctx, "index", "catalog", catalog, "--index", str(index))

    def rerun_check(r: Result, ctx: Context) -> str | None:
        if r.code:
            return f"exit {r.code}: {r.err.strip()[:200]}"
        if "removed what an interrupted earlier run left" not in r.err:
            return "the rerun did not report the leftovers it removed"
        left = sorted(p.name for p in (ctx.work / "killed").iterdir())
        return None if left == [".idx.lock", "idx"] else f"left {left}"

    return [
        Case("all-or-nothing", "eval --out on a full disk", eval_full,
             all_checks(one_line(1, "ENOSPC"), leaves_only(lambda ctx: ctx.work / "mnt" / "full-eval", set())),
             needs_mount=True),
        Case("all-or-nothing", "data sample --out on a full disk",
             lambda ctx: mrs(ctx, "data", "sample", "--out", str(mount(ctx, "full-sample", "size=200k") / "demo")),
             all_checks(one_line(1, "ENOSPC"), leaves_only(lambda ctx: ctx.work / "mnt" / "full-sample", set())),
             needs_mount=True),
        Case("all-or-nothing", "calibrate: JSON and plots together on a full disk", calibrate_full,
             all_checks(one_line(1, "ENOSPC"), leaves_only(lambda ctx: ctx.work / "mnt" / "full-cal", set())),
             needs_mount=True),
        Case("all-or-nothing", "inspect's rejects file on a full disk", inspect_full,
             all_checks(one_line(1, "ENOSPC"), leaves_only(lambda ctx: ctx.work / "mnt" / "full-rejects",
                                                           {"catalog.jsonl"})), needs_mount=True),
        Case("all-or-nothing", "kill -9 between the two renames, then index again", killed_then_rerun, rerun_check),
    ]


def mismatch_cases() -> list[Case]:
    def other_model(ctx: Context) -> Path:
        other = ctx.work / "models" / "other-384d"
        if not other.exists():
            from mrs.models import packaged_model_dir

            shutil.copytree(packaged_model_dir(), other)
            config = other / "config_sentence_transformers.json"
            config.write_text(json.dumps({**json.loads(config.read_text()), "retrained": 1}))
        return other

    def changed_in_place(ctx: Context) -> Result:
        model = other_model(ctx)
        index = ctx.work / "idx-other"
        r = mrs(ctx, "index", "catalog", str(ctx.work / "demo" / "catalog.jsonl"), "--index", str(index),
                "--model", str(model))
        if r.code:
            return r
        config = model / "config_sentence_transformers.json"
        config.write_text(json.dumps({**json.loads(config.read_text()), "retrained": 2}))
        return mrs(ctx, "search", "sofa", "--index", str(index), "--mode", "dense")

    def other_catalog(ctx: Context) -> Result:
        cal = ctx.work / "cal" / "cal.json"
        r = mrs(ctx, "calibrate", "--index", str(ctx.work / "idx"), "--judgments",
                str(ctx.work / "demo" / "judgments.tsv"), "--out", str(cal), "--bootstrap", "0", "--min-pairs", "1")
        if r.code:
            return r
        r = mrs(ctx, "data", "sample", "--out", str(ctx.work / "demo2"), "--seed", "7", "--products", "60",
                "--queries", "8")
        r = r if r.code else mrs(ctx, "index", "catalog", str(ctx.work / "demo2" / "catalog.jsonl"), "--index",
                                 str(ctx.work / "idx2"))
        if r.code:
            return r
        return mrs(ctx, "search", "sofa", "--index", str(ctx.work / "idx2"), "--calibration", str(cal),
                   "--mode", "dense")

    def warned(r: Result, ctx: Context) -> str | None:
        if r.code != 0 or "Traceback" in r.err:
            return f"exit {r.code}: {r.err.strip()[:200]}"
        return None if "fitted on another catalog" in r.err else f"no warning: {r.err.strip()[:200]}"

    return [
        Case("mismatch", "eval --model OTHER (another 384-d model)",
             lambda ctx: mrs(ctx, "eval", "--index", str(ctx.work / "idx"), "--judgments",
                             str(ctx.work / "demo" / "judgments.tsv"), "--modes", "dense", "--model",
                             str(other_model(ctx))),
             one_line(2, "query model 'other-384d'", "all-MiniLM-L6-v2", "--allow-model-mismatch")),
        Case("mismatch", "model directory changed in place after indexing", changed_in_place,
             one_line(2, "changed since the index was built")),
        Case("mismatch", "calibration fitted on another catalog", other_catalog, warned),
    ]


def reader_cases() -> list[Case]:
    def inspect(name: str, *extra: str) -> Callable[[Context], Result]:
        return lambda ctx: mrs(ctx, "data", "inspect", str(ctx.work / "hostile" / name), *extra)

    def first_row_reject(r: Result, ctx: Context) -> str | None:
        d = _inspect_counts(r)
        lines = [x["line"] for x in _rejects(ctx.work / "hostile" / "first_noid.jsonl")]
        return None if r.code == 0 and (d.get("rows"), lines) == (19, [1]) else f"exit {r.code}, {d}, rejects {lines}"

    return [
        Case("readers", "CSV with a wrong header: line 1", inspect("badheader.csv"),
             one_line(2, r"badheader\.csv:1: no id column")),
        Case("readers", "first JSONL row without id: a row reject", inspect("first_noid.jsonl", "--on-error", "skip",
                                                                          "--json"), first_row_reject),
        Case("readers", "ESCI grade 10 without a label", inspect("esci_g10.tsv"),
             one_line(2, r"esci_g10\.tsv:2: grade '10' is not a grade")),
        Case("readers", "mrs judgments: unknown level", inspect("mrs_unknown.tsv"),
             one_line(2, r"mrs_unknown\.tsv:7: unknown level 'fancy'")),
        Case("readers", "mrs judgments: grade 7 with exact", inspect("mrs_g7.tsv"),
             one_line(2, r"mrs_g7\.tsv:7: grade 7 is outside")),
        Case("readers", "mrs judgments: grade 0 with exact, --scheme esci", inspect("mrs_g0.tsv", "--scheme", "esci"),
             one_line(2, r"mrs_g0\.tsv:7: grade 0 contradicts level 'exact', which is grade 3",
                      forbid=("unknown label",))),
    ]


def noise_cases() -> list[Case]:
    def small_model(ctx: Context) -> Path:
        from mrs.models import packaged_model_dir

        small = ctx.work / "models" / "dense-128"
        if not small.exists():
            shutil.copytree(packaged_model_dir(), small)
            modules = json.loads((small / "modules.json").read_text())
            modules.insert(2, {"idx": 2, "name": "2", "path": "2_Dense", "type": "sentence_transformers.models.Dense"})
            (small / "modules.json").write_text(json.dumps(modules))
            (small / "2_Dense").mkdir()
            (small / "2_Dense" / "config.json").write_text(json.dumps({"in_features": 384, "out_features": 128}))
        return small

    def onnx_index_other_dim(ctx: Context) -> Result:
        index = ctx.work / "idx-onnx"
        if not index.exists():
            r = mrs(ctx, "index", "catalog", str(ctx.work / "demo" / "catalog.jsonl"), "--index", str(index),
                    "--encoder", "onnx")
            if r.code:
                return r
        return mrs(ctx, "eval", "--index", str(index), "--judgments", str(ctx.work / "demo" / "judgments.tsv"),
                   "--modes", "dense", "--model", str(small_model(ctx)))

    return [
        Case("noise", "dimension mismatch on an ONNX index: refused before any export", onnx_index_other_dim,
             one_line(2, "makes 128-dimensional vectors", forbid=("TracerWarning", "export"))),
        Case("noise", "eval --pipeline bad=FILE names the file",
             lambda ctx: mrs(ctx, "eval", "--index", str(ctx.work / "idx"), "--judgments",
                             str(ctx.work / "demo" / "judgments.tsv"), "--modes", "lexical", "--pipeline",
                             f"bad={ctx.work / 'hostile' / 'bad-pipeline.json'}"),
             one_line(2, r"^error: \S*bad-pipeline\.json: pipeline of run 'bad'")),
        Case("noise", "JSON error: 'starting at column', once", lambda ctx: mrs(
            ctx, "data", "inspect", str(ctx.work / "hostile" / "unterminated.jsonl")),
             one_line(2, "Unterminated string starting at column 22", forbid=("at at",))),
    ]


def concurrency_cases() -> list[Case]:
    def two_writers(ctx: Context, *, wait: bool) -> Result:
        index = ctx.work / ("race-wait" if wait else "race") / "idx"
        index.parent.mkdir(exist_ok=True)
        catalog = str(ctx.work / "demo" / "catalog.jsonl")
        lock = index.parent / ".idx.lock"
        first = subprocess.Popen([sys.executable, "-m", "mrs.cli.main", "index", "catalog", catalog, "--index",
                                  str(index)], env=ctx.env, cwd=ctx.work, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 120
        while time.time() < deadline and not (lock.exists() and lock.read_text().strip()):
            time.sleep(0.05)
        second = mrs(ctx, "index", "catalog", catalog, "--index", str(index), *(["--wait"] if wait else []))
        _, first_err = first.communicate(timeout=600)
        if first.returncode:
            return Result(98, "", f"the first writer failed: {first_err.strip()[:200]}", 0)
        second.out = f"first pid {first.pid}"
        return second

    def refused(r: Result, ctx: Context) -> str | None:
        pid = r.out.split()[-1]
        return one_line_problem(Result(r.code, "", r.err, r.seconds), 2, (f"is being written by pid {pid} on host",
                                                                          "--wait"))

    def waited(r: Result, ctx: Context) -> str | None:
        if r.code:
            return f"exit {r.code}: {r.err.strip()[:200]}"
        return None if "waiting:" in r.err else "the second writer did not say it was waiting"

    return [
        Case("concurrency", "two index runs into one directory: the second exits 2 naming the holder",
             lambda ctx: two_writers(ctx, wait=False), refused),
        Case("concurrency", "two index runs, the second with --wait", lambda ctx: two_writers(ctx, wait=True), waited),
    ]


def corpus() -> list[Case]:
    return (url_cases() + csv_cases() + one_line_cases() + atomic_cases() + mismatch_cases() + reader_cases()
            + noise_cases() + concurrency_cases())
