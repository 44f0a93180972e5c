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


def _bar_callback(bar, label: str):
    task = {}

    def on_step(step: int, total: int, _loss: float = 0.0) -> None:
        if "id" not in task:
            task["id"] = bar.add_task(label, total=total)
        bar.update(task["id"], completed=step, total=total)

    return on_step


JUDGE_KINDS = ("ordinal-logistic", "ordinal-gbm", "cross-encoder")
DEFAULT_CLASS_WEIGHT_POWER = {"cross-encoder": 0.5, "ordinal-logistic": 0.0, "ordinal-gbm": 0.0}
"""Per kind (docs/stage2.md, measured on ESCI): the ordinal judges beat the majority level only unweighted."""


@command.command("train")
@click.option("--judgments", "judgments_path", required=True, type=click.Path(dir_okay=False),
              help="Graded human judgments (ESCI qrels TSV, SRW JSON, TREC qrels, mrs TSV).")
@click.option("--catalog", "catalog_path", required=True, type=click.Path(dir_okay=False),
              help="Catalog file (JSONL, CSV/TSV or Parquet) with the judged products.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Judge directory to write (replaced atomically).")
@click.option("--kind", type=click.Choice(JUDGE_KINDS), default="ordinal-logistic", show_default=True,
              help="ordinal-gbm / ordinal-logistic: an ordinal model over lexical, attribute and cosine features, "
                   "cross-fitted by query; cross-encoder: a MiniLM cross-encoder with a classification head.")
@click.option("--embedding-model", default="",
              help="Ordinal kinds: model for the cosine feature (a Stage-1 directory; default the packaged "
                   "all-MiniLM-L6-v2; 'none' leaves the cosine out).")
@click.option("--folds", type=int, default=5, show_default=True,
              help="Ordinal kinds: cross-fitting folds over the training queries.")
@click.option("--base", default="", help="Cross-encoder: encoder to start from (default: all-MiniLM-L6-v2).")
@scheme_option
@queries_option
@text_template_option(default=DEFAULT_TEMPLATE, help="Product text template.")
@click.option("--dev-fraction", type=float, default=0.2, show_default=True,
              help="Share of queries held out to measure the judge (same split as Stage 1 for equal seed).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--epochs", type=int, default=2, show_default=True, help="Cross-encoder: passes over the pairs.")
@click.option("--max-steps", type=int, default=0, show_default=True,
              help="Cross-encoder: stop after N steps (0 = no cap).")
@click.option("--batch-size", type=int, default=16, show_default=True)
@click.option("--lr", type=float, default=3e-5, show_default=True, help="Learning rate of the pretrained encoder.")
@click.option("--head-lr", type=float, default=1e-3, show_default=True,
              help="Learning rate of the classification head (starts random).")
@click.option("--max-length", type=int, default=128, show_default=True, help="Tokens per (query, product) pair.")
@click.option("--class-weight-power", type=float, default=None,
              help="Level weights (frequency)^-p in the loss; 0 = unweighted. Default 0 for the ordinal kinds, "
                   "0.5 for cross-encoder.")
