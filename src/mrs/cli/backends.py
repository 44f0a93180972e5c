"""The one place that decides which backend a command talks to: ``--backend embedded|opensearch|elasticsearch``.

- embedded: ``--index`` is a local index directory (mrs.engine.EmbeddedEngine).
- opensearch: ``--index`` is an index or alias on the cluster at ``--url`` / $MRS_OPENSEARCH_URL
  (mrs.opensearch.backend.OpenSearchBackend; credentials $MRS_OPENSEARCH_USER / $MRS_OPENSEARCH_PASSWORD or
  AWS SigV4, see mrs.cli.cluster).
- elasticsearch: ``--index`` is an index or alias on the cluster at ``--url`` / $MRS_ELASTICSEARCH_URL
  (mrs.elasticsearch.backend.ElasticsearchBackend; credentials $MRS_ELASTICSEARCH_API_KEY or
  $MRS_ELASTICSEARCH_USER / $MRS_ELASTICSEARCH_PASSWORD, see mrs.cli.es).

Commands use ``@cluster_backend_options`` (or ``@index_cluster_options`` for `mrs index catalog`) and
``@backend_errors``, then ``open_backend(kind, index, opts, model)`` → (backend, query encoder) or
``index_catalog_cluster(kind, ...)`` → the JSON summary. Every backend opened here carries ``.manifest``: the
index identity in the embedded manifest's shape (model, vectors, bm25), which calibrations record and check.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from mrs.errors import InputError

BACKENDS = ("embedded", "opensearch", "elasticsearch")
CLUSTER_BACKENDS = ("opensearch", "elasticsearch")

URL_HELP = ("Cluster URL [default: $MRS_OPENSEARCH_URL with --backend opensearch, $MRS_ELASTICSEARCH_URL with "
            "--backend elasticsearch]. Credentials only from the environment: $MRS_OPENSEARCH_USER / "
            "$MRS_OPENSEARCH_PASSWORD, or $MRS_ELASTICSEARCH_API_KEY / $MRS_ELASTICSEARCH_USER / "
            "$MRS_ELASTICSEARCH_PASSWORD.")


def backend_option(f: Callable) -> Callable:
    """--backend embedded|opensearch|elasticsearch (default embedded)."""
    return click.option(
        "--backend", type=click.Choice(list(BACKENDS)), default="embedded", show_default=True,
        help="embedded: --index is a local index directory. opensearch / elasticsearch: --index is the index or "
             "alias on the cluster at --url.")(f)


def cluster_backend_options(f: Callable) -> Callable:
    """--backend plus the cluster options of mrs.cli.cluster (--url, --ca-file, --insecure, --aws-region,
    --aws-service, --timeout, --retries), with a --url help that names both clusters' variables."""
    from mrs.cli.cluster import cluster_options

    f = cluster_options(f)
    for param in getattr(f, "__click_params__", []):
        if param.name == "url":
            param.help = URL_HELP
    return backend_option(f)


def index_cluster_options(f: Callable) -> Callable:
    """Options of `mrs index catalog` for clusters: --resume, --keep, --work-dir, the Elasticsearch
    --vector-similarity / --index-options, plus cluster_backend_options."""
    from mrs.elasticsearch.mapping import INDEX_TYPES
    from mrs.elasticsearch.spaces import ES_SIMILARITIES

    options = [
        click.option("--vector-similarity", type=click.Choice(list(ES_SIMILARITIES)), default=None,
                     help="Elasticsearch only: dense_vector similarity [default: from --space: cosine, "
                          "max_inner_product, l2_norm; dot_product needs unit vectors]."),
        click.option("--index-options", "index_type", type=click.Choice(list(INDEX_TYPES)), default="hnsw",
                     show_default=True, help="Elasticsearch only: HNSW variant: hnsw (exact scores), int8_hnsw or "
                                             "bbq_hnsw (quantized, approximate scores)."),
        click.option("--resume", is_flag=True, help="Cluster: continue the interrupted load recorded in the "
                                                    "checkpoint (written documents are skipped)."),
        click.option("--keep", type=click.IntRange(min=0), default=1, show_default=True,
                     help="Cluster: old index generations kept after the alias swap (rollback)."),
        click.option("--work-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
                     help="Cluster: checkpoint, dead letter, rejects and embedding cache "
                          "[default: .mrs-opensearch or .mrs-elasticsearch]."),
    ]
    f = cluster_backend_options(f)
    for option in reversed(options):
        f = option(f)
    return f


def backend_errors(f: Callable) -> Callable:
    """Failures of either cluster client (after retries) → one redacted line on stderr, exit 1: OpenSearch's
    through mrs.cli.cluster.cluster_errors, Elasticsearch's through mrs.cli.es.es_errors."""
    from mrs.cli.cluster import cluster_errors
    from mrs.cli.es import es_errors

    return cluster_errors(es_errors(f))


