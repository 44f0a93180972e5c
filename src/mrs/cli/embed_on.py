"""``mrs index catalog --embed-on local|cluster``: who computes the product vectors.

- local (default): mrs encodes every product and bulk-sends the vectors.
- cluster (--backend opensearch|elasticsearch): documents go without vectors through an ingest pipeline that
  builds the embedding text from the product fields as mrs does and embeds it on the cluster
  (mrs.opensearch.ingest_pipeline / mrs.elasticsearch.ingest_pipeline). ``--model-id`` (the deployed ML
  Commons model, or the Elasticsearch inference endpoint) creates or updates the pipeline first; without it
  ``--ingest-pipeline`` must name one already installed (`mrs templates install`) that renders the same
  text template. The local --model still names the query encoder, recorded in the index's _meta.

The options land in the cluster options (``opts``) the command passes on; ``prepare_cluster_embedding`` reads
them where the client is open.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import click

from mrs.errors import InputError

EMBED_ON = ("local", "cluster")
DEFAULT_PIPELINE = "mrs-embed"


def embed_on_options(f: Callable) -> Callable:
    """--embed-on, --model-id, --ingest-pipeline; --embed-on cluster with the embedded backend, or --model-id
    / --ingest-pipeline without --embed-on cluster, is a usage error (exit 2)."""

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        on, model_id, pipeline = kwargs.get("embed_on"), kwargs.get("model_id"), kwargs.get("ingest_pipeline")
        if on == "cluster" and kwargs.get("backend", "embedded") == "embedded":
            raise click.UsageError("--embed-on cluster needs --backend opensearch or elasticsearch")
        if on != "cluster" and (model_id or pipeline):
            raise click.UsageError("--model-id / --ingest-pipeline go with --embed-on cluster")
        return f(*args, **kwargs)

    options = [
        click.option("--embed-on", "embed_on", type=click.Choice(EMBED_ON), default="local", show_default=True,
                     help="local: mrs encodes and sends vectors. cluster: an ingest pipeline builds the embedding "
                          "text and embeds it on the cluster (docs/opensearch.md, docs/elasticsearch.md)."),
        click.option("--model-id", default=None,
                     help="--embed-on cluster: the deployed ML Commons model id (OpenSearch) or the text_embedding "
                          "inference endpoint id (Elasticsearch); creates or updates the ingest pipeline."),
        click.option("--ingest-pipeline", default=None, metavar="NAME",
                     help=f"--embed-on cluster: the ingest pipeline [default: {DEFAULT_PIPELINE}]; without "
                          "--model-id it must already be installed."),
    ]
    for option in reversed(options):
        wrapper = option(wrapper)
    return wrapper


def prepare_cluster_embedding(kind: str, client: Any, opts: dict[str, Any], template: Any, *, dimension: int,
                              vector_field: str, products: list | None = None) -> dict[str, Any] | None:
    """None for --embed-on local; else make the pipeline ready (create/update with --model-id, else check the
    installed one) and return {"embed_on", "ingest_pipeline", "model_id", "empty_texts"}. InputError (exit 2)
    when neither --model-id nor --ingest-pipeline is given, the model / endpoint or the pipeline is missing.

    empty_texts: products whose embedding text is empty. mrs embeds '' locally; OpenSearch's text_embedding
    processor fails such a document before 2.19 and stores it without a vector from 2.19 on, so they are
    counted and named on stderr rather than left to differ silently."""
    if opts.get("embed_on", "local") != "cluster":
        return None
    model_id, name = opts.get("model_id"), opts.get("ingest_pipeline")
    if not model_id and not name:
        what = "ML Commons model id" if kind == "opensearch" else "inference endpoint id"
        raise InputError(f"--embed-on cluster: the {what} is missing: pass --model-id (or --ingest-pipeline NAME "
                         "of an installed mrs pipeline)")
    name = name or DEFAULT_PIPELINE
    if kind == "opensearch":
        from mrs.opensearch.ingest_pipeline import prepare_pipeline

        prepare_pipeline(client, name, template, model_id=model_id, dimension=dimension, vector_field=vector_field)
    else:
        from mrs.elasticsearch.ingest_pipeline import prepare_pipeline

        prepare_pipeline(client, name, template, model_id=model_id, vector_field=vector_field)
    empty = [p.id for p in products or () if not template.render(p)]
    if empty:
        from mrs.cli.common import err_console

        shown = ", ".join(empty[:5]) + (f" and {len(empty) - 5} more" if len(empty) > 5 else "")
        err_console.print(f"warning: the embedding text is empty for {len(empty)} of {len(products or ())} products "
                          f"({shown}): mrs would embed '' for them, the cluster does not (OpenSearch ≥ 2.19 stores "
                          "them without a vector, older versions reject them into the dead letter)",
                          highlight=False, markup=False)
    return {"embed_on": "cluster", "ingest_pipeline": name, "model_id": model_id, "empty_texts": len(empty)}


def embedding_render_options(f: Callable) -> Callable:
    """`mrs templates render` options for the ingest pipeline: --model-id, --ingest-pipeline, --text-template."""
    from mrs.cli.text_options import text_template_option

    f = text_template_option(dest="text_template", default=None,
                             help="Embedding text template the ingest pipeline renders [default: the one "
                                  "--from-index was built with, else the default template].")(f)
    f = click.option("--ingest-pipeline", default=DEFAULT_PIPELINE, show_default=True, metavar="NAME",
                     help="Name of the ingest pipeline written with --model-id.")(f)
    return click.option("--model-id", default=None,
                        help="Also write ingest/<NAME>.json, the pipeline that lets the cluster embed: the ML "
                             "Commons model id (OpenSearch) or text_embedding inference endpoint id "
                             "(Elasticsearch).")(f)


def render_embedding_pipeline(target: str, out_dir: Any, *, model_id: str | None, name: str,
                              text_template: str | None, index_dir: Any = None,
                              vector_field: str = "embedding") -> dict[str, Any]:
    """With ``model_id``: write the ingest pipeline into the rendered set; returns {"ingest_pipeline": path,
    "text_template": ...} for the command's summary ({} without ``model_id``). The template is --text-template,
    else the one the --from-index index was built with, else the default; InputError when --text-template and
    the index's differ (the pipeline would embed other texts than the index holds)."""
    from mrs.data.text import DEFAULT_TEMPLATE, ProductTextTemplate

    if not model_id:
        if text_template is not None:
            raise click.UsageError("--text-template goes with --model-id (it shapes the ingest pipeline)")
        return {}
    built_with = None
    if index_dir is not None:
        from mrs.engine.manifest import read_manifest

        built_with = read_manifest(index_dir).get("text_template")
    if text_template is not None and built_with is not None and text_template != built_with:
        raise InputError(f"--text-template {text_template!r} differs from the template the index was built with "
                         f"({built_with!r})", path=str(index_dir))
    template = ProductTextTemplate(text_template or built_with or DEFAULT_TEMPLATE)
    if target == "elasticsearch":
        from mrs.elasticsearch.ingest_pipeline import embedding_pipeline_body
    else:
        from mrs.opensearch.ingest_pipeline import embedding_pipeline_body
    from mrs.cluster.ingest import write_rendered_pipeline

    path = write_rendered_pipeline(out_dir, name, embedding_pipeline_body(template, model_id, vector_field))
    return {"ingest_pipeline": path, "text_template": template.template}


def install_rendered_pipelines(target: str, client: Any, rendered_dir: Any) -> list[str]:
    """PUT every ingest pipeline the rendered set lists (`mrs templates install`); returns their names."""
    from mrs.cluster.ingest import read_rendered_pipelines

    pipelines = read_rendered_pipelines(rendered_dir)
    for name, body in pipelines.items():
        if target == "elasticsearch":
            client.ingest.put_pipeline(id=name, description=body.get("description"), processors=body["processors"])
        else:
            client.ingest.put_pipeline(id=name, body=body)
    return sorted(pipelines)
