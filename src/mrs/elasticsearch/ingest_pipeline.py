"""The ingest pipeline that lets an Elasticsearch cluster embed products: the same Painless ``script``
processor as OpenSearch's (mrs.cluster.ingest: the embedding text exactly as mrs.data.text renders
it) followed by an ``inference`` processor that embeds the text with an inference endpoint and writes the
dense_vector field.

The endpoint (``PUT _inference/text_embedding/<id>``, ``inference_endpoint_body``) runs the model on the
cluster's ML nodes with the ``elasticsearch`` service; the model itself is the mrs model directory uploaded with
eland (``eland_import_hub_model --hub-model-id <model dir> --task-type text_embedding``), see
docs/elasticsearch.md.

Documentation relied on: Elasticsearch "Inference processor" (reference/enrich-processor/inference-processor:
model_id = an inference ID, input_output input_field / output_field), "Create an inference endpoint"
(PUT _inference/<task_type>/<inference_id>; service elasticsearch, service_settings model_id, num_allocations,
num_threads), "Get an inference endpoint" (GET _inference/<task_type>/<inference_id>), "Create or update a
pipeline" (PUT _ingest/pipeline/<id>).
"""

from __future__ import annotations

from typing import Any

from mrs.cluster.ingest import (
    DEFAULT_PIPELINE,
    EMBED_TAG,
    TEXT_FIELD,
    check_pipeline_template,
    text_script_processor,
)
from mrs.data.text import ProductTextTemplate
from mrs.errors import InputError

__all__ = ["DEFAULT_PIPELINE", "embedding_pipeline_body", "inference_endpoint_body", "prepare_pipeline"]


def embedding_pipeline_body(template: ProductTextTemplate, inference_id: str, vector_field: str = "embedding",
                            text_field: str = TEXT_FIELD) -> dict[str, Any]:
    """``PUT _ingest/pipeline/<name>`` body: the text script, then ``inference`` with endpoint ``inference_id``
    reading ``text_field`` and writing the embedding to ``vector_field`` (the index's dense_vector)."""
    if not inference_id:
        raise InputError("an inference endpoint id is needed (create a text_embedding endpoint for the model, "
                         "then pass --model-id)")
    return {
        "description": f"mrs: embedding text from template {template.template!r} → {vector_field} "
                       f"with inference endpoint {inference_id}",
        "processors": [
            text_script_processor(template, text_field),
            {"inference": {"tag": EMBED_TAG, "model_id": inference_id,
                           "input_output": [{"input_field": text_field, "output_field": vector_field}]}},
        ],
    }


def inference_endpoint_body(trained_model_id: str, num_allocations: int = 1, num_threads: int = 1) -> dict[str, Any]:
    """``PUT _inference/text_embedding/<inference_id>`` body for a model uploaded with eland."""
    return {"service": "elasticsearch",
            "service_settings": {"model_id": trained_model_id, "num_allocations": int(num_allocations),
                                 "num_threads": int(num_threads)}}


def check_inference_endpoint(client: Any, inference_id: str) -> dict[str, Any]:
    """The text_embedding endpoint ``inference_id``; InputError when the cluster has none."""
    from elasticsearch import NotFoundError

    try:
        found = client.inference.get(task_type="text_embedding", inference_id=inference_id)
    except NotFoundError:
        found = {}
    endpoints = [e for e in dict(found or {}).get("endpoints", []) if e.get("inference_id") == inference_id]
    if not endpoints:
        raise InputError(f"inference endpoint {inference_id!r} (text_embedding) not found on the cluster "
                         "(create it with PUT _inference/text_embedding/<id>, see docs/elasticsearch.md)")
    return dict(endpoints[0])


def get_pipeline(client: Any, name: str) -> dict[str, Any]:
    """The body of ingest pipeline ``name``; InputError when the cluster has none by that name."""
    from elasticsearch import NotFoundError

    try:
        found = dict(client.ingest.get_pipeline(id=name))
    except NotFoundError:
        found = {}
    if name not in found:
        raise InputError(f"ingest pipeline {name!r} not found on the cluster (pass --model-id to create it, or "
                         "install the rendered one with `mrs templates install`)")
    return dict(found[name])


def prepare_pipeline(client: Any, name: str, template: ProductTextTemplate, *, model_id: str | None,
                     vector_field: str = "embedding") -> dict[str, Any]:
    """As mrs.opensearch.ingest_pipeline.prepare_pipeline: with ``model_id`` (an inference endpoint id) check
    the endpoint and PUT the pipeline; without, the pipeline must exist and render ``template``."""
    if model_id:
        check_inference_endpoint(client, model_id)
        body = embedding_pipeline_body(template, model_id, vector_field)
        client.ingest.put_pipeline(id=name, description=body["description"], processors=body["processors"])
        return body
    body = get_pipeline(client, name)
    check_pipeline_template(name, body, template)
    return body
