"""`mrs judge`: train the cross-encoder relevance judge and label (query, product) pairs with it or an LLM."""

from __future__ import annotations

from pathlib import Path

import click

from mrs.cli.common import (
    console,
    err_console,
    handle_errors,
    id_field_option,
    json_option,
    on_error_option,
    print_json,
    print_rejects_note,
    progress,
    record_rejects,
)
from mrs.cli.judgment_options import queries_option, read_judgment_input, scheme_option
from mrs.cli.text_options import text_template_option
from mrs.data.levels import SCHEMES, get_scheme
from mrs.data.text import DEFAULT_TEMPLATE
from mrs.errors import InputError


@click.group("judge")
def command() -> None:
    """Relevance judge: a cross-encoder classifier over the level scheme (or an OpenAI-compatible LLM)."""


def _product_texts(catalog_path, template: str, id_field, on_error, rejects) -> dict[str, str]:
    from mrs.data.readers import read_catalog
    from mrs.data.text import ProductTextTemplate

    tpl = ProductTextTemplate(template)
    return {p.id: tpl.render(p) for p in read_catalog(catalog_path, id_field=id_field, on_error=on_error,
                                                      rejects=rejects)}


def _bar_callback(bar, label: str):
    task = {}

    def on_step(step: int, total: int, _loss: float = 0.0) -> None:
        if "id" not in task:
            task["id"] = bar.add_task(label, total=total)
        bar.update(task["id"], completed=step, total=total)

    return on_step


@command.command("train")
@click.option("--judgments", "judgments_path", required=True, type=click.Path(dir_okay=False),
              help="Graded human judgments (ESCI qrels TSV, SRW JSON, TREC qrels, mrs TSV).")
@click.option("--catalog", "catalog_path", required=True, type=click.Path(dir_okay=False),
              help="Catalog file (JSONL, CSV/TSV or Parquet) with the judged products.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Judge directory to write (replaced atomically).")
@click.option("--base", default="", help="Encoder to start from (default: the packaged all-MiniLM-L6-v2).")
@scheme_option
@queries_option
@text_template_option(default=DEFAULT_TEMPLATE, help="Product text template.")
@click.option("--dev-fraction", type=float, default=0.2, show_default=True,
              help="Share of queries held out to measure the judge (same split as Stage 1 for equal seed).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--epochs", type=int, default=2, show_default=True)
@click.option("--max-steps", type=int, default=0, show_default=True, help="Stop after N steps (0 = no cap).")
@click.option("--batch-size", type=int, default=16, show_default=True)
@click.option("--lr", type=float, default=3e-5, show_default=True, help="Learning rate of the pretrained encoder.")
@click.option("--head-lr", type=float, default=1e-3, show_default=True,
              help="Learning rate of the classification head (starts random).")
@click.option("--max-length", type=int, default=128, show_default=True, help="Tokens per (query, product) pair.")
@click.option("--class-weight-power", type=float, default=0.5, show_default=True,
              help="Cross-entropy class weights (frequency)^-p; 0 = unweighted.")
