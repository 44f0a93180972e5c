"""The ingest pipeline that lets an OpenSearch cluster embed products: the embedding-text ``script`` processor
(mrs.cluster.ingest: the text exactly as mrs.data.text renders it locally), then a ``text_embedding`` processor
that embeds that text with the ML Commons model deployed from ``mrs export opensearch-ml`` and writes the
vector field.

Documentation relied on: OpenSearch "Text embedding processor" (ingest-pipelines/processors/text-embedding:
model_id, field_map input → vector field), "Create or update ingest pipeline" (PUT _ingest/pipeline/ID),
ML Commons "Get model" (GET /_plugins/_ml/models/ID: model_state, model_config.embedding_dimension).
"""

from __future__ import annotations

from typing import Any

from mrs.cluster.ingest import (
    DEFAULT_PIPELINE,
    EMBED_TAG,
    EMBEDDING_TEXT_SCRIPT,
    SCRIPT_TAG,
    TEXT_FIELD,
    check_pipeline_template,
    pipeline_template,
    read_rendered_pipelines,
    text_script_processor,
    write_rendered_pipeline,
)
from mrs.data.text import ProductTextTemplate
from mrs.errors import InputError

__all__ = ["DEFAULT_PIPELINE", "EMBED_TAG", "EMBEDDING_TEXT_SCRIPT", "SCRIPT_TAG", "TEXT_FIELD", "check_ml_model",
           "check_pipeline_template", "embedding_pipeline_body", "get_pipeline", "pipeline_template",
           "prepare_pipeline", "read_rendered_pipelines", "text_script_processor", "write_rendered_pipeline"]


def embedding_pipeline_body(template: ProductTextTemplate, model_id: str, vector_field: str = "embedding",
                            text_field: str = TEXT_FIELD) -> dict[str, Any]:
    """``PUT _ingest/pipeline/<name>`` body: the text script, then ``text_embedding`` with ML model ``model_id``
    mapping ``text_field`` → ``vector_field`` (the index's knn_vector field)."""
    if not model_id:
        raise InputError("an ML Commons model id is needed (register and deploy the zip from "
                         "`mrs export opensearch-ml`, then pass --model-id)")
    return {
        "description": f"mrs: embedding text from template {template.template!r} → {vector_field} "
                       f"with ML model {model_id}",
        "processors": [
            text_script_processor(template, text_field),
            {"text_embedding": {"tag": EMBED_TAG, "model_id": model_id, "field_map": {text_field: vector_field}}},
        ],
    }


def check_ml_model(client: Any, model_id: str, dimension: int) -> dict[str, Any]:
    """GET the ML Commons model: InputError when it is unknown, not DEPLOYED, not TEXT_EMBEDDING, or its
    embedding_dimension differs from the index's ``dimension``. Returns the model document."""
    from opensearchpy.exceptions import NotFoundError

    try:
        model = client.transport.perform_request("GET", f"/_plugins/_ml/models/{model_id}")
    except NotFoundError:
        raise InputError(f"ML model {model_id!r} not found on the cluster (register and deploy the zip from "
                         "`mrs export opensearch-ml`, see docs/opensearch.md)") from None
    state = model.get("model_state")
    if state not in (None, "DEPLOYED"):
        raise InputError(f"ML model {model_id!r} is {state}, not DEPLOYED "
                         f"(POST /_plugins/_ml/models/{model_id}/_deploy)")
    function = model.get("function_name") or model.get("algorithm")
    if function not in (None, "TEXT_EMBEDDING"):
        raise InputError(f"ML model {model_id!r} is a {function} model, not TEXT_EMBEDDING")
    found = (model.get("model_config") or {}).get("embedding_dimension")
    if found is not None and int(found) != int(dimension):
        raise InputError(f"ML model {model_id!r} embeds in {found} dimensions, the index's model in {dimension}: "
                         "export the same model (--model) with `mrs export opensearch-ml`")
    return model


def get_pipeline(client: Any, name: str) -> dict[str, Any]:
    """The body of ingest pipeline ``name``; InputError when the cluster has none by that name."""
    from opensearchpy.exceptions import NotFoundError

    try:
        found = client.ingest.get_pipeline(id=name)
    except NotFoundError:
        found = {}
    if name not in (found or {}):
        raise InputError(f"ingest pipeline {name!r} not found on the cluster (pass --model-id to create it, or "
                         "install the rendered one with `mrs templates install`)")
    return dict(found[name])


def prepare_pipeline(client: Any, name: str, template: ProductTextTemplate, *, model_id: str | None,
                     dimension: int, vector_field: str = "embedding") -> dict[str, Any]:
    """Make pipeline ``name`` ready for a load: with ``model_id``, check the model and PUT (create or update)
    the pipeline; without, the pipeline must exist and render ``template``. Returns the pipeline body."""
    if model_id:
        check_ml_model(client, model_id, dimension)
        body = embedding_pipeline_body(template, model_id, vector_field)
        client.ingest.put_pipeline(id=name, body=body)
        return body
    body = get_pipeline(client, name)
    check_pipeline_template(name, body, template)
    return body