def check_cluster_index_name(kind: str, index: Any) -> str:
    """--index of a cluster backend: a bare index/alias name (InputError for a path-like value)."""
    name = str(index)
    if not name or "/" in name or "\\" in name:
        raise InputError(f"--backend {kind}: --index names an index or alias on the cluster, not a path ({name!r})")
    return name


def model_mismatch_option(f: Callable) -> Callable:
    """--allow-model-mismatch: query with a model other than the index's (mrs.indexer.embed.check_query_model)."""
    return click.option("--allow-model-mismatch", is_flag=True,
                        help="Use the query model even when it is not the one the index was built with (another "
                             "--model, or the model directory changed since): dense scores are then meaningless "
                             "unless the two models are compatible.")(f)


def open_backend(kind: str, index: Any, opts: dict[str, Any], model: str | None = None, *,
                 candidates: int | None = None, max_k: int | None = None, pipeline: Any = None,
                 needs_encoder: bool = True, allow_model_mismatch: bool = False):
    """(backend, query encoder) for ``--backend kind --index index``.

    kind: embedded | opensearch | elasticsearch. index: the index directory (embedded) or the index/alias name
    on the cluster. opts: the cluster options a command received (ignored for embedded). model: query model
    override [default: the model the index records; its vector dimension must match, else InputError].
    candidates: candidates per hybrid sub-query on a cluster (OpenSearch pagination_depth, Elasticsearch
    rank_window_size); None → k of each search (OpenSearch: from + size, no pagination_depth sent, so
    clusters older than 2.19 work). max_k: the largest k the command asks for (Elasticsearch's rank window
    must hold it when candidates is None). pipeline: OpenSearch default hybrid pipeline (name or body).
    needs_encoder: False → the encoder is None (lexical-only work loads no model; OpenSearch and embedded).
    allow_model_mismatch: accept a query model other than the index's (else InputError naming both).
    The backend carries ``.manifest`` (embedded manifest shape) for calibration records and checks.
    """
    if kind == "embedded":
        from mrs.engine.engine import EmbeddedEngine

        engine = EmbeddedEngine.open(index)
        engine.allow_model_mismatch = allow_model_mismatch
        return engine, (engine.open_encoder(model) if needs_encoder else None)
    name = check_cluster_index_name(kind, index)
    if kind == "elasticsearch":
        from mrs.cli import es

        window = candidates or max_k
        kwargs = {"rank_window_size": int(window)} if window else {}
        backend, encoder = es.open_backend(name, opts, model, allow_model_mismatch=allow_model_mismatch, **kwargs)
        backend.manifest = backend.index_manifest(encoder.identity)
        return backend, encoder
    if kind != "opensearch":
        raise InputError(f"unknown backend {kind!r} (expected one of {', '.join(BACKENDS)})")
    from mrs.cli.cluster import cluster_client
    from mrs.opensearch.backend import backend_from_index

    client, settings = cluster_client(opts)
    if not client.indices.exists(index=name):
        raise InputError(f"index or alias {name!r} not found on the cluster at {settings.describe()['url']}")
    backend = backend_from_index(client, name, pipeline=pipeline, pagination_depth=candidates, settings=settings,
                                 max_retries=settings.max_retries)
    identity = dict(backend.meta.get("mrs_model") or {})
    encoder = load_query_encoder(identity, backend.spec.dimension, backend.spec.space_type, model, name,
                                 allow_model_mismatch=allow_model_mismatch) if needs_encoder else None
    backend.manifest = opensearch_manifest(backend, identity)
    return backend, encoder


def load_query_encoder(identity: dict[str, Any], dimension: int, space_type: str, model: str | None, index: str,
                       allow_model_mismatch: bool = False):
    """The query encoder of a cluster index: ``model``, else the model its _meta names (the packaged default by
    name, others by path). InputError when its dimension ≠ the index's ``dimension`` or it is another model
    than the one in _meta (mrs.indexer.embed.check_query_model)."""
    from mrs.indexer.embed import Encoder, check_query_model
    from mrs.models import DEFAULT_MODEL

    ref = model
    if ref is None and identity.get("name") not in (None, DEFAULT_MODEL):
        ref = identity.get("path")
    encoder = Encoder.load(ref, space_type=space_type)
    check_query_model(encoder, identity, int(dimension), index, allow_model_mismatch=allow_model_mismatch)
    return encoder


