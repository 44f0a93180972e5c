"""`--backend opensearch` end to end through the CLI: `mrs index catalog`, `mrs search`, `mrs eval` and
`mrs calibrate` against the in-memory OpenSearch node of tests/opensearch (opensearch-py's real client,
Transport and bulk helpers; only the HTTP hop is replaced), compared with the embedded engine on the same
generated sample.

The node answers ``_search`` with ``ClusterScorer`` below, from what the cluster actually holds and what the
request actually says: BM25 with the similarity (type, k1, b) declared in the index settings and the analyzer
of the mapping over the stored field texts, boosts and tie_breaker from the multi_match, k-NN scores of the
mapping's space_type over the stored (JSON round-tripped) vectors, the ids filter, and hybrid queries
normalized and combined by the pipeline the request carries. So a wrong field text, boost, vector, k, depth or
pipeline anywhere in the wiring shows up as a ranking or score that differs from the embedded engine's.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "opensearch"))

from fake_cluster import FakeCluster  # noqa: E402

from fakes.query_dsl import matches, terms_aggregation  # noqa: E402
from mrs.cli.main import cli  # noqa: E402
from mrs.engine.bm25 import MultiFieldBM25  # noqa: E402
from mrs.engine.hybrid import SubqueryResult, combine  # noqa: E402
from mrs.engine.pipeline import parse_pipeline  # noqa: E402
from mrs.engine.spaces import knn_score  # noqa: E402
from mrs.indexer.embed import l2_normalize  # noqa: E402

QUERIES = ["red frying pan", "wireless headphones black", "stainless steel water bottle"]


class ClusterScorer:
    """Answers ``_search`` as an OpenSearch 3.x node would for the queries mrs sends (see module doc)."""

    def __init__(self, cluster: FakeCluster) -> None:
        self.cluster = cluster
        self._bm25: dict[tuple, tuple[list[str], MultiFieldBM25]] = {}

    def __call__(self, index: str, req: dict, params: dict) -> list[dict]:
        docs = self.cluster.indices[index]["docs"]
        size = int(req.get("size", 10))
        query = req["query"]
        if "hybrid" in query:
            scores = self.hybrid(index, query["hybrid"], size, req.get("search_pipeline")
                                 or self.cluster.pipelines[params["search_pipeline"]])
        else:
            scores = self.evaluate(index, query)
        order = list(docs)
        ranked = sorted(scores.items(), key=lambda kv: (-kv[1], order.index(kv[0])))[:size]
        wanted = req.get("_source", True)
        hits = []
        for doc_id, score in ranked:
            hit = {"_index": index, "_id": doc_id, "_score": score}
            if wanted:
                src = docs[doc_id]
                hit["_source"] = src if wanted is True else {k: src[k] for k in wanted if k in src}
            hits.append(hit)
        return hits

    # -- queries ----------------------------------------------------------------------------------------
    def evaluate(self, index: str, query: dict) -> dict[str, float]:
        """{doc id: score} of the documents the query matches."""
        (kind, body), = query.items()
        if kind == "multi_match":
            return self.multi_match(index, body)
        if kind == "bool":  # mrs sends must: [query] + filter: [ids or attribute filter], or should: [queries]
            docs = self.cluster.indices[index]["docs"]
            if "must" not in body:  # a disjunction (facets over both hybrid sub-queries): the union of matches
                union: dict[str, float] = {}
                for sub in body["should"]:
                    for i, s in self.evaluate(index, sub).items():
                        union[i] = union.get(i, 0.0) + s
                return union
            (must,), filters = body["must"], body.get("filter", [])
            return {i: s for i, s in self.evaluate(index, must).items()
                    if all(matches(i, docs[i], f) for f in filters)}
        if kind == "knn":
            return self.knn(index, body)
        if kind == "ids":
            docs = self.cluster.indices[index]["docs"]
            return {i: 1.0 for i in body["values"] if i in docs}
        raise AssertionError(f"the scorer does not know {kind!r} queries")

    def multi_match(self, index: str, mm: dict) -> dict[str, float]:
        assert mm["type"] == "best_fields"
        body = self.cluster.indices[index]["body"]
        similarity = body["settings"]["index"]["similarity"]
        fields = {}
        for spec in mm["fields"]:
            name, _, boost = spec.partition("^")
            fields[name] = float(boost or 1.0)
        mapping = body["mappings"]["properties"]
        sim = similarity[mapping[next(iter(fields))]["similarity"]]
        key = (index, tuple(fields.items()), float(mm.get("tie_breaker", 0.0)))
        if key not in self._bm25:
            docs = self.cluster.indices[index]["docs"]
            ids = list(docs)
            bm = MultiFieldBM25(fields, analyzer=mapping[next(iter(fields))]["analyzer"], similarity=sim["type"],
                                k1=sim["k1"], b=sim["b"], tie_breaker=key[2])
            self._bm25[key] = (ids, bm.build([{f: docs[i].get(f) for f in fields} for i in ids]))
        ids, bm = self._bm25[key]
        scores, matched = bm.score(mm["query"])
        return {ids[r]: float(scores[r]) for r in np.flatnonzero(matched)}

    def knn(self, index: str, knn: dict) -> dict[str, float]:
        (field, body), = knn.items()
        entry = self.cluster.indices[index]
        space = entry["body"]["mappings"]["properties"][field]["method"]["space_type"]
        ids = list(entry["docs"])
        if body.get("filter"):  # efficient filtering: the k nearest among the documents that pass
            ids = [i for i in ids if matches(i, entry["docs"][i], body["filter"])]
        if not ids:
            return {}
        stored = np.array([entry["docs"][i][field] for i in ids], dtype=np.float32)
        q = np.asarray(body["vector"], dtype=np.float32)
        if space == "cosinesimil":
            stored, q = l2_normalize(stored), l2_normalize(q)
        # raw similarity with faiss's SIMD kernels, as OpenSearch's faiss engine computes it (float32)
        import faiss

        raw32 = np.empty(len(ids), dtype=np.float32)
        kernel = faiss.fvec_L2sqr_ny if space == "l2" else faiss.fvec_inner_products_ny
        stored, q = np.ascontiguousarray(stored), np.ascontiguousarray(q)
        kernel(faiss.swig_ptr(raw32), faiss.swig_ptr(q), faiss.swig_ptr(stored), stored.shape[1], len(ids))
        raw = raw32.astype(np.float64)
        scores = np.asarray(knn_score(raw, space), dtype=np.float64)
        order = sorted(range(len(ids)), key=lambda r: -scores[r])
        if "k" in body:
            order = order[: body["k"]]
        else:
            order = [r for r in order if scores[r] >= body["min_score"]]
        return {ids[r]: float(scores[r]) for r in order}

    def aggregate(self, index: str, req: dict, params: dict) -> dict:
        """Terms aggregations over every document the request's query matches."""
        docs = self.cluster.indices[index]["docs"]
        matched = [docs[i] for i in self.evaluate(index, req["query"])]
        return {name: terms_aggregation(matched, agg["terms"]["field"], agg["terms"].get("size", 10))
                for name, agg in req["aggs"].items()}

    def hybrid(self, index: str, hybrid: dict, size: int, pipeline_body: dict) -> dict[str, float]:
        depth = int(hybrid.get("pagination_depth") or size)  # OpenSearch: pagination_depth, else from + size
        order = list(self.cluster.indices[index]["docs"])
        subresults = []
        for j, sub in enumerate(hybrid["queries"]):
            scored = sorted(self.evaluate(index, sub).items(), key=lambda kv: (-kv[1], order.index(kv[0])))[:depth]
            subresults.append(SubqueryResult(f"q{j}", [i for i, _ in scored], [s for _, s in scored]))
        combined = combine(subresults, parse_pipeline(pipeline_body, n_subqueries=len(subresults)), size=size,
                           pagination_depth=depth)
        return {c.id: float(c.score) for c in combined}


