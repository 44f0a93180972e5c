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
index identity in the embedded manifest's shape (``index_manifest`` of the cluster backends), which calibrations
record and check. The work itself is the rooms': mrs.cluster.indexing (catalog → cluster), the backends.
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
    from mrs.cluster.backend import query_encoder
    from mrs.opensearch.backend import backend_from_index

    client, settings = cluster_client(opts)
    if not client.indices.exists(index=name):
        raise InputError(f"index or alias {name!r} not found on the cluster at {settings.describe()['url']}")
    backend = backend_from_index(client, name, pipeline=pipeline, pagination_depth=candidates, settings=settings,
                                 max_retries=settings.max_retries)
    identity = dict(backend.meta.get("mrs_model") or {})
    encoder = query_encoder(identity, backend.spec.dimension, backend.spec.space_type, model, name,
                            allow_model_mismatch=allow_model_mismatch) if needs_encoder else None
    backend.manifest = backend.index_manifest(identity)
    return backend, encoder


def index_catalog_cluster(kind: str, catalog: Path, alias: str, *, encoder, template, fields, similarity, k1, b,
                          analyzer, id_field, space_type, m, ef_construction, ef_search, on_error, as_json,
                          opts: dict[str, Any], field_types: dict[str, str | None] | None = None) -> dict[str, Any]:
    """`mrs index catalog --backend opensearch|elasticsearch`: blue/green load into ``alias-<timestamp>``, count
    check, atomic alias swap (mrs.cluster.indexing). Returns the JSON summary; its ``status`` is swapped |
    incomplete (dead letters, alias not moved: rerun with --resume) | up-to-date. Typed attributes are detected as
    for the embedded index (``field_types`` overrides) and mapped under ``attr``."""
    from mrs.cli.common import progress
    from mrs.cluster.bulk import BulkConfig
    from mrs.cluster.indexing import load_summary, read_typed_catalog

    alias = check_cluster_index_name(kind, alias)
    if kind not in CLUSTER_BACKENDS:
        raise InputError(f"unknown cluster backend {kind!r} (expected one of {', '.join(CLUSTER_BACKENDS)})")
    if kind == "opensearch" and (opts.get("vector_similarity") or (opts.get("index_type") or "hnsw") != "hnsw"):
        raise InputError("--vector-similarity / --index-options are Elasticsearch options; OpenSearch scores "
                         "by --space on an exact float32 faiss HNSW")
    products, attributes, rejects = read_typed_catalog(catalog, id_field=id_field, on_error=on_error,
                                                       field_types=field_types)
    common = {"dimension": int(encoder.dimension), "text_fields": dict(fields), "k1": k1, "b": b,
              "analyzer": analyzer, "space_type": space_type, "m": m, "ef_construction": max(2, ef_construction),
              "attributes": attributes}
    work_dir = Path(opts.get("work_dir") or f".mrs-{kind}")
    load = {"template": template, "work_dir": work_dir, "resume": bool(opts.get("resume")),
            "keep": int(opts.get("keep", 1))}
    if kind == "opensearch":
        from mrs.cli.cluster import cluster_client
        from mrs.opensearch.indexing import index_catalog_opensearch as index_catalog
        from mrs.opensearch.mapping import IndexSpec

        spec: Any = IndexSpec(similarity=similarity, engine="faiss", ef_search=ef_search, **common)
        client, settings = cluster_client(opts)
        load.update(bulk=BulkConfig(max_retries=settings.max_retries), seed_cache=None)
    else:
        from mrs.cli.es import es_client
        from mrs.elasticsearch.indexing import index_catalog_elasticsearch as index_catalog
        from mrs.elasticsearch.mapping import ElasticIndexSpec

        spec = ElasticIndexSpec(bm25_similarity=similarity, similarity=opts.get("vector_similarity"),
                                index_type=opts.get("index_type") or "hnsw", **common)
        client, settings = es_client(opts)
    from mrs.cli.embed_on import prepare_cluster_embedding

    embedding = prepare_cluster_embedding(kind, client, opts, template, dimension=spec.dimension,
                                          vector_field=spec.vector_field, products=products)
    with progress(quiet=as_json) as bar:
        task = bar.add_task(f"bulk → {alias}", total=None)
        report = index_catalog(products, client=client, alias=alias, encoder=encoder, spec=spec,
                               on_documents=lambda n: bar.advance(task, n),
                               ingest_pipeline=(embedding or {}).get("ingest_pipeline"), **load)
    out = load_summary(report, backend=kind, rejects=rejects, work_dir=work_dir, settings=settings, spec=spec,
                       encoder=encoder)
    out.update(embedding or {"embed_on": "local"})
    return out