@id_field_option
@click.option("--device", default=None, help="cpu or cuda (default: cpu).")
@on_error_option
@json_option
@handle_errors
def train_cmd(judgments_path, catalog_path, out_dir, kind, embedding_model, folds, base, scheme, queries_path,
              template, dev_fraction, seed, epochs, max_steps, batch_size, lr, head_lr, max_length, class_weight_power,
              id_field, device, on_error, as_json):
    """Train the judge on human judgments, split by query; report accuracy, balanced accuracy, within-one,
    per-level recall and confusion on the held-out dev queries (and, for ordinal kinds, cross-fitted over the
    training queries) against always answering the majority level; warn when the judge does not beat it.

    Writes OUT (judge.json with the kind, scheme, template and report, plus the model files).

    \b
    Example:
      mrs data sample --out demo
      mrs judge train --judgments demo/judgments.tsv --catalog demo/catalog.jsonl --out demo/judge
      mrs judge train --kind cross-encoder --judgments demo/judgments.tsv --catalog demo/catalog.jsonl \\
          --out demo/judge-ce --epochs 1
    """
    from mrs.data.readers import Rejects, read_catalog
    from mrs.data.splits import split_judgments
    from mrs.data.text import ProductTextTemplate
    from mrs.toolkit.judge import judge_examples, majority_baseline

    if class_weight_power is None:
        class_weight_power = DEFAULT_CLASS_WEIGHT_POWER[kind]
    rejects = Rejects()
    jset = read_judgment_input(judgments_path, queries_path=queries_path, scheme=scheme, on_error=on_error,
                               rejects=rejects)
    products = {p.id: p for p in read_catalog(catalog_path, id_field=id_field, on_error=on_error, rejects=rejects)}
    tpl = ProductTextTemplate(template)
    texts = {pid: tpl.render(p) for pid, p in products.items()}
    train_set, dev_set = split_judgments(jset, dev_fraction, seed)
    train_ex, missing_train = judge_examples(train_set, texts)
    dev_ex, missing_dev = judge_examples(dev_set, texts)
    with progress(quiet=as_json) as bar:
        on_step = _bar_callback(bar, "training judge")
        if kind == "cross-encoder":
            judge, training = _train_cross_encoder(jset.scheme, train_ex, base, max_length, device, template, epochs,
                                                   max_steps, batch_size, lr, head_lr, class_weight_power, seed,
                                                   on_step)
        else:
            judge, training = _train_ordinal(kind, train_set, products, template, embedding_model, folds, seed,
                                             class_weight_power, on_step)
    from mrs.toolkit.judge import evaluate_judge

    dev = evaluate_judge(judge, dev_ex)
    report = {
        "kind": kind, "scheme": jset.scheme.name,
        "train_queries": len(train_set.queries()), "dev_queries": len(dev_set.queries()),
        "train_pairs": len(train_ex), "dev_pairs": len(dev_ex),
        "missing_product": len(missing_train) + len(missing_dev),
        "training": training,
        "config": {"kind": kind, "embedding_model": embedding_model, "folds": folds, "base": base,
                   "dev_fraction": dev_fraction, "seed": seed, "epochs": epochs, "max_steps": max_steps,
                   "batch_size": batch_size, "lr": lr, "head_lr": head_lr, "max_length": max_length,
                   "class_weight_power": class_weight_power},
        "dev": dev,
        "dev_majority_baseline": majority_baseline(train_ex, dev_ex),
    }
    report["warnings"] = _majority_warnings(report)
    out = judge.save(out_dir, extra={"report": report})
    report["judge_dir"] = str(out)
    record_rejects(report, rejects, out_dir)
    if as_json:
        print_json(report)
        return
    _print_train_report(report, jset.scheme, out)
    print_rejects_note(report)


def _train_cross_encoder(scheme, train_ex, base, max_length, device, template, epochs, max_steps, batch_size, lr,
                         head_lr, class_weight_power, seed, on_step):
    from mrs.toolkit.judge import CrossEncoderJudge, train_judge

    judge = CrossEncoderJudge.create(scheme, base or None, max_length=max_length, device=device, template=template)
    fit = train_judge(judge, train_ex, epochs=epochs, max_steps=max_steps or None, batch_size=batch_size, lr=lr,
                      head_lr=head_lr, class_weight_power=class_weight_power, seed=seed, on_step=on_step)
    return judge, {"steps": len(fit.step_losses), "rows": fit.rows, "seconds": round(fit.seconds, 2),
                   "first_loss": fit.step_losses[0], "last_loss": fit.step_losses[-1],
                   "class_weights": fit.class_weights}


