"""`make bench`: the performance suite — one table on stdout, the same figures as JSON.

Usage:
  .venv/bin/python benchmarks/run.py --data ../shared/data                 # full run (tens of minutes on 2 cores)
  .venv/bin/python benchmarks/run.py --data ../shared/data --quick         # 1,000 products, 20k synthetic docs

What it measures (the data path is an argument; nothing is copied into the repo):
1. encoding docs/s of the ESCI catalog's embedding texts (mrs.data.text.DEFAULT_TEMPLATE) for
   --encoder torch / onnx / onnx-int8, timed in interleaved chunks (torch, onnx, int8, torch, ...) so a busy
   machine slows every backend alike; cosine agreement of each backend's vectors with torch fp32;
2. nDCG@10 of dense and hybrid retrieval on the ESCI judgments with each backend's vectors (catalog and
   queries encoded by that backend; the BM25 side is shared), and the default-encoder gate of issue 10:
   mean cosine ≥ 0.99 and nDCG@10 drop ≤ 0.005 against torch;
3. `mrs index catalog` end to end (a subprocess: imports, model load, read, embed, BM25, vectors, write)
   wall time and peak RSS, per encoder;
4. query latency p50/p95 per mode, with and without the query embedding (engine_bench.bench_latency);
5. bm25s vs rank-bm25 vs mrs's BM25 on the ESCI texts (engine_bench.bench_bm25_libraries);
6. `mrs eval` wall time for the judged queries × 3 modes (lexical, dense, hybrid), a subprocess;
7. scale: HNSW recall@10 vs exact over an ef_search sweep, k-NN / lexical (exhaustive and early-terminated) /
   hybrid latency and memory at 100k and 1M documents with ESCI-structured vectors and the real ESCI query
   vectors (scale_bench.run_sizes; --scale-from reuses a scale_bench.py JSON).

Absolute times depend on the machine and on what else runs on it: the table's first line names the CPU,
core count and the load average at the start. Ratios compare backends measured side by side in this run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import scale_bench  # noqa: E402
from engine_bench import bench_bm25_libraries, bench_latency, load_queries  # noqa: E402

from mrs.data.readers import read_catalog, read_judgments  # noqa: E402
from mrs.data.text import DEFAULT_TEMPLATE, ProductTextTemplate  # noqa: E402
from mrs.engine.engine import EmbeddedEngine  # noqa: E402
from mrs.engine.vectors import VectorIndex  # noqa: E402
from mrs.eval.harness import EvalConfig, evaluate_backend  # noqa: E402
from mrs.eval.runs import parse_modes  # noqa: E402
from mrs.indexer.documents import to_document  # noqa: E402
from mrs.indexer.encoders import load_encoder  # noqa: E402
from mrs.indexer.parallel import set_threads  # noqa: E402

BACKENDS = ("torch", "onnx", "onnx-int8")
GATE_MEAN_COSINE = 0.99
GATE_NDCG_DROP = 0.005


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def machine() -> dict:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg() if hasattr(os, "getloadavg") else (None,)
    return {"cpu": cpu, "cores": os.cpu_count(), "load_average_1min_at_start": round(load[0], 1) if load[0] else None,
            "python": platform.python_version()}


# ---- 1 + 2: encoding speed, agreement, quality --------------------------------------------------------


def bench_encoding(texts: list[str], backends=BACKENDS, chunk: int = 512, batch_size: int = 32,
                   threads: int | None = 1) -> tuple[dict, dict]:
    """docs/s per backend over ``texts`` in interleaved chunks, and cosine agreement with torch.
    threads: CPU threads of every encoder (mrs.indexer.parallel.set_threads; None: library defaults).
    Returns (figures, {backend: (vectors, encoder)})."""
    encoders, figures = {}, {}
    for name in backends:
        t0 = time.perf_counter()
        encoders[name] = load_encoder(None, backend=name, batch_size=batch_size)
        set_threads(encoders[name], threads)
        figures[name] = {"load_s": round(time.perf_counter() - t0, 2)}  # includes a first-use ONNX export
        encoders[name].encode(texts[:64])  # warm-up: allocator, ORT kernels, torch caches
    parts: dict[str, list[np.ndarray]] = {name: [] for name in backends}
    seconds = dict.fromkeys(backends, 0.0)
    for start in range(0, len(texts), chunk):
        block = texts[start: start + chunk]
        for name in backends:
            t0 = time.perf_counter()
            parts[name].append(encoders[name].encode(block))
            seconds[name] += time.perf_counter() - t0
        log(f"encoded {min(start + chunk, len(texts))}/{len(texts)}: " + ", ".join(
            f"{n} {(start + len(block)) / seconds[n]:.0f}/s" for n in backends))
    vectors = {name: np.concatenate(parts[name]) for name in backends}
    ref = vectors["torch"]
    for name in backends:
        cos = np.sum(vectors[name] * ref, axis=1)  # cosinesimil vectors are unit rows
        figures[name].update({
            "docs": len(texts),
            "seconds": round(seconds[name], 2),
            "docs_per_s": round(len(texts) / seconds[name], 1),
            "speedup_vs_torch": round(seconds["torch"] / seconds[name], 2),
            "cosine_vs_torch_mean": round(float(cos.mean()), 5),
            "cosine_vs_torch_min": round(float(cos.min()), 5),
        })
    return figures, {name: (vectors[name], encoders[name]) for name in backends}


def bench_quality(index_dir: Path, judgments, per_backend: dict) -> dict:
    """nDCG@10 (dense, hybrid) per backend: the index's BM25 with that backend's catalog vectors, queries
    encoded by the same backend (mrs.eval.harness, k 100)."""
    out = {}
    for name, (vectors, encoder) in per_backend.items():
        engine = EmbeddedEngine.open(index_dir)
        engine.vectors = VectorIndex(vectors, engine.space_type, hnsw_threshold=len(vectors) + 1)
        report, _ = evaluate_backend(engine, encoder, judgments, parse_modes("dense,hybrid"), EvalConfig(k=100))
        out[name] = {mode: round(float(report["runs"][mode]["ndcg@10"]), 4) for mode in ("dense", "hybrid")}
        log(f"nDCG@10 {name}: {out[name]}")
    ref = out["torch"]
    for name in out:
        out[name]["dense_drop_vs_torch"] = round(ref["dense"] - out[name]["dense"], 4)
        out[name]["hybrid_drop_vs_torch"] = round(ref["hybrid"] - out[name]["hybrid"], 4)
    return out


def default_gate(encoding: dict, quality: dict | None) -> dict:
    """Which ONNX backends keep quality (issue 10's gate) and the fastest one that does."""
    verdicts = {}
    for name in encoding:
        if name == "torch":
            continue
        cos_ok = encoding[name]["cosine_vs_torch_mean"] >= GATE_MEAN_COSINE
        ndcg_ok = None if quality is None else all(
            quality[name][f"{m}_drop_vs_torch"] <= GATE_NDCG_DROP for m in ("dense", "hybrid"))
        verdicts[name] = {"mean_cosine_ok": cos_ok, "ndcg_drop_ok": ndcg_ok,
                          "passes": bool(cos_ok and ndcg_ok is not False)}
    passing = [n for n in verdicts if verdicts[n]["passes"]]
    best = max(passing, key=lambda n: encoding[n]["docs_per_s"]) if passing else "torch"
    return {"backends": verdicts, "fastest_passing": best}


# ---- 3 + 6: subprocess runs of the CLI -------------------------------------------------------------------


def run_measured(cmd: list[str], env: dict | None = None) -> dict:
    """Run ``cmd``; wall seconds, peak RSS (MiB, polled every 50 ms, children included) and its JSON stdout."""
    import psutil

    t0 = time.perf_counter()
    errors = tempfile.TemporaryFile(mode="w+")  # a pipe left unread while polling could fill and block the child
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=errors, text=True, env=env)
    ps = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        try:
            rss = ps.memory_info().rss + sum(c.memory_info().rss for c in ps.children(recursive=True))
            peak = max(peak, rss)
        except psutil.Error:
            pass
        time.sleep(0.05)
    stdout, _ = proc.communicate()
    wall = time.perf_counter() - t0
    errors.seek(0)
    stderr = errors.read()
    errors.close()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}): {stderr.strip().splitlines()[-1:]}")
    return {"wall_s": round(wall, 1), "peak_rss_mb": round(peak / 2**20), "output": json.loads(stdout)}