@id_field_option
@click.option("--device", default=None, help="cpu or cuda (default: cpu).")
@on_error_option
@json_option
@handle_errors
def train_cmd(judgments_path, catalog_path, out_dir, base, scheme, queries_path, template, dev_fraction, seed, epochs, max_steps,
              batch_size, lr, head_lr, max_length, class_weight_power, id_field, device, on_error, as_json):
    """Train the judge on human judgments, split by query; report dev accuracy and within-one-level accuracy.

    Writes OUT (a CrossEncoder with one output per level + judge.json with the scheme, template and dev metrics).

    \b
    Example:
      mrs data sample --out demo
      mrs judge train --judgments demo/judgments.tsv --catalog demo/catalog.jsonl --out demo/judge --epochs 1
    """
    from mrs.data.readers import Rejects
    from mrs.toolkit.judge import (
        CrossEncoderJudge,
        evaluate_judge,
        judge_examples,
        majority_baseline,
        split_judgments,
        train_judge,
    )

    rejects = Rejects()
    jset = read_judgment_input(judgments_path, queries_path=queries_path, scheme=scheme, on_error=on_error,
                               rejects=rejects)
    texts = _product_texts(catalog_path, template, id_field, on_error, rejects)
    train_set, dev_set = split_judgments(jset, dev_fraction, seed)
    train_ex, missing_train = judge_examples(train_set, texts)
    dev_ex, missing_dev = judge_examples(dev_set, texts)
    judge = CrossEncoderJudge.create(jset.scheme, base or None, max_length=max_length, device=device,
                                     template=template)
    with progress(quiet=as_json) as bar:
        fit = train_judge(judge, train_ex, epochs=epochs, max_steps=max_steps or None, batch_size=batch_size, lr=lr,
                          head_lr=head_lr, class_weight_power=class_weight_power, seed=seed,
                          on_step=_bar_callback(bar, "training judge"))
    dev = evaluate_judge(judge, dev_ex)
    report = {
        "scheme": jset.scheme.name,
        "train_queries": len(train_set.queries()), "dev_queries": len(dev_set.queries()),
        "train_pairs": len(train_ex), "dev_pairs": len(dev_ex),
        "missing_product": len(missing_train) + len(missing_dev),
        "training": {"steps": len(fit.step_losses), "rows": fit.rows, "seconds": round(fit.seconds, 2),
                     "first_loss": fit.step_losses[0], "last_loss": fit.step_losses[-1],
                     "class_weights": fit.class_weights},
        "config": {"base": base, "dev_fraction": dev_fraction, "seed": seed, "epochs": epochs,
                   "max_steps": max_steps, "batch_size": batch_size, "lr": lr, "head_lr": head_lr, "max_length": max_length,
                   "class_weight_power": class_weight_power},
        "dev": dev,
        "dev_majority_baseline": majority_baseline(train_ex, dev_ex),
    }
    out = judge.save(out_dir, extra={"report": report})
    report["judge_dir"] = str(out)
    record_rejects(report, rejects, out_dir)
    if as_json:
        print_json(report)
        return
    console.print(f"judge written to [bold]{out}[/] ({jset.scheme.name}, {len(jset.scheme.levels)} levels)")
    console.print(f"trained {report['training']['steps']} steps on {len(train_ex)} pairs of "
                  f"{report['train_queries']} queries in {fit.seconds:.0f}s")
    if dev["pairs"]:
        base_acc = report["dev_majority_baseline"]
        console.print(f"dev ({report['dev_queries']} queries, {dev['pairs']} pairs): accuracy "
                      f"{dev['accuracy']:.1%}, within one level {dev['within_one']:.1%} (always-majority: "
                      f"{base_acc['accuracy']:.1%} / {base_acc['within_one']:.1%})")
    if report["missing_product"]:
        err_console.print(f"[yellow]warning:[/] {report['missing_product']} judgments name products missing "
                          "from the catalog; not used", highlight=False)
    print_rejects_note(report)


def _with_query_texts(pairs, queries_path, pairs_path, row_errors):
    """Pairs with their query texts: from --queries (by query_id; a pair whose id it lacks is a bad row), else
    as the file has them; InputError when the queries are ids (mrs.data.judgment_checks.looks_like_ids)."""
    from dataclasses import replace

    from mrs.data.judgment_checks import looks_like_ids
    from mrs.data.readers import read_queries

    if queries_path is None:
        ids = list(dict.fromkeys(p.query_id for p in pairs if p.query == p.query_id))
        if ids and len(ids) == len({p.query_id for p in pairs}) and looks_like_ids(ids):
            raise InputError(f"the pairs' queries ({', '.join(ids[:3])}, ...) are ids, not query texts: pass "
                             "--queries FILE with the topics/queries file", pairs_path)
        return pairs
    texts = read_queries(queries_path)
    out = []
    for p in pairs:
        if p.query_id not in texts:
            row_errors.bad(pairs_path, p.line, f"query id {p.query_id!r} not in the queries file {queries_path}",
                           p.query_id)
            continue
        out.append(replace(p, query=texts[p.query_id]))
    return out


@command.command("annotate")
@click.option("--pairs", "pairs_path", required=True, type=click.Path(dir_okay=False),
              help="Pairs to label: TSV/CSV with query, product_id (query_id, product_text optional) or JSONL.")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False),
              help="Labeled pairs, written as mrs judgments TSV (source judge, with confidence).")