def run(*args, **kwargs):
    return CliRunner().invoke(cli, [str(a) for a in args], **kwargs)


@pytest.fixture(scope="module")
def os_cluster(sample, tmp_path_factory):
    """The sample indexed once into the embedded engine and once into the fake OpenSearch (alias ``shop``),
    both through `mrs index catalog`: (cluster, embedded index dir, the cluster's --json report, work dir)."""
    import mrs.cli.cluster as cli_cluster

    cluster = FakeCluster()
    cluster.search_responder = ClusterScorer(cluster)
    cluster.aggregation_responder = cluster.search_responder.aggregate
    root = tmp_path_factory.mktemp("backends")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(cli_cluster, "make_client", lambda settings, connection_class=None: cluster.client())
        mp.setenv("MRS_OPENSEARCH_URL", "http://fake:9200")
        mp.delenv("MRS_OPENSEARCH_USER", raising=False)
        mp.delenv("MRS_OPENSEARCH_PASSWORD", raising=False)
        embedded = root / "index"
        built = run("index", "catalog", sample.catalog, "--index", embedded, "--json")
        assert built.exit_code == 0, built.output
        work = root / "work"
        work.mkdir()
        # the embedded index's content-hash cache serves the cluster load too (same keys: model sha256, encoder,
        # text), so the shared machine embeds the sample once
        shutil.copy(embedded / "embedding_cache.npz", work / "shop.embedding_cache.npz")
        loaded = run("index", "catalog", sample.catalog, "--backend", "opensearch", "--index", "shop",
                     "--work-dir", work, "--json")
        assert loaded.exit_code == 0, loaded.output
        yield cluster, embedded, json.loads(loaded.stdout), work


