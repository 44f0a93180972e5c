"""Benchmark text-analysis throughput on a real catalog (the data path is an argument; nothing is copied).

Tokenizes every BM25 field text of <data>/esci/esci_us_products.jsonl (the engine's default fields: title,
brand, color, category, bullet_points, description) with the `standard` and `english` analyzers, and reports
field texts/s, MB/s (UTF-8) and tokens/s, best of --repeat runs (the Porter stem cache is cleared before
each run, so every run stems from scratch as an index build does).

--ref REV also loads `src/mrs/engine/analysis.py` as it was at git revision REV (e.g. the commit before a
change) and measures it on the same texts, so one run prints before/after.

Usage:
  .venv/bin/python benchmarks/analysis_bench.py --data ../shared/data --ref d50b7db
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mrs.data.readers import read_catalog
from mrs.indexer.documents import DEFAULT_FIELDS, bm25_texts

REPO = Path(__file__).resolve().parents[1]


def field_texts(data: Path) -> list[str]:
    """Every non-empty default-field text of the ESCI catalog, in catalog order."""
    products = read_catalog(data / "esci" / "esci_us_products.jsonl")
    texts = []
    for product in products:
        texts.extend(t for t in bm25_texts(product, DEFAULT_FIELDS).values() if t)
    return texts


def module_at(rev: str):
    """The analysis module as it was at git revision ``rev`` (imported from a temporary file)."""
    source = subprocess.run(["git", "-C", str(REPO), "show", f"{rev}:src/mrs/engine/analysis.py"],
                            check=True, capture_output=True, text=True).stdout
    path = Path(tempfile.mkdtemp()) / f"analysis_{rev}.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(f"analysis_{rev}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def measure(module, name: str, texts: list[str], repeat: int) -> dict:
    """Best-of-``repeat`` throughput of ``module.Analyzer(name).tokens`` over ``texts``."""
    analyzer = module.Analyzer(name)
    n_bytes = sum(len(t.encode("utf-8")) for t in texts)
    best = float("inf")
    n_tokens = 0
    for _ in range(repeat):
        module.porter_stem.cache_clear()
        t0 = time.perf_counter()
        n_tokens = sum(len(analyzer.tokens(t)) for t in texts)
        best = min(best, time.perf_counter() - t0)
    return {"analyzer": name, "texts": len(texts), "tokens": n_tokens, "seconds": round(best, 3),
            "texts_per_s": round(len(texts) / best), "mb_per_s": round(n_bytes / best / 1e6, 2),
            "tokens_per_s": round(n_tokens / best)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="folder holding esci/esci_us_products.jsonl")
    parser.add_argument("--ref", help="git revision whose analysis.py to measure beside the current one")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, help="write the rows as JSON here")
    args = parser.parse_args(argv)

    texts = field_texts(args.data)
    import mrs.engine.analysis as current

    versions = [("current", current)] + ([(args.ref, module_at(args.ref))] if args.ref else [])
    rows = []
    for label, module in versions:
        for name in ("standard", "english"):
            row = {"version": label, **measure(module, name, texts, args.repeat)}
            rows.append(row)
            print(f"{label:>10} {name:>8}: {row['texts']} texts, {row['tokens']} tokens in {row['seconds']} s"
                  f" = {row['texts_per_s']} texts/s, {row['mb_per_s']} MB/s, {row['tokens_per_s']} tokens/s",
                  flush=True)
    if args.ref:
        for name in ("standard", "english"):
            now, before = (next(r for r in rows if r["version"] == v and r["analyzer"] == name)
                           for v in ("current", args.ref))
            print(f"{name}: current / {args.ref} throughput = {now['texts_per_s'] / before['texts_per_s']:.2f}")
    if args.out:
        args.out.write_text(json.dumps(rows, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