def mrs_cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "mrs.cli.main", *args]


def thread_env(threads: int | None) -> dict | None:
    """Environment that gives a CLI subprocess ``threads`` encoder threads (torch reads OMP_NUM_THREADS,
    mrs.indexer.onnx_encoder reads MRS_ENCODER_THREADS); None: inherit."""
    if not threads:
        return None
    return {**os.environ, "OMP_NUM_THREADS": str(threads), "MRS_ENCODER_THREADS": str(threads)}


def bench_index_builds(catalog: Path, work: Path, backends, threads: int | None = None) -> dict:
    out = {}
    for name in backends:
        log(f"mrs index catalog --encoder {name}")
        r = run_measured(mrs_cli("index", "catalog", str(catalog), "--index", str(work / f"index-{name}"),
                                 "--encoder", name, "--json"), env=thread_env(threads))
        out[name] = {"wall_s": r["wall_s"], "peak_rss_mb": r["peak_rss_mb"],
                     "build_s": r["output"].get("seconds"), "documents": r["output"].get("documents")}
        log(f"  {out[name]}")
    return out


def bench_eval(index_dir: Path, qrels: Path, threads: int | None = None) -> dict:
    log("mrs eval --modes lexical,dense,hybrid")
    r = run_measured(mrs_cli("eval", "--index", str(index_dir), "--judgments", str(qrels),
                             "--modes", "lexical,dense,hybrid", "--json"), env=thread_env(threads))
    settings = r["output"].get("settings", {})
    return {"wall_s": r["wall_s"], "peak_rss_mb": r["peak_rss_mb"], "queries": settings.get("n_queries"),
            "ndcg@10": {run: round(m.get("ndcg@10", float("nan")), 4) for run, m in r["output"].get("runs", {}).items()}}