def test_index_catalog_loads_a_blue_green_generation_with_the_embedded_vectors(os_cluster, sample):
    from mrs.engine.engine import EmbeddedEngine

    cluster, embedded, report, work = os_cluster
    engine = EmbeddedEngine.open(embedded)
    n = engine.count()
    assert (report["status"], report["backend"], report["alias"]) == ("swapped", "opensearch", "shop")
    assert report["documents"] == report["indexed"] == report["count"] == n == 300
    assert report["failed"] == 0 and report["rejected"] == 0 and Path(report["checkpoint"]).parent == work
    assert report["embedded"] + report["cached"] == n and report["embedded"] == 0  # vectors from the shared cache
    generation = report["index"]
    assert generation.startswith("shop-") and cluster.aliases["shop"] == {generation}
    body = cluster.indices[generation]["body"]
    assert body["mappings"]["_meta"]["mrs_model"]["name"] == engine.manifest["model"]["name"]
    assert body["mappings"]["_meta"]["mrs"]["text_fields"] == engine.manifest["bm25"]["fields"]
    # the cluster holds, bit for bit, the vector the embedded engine holds for each product (cosinesimil: unit)
    docs = cluster.indices[generation]["docs"]
    stored = l2_normalize(np.array([docs[i]["embedding"] for i in engine.ids], dtype=np.float32))
    np.testing.assert_array_equal(stored, engine.vectors.vectors)


@pytest.mark.parametrize("mode", ["lexical", "dense", "hybrid"])
def test_search_on_opensearch_matches_the_embedded_engine(os_cluster, mode):
    _, embedded, _, _ = os_cluster
    for query in QUERIES:
        local = run("search", query, "--index", embedded, "--mode", mode, "--json")
        remote = run("search", query, "--backend", "opensearch", "--index", "shop", "--mode", mode, "--json")
        assert local.exit_code == 0 and remote.exit_code == 0, local.output + remote.output
        a, b = json.loads(local.stdout)["hits"], json.loads(remote.stdout)["hits"]
        assert len(a) == 10 and [h["id"] for h in a] == [h["id"] for h in b], query
        assert [h["title"] for h in a] == [h["title"] for h in b]
        # float32 dot products summed in another order (another array, BLAS path; faiss on a real node) differ
        # in the last bit; min_max over a narrow dense range magnifies that to ~1e-6 in hybrid scores
        np.testing.assert_allclose([h["score"] for h in b], [h["score"] for h in a], rtol=1e-5)
        for sub in ("lexical", "dense"):
            assert [h["scores"][sub] is None for h in a] == [h["scores"][sub] is None for h in b]


