"""A corpus of hostile inputs and faults, run through the real `mrs` CLI (one subprocess per case); prints
pass / fail per category (issue 20).

Usage:
  .venv/bin/python benchmarks/hostile_corpus.py --work /tmp/hostile            # every case (~5 min on 2 cores)
  .venv/bin/python benchmarks/hostile_corpus.py --work /tmp/hostile --only urls --json

Each case states what a careful tool does with it — the exit code (2 bad input, 1 environment fault, 0 when
the input is fine), exactly one ``error:`` line on stderr and no traceback, secrets absent from every byte
of output, nothing partial left behind — and the case passes only when all of that holds. Faults are real:
a full disk is a 64 KiB tmpfs, a read-only directory a read-only tmpfs, a crash is SIGKILL between the
index swap's two renames, concurrency is two processes. A case that cannot run here (no ``mount``) is
reported as SKIP with its reason and counted in the table; nothing is left out silently.

The data is the project's own: `mrs data sample` writes a small catalog and judgments into --work, and the
hostile files are made from it; nothing from ../shared/data is used.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from hostile_cases import corpus  # noqa: E402
from hostile_harness import CATEGORIES, REPO, Case, Context, mount, mrs  # noqa: E402

# ---- fixtures ----------------------------------------------------------------------------------------

def setup(ctx: Context) -> None:
    """Sample data, a small index, hostile files."""
    w = ctx.work
    r = mrs(ctx, "data", "sample", "--out", str(w / "demo"), "--products", "60", "--queries", "8")
    if r.code:
        raise SystemExit(f"setup: mrs data sample failed: {r.err}")
    r = mrs(ctx, "index", "catalog", str(w / "demo" / "catalog.jsonl"), "--index", str(w / "idx"))
    if r.code:
        raise SystemExit(f"setup: mrs index catalog failed: {r.err}")
    _hostile_files(w)


def _hostile_files(w: Path) -> None:
    h = w / "hostile"
    h.mkdir(exist_ok=True)
    rows = [f"{i},sofa {i},desc {i}" for i in range(1, 21)]
    rows[9] = '10,"grey sofa,soft'
    rows[12] = '13,"sofa, grey",nice'
    (h / "quote11.csv").write_text("\n".join(["id,title,description", *rows]) + "\n")
    eof = [f"{i},sofa {i},desc {i}" for i in range(1, 20)] + ['20,"never closed,x']
    (h / "quote_eof.csv").write_text("\n".join(["id,title,description", *eof]) + "\n")
    (h / "multiline.csv").write_text('id,title,description\n1,sofa,"two\nlines"\n2,chair,plain\n')
    (h / "badheader.csv").write_text("sku_code,title\n1,sofa\n2,chair\n")
    first = [{"title": "no id"}] + [{"id": str(i), "title": f"sofa {i}"} for i in range(2, 21)]
    (h / "first_noid.jsonl").write_text("".join(json.dumps(x) + "\n" for x in first))
    (h / "unterminated.jsonl").write_text('{"id": "1", "title": "abc}\n')
    (h / "esci_g10.tsv").write_text("query\tproduct_id\tsrw_rating\tesci_label\tgrade\nsofa\tp1\t\t\t10\n")
    header = "query_id\tquery\tproduct_id\tgrade\tlevel\tsource\tconfidence\n"
    good = "".join(f"q1\tsofa\tp{i}\t3\texact\thuman\t1\n" for i in range(5))
    for name, row in (("unknown", "q2\tchair\tp1\t2\tfancy\thuman\t1"), ("g7", "q2\tchair\tp1\t7\texact\thuman\t1"),
                      ("g0", "q2\tchair\tp1\t0\texact\thuman\t1")):
        (h / f"mrs_{name}.tsv").write_text(header + good + row + "\n")
    bad_pipeline = {"phase_results_processors": [{"normalization-processor": {"normalization": {"technique": "x"}}}]}
    (h / "bad-pipeline.json").write_text(json.dumps(bad_pipeline))
    _corrupt_parquet(h / "corrupt.parquet")
    many = [json.dumps({"id": str(i), "title": "sofa " * 20}) for i in range(60)] + ["{broken"] * 400
    (h / "many_bad.jsonl").write_text("\n".join(many) + "\n")


def _corrupt_parquet(path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({"id": [str(i) for i in range(2000)], "title": [f"grey sofa {i} " * 5 for i in range(2000)]})
    pq.write_table(table, path, compression="snappy", row_group_size=500)
    data = bytearray(path.read_bytes())
    for i in range(len(data) // 2, len(data) // 2 + 200):
        data[i] ^= 0x5A
    path.write_bytes(bytes(data))


def run_case(case: Case, ctx: Context) -> tuple[str, str, float]:
    """(PASS | FAIL | SKIP, detail, seconds)."""
    if case.needs_mount and not ctx.can_mount:
        return "SKIP", f"needs a tmpfs mount: {ctx.mount_error}", 0.0
    try:
        result = case.run(ctx)
    except RuntimeError as e:  # a mount that failed for this case
        return "SKIP", f"fault injection unavailable: {e}", 0.0
    problem = case.check(result, ctx)
    return ("FAIL", problem, result.seconds) if problem else ("PASS", "", result.seconds)


def probe_mount(ctx: Context) -> None:
    try:
        mount(ctx, "probe", "size=16k")
        ctx.can_mount = True
    except (RuntimeError, OSError) as e:
        ctx.can_mount, ctx.mount_error = False, str(e)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, required=True, help="Scratch directory (emptied first).")
    parser.add_argument("--only", choices=CATEGORIES, action="append", help="Run only these categories.")
    parser.add_argument("--json", action="store_true", help="Print the results as JSON after the table.")
    args = parser.parse_args(argv)
    work = args.work.resolve()
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    env = {**os.environ, "PYTHONPATH": f"{REPO / 'src'}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
           "HF_HUB_OFFLINE": "1", "COLUMNS": "200"}
    for var in ("MRS_OPENSEARCH_URL", "MRS_ELASTICSEARCH_URL", "MRS_OPENSEARCH_USER", "MRS_OPENSEARCH_PASSWORD"):
        env.pop(var, None)
    ctx = Context(work, env)
    sys.path.insert(0, str(REPO / "src"))
    try:
        probe_mount(ctx)
        setup(ctx)
        cases = [c for c in corpus() if not args.only or c.category in args.only]
        results = []
        for case in cases:
            status, detail, seconds = run_case(case, ctx)
            results.append({"category": case.category, "case": case.name, "status": status, "detail": detail,
                            "seconds": round(seconds, 1)})
            print(f"{status:4}  {case.category:15} {case.name}" + (f"  — {detail}" if detail else ""), flush=True)
    finally:
        for where in reversed(ctx.mounts):
            subprocess.run(["umount", "-l", str(where)], capture_output=True)
    print_table(results)
    if args.json:
        print(json.dumps(results, indent=2))
    return 0 if all(r["status"] == "PASS" for r in results) else 1


def print_table(results: list[dict]) -> None:
    print()
    print(f"{'category':16} {'cases':>5} {'pass':>5} {'fail':>5} {'skip':>5}")
    for category in CATEGORIES:
        rows = [r for r in results if r["category"] == category]
        if rows:
            counts = {s: sum(r["status"] == s for r in rows) for s in ("PASS", "FAIL", "SKIP")}
            print(f"{category:16} {len(rows):5} {counts['PASS']:5} {counts['FAIL']:5} {counts['SKIP']:5}")
    total = {s: sum(r["status"] == s for r in results) for s in ("PASS", "FAIL", "SKIP")}
    print(f"{'total':16} {len(results):5} {total['PASS']:5} {total['FAIL']:5} {total['SKIP']:5}")


if __name__ == "__main__":
    sys.exit(main())
