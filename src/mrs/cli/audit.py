"""`mrs audit`: check relevance labels against user engagement (OpenSearch UBI events)."""

from __future__ import annotations

from pathlib import Path

import click

from mrs.cli.common import (
    console,
    handle_errors,
    id_field_option,
    json_option,
    on_error_option,
    print_json,
    print_rejects_note,
    record_rejects,
)
from mrs.cli.judgment_options import queries_option, read_judgment_input, scheme_option
from mrs.errors import InputError


@click.command("audit")
@click.option("--judgments", "judgments_path", required=True, type=click.Path(dir_okay=False),
              help="Judgments to audit (ESCI qrels TSV, SRW JSON, TREC qrels, mrs TSV).")
@click.option("--events", "events_path", required=True, type=click.Path(dir_okay=False),
              help="OpenSearch UBI events JSONL (impression, click, add_to_cart, purchase).")
@queries_option
@click.option("--ubi-queries", "ubi_queries_path", default=None, type=click.Path(dir_okay=False),
              help="UBI queries JSONL (ubi_queries.jsonl), to resolve query ids of events without user_query.")
@click.option("--application", default=None, help="Only events of this UBI application (e.g. esci_ubi_sample).")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False),
              help="Audited judgments (mrs TSV). The report goes beside it: OUT.report.json and OUT.report.md.")
@click.option("--action", "actions", multiple=True, metavar="RULE=ACTION",
              help="keep | rejudge | drop per rule (irrelevant_converted, irrelevant_clicked, top_ignored). "
                   "Default: irrelevant_converted=rejudge, irrelevant_clicked=keep, top_ignored=rejudge.")
@click.option("--judge", "judge_dir", default=None, type=click.Path(file_okay=False),
              help="Judge directory for rejudge actions (needs --catalog).")
@click.option("--catalog", "catalog_path", default=None, type=click.Path(dir_okay=False),
              help="Catalog for the judge's product texts.")
@click.option("--min-impressions", type=int, default=10, show_default=True,
              help="top_ignored: least impressions before a top-level label is questioned.")
@click.option("--low-ctr-ratio", type=float, default=0.5, show_default=True,
              help="top_ignored: smoothed CTR at most this × the global CTR.")
@click.option("--min-clicks", type=int, default=2, show_default=True, help="irrelevant_clicked: least clicks.")
@click.option("--high-ctr-ratio", type=float, default=3.0, show_default=True,
              help="irrelevant_clicked: smoothed CTR at least this × the global CTR.")
@click.option("--min-conversions", type=int, default=1, show_default=True,
              help="irrelevant_converted: least carts + purchases.")
@click.option("--conversion-ratio", type=float, default=2.0, show_default=True,
              help="irrelevant_converted: smoothed conversion rate at least this × the global rate.")
@click.option("--prior-strength", type=float, default=10.0, show_default=True,
              help="Beta prior strength (pseudo-examinations at the global rate).")
@scheme_option
@click.option("--examples", type=int, default=5, show_default=True, help="Examples per rule in the report.")
@click.option("--dev-fraction", type=click.FloatRange(0.0, 1.0, max_open=True), default=0.2, show_default=True,
              help="Dev share of the training split (train stage1's --dev-fraction): the labels of dev queries "
                   "are never changed (0 = audit every query).")