FILTERS = [
    ["--where", "category=Electronics", "--where", "price<=200"],
    ["--filter", json.dumps({"bool": {"should": [{"term": {"color": "black"}}, {"term": {"color": "red"}}],
                                      "must_not": [{"prefix": {"category_path": "Kitchen > Cook"}}]}})],
    ["--where", "brand!=Sonora", "--where", "price>50"],
]


@pytest.mark.parametrize("mode", ["lexical", "dense", "hybrid"])
def test_filtered_search_and_facets_on_opensearch_match_the_embedded_engine(os_cluster, mode):
    cluster, embedded, report, _ = os_cluster
    generation = report["index"]
    # the cluster maps the typed attributes under attr and every document carries them
    props = cluster.indices[generation]["body"]["mappings"]["properties"]["attr"]["properties"]
    assert props["price"] == {"type": "double"} and props["category_path"] == {"type": "keyword"}
    facets = ["--facet", "brand", "--facet", "category_path", "--facet", "color", "--facet-size", "5"]
    with_hits = 0
    for query in QUERIES:
        for filter_args in FILTERS:
            local = run("search", query, "--index", embedded, "--mode", mode, *filter_args, *facets, "--json")
            remote = run("search", query, "--backend", "opensearch", "--index", "shop", "--mode", mode,
                         *filter_args, *facets, "--json")
            assert local.exit_code == 0 and remote.exit_code == 0, local.output + remote.output
            a, b = json.loads(local.stdout), json.loads(remote.stdout)
            with_hits += bool(a["hits"])
            assert [h["id"] for h in a["hits"]] == [h["id"] for h in b["hits"]], (query, filter_args)
            np.testing.assert_allclose([h["score"] for h in b["hits"]], [h["score"] for h in a["hits"]], rtol=1e-5)
            assert a["facets"] == b["facets"] and a["filter"] == b["filter"]
    assert with_hits >= 6
    # what the cluster was asked: the filter on the attr fields, inside every sub-query
    sent = [body for _, _, body in cluster.searches()]
    where = {"bool": {"filter": [{"bool": {"must_not": [{"term": {"attr.brand": "Sonora"}}]}},
                                 {"range": {"attr.price": {"gt": 50.0}}}]}}
    if mode == "hybrid":
        lexical, knn = next(b for b in reversed(sent) if "hybrid" in b["query"])["query"]["hybrid"]["queries"]
        assert lexical["bool"]["filter"] == [where] and knn["knn"]["embedding"]["filter"] == where
    aggs = next(b for b in reversed(sent) if "aggs" in b)
    assert aggs["size"] == 0 and aggs["aggs"]["category_path"] == {"terms": {"field": "attr.category_path", "size": 5}}


def test_search_filter_errors_exit_2_with_one_line(os_cluster, tmp_path):
    _, embedded, _, _ = os_cluster
    for backend in (["--index", embedded], ["--backend", "opensearch", "--index", "shop"]):
        out = run("search", "red pan", *backend, "--where", "weight<=3", "--mode", "lexical")
        assert out.exit_code == 2 and "unknown field 'weight'" in out.output and "Traceback" not in out.output
        out = run("search", "red pan", *backend, "--filter", '{"match": {"brand": "x"}}', "--mode", "lexical")
        assert out.exit_code == 2 and "unsupported clause 'match'" in out.output
        out = run("search", "red pan", *backend, "--facet", "title", "--mode", "lexical")
        assert out.exit_code == 2 and "unknown field(s) title" in out.output
    (tmp_path / "f.json").write_text('{"term": {"color": "red"}}')
    out = run("search", "red pan", "--index", embedded, "--filter", f"@{tmp_path / 'f.json'}", "--mode", "lexical",
              "--facet", "color")
    assert out.exit_code == 0 and "facet color" in out.output


