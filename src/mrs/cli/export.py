"""`mrs export opensearch-ml`: a sentence-transformers model → an OpenSearch ML Commons model zip + register body."""

from __future__ import annotations

from pathlib import Path

import click

from mrs.cli.common import err_console, handle_errors, json_option, print_json, progress

_STAGES = ("load", "trace", "zip", "verify")


@click.group("export")
def command() -> None:
    """Export models for deployment.

    \b
    Example:
      mrs export opensearch-ml models/stage2 --format torchscript --out model.zip
    """


@command.command("opensearch-ml")
@click.argument("model_dir", default="default")
@click.option("--format", "fmt", type=click.Choice(["torchscript", "onnx"]), default="torchscript", show_default=True,
              help="TORCH_SCRIPT or ONNX (onnx needs: pip install 'mine-refine-search[onnx]').")
@click.option("--out", "out_zip", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Zip to write; the register body goes beside it as <name>.register.json.")
@click.option("--name", default=None, help="Model name in OpenSearch [default: the model directory's name].")
@click.option("--version", "model_version", default="1.0.0", show_default=True, help="Model version to register.")
@click.option("--model-url", default=None,
              help="URL the cluster will download the zip from (written as `url` in the register body).")
@click.option("--no-verify", is_flag=True, help="Skip loading the export back and comparing with sentence-transformers.")
@json_option
@handle_errors
def opensearch_ml(model_dir, fmt, out_zip, name, model_version, model_url, no_verify, as_json) -> None:
    """Export MODEL_DIR (a sentence-transformers directory; "default" = packaged all-MiniLM-L6-v2) for OpenSearch
    ML Commons: the traced model (pooling, Dense projection and normalization inside the graph) with
    tokenizer.json in a zip, and the _register body (model_content_hash_value = SHA-256 of the zip). The export
    is loaded back and must agree with sentence-transformers (cosine ≥ 0.9999) on sample texts.

    \b
    Example:
      mrs export opensearch-ml models/stage2 --format torchscript --out dist/stage2.zip \\
          --model-url https://artifacts.example.com/stage2.zip
      mrs export opensearch-ml default --format onnx --out minilm-onnx.zip --json
    """
    from mrs.opensearch.ml_export import export_model

    with progress(quiet=as_json) as bar:
        task = bar.add_task("export", total=len(_STAGES) - (1 if no_verify else 0))
        started: list[str] = []

        def on_stage(stage: str) -> None:
            if started:
                bar.advance(task)
            started.append(stage)
            bar.update(task, description=f"export: {stage}")

        result = export_model(None if model_dir == "default" else model_dir, out_zip, fmt, name=name,
                              version=model_version, url=model_url, verify=not no_verify, on_stage=on_stage)
        bar.advance(task)
    if as_json:
        print_json(result)
        return
    reg = result["register"]
    ver = result["verification"]
    check = (f"verified with {ver['runtime']}: min cosine {ver['min_cosine']:.6f}" if ver and ver.get("passed")
             else (ver or {}).get("note", "not verified"))
    err_console.print(
        f"wrote {result['zip']} ({reg['model_content_size_in_bytes']} bytes, sha256 {reg['model_content_hash_value'][:12]}…) "
        f"and {result['register_json']}; {check}", highlight=False)