def opensearch_manifest(backend: Any, identity: dict[str, Any]) -> dict[str, Any]:
    """An OpenSearch index described in the embedded manifest's shape (mrs.engine.manifest): what
    run_calibration records and check_index compares (model sha256, dimension, space_type)."""
    spec = backend.spec
    return {
        "model": dict(identity, dimension=spec.dimension),
        "vectors": {"space_type": spec.space_type, "dimension": spec.dimension},
        "bm25": {"similarity": spec.similarity, "fields": dict(spec.text_fields), "analyzer": spec.analyzer,
                 "k1": spec.k1, "b": spec.b},
        "text_template": backend.meta.get("mrs_text_template"),
        "opensearch": {"index": backend.index, "engine": spec.engine, "m": spec.m,
                       "ef_construction": spec.ef_construction, "ef_search": spec.ef_search},
    }


def typed_catalog(products: Any, field_types: dict[str, str | None] | None) -> tuple[list, dict[str, str]]:
    """(the products as a list, their attribute types): detection needs every product before the cluster
    mapping is created (mrs.engine.attributes.detect_field_types; ``field_types`` overrides)."""
    from mrs.engine.attributes import detect_field_types

    items = list(products)
    return items, detect_field_types([p.fields for p in items], field_types, exclude=("id",))


def index_catalog_cluster(kind: str, catalog: Path, alias: str, *, encoder, template, fields, similarity, k1, b,
                          analyzer, id_field, space_type, m, ef_construction, ef_search, on_error, as_json,
                          opts: dict[str, Any], field_types: dict[str, str | None] | None = None) -> dict[str, Any]:
    """`mrs index catalog --backend opensearch|elasticsearch`: blue/green load into ``alias-<timestamp>``, count
    check, atomic alias swap. Returns the JSON summary; its ``status`` is swapped | incomplete (dead letters,
    alias not moved: rerun with --resume) | up-to-date. Typed attributes are detected as for the embedded
    index (``field_types`` overrides) and mapped under ``attr``."""
    alias = check_cluster_index_name(kind, alias)
    if kind == "elasticsearch":
        from mrs.cli import es

        return es.index_catalog(catalog, alias, encoder=encoder, template=template, fields=fields,
                                similarity=similarity, k1=k1, b=b, analyzer=analyzer, id_field=id_field,
                                space_type=space_type, m=m, ef_construction=ef_construction, on_error=on_error,
                                as_json=as_json, opts=opts, field_types=field_types)
    if kind != "opensearch":
        raise InputError(f"unknown cluster backend {kind!r} (expected one of {', '.join(CLUSTER_BACKENDS)})")
    if opts.get("vector_similarity") or (opts.get("index_type") or "hnsw") != "hnsw":
        raise InputError("--vector-similarity / --index-options are Elasticsearch options; OpenSearch scores "
                         "by --space on an exact float32 faiss HNSW")
    from mrs.cli.cluster import cluster_client
    from mrs.cli.common import progress
    from mrs.data.readers import Rejects, read_catalog
    from mrs.opensearch.bulk import BulkConfig
    from mrs.opensearch.indexing import index_catalog_opensearch
    from mrs.opensearch.mapping import IndexSpec

    rejects = Rejects()
    products, attributes = typed_catalog(read_catalog(catalog, id_field=id_field, on_error=on_error,
                                                      rejects=rejects), field_types)
    spec = IndexSpec(dimension=int(encoder.dimension), text_fields=dict(fields), similarity=similarity, k1=k1, b=b,
                     analyzer=analyzer, space_type=space_type, engine="faiss", m=m,
                     ef_construction=max(2, ef_construction), ef_search=ef_search, attributes=attributes)
    client, settings = cluster_client(opts)
    from mrs.cli.embed_on import prepare_cluster_embedding

    embedding = prepare_cluster_embedding(kind, client, opts, template, dimension=spec.dimension,
                                          vector_field=spec.vector_field, products=products)
    work_dir = Path(opts.get("work_dir") or ".mrs-opensearch")
    with progress(quiet=as_json) as bar:
        task = bar.add_task(f"bulk → {alias}", total=None)
        report = index_catalog_opensearch(products, client=client, alias=alias, encoder=encoder, spec=spec,
                                          template=template, work_dir=work_dir, resume=bool(opts.get("resume")),
                                          keep=int(opts.get("keep", 1)),
                                          bulk=BulkConfig(max_retries=settings.max_retries), seed_cache=None,
                                          on_documents=lambda n: bar.advance(task, n),
                                          ingest_pipeline=(embedding or {}).get("ingest_pipeline"))
    out = report.to_dict()
    out.update(embedding or {"embed_on": "local"})
    rejects_file = str(rejects.write(work_dir / f"{alias}.rejects.jsonl")) if rejects.count else None
    out.update({"backend": "opensearch", "rejected": rejects.count, "rejects": rejects_file,
                "cluster": settings.describe(), "spec": spec.to_dict(), "model": encoder.identity.get("name")})
    return out