def test_search_hybrid_with_a_pipeline_file_and_depth(os_cluster, tmp_path):
    _, embedded, _, _ = os_cluster
    pipeline = tmp_path / "pipeline.json"
    pipeline.write_text(json.dumps({"phase_results_processors": [{"normalization-processor": {
        "normalization": {"technique": "l2"},
        "combination": {"technique": "arithmetic_mean", "parameters": {"weights": [0.4, 0.6]}}}}]}))
    args = ["search", QUERIES[1], "--mode", "hybrid", "--pipeline", pipeline, "--pagination-depth", 30, "--k", 5,
            "--json"]
    local = run(*args, "--index", embedded)
    remote = run(*args, "--backend", "opensearch", "--index", "shop")
    a, b = json.loads(local.stdout)["hits"], json.loads(remote.stdout)["hits"]
    assert [h["id"] for h in a] == [h["id"] for h in b] and len(b) == 5
    np.testing.assert_allclose([h["score"] for h in b], [h["score"] for h in a], rtol=1e-5)
    cluster = os_cluster[0]
    last = [body for _, _, body in cluster.searches() if "hybrid" in body.get("query", {})][-1]
    assert last["query"]["hybrid"]["pagination_depth"] == 30
    assert last["search_pipeline"]["phase_results_processors"][0]["normalization-processor"]["normalization"] == \
        {"technique": "l2"}

    table = run("search", QUERIES[1], "--backend", "opensearch", "--index", "shop", "--k", 3)
    shown = json.loads(run("search", QUERIES[1], "--backend", "opensearch", "--index", "shop", "--k", 3,
                           "--json").stdout)["hits"]
    assert table.exit_code == 0 and "300 products" in table.output and len(shown) == 3
    assert all(h["title"].split()[0] in table.output for h in shown)  # titles fetched from _source.product


def test_eval_on_opensearch_gives_the_embedded_metrics(os_cluster, sample):
    _, embedded, _, _ = os_cluster
    args = ["eval", "--judgments", sample.judgments, "--modes", "lexical,dense,hybrid,rrf", "--k", 20, "--json"]
    local = run(*args, "--index", embedded)
    remote = run(*args, "--backend", "opensearch", "--index", "shop")
    assert local.exit_code == 0 and remote.exit_code == 0, local.output + remote.output
    a, b = json.loads(local.stdout), json.loads(remote.stdout)
    assert a["settings"]["n_queries"] == b["settings"]["n_queries"] > 10
    assert set(a["runs"]) == set(b["runs"]) == {"lexical", "dense", "hybrid", "rrf"}
    for run_name, metrics in a["runs"].items():
        for metric, value in metrics.items():
            assert b["runs"][run_name][metric] == pytest.approx(value, abs=1e-9), (run_name, metric)
        assert b["judged@10"][run_name] == pytest.approx(a["judged@10"][run_name], abs=1e-12)
        recall = a["per_level"][run_name]["recall@20"]
        assert b["per_level"][run_name]["recall@20"] == pytest.approx(recall, abs=1e-9)
    assert b["settings"]["index"] == "shop"


