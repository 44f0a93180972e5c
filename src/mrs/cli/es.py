"""CLI plumbing for ``--backend elasticsearch`` / ``--target elasticsearch``: shared options, the client, and the
bodies of the Elasticsearch branches of ``mrs index catalog``, ``mrs eval`` and ``mrs calibrate``.

Cluster options are mrs.cli.cluster's (``--url``, ``--ca-file``, ``--insecure``, ``--timeout``, ``--retries``);
for Elasticsearch the URL defaults to $MRS_ELASTICSEARCH_URL and credentials come ONLY from
$MRS_ELASTICSEARCH_API_KEY or $MRS_ELASTICSEARCH_USER / $MRS_ELASTICSEARCH_PASSWORD (never argv).
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

# --backend and the cluster options are decided in one place for every backend (mrs.cli.backends);
# these names stay for the Elasticsearch-only callers.
from mrs.cli.backends import BACKENDS, backend_option  # noqa: F401
from mrs.cli.backends import cluster_backend_options as es_cluster_options  # noqa: F401
from mrs.cli.backends import index_cluster_options as es_index_options  # noqa: F401
from mrs.elasticsearch.connection import ElasticsearchSettings, make_client, settings_from_env
from mrs.errors import InputError

_LAST: list[ElasticsearchSettings] = []


def es_settings(opts: dict[str, Any]) -> ElasticsearchSettings:
    """ElasticsearchSettings from the cluster options and the MRS_ELASTICSEARCH_* environment."""
    if opts.get("aws_region") or opts.get("aws_service"):
        raise InputError("--aws-region / --aws-service sign requests for Amazon OpenSearch; Elasticsearch uses "
                         "$MRS_ELASTICSEARCH_API_KEY or basic auth")
    settings = settings_from_env(opts.get("url"), ca_file=opts.get("ca_file"),
                                 verify_certs=not opts.get("insecure", False),
                                 timeout_s=float(opts.get("timeout_s") or 30.0),
                                 max_retries=int(opts.get("max_retries") if opts.get("max_retries") is not None else 3))
    _LAST[:] = [settings]
    return settings


def es_client(opts: dict[str, Any]) -> tuple[Any, ElasticsearchSettings]:
    """(elasticsearch.Elasticsearch, its settings) for the cluster options."""
    settings = es_settings(opts)
    return make_client(settings), settings


def es_errors(f: Callable) -> Callable:
    """Cluster failures (after retries) → one redacted line on stderr, exit 1."""

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from elastic_transport import TransportError
        from elasticsearch import ApiError

        from mrs.cli.common import EXIT_FAILURE, err_console
        from mrs.elasticsearch.connection import ClusterError, describe_error
        from mrs.opensearch.bulk import BulkVerificationError
        from mrs.opensearch.connection import redact

        settings = None
        try:
            return f(*args, **kwargs)
        except (ClusterError, BulkVerificationError) as e:
            message = str(e)
        except (ApiError, TransportError) as e:
            settings = _LAST[0] if _LAST else None
            message = describe_error(e, settings)
        if _LAST:
            message = redact(message, _LAST[0].secrets())
        from rich.markup import escape

        err_console.print(f"[bold red]cluster error:[/] {escape(message)}", highlight=False, soft_wrap=True)
        sys.exit(EXIT_FAILURE)

    return wrapper


def open_backend(index: str, opts: dict[str, Any], model: str | None = None, *, allow_model_mismatch: bool = False,
                 **backend_kwargs: Any):
    """(ElasticsearchBackend, query encoder) for an mrs-built index/alias: the spec and model come from the
    mapping's _meta; ``model`` overrides the model (its dimension must match, and it must be the _meta's model
    unless allow_model_mismatch: mrs.indexer.embed.check_query_model)."""
    from mrs.elasticsearch.backend import ElasticsearchBackend, read_index_meta
    from mrs.indexer.embed import Encoder, check_query_model
    from mrs.models import DEFAULT_MODEL

    client, settings = es_client(opts)
    spec, model_meta = read_index_meta(client, index, settings=settings)
    ref = model
    if ref is None and model_meta.get("name") != DEFAULT_MODEL:
        ref = model_meta.get("path")
    encoder = Encoder.load(ref, space_type=spec.space_type)
    check_query_model(encoder, model_meta, int(spec.dimension), index, allow_model_mismatch=allow_model_mismatch)
    backend = ElasticsearchBackend(client, index, spec, settings=settings, max_retries=settings.max_retries,
                                   **backend_kwargs)
    return backend, encoder


def index_catalog(catalog: Path, alias: str, *, encoder, template, fields, similarity, k1, b, analyzer, id_field,
                  space_type, m, ef_construction, on_error, as_json, opts: dict[str, Any],
                  field_types: dict[str, str | None] | None = None) -> dict[str, Any]:
    """The Elasticsearch branch of `mrs index catalog` (returns the JSON summary); typed attributes as
    mrs.cli.backends.typed_catalog detects them."""
    from mrs.cli.backends import typed_catalog
    from mrs.cli.common import progress
    from mrs.data.readers import Rejects, read_catalog
    from mrs.elasticsearch.indexing import index_catalog_elasticsearch
    from mrs.elasticsearch.mapping import ElasticIndexSpec

    rejects = Rejects()
    products, attributes = typed_catalog(read_catalog(catalog, id_field=id_field, on_error=on_error,
                                                      rejects=rejects), field_types)
    spec = ElasticIndexSpec(dimension=int(encoder.dimension), text_fields=dict(fields), bm25_similarity=similarity,
                            k1=k1, b=b, analyzer=analyzer, space_type=space_type,
                            similarity=opts.get("vector_similarity"), index_type=opts.get("index_type") or "hnsw",
                            m=m, ef_construction=max(2, ef_construction), attributes=attributes)
    client, settings = es_client(opts)
    from mrs.cli.embed_on import prepare_cluster_embedding

    embedding = prepare_cluster_embedding("elasticsearch", client, opts, template, dimension=spec.dimension,
                                          vector_field=spec.vector_field, products=products)
    work_dir = opts.get("work_dir") or Path(".mrs-elasticsearch")
    with progress(quiet=as_json) as bar:
        task = bar.add_task(f"bulk → {alias}", total=None)
        report = index_catalog_elasticsearch(products, client=client, alias=alias, encoder=encoder, spec=spec,
                                             template=template, work_dir=work_dir, resume=bool(opts.get("resume")),
                                             keep=int(opts.get("keep", 1)),
                                             on_documents=lambda n: bar.advance(task, n),
                                             ingest_pipeline=(embedding or {}).get("ingest_pipeline"))
    out = report.to_dict()
    out.update(embedding or {"embed_on": "local"})
    rejects_file = str(rejects.write(Path(work_dir) / f"{alias}.rejects.jsonl")) if rejects.count else None
    out.update({"backend": "elasticsearch", "rejected": rejects.count, "rejects": rejects_file,
                "cluster": settings.describe(), "spec": spec.to_dict(), "model": encoder.identity.get("name")})
    return out


def render_templates(calibration, os_spec, out_dir: Path, *, rank_window_size: int, rank_constant: int,
                     tie_breaker: float, vector_similarity: str | None, index_type: str) -> dict[str, Any]:
    """The Elasticsearch branch of `mrs templates render`: spec from the OpenSearch one, render, write."""
    from mrs.elasticsearch.mapping import ElasticIndexSpec
    from mrs.elasticsearch.templates import render_set, write_set

    spec = ElasticIndexSpec.from_opensearch(os_spec, similarity=vector_similarity, index_type=index_type)
    rendered = render_set(calibration, spec, rank_window_size=rank_window_size, rank_constant=rank_constant,
                          tie_breaker=tie_breaker)
    paths = write_set(rendered, out_dir)
    return {"target": "elasticsearch", "out": str(out_dir), "files": paths, "templates": sorted(rendered.templates),
            "retrievers": sorted(rendered.retrievers), "knn_levels": rendered.knn_levels, "blend": rendered.blend,
            "spec": spec.to_dict()}


def is_elasticsearch_set(rendered_dir: Path) -> bool:
    """True when RENDERED_DIR/manifest.json was written by the Elasticsearch renderer."""
    import json

    manifest = Path(rendered_dir) / "manifest.json"
    try:
        return json.loads(manifest.read_text(encoding="utf-8")).get("target") == "elasticsearch"
    except (OSError, ValueError, AttributeError):
        return False


def install_templates(rendered_dir: Path, opts: dict[str, Any]) -> dict[str, Any]:
    """The Elasticsearch branch of `mrs templates install`: PUT _scripts, then _render/template checks."""
    from mrs.elasticsearch.connection import ClusterError, describe_error
    from mrs.elasticsearch.templates import install_set, read_set

    rendered = read_set(rendered_dir)
    client, settings = es_client(opts)
    vector = next(v for v in rendered.index["mappings"]["properties"].values() if v.get("type") == "dense_vector")
    try:
        result = install_set(client, rendered, int(vector["dims"]))
        from mrs.cli.embed_on import install_rendered_pipelines

        result["ingest_pipelines"] = install_rendered_pipelines("elasticsearch", client, rendered_dir)
    except InputError:
        raise
    except Exception as e:  # noqa: BLE001 — any client failure becomes one redacted line
        raise ClusterError(describe_error(e, settings)) from None
    result["cluster"] = settings.describe()
    return result
