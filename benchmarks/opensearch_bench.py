"""Benchmark the OpenSearch target's client-side work on the ESCI subset (data path is an argument; nothing copied).

1. ML Commons export of the packaged all-MiniLM-L6-v2 (TorchScript and, when onnx/onnxruntime are installed,
   ONNX): export wall time, zip size, and agreement with sentence-transformers on N real product texts
   (embedding text template), tokenized one text at a time with the exported tokenizer.json as the cluster
   does: min / mean cosine, and per-text latency of the exported graph vs SentenceTransformer.encode.
2. Bulk writer overhead, client side only: building _source documents (BM25 texts + 384-d vectors) and sending
   them through opensearch-py's streaming_bulk to an in-memory connection (no network, no cluster): docs/s and
   request bytes per document. A real cluster adds network and indexing time on top.

Usage:
  .venv/bin/python benchmarks/opensearch_bench.py --data /work/shared/data --texts 200
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from mrs.cluster.bulk import BulkConfig  # noqa: E402
from mrs.cluster.documents import document_source  # noqa: E402
from mrs.data.readers import read_catalog  # noqa: E402
from mrs.data.text import ProductTextTemplate  # noqa: E402
from mrs.indexer.backend import Document  # noqa: E402
from mrs.indexer.documents import bm25_texts  # noqa: E402
from mrs.models import load_sentence_transformer  # noqa: E402
from mrs.opensearch.bulk import OpenSearchBulkWriter  # noqa: E402
from mrs.opensearch.mapping import IndexSpec  # noqa: E402
from mrs.opensearch.ml_export import _encode_one, export_model  # noqa: E402


def export_rows(texts: list[str], formats: list[str]) -> list[dict]:
    st = load_sentence_transformer(None, device="cpu")
    t = time.perf_counter()
    reference = st.encode(texts, convert_to_numpy=True, batch_size=1)
    st_ms = (time.perf_counter() - t) * 1000 / len(texts)
    rows = []
    for fmt in formats:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / f"minilm-{fmt}.zip"
            t = time.perf_counter()
            export_model(None, out, fmt, verify=False)
            export_s = time.perf_counter() - t
            size_mb = out.stat().st_size / 2**20
            with zipfile.ZipFile(out) as zf:
                zf.extractall(tmp)
            tok = Path(tmp) / "tokenizer.json"
            run = _runner(fmt, next(p for p in Path(tmp).iterdir() if p.suffix in (".pt", ".onnx")))
            cosines = []
            t = time.perf_counter()
            for text, ref in zip(texts, reference, strict=True):
                vec = run(*_encode_one(tok, text))
                cosines.append(float(vec @ ref / (np.linalg.norm(vec) * np.linalg.norm(ref))))
            graph_ms = (time.perf_counter() - t) * 1000 / len(texts)
        rows.append({"format": fmt, "export_s": round(export_s, 1), "zip_mb": round(size_mb, 1),
                     "min_cosine": min(cosines), "mean_cosine": float(np.mean(cosines)),
                     "graph_ms_per_text": round(graph_ms, 1), "st_ms_per_text": round(st_ms, 1)})
    return rows


def _runner(fmt: str, path: Path):
    if fmt == "torchscript":
        import torch

        model = torch.jit.load(str(path))

        def run(ids, mask, types):
            with torch.no_grad():
                return model({"input_ids": torch.from_numpy(ids), "attention_mask": torch.from_numpy(mask)})[
                    "sentence_embedding"].numpy()[0].astype(np.float64)
        return run
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = {i.name for i in session.get_inputs()}

    def run(ids, mask, types):
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        per_token, _ = session.run(None, {k: v for k, v in feeds.items() if k in names})
        m = mask[0].astype(np.float32)[:, None]
        return ((per_token[0] * m).sum(0) / m.sum()).astype(np.float64)
    return run


def bulk_row(products: list) -> dict:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "opensearch"))
    from fake_cluster import FakeCluster  # in-memory connection at opensearch-py's connection layer

    spec = IndexSpec(dimension=384)
    rng = np.random.default_rng(0)
    template = ProductTextTemplate()
    cluster = FakeCluster()
    client = cluster.client()
    t = time.perf_counter()

    def sources():
        for p in products:
            doc = Document(id=p.id, fields=p.fields, text=template.render(p),
                           vector=rng.standard_normal(384).astype(np.float32))
            yield p.id, document_source(doc, spec, bm25_texts(p, spec.text_fields))

    report = OpenSearchBulkWriter(client, "bench", config=BulkConfig(chunk_docs=500)).write(sources())
    seconds = time.perf_counter() - t
    sent = sum(len(b) for m, p, _, b in cluster.requests if p == "/_bulk")
    return {"documents": report.indexed, "chunks": report.chunks, "seconds": round(seconds, 2),
            "docs_per_s": round(report.indexed / seconds), "bytes_per_doc": round(sent / max(report.indexed, 1))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, type=Path, help="shared data directory (holds esci/)")
    ap.add_argument("--texts", type=int, default=200, help="product texts for the export agreement check")
    ap.add_argument("--formats", default="torchscript,onnx")
    ap.add_argument("--out", type=Path, default=None, help="write the results as JSON here")
    args = ap.parse_args()
    products = list(read_catalog(args.data / "esci" / "esci_us_products.jsonl"))
    template = ProductTextTemplate()
    texts = [template.render(p) for p in products[: args.texts]]
    formats = [f for f in args.formats.split(",") if f]
    if "onnx" in formats:
        try:
            import onnx  # noqa: F401
            import onnxruntime  # noqa: F401
        except ImportError:
            formats.remove("onnx")
            print("onnx/onnxruntime not installed: ONNX skipped", file=sys.stderr)
    result = {"export": export_rows(texts, formats), "bulk": bulk_row(products)}
    print(f"{'format':<12}{'export s':>9}{'zip MB':>8}{'min cos':>12}{'mean cos':>12}{'graph ms':>10}{'ST ms':>8}")
    for r in result["export"]:
        print(f"{r['format']:<12}{r['export_s']:>9}{r['zip_mb']:>8}{r['min_cosine']:>12.8f}{r['mean_cosine']:>12.8f}"
              f"{r['graph_ms_per_text']:>10}{r['st_ms_per_text']:>8}")
    b = result["bulk"]
    print(f"bulk (client side, in-memory connection): {b['documents']} docs in {b['chunks']} chunks, "
          f"{b['docs_per_s']} docs/s, {b['bytes_per_doc']} bytes/doc")
    if args.out:
        args.out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