def test_calibrate_on_opensearch_and_search_with_its_levels(os_cluster, sample, tmp_path):
    _, embedded, _, _ = os_cluster
    args = ["calibrate", "--judgments", sample.judgments, "--bootstrap", 20, "--k", 50, "--json"]
    local = run(*args, "--index", embedded, "--out", tmp_path / "local.json")
    remote = run(*args, "--backend", "opensearch", "--index", "shop", "--out", tmp_path / "os.json")
    assert local.exit_code == 0 and remote.exit_code == 0, local.output + remote.output
    a, b = json.loads(local.stdout), json.loads(remote.stdout)
    assert (a["queries"], a["pairs"]) == (b["queries"], b["pairs"])
    for level, th in a["thresholds"].items():
        assert b["thresholds"][level]["threshold"] == pytest.approx(th["threshold"], abs=1e-9), level
    assert b["blend"]["name"] == a["blend"]["name"] and b["blend"]["pipeline"] == a["blend"]["pipeline"]
    assert b["blend"]["train_score"] == pytest.approx(a["blend"]["train_score"], abs=1e-9)
    recorded = json.loads((tmp_path / "os.json").read_text())
    assert recorded["index"]["path"] == "shop" and recorded["index"]["space_type"] == "cosinesimil"

    # a calibration made locally labels cluster hits exactly as local ones (same score space)
    level = next(lv for lv, th in a["thresholds"].items() if th.get("reachable", True) and th["threshold"])
    search = ["search", QUERIES[0], "--calibration", tmp_path / "local.json", "--json"]
    for mode_args in (["--mode", "dense", "--min-level", level], ["--mode", "hybrid"]):
        here = json.loads(run(*search, *mode_args, "--index", embedded).stdout)["hits"]
        there = json.loads(run(*search, *mode_args, "--backend", "opensearch", "--index", "shop").stdout)["hits"]
        assert [(h["id"], h["level"]) for h in here] == [(h["id"], h["level"]) for h in there]
        assert here and all(h["probability"] is not None for h in there)


def test_cluster_failures_are_one_redacted_line_and_bad_input_exits_2(os_cluster, monkeypatch, tmp_path):
    cluster = os_cluster[0]
    import mrs.cli.cluster as cli_cluster

    monkeypatch.setattr(cli_cluster, "make_client", lambda settings, connection_class=None: cluster.client())
    monkeypatch.setenv("MRS_OPENSEARCH_URL", "http://fake:9200")
    monkeypatch.setenv("MRS_OPENSEARCH_USER", "admin")
    monkeypatch.setenv("MRS_OPENSEARCH_PASSWORD", "s3cret-pw")
    cluster.fault("GET", "/shop/_mapping", [503, 503, 503, 503, 503, 503])
    down = run("search", "pan", "--backend", "opensearch", "--index", "shop", "--mode", "lexical",
               "--retries", 0)
    assert down.exit_code == 1 and "cluster error" in down.output and "HTTP 503" in down.output
    assert "Traceback" not in down.output and "s3cret-pw" not in down.output
    cluster.faults.clear()

    missing = run("search", "pan", "--backend", "opensearch", "--index", "nope", "--mode", "lexical")
    assert missing.exit_code == 2 and "nope" in missing.output and "Traceback" not in missing.output
    path_like = run("eval", "--backend", "opensearch", "--index", "some/dir", "--judgments", tmp_path / "j.tsv")
    assert path_like.exit_code == 2
    hybrid_radial = run("search", "pan", "--backend", "opensearch", "--index", "shop", "--min-score", "0.8")
    assert hybrid_radial.exit_code == 2 and "--mode dense" in hybrid_radial.output
    generation = next(iter(cluster.aliases["shop"]))
    spec = cluster.indices[generation]["body"]["mappings"]["_meta"]["mrs"]
    dimension, spec["dimension"] = spec["dimension"], 8
    try:  # the model the index records makes 384-d vectors: its queries cannot search 8-d ones
        mismatch = run("search", "pan", "--backend", "opensearch", "--index", "shop", "--mode", "dense")
    finally:
        spec["dimension"] = dimension
    assert mismatch.exit_code == 2 and "8-d" in mismatch.output
    es_only = run("index", "catalog", tmp_path / "c.jsonl", "--backend", "opensearch", "--index", "x",
                  "--vector-similarity", "cosine")
    assert es_only.exit_code == 2


