"""Conformance of mrs's analysis and lexical scoring with real Lucene 9.9.1 on the ESCI catalog.

Needs a JDK and the Lucene jar (``$MRS_LUCENE_JAR`` or ~/.cache/mrs/lucene/anserini-1.7.1-fatjar.jar, which
.ci/run fetches). Reads <data>/esci/esci_us_products.jsonl and the queries of esci_us_queryset.json; nothing
is copied. Reports:

1. tokens: the % of field texts (the engine's default BM25 fields: title, brand, color, category,
   bullet_points, description) whose token stream equals Lucene's StandardAnalyzer / EnglishAnalyzer, and
   the number of products with a difference; with --ref REV also for analysis.py as it was at git revision REV;
2. lexical: for BM25 and LegacyBM25 under each analyzer, the number of queries whose multi_match best_fields
   top-100 equals Lucene's (same documents in the same order, float32-identical scores), and the largest
   score difference seen.

Usage:
  .venv/bin/python benchmarks/lucene_conformance.py --data ../shared/data --ref d50b7db
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.analysis_bench import module_at  # noqa: E402
from tests.lucene.oracle import LuceneOracle, find_jar  # noqa: E402

from mrs.data.readers import read_catalog  # noqa: E402
from mrs.engine.analysis import Analyzer  # noqa: E402
from mrs.engine.bm25 import MultiFieldBM25  # noqa: E402
from mrs.indexer.documents import DEFAULT_FIELDS, bm25_texts  # noqa: E402


def token_conformance(lucene: LuceneOracle, analyzer_cls, docs: list[dict[str, str]]) -> dict:
    """Per analyzer: field texts and products whose tokens equal Lucene's."""
    cells = [(i, text) for i, doc in enumerate(docs) for text in doc.values() if text]
    texts = [text for _, text in cells]
    out = {}
    for name in ("standard", "english"):
        theirs = lucene.tokens(name, texts)
        analyzer = analyzer_cls(name)
        differing = [k for k, text in enumerate(texts) if analyzer.tokens(text) != theirs[k]]
        out[name] = {"texts": len(texts), "identical_pct": round(100 * (1 - len(differing) / len(texts)), 3),
                     "differing_texts": len(differing),
                     "differing_products": len({cells[k][0] for k in differing})}
    return out


def lexical_conformance(lucene: LuceneOracle, docs: list[dict[str, str]], queries: list[str]) -> list[dict]:
    """Per (analyzer, similarity): queries whose top-100 equals Lucene's, order and float32 scores."""
    rows = []
    for analyzer in ("standard", "english"):
        for similarity in ("BM25", "LegacyBM25"):
            bm = MultiFieldBM25(DEFAULT_FIELDS, analyzer=analyzer, similarity=similarity).build(docs)
            theirs = lucene.bm25(docs, DEFAULT_FIELDS, queries, similarity=similarity, analyzer=analyzer, k=100)
            same_order = identical = 0
            worst = 0.0
            for query, hits in zip(queries, theirs, strict=True):
                idx, scores = bm.search(query, k=100)
                ours = [(int(i), np.float32(s)) for i, s in zip(idx, scores, strict=True)]
                same_order += [d for d, _ in ours] == [d for d, _ in hits]
                identical += ours == hits
                theirs_by_doc = dict(hits)
                worst = max([worst] + [abs(float(s) - float(theirs_by_doc[d])) for d, s in ours
                                       if d in theirs_by_doc])
            rows.append({"analyzer": analyzer, "similarity": similarity, "queries": len(queries),
                         "same_top100_order": same_order, "identical_top100": identical,
                         "max_abs_score_diff": worst})
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="folder holding esci/")
    parser.add_argument("--ref", help="git revision whose analysis.py to compare with Lucene too (tokens only)")
    parser.add_argument("--out", type=Path, help="write the figures as JSON here")
    args = parser.parse_args(argv)
    jar = find_jar()
    if jar is None:
        print("error: no Lucene jar (set MRS_LUCENE_JAR or run .ci/run)", file=sys.stderr)
        return 2
    esci = args.data / "esci"
    docs = [bm25_texts(p, DEFAULT_FIELDS) for p in read_catalog(esci / "esci_us_products.jsonl")]
    queryset = json.loads((esci / "esci_us_queryset.json").read_text(encoding="utf-8"))
    queries = [q["queryText"] for q in queryset["querySetQueries"]]
    lucene = LuceneOracle(jar)
    t0 = time.perf_counter()
    report = {"products": len(docs), "tokens": {"current": token_conformance(lucene, Analyzer, docs)}}
    if args.ref:
        report["tokens"][args.ref] = token_conformance(lucene, module_at(args.ref).Analyzer, docs)
    for version, per_analyzer in report["tokens"].items():
        for name, row in per_analyzer.items():
            print(f"tokens {version:>8} {name:>8}: {row['identical_pct']}% of {row['texts']} field texts identical"
                  f" ({row['differing_texts']} differ, in {row['differing_products']} products)", flush=True)
    report["lexical"] = lexical_conformance(lucene, docs, queries)
    for row in report["lexical"]:
        print(f"lexical {row['analyzer']:>8} {row['similarity']:>10}: top-100 identical (order and float32 "
              f"scores) for {row['identical_top100']}/{row['queries']} queries, same order for "
              f"{row['same_top100_order']}; max |score diff| {row['max_abs_score_diff']:.3g}", flush=True)
    lucene.close()
    print(f"{time.perf_counter() - t0:.1f} s")
    if args.out:
        args.out.write_text(json.dumps(report, indent=2, default=float), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
