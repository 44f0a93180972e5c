"""Benchmark what a light `mrs` command costs to start: user + sys CPU seconds of the whole subprocess.

Each command runs ``--runs`` times as a fresh ``python -m mrs.cli.main ...`` subprocess (os.wait4 gives its
rusage); the table shows the median and the worst CPU seconds and the median wall time, and the heavy
libraries the command imported (``python -X importtime``). CPU time, not wall time, is the figure: on
shared cores wall time measures the neighbours. Target (issue 16): `mrs --help` and `mrs data inspect`
under 0.5 s of CPU.

Usage (the sample judgments are written to a temporary folder; no data set is needed):
  .venv/bin/python benchmarks/cli_startup.py --runs 5 [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HEAVY = ("torch", "ranx", "numba", "scipy.stats", "sentence_transformers", "transformers", "sklearn",
         "matplotlib", "faiss", "opensearchpy", "elasticsearch")
TARGET_CPU_S = 0.5


def run_once(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(user + sys CPU seconds, wall seconds) of one subprocess."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "mrs.cli.main", *argv], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"mrs {' '.join(argv)} exited {proc.returncode}")
    return usage.ru_utime + usage.ru_stime, wall


def heavy_imports(argv: list[str], env: dict[str, str]) -> list[str]:
    """The HEAVY modules the command imports (top-level names from -X importtime)."""
    out = subprocess.run([sys.executable, "-X", "importtime", "-m", "mrs.cli.main", *argv], env=env,
                         capture_output=True, text=True, check=False)
    loaded = {line.rsplit("|", 1)[-1].strip() for line in out.stderr.splitlines() if line.startswith("import time:")}
    return [m for m in HEAVY if m in loaded]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--json", dest="json_out", type=Path, default=None)
    args = ap.parse_args()
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    src = Path(__file__).resolve().parents[1] / "src"
    env["PYTHONPATH"] = f"{src}{os.pathsep}{env['PYTHONPATH']}" if env.get("PYTHONPATH") else str(src)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "mrs.cli.main", "data", "sample", "--out", tmp, "--json"], env=env,
                       check=True, stdout=subprocess.DEVNULL)
        commands = {
            "mrs --help": ["--help"],
            "mrs data inspect": ["data", "inspect", str(Path(tmp) / "judgments.tsv")],
            "mrs eval --help": ["eval", "--help"],
        }
        rows = []
        for label, argv in commands.items():
            cpu, wall = zip(*(run_once(argv, env) for _ in range(args.runs)), strict=True)
            rows.append({"command": label, "cpu_s_median": statistics.median(cpu), "cpu_s_max": max(cpu),
                         "wall_s_median": statistics.median(wall), "heavy_imports": heavy_imports(argv, env)})
    print(f"{'command':<20} {'CPU s median':>12} {'CPU s max':>10} {'wall s':>8}  heavy imports")
    for r in rows:
        print(f"{r['command']:<20} {r['cpu_s_median']:>12.3f} {r['cpu_s_max']:>10.3f} {r['wall_s_median']:>8.3f}  "
              f"{', '.join(r['heavy_imports']) or '-'}")
    print(f"target: mrs --help and mrs data inspect under {TARGET_CPU_S} s CPU ({args.runs} runs each)")
    if args.json_out:
        args.json_out.write_text(json.dumps({"runs": args.runs, "rows": rows}, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