def test_incomplete_load_exits_1_and_resume_moves_the_alias(os_cluster, sample, monkeypatch, tmp_path):
    cluster, embedded, _, _ = os_cluster
    import mrs.cli.cluster as cli_cluster

    monkeypatch.setattr(cli_cluster, "make_client", lambda settings, connection_class=None: cluster.client())
    monkeypatch.setenv("MRS_OPENSEARCH_URL", "http://fake:9200")
    work = tmp_path / "work"
    work.mkdir()
    shutil.copy(embedded / "embedding_cache.npz", work / "shop2.embedding_cache.npz")
    cluster.item_faults["P00007"] = [(400, {"type": "mapper_parsing_exception", "reason": "bad field"})]
    first = run("index", "catalog", sample.catalog, "--backend", "opensearch", "--index", "shop2", "--work-dir", work)
    assert first.exit_code == 1 and "incomplete" in first.output and "--resume" in first.output
    assert "shop2" not in cluster.aliases
    dead = [json.loads(line) for line in (work / "shop2.dead-letter.jsonl").read_text().splitlines()]
    assert [d["id"] for d in dead] == ["P00007"]
    second = run("index", "catalog", sample.catalog, "--backend", "opensearch", "--index", "shop2", "--work-dir",
                 work, "--resume", "--json")
    assert second.exit_code == 0, second.output
    out = json.loads(second.stdout)
    assert (out["status"], out["indexed"], out["count"]) == ("swapped", 1, 300)
    assert cluster.aliases["shop2"] == {out["index"]}


def test_url_help_names_both_clusters_variables():
    for command in (["search"], ["eval"], ["calibrate"], ["index", "catalog"]):
        text = " ".join(run(*command, "--help").output.split())
        assert "MRS_OPENSEARCH_URL" in text and "MRS_ELASTICSEARCH_URL" in text, command
        assert "opensearch" in text and "elasticsearch" in text


def test_elasticsearch_takes_the_same_dispatch(monkeypatch, tmp_path):
    """--backend elasticsearch through mrs.cli.backends: index, then search with titles from _source.product,
    and open_backend's rank window (max_k) and manifest. Deterministic 3-d encoder as in tests/elasticsearch."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "elasticsearch"))
    from fake_es import FakeES
    from test_es_bulk import FakeEncoder

    import mrs.cli.es as cli_es
    import mrs.cli.index as cli_index
    from mrs.cli.backends import open_backend
    from mrs.indexer.embed import Encoder

    class QueryEncoder(FakeEncoder):
        def encode_query(self, text):
            return self.encode([text])[0]

    es = FakeES()

    def respond(index, req):
        docs = es.indices[index]["docs"]
        if "ids" in req.get("query", {}):
            return [{"_index": index, "_id": i, "_score": 1.0, "_source": {"product": docs[i]["product"]}}
                    for i in req["query"]["ids"]["values"]]
        return [{"_index": index, "_id": i, "_score": 1.0} for i in list(docs)[: req.get("size", 10)]]

    es.search_responder = respond
    monkeypatch.setattr(cli_es, "make_client", lambda settings, node_class=None: es.client())
    monkeypatch.setattr(cli_index, "load_encoder", lambda *a, **kw: QueryEncoder())
    monkeypatch.setattr(Encoder, "load", classmethod(lambda cls, *a, **kw: QueryEncoder()))
    monkeypatch.setenv("MRS_ELASTICSEARCH_URL", "http://fake:9200")
    catalog = tmp_path / "catalog.jsonl"
    catalog.write_text("\n".join(json.dumps({"id": f"p{i}", "title": f"Shirt number {i}"}) for i in range(4)))
    loaded = run("index", "catalog", catalog, "--backend", "elasticsearch", "--index", "shop", "--fields", "title",
                 "--work-dir", tmp_path / "work", "--json")
    assert loaded.exit_code == 0, loaded.output
    assert json.loads(loaded.stdout)["backend"] == "elasticsearch"

    found = run("search", "shirt", "--backend", "elasticsearch", "--index", "shop", "--mode", "dense", "--k", 2,
                "--json")
    assert found.exit_code == 0, found.output
    hits = json.loads(found.stdout)["hits"]
    assert [(h["id"], h["title"]) for h in hits] == [("p0", "Shirt number 0"), ("p1", "Shirt number 1")]
    assert "knn" in es.searches()[-2]  # the dense search went out as a knn search (the last fetched titles)

    backend, encoder = open_backend("elasticsearch", "shop", {}, max_k=7)
    assert backend.rank_window_size == 7 and encoder.dimension == 3
    assert backend.manifest["vectors"] == {"space_type": "cosinesimil", "dimension": 3}