def _train_ordinal(kind, train_set, products, template, embedding_model, folds, seed, class_weight_power, on_step):
    import time

    from mrs.toolkit.judge_ordinal import fit_ordinal_judge

    started = time.perf_counter()
    embedder = None if embedding_model.lower() == "none" else embedding_model
    judge, cross_fit = fit_ordinal_judge(kind, train_set, products, template=template, embedder=embedder,
                                         folds=folds, seed=seed, class_weight_power=class_weight_power,
                                         on_step=lambda done, total: on_step(done, total))
    return judge, {"seconds": round(time.perf_counter() - started, 2), "folds": folds,
                   "cross_fit": cross_fit}


def _majority_warnings(report: dict) -> list[str]:
    """One warning per evaluation (dev, cross-fit) where the judge does not beat always-majority."""
    out = []
    checks = [("dev", report["dev"], report["dev_majority_baseline"])]
    cross = (report["training"] or {}).get("cross_fit")
    if cross:
        checks.append(("cross-fitted training queries", cross, cross["majority"]))
    for name, got, base in checks:
        if not got.get("pairs") or base.get("accuracy") is None:
            continue
        if got["accuracy"] <= base["accuracy"] or got["balanced_accuracy"] <= base["balanced_accuracy"]:
            out.append(f"the judge does not beat always answering the majority level on {name}: accuracy "
                       f"{got['accuracy']:.1%} vs {base['accuracy']:.1%}, balanced accuracy "
                       f"{got['balanced_accuracy']:.1%} vs {base['balanced_accuracy']:.1%}; labels it writes "
                       "(mine, audit) are no better than a constant")
    return out


def _print_train_report(report: dict, scheme, out) -> None:
    console.print(f"{report['kind']} judge written to [bold]{out}[/] ({scheme.name}, {len(scheme.levels)} levels), "
                  f"trained on {report['train_pairs']} pairs of {report['train_queries']} queries in "
                  f"{report['training']['seconds']:.0f}s")
    rows = [("dev", report["dev"], report["dev_majority_baseline"])]
    cross = report["training"].get("cross_fit")
    if cross:
        rows.append(("cross-fit", cross, cross["majority"]))
    for name, m, base in rows:
        if not m.get("pairs"):
            continue
        recall = ", ".join(f"{lv} {r:.0%}" for lv, r in m["per_level_recall"].items())
        console.print(f"{name} ({m['pairs']} pairs): accuracy {m['accuracy']:.1%}, balanced {m['balanced_accuracy']:.1%}"
                      f", within one {m['within_one']:.1%}; always-majority {base['accuracy']:.1%} / "
                      f"{base['balanced_accuracy']:.1%}; recall per level: {recall}", highlight=False)
        console.print(f"  confusion (rows gold, columns predicted, {', '.join(scheme.levels)}): {m['confusion']}",
                      highlight=False)
    if report["missing_product"]:
        err_console.print(f"[yellow]warning:[/] {report['missing_product']} judgments name products missing "
                          "from the catalog; not used", highlight=False)
    for w in report["warnings"]:
        err_console.print(f"[yellow]warning:[/] {w}", highlight=False)


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
    from mrs.toolkit.judge import load_judge
    from mrs.toolkit.judge_pairs import read_pairs

    if (judge_dir is None) == (llm_url is None):
        raise InputError("give exactly one of --judge DIR or --llm-url URL")
    if llm_url and not llm_model:
        raise InputError("--llm-url needs --llm-model")
    rejects = Rejects()
    row_errors = RowErrors(on_error, rejects)
    pairs = _with_query_texts(read_pairs(pairs_path, row_errors), queries_path, pairs_path, row_errors)
    if judge_dir:
        judge = load_judge(judge_dir)
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
        from mrs.data.readers import read_catalog

        catalog = list(read_catalog(catalog_path, id_field=id_field, on_error=on_error, rejects=rejects))
        from mrs.data.text import ProductTextTemplate

        texts = {p.id: ProductTextTemplate(tpl).render(p) for p in catalog}
        if hasattr(judge, "attach_catalog"):
            judge.attach_catalog(catalog)
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