@click.option("--seed", type=int, default=0, show_default=True, help="Split seed (train stage1's --seed).")
@id_field_option
@on_error_option
@json_option
@handle_errors
def command(judgments_path, events_path, queries_path, ubi_queries_path, application, out_path, actions, judge_dir, catalog_path,
            min_impressions, low_ctr_ratio, min_clicks, high_ctr_ratio, min_conversions, conversion_ratio,
            prior_strength, scheme, examples, dev_fraction, seed, id_field, on_error, as_json):
    """Flag labels that contradict engagement; keep, re-judge or drop them; write the audited judgments and
    a report. Rates are Beta-smoothed towards the global rate and position-aware (an impression at rank r
    counts 1/log2(1 + r) examinations). Every dropped pair is listed in the report.

    \b
    Example:
      mrs data sample --out demo
      mrs audit --judgments demo/judgments.tsv --events demo/events.jsonl --out demo/audited.tsv \\
          --action irrelevant_converted=drop --action top_ignored=keep
    """
    from mrs.atomic import write_text as atomic_write_text
    from mrs.data.readers import Rejects, read_ubi_events, write_judgments
    from mrs.data.splits import train_dev_split
    from mrs.models import write_json
    from mrs.toolkit.audit import AuditConfig, audit_judgments, parse_actions, stats_from_engagement

    rejects = Rejects()
    jset = read_judgment_input(judgments_path, queries_path=queries_path, scheme=scheme, on_error=on_error,
                               rejects=rejects)
    counts = read_ubi_events(events_path, queries=ubi_queries_path, application=application,
                             on_error="skip" if on_error == "skip" else "fail", rejects=rejects)
    default_actions = AuditConfig().actions
    config = AuditConfig(min_conversions=min_conversions, conversion_ratio=conversion_ratio, min_clicks=min_clicks,
                         high_ctr_ratio=high_ctr_ratio, min_impressions=min_impressions,
                         low_ctr_ratio=low_ctr_ratio, prior_strength=prior_strength,
                         actions={**default_actions, **parse_actions(actions)})
    rejudge = None
    if judge_dir:
        if not catalog_path:
            raise InputError("--judge needs --catalog to render the product texts it reads")
        rejudge = _rejudger(judge_dir, catalog_path, id_field, on_error, rejects, jset.scheme.name)
    dev_ids = train_dev_split(jset, dev_fraction, seed)[1]
    audited, report = audit_judgments(jset, stats_from_engagement(counts), config, rejudge=rejudge,
                                      held_out=dev_ids)
    written = write_judgments(audited, out_path)
    summary = report.to_dict(examples)
    summary["split"] = {"dev_fraction": dev_fraction, "seed": seed, "dev_queries": len(dev_ids)}
    summary["events"] = {"read": counts.events, "attributed": counts.attributed(), "skipped": dict(counts.skipped),
                         "actions": dict(counts.action_totals)}
    json_path = Path(f"{out_path}.report.json")
    md_path = Path(f"{out_path}.report.md")
    write_json(json_path, summary)
    atomic_write_text(md_path, report.to_markdown(examples))
    summary["out"], summary["report_json"], summary["report_md"] = str(written), str(json_path), str(md_path)
    record_rejects(summary, rejects, out_path)
    if as_json:
        print_json(summary)
        return
    console.print(f"audited {report.judgments_in} judgments ({report.matched_pairs} with engagement): "
                  f"{len(report.flags)} flagged, {len(report.dropped())} dropped → [bold]{written}[/]")
    console.print(f"  {report.held_out_judgments} judgments of {len(dev_ids)} dev queries (dev fraction "
                  f"{dev_fraction}, seed {seed}) left untouched")
    for rule, c in report.counts().items():
        console.print(f"  {rule}: " + (", ".join(f"{a} {n}" for a, n in c.items()) or "none"))
    console.print(f"report: {json_path}, {md_path}")
    print_rejects_note(summary)


def _rejudger(judge_dir, catalog_path, id_field, on_error, rejects, scheme_name: str):
    from mrs.data.readers import read_catalog
    from mrs.data.text import ProductTextTemplate
    from mrs.toolkit.judge import load_judge

    judge = load_judge(judge_dir)
    if judge.scheme.name != scheme_name:
        raise InputError(f"the judge labels in scheme {judge.scheme.name!r} but the judgments use {scheme_name!r}",
                         judge_dir)
    tpl = ProductTextTemplate(judge.template)
    products = list(read_catalog(catalog_path, id_field=id_field, on_error=on_error, rejects=rejects))
    texts = {p.id: tpl.render(p) for p in products}
    if hasattr(judge, "attach_catalog"):
        judge.attach_catalog(products)  # an ordinal judge reads the products' fields

    def rejudge(rows):
        missing = [j.product_id for j in rows if j.product_id not in texts]
        if missing:
            raise InputError(f"{len(missing)} flagged products are not in the catalog (e.g. {missing[0]!r})",
                             catalog_path)
        labels = judge.label([(j.query, texts[j.product_id]) for j in rows])
        return [(lab.grade, lab.confidence) for lab in labels]

    return rejudge