@click.option("--judge", "judge_dir", default=None, type=click.Path(file_okay=False),
              help="A judge directory from `mrs judge train`.")
@click.option("--llm-url", default=None, help="Label with an OpenAI-compatible endpoint instead "
              "(API key from $MRS_LLM_API_KEY).")
@click.option("--llm-model", default=None, help="Model name for --llm-url.")
@click.option("--scheme", type=click.Choice(sorted(SCHEMES)), default="esci", show_default=True,
              help="Level scheme for --llm-url (a trained judge carries its own).")
@click.option("--catalog", "catalog_path", default=None, type=click.Path(dir_okay=False),
              help="Catalog to render product texts from (not needed when the pairs carry product_text).")
@queries_option
@text_template_option(help="Product text template (default: the judge's).")
@id_field_option
@on_error_option
@json_option
@handle_errors
def annotate_cmd(pairs_path, out_path, judge_dir, llm_url, llm_model, scheme, catalog_path, queries_path, template,
                 id_field, on_error, as_json):
    """Label (query, product) pairs with a level and a confidence.

    \b
    Example:
      mrs judge annotate --pairs demo/judgments.tsv --catalog demo/catalog.jsonl \\
          --judge demo/judge --out demo/judged.tsv
      MRS_LLM_API_KEY=... mrs judge annotate --pairs pairs.tsv --catalog demo/catalog.jsonl \\
          --llm-url http://localhost:8000/v1 --llm-model qwen2.5-7b-instruct --out llm.tsv
    """
    from mrs.data.judgments import Judgment, JudgmentSet
    from mrs.data.readers import Rejects, write_judgments
    from mrs.data.rejects import RowErrors
    from mrs.toolkit.judge import CrossEncoderJudge, read_pairs

    if (judge_dir is None) == (llm_url is None):
        raise InputError("give exactly one of --judge DIR or --llm-url URL")
    if llm_url and not llm_model:
        raise InputError("--llm-url needs --llm-model")
    rejects = Rejects()
    row_errors = RowErrors(on_error, rejects)
    pairs = _with_query_texts(read_pairs(pairs_path, row_errors), queries_path, pairs_path, row_errors)
    if judge_dir:
        judge = CrossEncoderJudge.load(judge_dir)
        tpl = template or judge.template
        source = "judge"
    else:
        from mrs.toolkit.llm_judge import LLMJudge

        judge = LLMJudge(llm_url, llm_model, get_scheme(scheme))
        tpl = template or DEFAULT_TEMPLATE
        source = "llm_judge"
    texts: dict[str, str] = {}
    if any(p.product_text is None for p in pairs):
        if catalog_path is None:
            raise InputError("the pairs have no product_text column: give --catalog", pairs_path)
        texts = _product_texts(catalog_path, tpl, id_field, on_error, rejects)
    rows = []
    for p in pairs:
        text = p.product_text if p.product_text is not None else texts.get(p.product_id)
        if text is None:
            row_errors.bad(pairs_path, p.line, f"product {p.product_id!r} is not in the catalog", p.product_id)
            continue
        rows.append((p, text))
    out = JudgmentSet(judge.scheme)
    chunk = 64
    with progress(quiet=as_json) as bar:
        task = bar.add_task("labeling pairs", total=len(rows))
        for start in range(0, len(rows), chunk):
            part = rows[start:start + chunk]
            for (p, _), lab in zip(part, judge.label([(p.query, t) for p, t in part]), strict=True):
                out.add(Judgment(p.query_id, p.query, p.product_id, lab.grade, source=source,
                                 confidence=lab.confidence))
            bar.update(task, advance=len(part))
    written = write_judgments(out, out_path)
    report = {"pairs": len(pairs), "labeled": len(out), "out": str(written), "scheme": judge.scheme.name,
              "levels": out.level_counts(), "judge": judge_dir or {"url": llm_url, "model": llm_model}}
    record_rejects(report, rejects, out_path)
    if as_json:
        print_json(report)
        return
    console.print(f"labeled {len(out)} of {len(pairs)} pairs → [bold]{Path(written)}[/]")
    console.print("levels: " + ", ".join(f"{k} {v}" for k, v in report["levels"].items()))
    print_rejects_note(report)