def search_cluster(backend: Any, encoder: Any, query: str, mode: str, k: int, min_score: float | None,
                   pipeline: Any, *, filter: Any = None) -> list:
    """One `mrs search` on a cluster backend, with the embedded engine's semantics (EmbeddedEngine.search):
    lexical top-k; dense top-k or radial (every product with k-NN score ≥ min_score, first k); hybrid top-k
    through ``pipeline`` (None: the backend's default); ``filter`` on every sub-query. Radial k-NN inside a
    hybrid query is embedded-only."""
    extra = {"filter": filter} if filter is not None else {}
    if mode == "lexical":
        if min_score is not None:
            raise InputError("--min-score is a k-NN (dense) threshold; it does not apply to lexical mode")
        return backend.lexical(query, k, **extra)
    vector = encoder.encode_query(query)
    if mode == "dense":
        return backend.knn(vector, None if min_score is not None else k, min_score, **extra)[:k]
    if min_score is not None:
        raise InputError("--min-score / --min-level in hybrid mode (radial k-NN sub-query) needs --backend "
                         "embedded; on a cluster use --mode dense")
    return backend.hybrid(query, vector, k, pipeline, **extra)


def attach_sources(backend: Any, hits: list) -> None:
    """Fill Hit.source with the stored product fields (``_source.product``) of cluster hits, one ids query."""
    if not hits:
        return
    from mrs.opensearch import bodies

    ids = [h.id for h in hits]
    body = bodies.search_request({"ids": {"values": ids}}, len(ids), source=["product"])
    found = {h["_id"]: (h.get("_source") or {}).get("product") or {}
             for h in backend.call(backend.client.search, index=backend.index, body=body)["hits"]["hits"]}
    for h in hits:
        h.source = found.get(h.id)


def run_cluster_search(kind: str, index: Any, opts: dict[str, Any], query: str, *, mode: str, k: int,
                       min_score: float | None, pipeline: Any, pagination_depth: int | None,
                       calibration_file: Any, min_level: str | None, filter: Any = None,
                       facets: tuple[str, ...] = (), facet_size: int = 10, allow_model_mismatch: bool = False,
                       ) -> tuple[list, list[dict], Any, int, Any]:
    """`mrs search --backend opensearch|elasticsearch`: (hits with their stored product fields, calibrated labels
    (empty dicts without --calibration), the SearchCalibration or None, documents in the index, facet counts
    (None without ``facets``)). ``filter`` (a parsed filter) applies to every sub-query; ``facets`` are terms
    aggregations over what the query matched.

    As on the embedded engine: --calibration labels each hit from its dense k-NN score (judged from the
    cluster with score_documents when the hit has none) and, in hybrid mode without --pipeline /
    --pagination-depth, supplies the calibrated blend and pagination depth; --min-level cuts on the level's
    dense threshold (dense mode: radial k-NN)."""
    from mrs.blending.calibration import at_or_above, label_hits, open_for_search, read_calibration
    from mrs.indexer.backend import SUBQUERY_DENSE

    depth = pagination_depth
    if calibration_file is not None and mode == "hybrid" and pipeline is None and depth is None:
        depth = read_calibration(calibration_file).blend.get("pagination_depth")
    backend, encoder = open_backend(kind, index, opts, candidates=depth, max_k=k,
                                    needs_encoder=mode != "lexical" or calibration_file is not None,
                                    allow_model_mismatch=allow_model_mismatch)
    calibrated = open_for_search(calibration_file, backend, mode, min_level, min_score, index)
    if calibrated is not None:
        min_score = calibrated.min_score
        if mode == "hybrid" and pipeline is None and calibrated.pipeline is not None:
            pipeline = calibrated.pipeline
    from mrs.engine.facets import check_facet_fields

    backend.filter_dsl(filter)  # unknown fields / wrong types: one error before searching
    check_facet_fields(facets, backend.spec.attributes)
    hits = search_cluster(backend, encoder, query, mode, k, min_score, pipeline, filter=filter)
    labels: list[dict] = [{} for _ in hits]
    if calibrated is not None:
        missing = [h.id for h in hits if not h.scores or h.scores.get(SUBQUERY_DENSE) is None]
        dense = {}
        if missing:
            scored = backend.score_documents(query, encoder.encode_query(query), missing)
            dense = {doc_id: s.get(SUBQUERY_DENSE) for doc_id, s in scored.items()}
        labels = label_hits(hits, calibrated.calibration, dense)
        if min_level is not None:  # hybrid hits the lexical sub-query brought in below the level go too
            hits, labels = at_or_above(hits, labels, min_score)
    attach_sources(backend, hits)
    counts = None
    if facets:
        vector = encoder.encode_query(query) if mode != "lexical" else None
        counts = backend.facets(query, vector, mode, facets, k=k, size=facet_size, min_score=min_score,
                                filter=filter)
    return hits, labels, calibrated, backend.count(), counts