# ---- the table ------------------------------------------------------------------------------------------


def rows(result: dict) -> list[tuple[str, str, str]]:
    out: list[tuple[str, str, str]] = []
    enc = result["encoding"]
    for name, f in enc.items():
        out.append(("encoding", f"{name} docs/s ({f['docs']} ESCI texts)",
                    f"{f['docs_per_s']} ({f['speedup_vs_torch']}× torch)"))
    for name, f in enc.items():
        if name != "torch":
            out.append(("encoding", f"{name} cosine vs torch fp32 mean / min",
                        f"{f['cosine_vs_torch_mean']:.4f} / {f['cosine_vs_torch_min']:.4f}"))
    q = result.get("quality")
    if q:
        for name, f in q.items():
            out.append(("quality", f"{name} nDCG@10 dense / hybrid", f"{f['dense']:.4f} / {f['hybrid']:.4f}"
                        + ("" if name == "torch" else f" (Δ {-f['dense_drop_vs_torch']:+.4f} / {-f['hybrid_drop_vs_torch']:+.4f})")))
    gate = result["default_gate"]
    out.append(("quality", "fastest backend within the gate (cos ≥ 0.99, ΔnDCG ≤ 0.005)", gate["fastest_passing"]))
    for name, f in result["index_build"].items():
        out.append(("index", f"mrs index catalog --encoder {name}: wall s / peak RSS MiB ({f['documents']} docs)",
                    f"{f['wall_s']} / {f['peak_rss_mb']}"))
    for name, lat in result["latency"].items():
        for mode in ("lexical", "dense", "hybrid"):
            w, wo = lat[mode]["with_query_embedding"], lat[mode]["without_query_embedding"]
            out.append(("query", f"{mode} p50 / p95 ms, with {name} query embedding | without",
                        f"{w['p50_ms']} / {w['p95_ms']} | {wo['p50_ms']} / {wo['p95_ms']}"))
        qe = lat["query_embedding_only"]
        out.append(("query", f"{name} query embedding alone p50 / p95 ms", f"{qe['p50_ms']} / {qe['p95_ms']}"))
    b = result["bm25_libraries"]
    for name in ("mrs MultiFieldBM25", "bm25s lucene", "rank-bm25 Okapi"):
        out.append(("bm25", f"{name} query p50 / p95 ms ({b['corpus']['documents']} docs, one field)",
                    f"{b[name]['query']['p50_ms']} / {b[name]['query']['p95_ms']}"))
    e = result["eval"]
    out.append(("eval", f"mrs eval wall s ({e['queries']} queries × 3 modes) / peak RSS MiB", f"{e['wall_s']} / {e['peak_rss_mb']}"))
    for s in result.get("scale", []):
        n = f"{s['documents']:,}"
        out.append(("scale", f"{n} docs: HNSW build s / nearest-neighbour cosine p50", f"{s['hnsw_build_s']} / {s['nn_cosine']['p50']}"))
        for r in s["sweep"]:
            out.append(("scale", f"{n} docs: ef_search {r['ef_search']}: recall@10 / kNN p50 ms", f"{r['recall_at_10']} / {r['p50_ms']}"))
        out.append(("scale", f"{n} docs: kNN exact p50 ms", f"{s['knn_exact']['p50_ms']}"))
        for ef, h in s["hybrid"].items():
            out.append(("scale", f"{n} docs: hybrid p50 / p95 ms at ef_search {ef} (no query encoding)", f"{h['p50_ms']} / {h['p95_ms']}"))
        le, lp = s["lexical_exhaustive"], s["lexical_early_termination"]
        out.append(("scale", f"{n} docs: lexical p50 / p95 ms exhaustive | early termination",
                    f"{le['p50_ms']} / {le['p95_ms']} | {lp['p50_ms']} / {lp['p95_ms']}"))
        out.append(("scale", f"{n} docs: RSS growth MiB vectors+graph / BM25; peak", f"{s['rss_mb_vectors_and_graph']:.0f} / {s['rss_mb_bm25']:.0f}; {s['peak_rss_mb']:.0f}"))
    return out


