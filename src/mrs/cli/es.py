"""CLI plumbing for ``--backend elasticsearch`` / ``--target elasticsearch``: the client from the cluster options,
its errors as one redacted line, opening an index, and the Elasticsearch branches of ``mrs templates``.
mrs.cli.backends dispatches to it (this module imports nothing from mrs.cli.backends).

Cluster options are mrs.cli.cluster's (``--url``, ``--ca-file``, ``--insecure``, ``--timeout``, ``--retries``);
for Elasticsearch the URL defaults to $MRS_ELASTICSEARCH_URL and credentials come ONLY from
$MRS_ELASTICSEARCH_API_KEY or $MRS_ELASTICSEARCH_USER / $MRS_ELASTICSEARCH_PASSWORD (never argv).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mrs.cli.cluster import error_wrapper
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


def _es_errors() -> tuple[type[BaseException], ...]:
    from elastic_transport import TransportError
    from elasticsearch import ApiError

    return (ApiError, TransportError)


def _describe_es(error: BaseException, settings: Any) -> str:
    from mrs.elasticsearch.connection import describe_error

    return describe_error(error, settings)


es_errors = error_wrapper(_es_errors, _describe_es, _LAST)
"""Elasticsearch failures (after retries) → one redacted line on stderr, exit 1."""


def open_backend(index: str, opts: dict[str, Any], model: str | None = None, *, allow_model_mismatch: bool = False,
                 **backend_kwargs: Any):
    """(ElasticsearchBackend, query encoder) for an mrs-built index/alias: the spec and model come from the
    mapping's _meta; ``model`` overrides the model (mrs.cluster.backend.query_encoder)."""
    from mrs.cluster.backend import query_encoder
    from mrs.elasticsearch.backend import ElasticsearchBackend, read_index_meta

    client, settings = es_client(opts)
    spec, model_meta = read_index_meta(client, index, settings=settings)
    encoder = query_encoder(model_meta, spec.dimension, spec.space_type, model, index,
                            allow_model_mismatch=allow_model_mismatch)
    backend = ElasticsearchBackend(client, index, spec, settings=settings, max_retries=settings.max_retries,
                                   **backend_kwargs)
    return backend, encoder


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
    from mrs.cluster.connection import ClusterError
    from mrs.elasticsearch.connection import describe_error
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
