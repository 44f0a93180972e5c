"""Encoding speed and quality per CPU encoder backend, side by side in one run (issue 18, part 3).

Usage:
  .venv/bin/python benchmarks/encoding_bench.py --data ../shared/data --threads 1 --out /tmp/runs/encoding.json
  .venv/bin/python benchmarks/encoding_bench.py --data ../shared/data --backends torch onnx-int8 openvino-int8 --limit 2000
  .venv/bin/python benchmarks/encoding_bench.py --data ../shared/data --limit 1536 \
      --reference-index /tmp/esci-torch-index --quality-backends openvino-int8     # a busy machine

Measures, on the ESCI catalog's embedding texts (mrs.data.text.DEFAULT_TEMPLATE; the data path is an
argument, nothing is copied into the repo):
1. docs/s per backend in interleaved chunks (torch, onnx-int8, openvino, ..., torch, ...) so load on a shared
   machine hits every backend alike, each encoder with the same --threads and --batch-size, and each
   backend's cosine agreement with torch fp32 (benchmarks/run.py bench_encoding);
2. nDCG@10 of dense and hybrid retrieval with each backend's vectors (catalog and queries), and the gate for
   a default encoder: mean cosine ≥ 0.99 and nDCG@10 drop ≤ 0.005 against torch (run.py bench_quality).
With --limit, speed is timed on the first N texts only; nDCG then needs --reference-index, an embedded index
of the same catalog built with --encoder torch (its stored vectors are torch fp32's, its BM25 is shared), and
the --quality-backends encode the whole catalog untimed. The openvino-int8 export is calibrated on this catalog's texts, as `mrs index catalog --encoder
openvino-int8` calibrates it (a cached export made before is replaced: --fresh-export, default on).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import bench_encoding, bench_quality, default_gate, log, machine  # noqa: E402

from mrs.data.readers import read_catalog, read_judgments  # noqa: E402
from mrs.data.text import DEFAULT_TEMPLATE, ProductTextTemplate  # noqa: E402
from mrs.engine.engine import EmbeddedEngine  # noqa: E402
from mrs.indexer.documents import to_document  # noqa: E402
from mrs.indexer.encoders import CALIBRATED_BACKENDS, KNOWN_ENCODER_BACKENDS  # noqa: E402

DEFAULT_BACKENDS = ("torch", "onnx-int8", "openvino", "openvino-int8")


def prepare_exports(backends, texts: list[str], fresh: bool) -> dict:
    """Export every non-torch backend once (calibrated ones on ``texts``); seconds per backend."""
    from mrs.indexer.onnx_export import export_onnx
    from mrs.indexer.openvino_encoder import export_openvino

    seconds = {}
    for name in backends:
        t0 = time.perf_counter()
        if name.startswith("onnx"):
            export_onnx(None, name)
        elif name.startswith("openvino"):
            export_openvino(None, name, calibration_texts=texts if name in CALIBRATED_BACKENDS else None,
                            force=fresh and name in CALIBRATED_BACKENDS)
        seconds[name] = round(time.perf_counter() - t0, 1)
        log(f"export {name}: {seconds[name]} s")
    return seconds


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, type=Path, help="shared data folder holding esci/ (e.g. ../shared/data)")
    ap.add_argument("--backends", nargs="+", default=list(DEFAULT_BACKENDS), choices=KNOWN_ENCODER_BACKENDS)
    ap.add_argument("--threads", type=int, default=1, help="CPU threads per encoder, the same for all [1]")
    ap.add_argument("--batch-size", type=int, default=32, help="texts per batch, the same for all [32]")
    ap.add_argument("--chunk", type=int, default=512, help="texts per interleaved timing chunk [512]")
    ap.add_argument("--limit", type=int, default=None, help="time only the first N texts (no nDCG then)")
    ap.add_argument("--reference-index", type=Path, default=None,
                    help="with --limit: a torch index of this catalog whose vectors give the torch nDCG")
    ap.add_argument("--quality-backends", nargs="*", default=None,
                    help="with --reference-index: the backends whose full-catalog nDCG is measured [all]")
    ap.add_argument("--no-fresh-export", dest="fresh", action="store_false",
                    help="reuse a cached calibrated export instead of calibrating on this catalog")
    ap.add_argument("--out", type=Path, default=Path("encoding.json"), help="JSON results [encoding.json]")
    args = ap.parse_args(argv)
    esci = args.data / "esci"
    catalog, qrels = esci / "esci_us_products.jsonl", esci / "esci_us_qrels.tsv"
    if not catalog.exists() or not qrels.exists():
        print(f"error: {esci} lacks esci_us_products.jsonl / esci_us_qrels.tsv", file=sys.stderr)
        return 2
    backends = ["torch", *[b for b in args.backends if b != "torch"]]
    products = list(read_catalog(catalog))
    texts = [to_document(p, ProductTextTemplate(DEFAULT_TEMPLATE)).text for p in products]
    result: dict = {"machine": machine(), "threads": args.threads, "batch_size": args.batch_size,
                    "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    result["export_s"] = prepare_exports(backends, texts, args.fresh)
    timed = texts[: args.limit] if args.limit else texts
    log(f"encoding {len(timed)} texts with {', '.join(backends)}, threads {args.threads}")
    result["encoding"], per_backend = bench_encoding(timed, backends, chunk=args.chunk, batch_size=args.batch_size,
                                                     threads=args.threads)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")  # a failure below keeps these
    quality = None
    if not args.limit:
        with tempfile.TemporaryDirectory(prefix="mrs-encoding-") as tmp:
            index = Path(tmp) / "index"
            vectors, encoder = per_backend["torch"]
            EmbeddedEngine.build(index, products, encoder=_Precomputed(encoder, texts, vectors))
            quality = bench_quality(index, read_judgments(qrels), per_backend)
    elif args.reference_index:
        quality = reference_quality(args.reference_index, texts, per_backend, args.quality_backends, qrels)
    result["quality"] = quality
    gated = {k: v for k, v in result["encoding"].items() if quality is None or k in quality}
    result["default_gate"] = default_gate(gated, quality)  # a backend without nDCG is not gated
    result["finished"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print_rows(result)
    return 0


def reference_quality(index: Path, texts: list[str], per_backend: dict, backends, qrels: Path) -> dict:
    """nDCG@10 per backend (run.py bench_quality) against ``index``: torch's are its stored vectors, every
    other backend in ``backends`` (None: all) encodes ``texts`` (the whole catalog, in index order) untimed."""
    engine = EmbeddedEngine.open(index)
    ref = np.asarray(engine.vectors.vectors, dtype=np.float32)
    if len(ref) != len(texts):
        raise SystemExit(f"error: {index} holds {len(ref)} vectors, the catalog {len(texts)} texts")
    chosen = {"torch": (ref, per_backend["torch"][1])}
    for name in backends or [b for b in per_backend if b != "torch"]:
        log(f"encoding the whole catalog with {name} for nDCG")
        vectors = per_backend[name][1].encode(texts)
        cos = np.sum(vectors * ref, axis=1)
        log(f"  {name} cosine vs the index's torch vectors, mean {cos.mean():.4f} min {cos.min():.4f}")
        chosen[name] = (vectors, per_backend[name][1])
    return bench_quality(index, read_judgments(qrels), chosen)


class _Precomputed:
    """The torch encoder with its already computed catalog vectors (building the shared BM25 index must not
    encode the catalog a second time)."""

    def __init__(self, encoder, texts: list[str], vectors) -> None:
        self.encoder, self.rows = encoder, {t: i for i, t in enumerate(texts)}
        self.vectors = vectors

    def __getattr__(self, name):
        return getattr(self.encoder, name)

    def encode(self, texts, progress=None):
        out = self.vectors[[self.rows[t] for t in texts]]
        if progress is not None:
            progress(len(texts))
        return out


def print_rows(result: dict) -> None:
    m = result["machine"]
    print(f"\nencoding — {m['cpu']}, {m['cores']} cores, load {m['load_average_1min_at_start']} at start, "
          f"{result['threads']} thread(s) per encoder, batch {result['batch_size']}")
    print("| backend | docs/s | × torch | cosine vs torch mean / min | nDCG@10 dense / hybrid (Δ) |")
    print("|---|---|---|---|---|")
    q = result.get("quality") or {}
    for name, f in result["encoding"].items():
        nd = q.get(name)
        nd_s = "—" if not nd else (f"{nd['dense']:.4f} / {nd['hybrid']:.4f}" + ("" if name == "torch" else
                                   f" ({-nd['dense_drop_vs_torch']:+.4f} / {-nd['hybrid_drop_vs_torch']:+.4f})"))
        print(f"| {name} | {f['docs_per_s']} | {f['speedup_vs_torch']}× | {f['cosine_vs_torch_mean']:.4f} / "
              f"{f['cosine_vs_torch_min']:.4f} | {nd_s} |")
    print(f"fastest within the gate: {result['default_gate']['fastest_passing']}")


if __name__ == "__main__":
    sys.exit(main())