def print_table(result: dict) -> None:
    m = result["machine"]
    print(f"\nmrs benchmark ({'quick' if result['quick'] else 'full'}) — {m['cpu']}, {m['cores']} cores, "
          f"load average {m['load_average_1min_at_start']} at start; {result['finished']}")
    table = rows(result)
    w1 = max(len(r[0]) for r in table)
    w2 = max(len(r[1]) for r in table)
    print(f"| {'area'.ljust(w1)} | {'measurement'.ljust(w2)} | value |")
    print(f"|{'-' * (w1 + 2)}|{'-' * (w2 + 2)}|-------|")
    for area, what, value in table:
        print(f"| {area.ljust(w1)} | {what.ljust(w2)} | {value} |")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, type=Path, help="shared data folder holding esci/ (e.g. ../shared/data)")
    ap.add_argument("--quick", action="store_true", help="1,000 products, no nDCG, one 20k synthetic size")
    ap.add_argument("--out", type=Path, default=Path("bench.json"), help="JSON results file [bench.json]")
    ap.add_argument("--work", type=Path, default=None, help="where indexes are built [a temp dir]")
    ap.add_argument("--scale-sizes", type=int, nargs="*", default=None, help="synthetic sizes [100000 1000000]")
    ap.add_argument("--threads", type=int, default=1,
                    help="CPU threads per encoder, the same for every backend (0: library defaults) [1: on a shared "
                         "box one thread is fastest, and no idle thread pool spins against the other backend]")
    ap.add_argument("--scale-from", type=Path, default=None, help="take scale figures from a scale_bench.py JSON")
    args = ap.parse_args(argv)

    esci = args.data / "esci"
    catalog, qrels_path = esci / "esci_us_products.jsonl", esci / "esci_us_qrels.tsv"
    if not catalog.exists() or not qrels_path.exists():
        print(f"error: {esci} lacks esci_us_products.jsonl / esci_us_qrels.tsv", file=sys.stderr)
        return 2
    result: dict = {"machine": machine(), "quick": args.quick, "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    products = list(read_catalog(catalog))
    queries = load_queries(qrels_path)
    with tempfile.TemporaryDirectory(prefix="mrs-bench-") as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        if args.quick:
            products = products[:1000]
            sub_catalog = work / "catalog-1000.jsonl"
            with catalog.open(encoding="utf-8") as src, sub_catalog.open("w", encoding="utf-8") as dst:
                for _, line in zip(range(1000), src, strict=False):  # file lines: "\n" only (texts hold U+2028)
                    dst.write(line)
            catalog = sub_catalog
        template = ProductTextTemplate(DEFAULT_TEMPLATE)
        texts = [to_document(p, template).text for p in products]

        def save() -> None:  # after every section: a long run that dies still leaves its figures
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")

        log(f"encoding {len(texts)} texts with {', '.join(BACKENDS)}, threads {args.threads or 'default'}")
        result["encoding"], per_backend = bench_encoding(texts, threads=args.threads or None)
        save()
        # the fastest backend within the cosine gate is indexed first: its index also serves the quality runs
        candidate = default_gate(result["encoding"], None)["fastest_passing"]
        result["index_build"] = bench_index_builds(catalog, work, (candidate,), args.threads)
        base_index = work / f"index-{candidate}"
        save()
        if not args.quick:
            log("nDCG@10 per backend")
            result["quality"] = bench_quality(base_index, read_judgments(qrels_path), per_backend)
        result["default_gate"] = default_gate(result["encoding"], result.get("quality"))
        save()

        log("query latency")
        result["latency"] = {}
        for name in dict.fromkeys(("torch", result["default_gate"]["fastest_passing"])):
            result["latency"][name] = bench_latency(EmbeddedEngine.open(base_index), per_backend[name][1], queries)
        del per_backend
        save()

        log("BM25 libraries")
        result["bm25_libraries"] = bench_bm25_libraries(products, queries)
        result["eval"] = bench_eval(base_index, qrels_path, args.threads)
        save()
        if candidate != "torch":
            result["index_build"].update(bench_index_builds(catalog, work, ("torch",), args.threads))
            save()

    if args.scale_from:
        result["scale"] = json.loads(args.scale_from.read_text(encoding="utf-8"))["sizes"]
        result["scale_source"] = str(args.scale_from)
    else:
        sizes = args.scale_sizes if args.scale_sizes is not None else ([20_000] if args.quick else [100_000, 1_000_000])
        scale_args = scale_bench.parser().parse_args(
            ["--data", str(args.data), "--work", str(args.work or Path(tempfile.gettempdir()) / "mrs-scale"),
             "--sizes", *map(str, sizes)])

        def on_size(scale: dict) -> None:
            result["scale"] = scale["sizes"]
            save()

        scale_bench.run_sizes(scale_args, log=log, on_size=on_size)
    result["finished"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    save()
    print_table(result)
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
