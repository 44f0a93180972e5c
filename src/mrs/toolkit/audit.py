"""Engagement-driven audit of relevance labels: flag pairs whose label contradicts user behaviour.

Inputs are judgments (mrs.data.judgments.JudgmentSet) and per (query text, product id) engagement counts
(from OpenSearch UBI events, see mrs.data.readers.read_ubi_events). Outputs: the audited judgments (kept,
re-judged with source "audited", or dropped) and an AuditReport listing every flag and every drop.

Rates are Beta-smoothed towards the global rate and, where impression positions exist, position-aware:
an impression at 1-based position r counts as 1/log2(1 + r) examinations (a DCG-style examination
propensity), so a product shown at rank 10 and not clicked is weaker evidence than one shown at rank 1.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from mrs.data.judgments import Judgment, JudgmentSet
from mrs.errors import InputError

ACTIONS = ("keep", "rejudge", "drop")
RULES = ("irrelevant_converted", "irrelevant_clicked", "top_ignored")


@dataclass
class PairStats:
    """Engagement of one (query text, product id) pair.

    impressions/clicks/carts/purchases: event counts; positions: 1-based result positions at which the pair was
    logged (empty when the log has no ordinals).
    """

    impressions: int = 0
    clicks: int = 0
    carts: int = 0
    purchases: int = 0
    positions: list[int] = field(default_factory=list)

    @property
    def examinations(self) -> float:
        """Expected examinations: impressions × the mean propensity 1/log2(1 + position) over the recorded
        positions (impressions when none are recorded); at least the number of clicks (a click implies the
        result was examined)."""
        if self.positions:
            mean_propensity = sum(examination_propensity(p) for p in self.positions) / len(self.positions)
            exam = self.impressions * mean_propensity
        else:
            exam = float(self.impressions)
        return max(exam, float(self.clicks))


def examination_propensity(position: int) -> float:
    """1/log2(1 + position) for a 1-based position (1 → 1.0, 3 → 0.5, 7 → 0.333)."""
    return 1.0 / math.log2(1 + max(int(position), 1))


def beta_smoothed(successes: float, trials: float, prior_rate: float, prior_strength: float) -> float:
    """Posterior mean of a Beta(prior_rate·k, (1−prior_rate)·k) prior after successes/trials:
    (successes + prior_rate·k) / (trials + k), k = prior_strength."""
    return (successes + prior_rate * prior_strength) / (trials + prior_strength)


@dataclass(frozen=True)
class AuditConfig:
    """Thresholds and per-rule actions.

    irrelevant_converted: grade 0 and carts+purchases >= min_conversions and smoothed conversion rate
      (per examination) >= conversion_ratio × the global conversion rate.
    irrelevant_clicked: grade 0 and clicks >= min_clicks and smoothed CTR >= high_ctr_ratio × global CTR.
    top_ignored: top grade and impressions >= min_impressions and smoothed CTR <= low_ctr_ratio × global CTR.
    prior_strength: k of the Beta prior (pseudo-examinations). actions: rule → keep | rejudge | drop.
    """

    min_conversions: int = 1
    conversion_ratio: float = 2.0
    min_clicks: int = 2
    high_ctr_ratio: float = 3.0
    min_impressions: int = 10
    low_ctr_ratio: float = 0.5
    prior_strength: float = 10.0
    actions: Mapping[str, str] = field(
        default_factory=lambda: {"irrelevant_converted": "rejudge", "irrelevant_clicked": "keep", "top_ignored": "rejudge"}
    )

    def __post_init__(self) -> None:
        for rule, action in self.actions.items():
            if rule not in RULES:
                raise InputError(f"unknown audit rule {rule!r}; rules: {', '.join(RULES)}")
            if action not in ACTIONS:
                raise InputError(f"unknown action {action!r} for rule {rule}; choose keep, rejudge or drop")

    def action_for(self, rule: str) -> str:
        return self.actions.get(rule, "keep")


@dataclass
class Flag:
    """One flagged judgment: the rule, the action taken, the evidence and (when re-judged) the new grade."""

    rule: str
    action: str
    query_id: str
    query: str
    product_id: str
    grade: int
    impressions: int
    clicks: int
    carts: int
    purchases: int
    smoothed_ctr: float
    smoothed_conversion_rate: float
    new_grade: int | None = None
    new_confidence: float | None = None


@dataclass
class AuditReport:
    """Global rates, counts per rule and action, and every flag (drops included, so nothing is lost silently)."""

    judgments_in: int
    judgments_out: int
    matched_pairs: int
    global_ctr: float
    global_conversion_rate: float
    flags: list[Flag]
    config: dict
    held_out_judgments: int = 0  # judgments of held-out (dev) queries, passed through unchanged

    def counts(self) -> dict[str, dict[str, int]]:
        """{rule: {action: count}}, every rule listed."""
        out: dict[str, dict[str, int]] = {r: {} for r in RULES}
        for f in self.flags:
            out[f.rule][f.action] = out[f.rule].get(f.action, 0) + 1
        return out

    def dropped(self) -> list[Flag]:
        return [f for f in self.flags if f.action == "drop"]

    def to_dict(self, examples: int = 5) -> dict:
        by_rule: dict[str, list[dict]] = {r: [] for r in RULES}
        for f in self.flags:
            if len(by_rule[f.rule]) < examples:
                by_rule[f.rule].append(asdict(f))
        return {
            "judgments_in": self.judgments_in,
            "judgments_out": self.judgments_out,
            "matched_pairs": self.matched_pairs,
            "held_out_judgments": self.held_out_judgments,
            "global_ctr": self.global_ctr,
            "global_conversion_rate": self.global_conversion_rate,
            "counts": self.counts(),
            "flagged": len(self.flags),
            "examples": by_rule,
            "dropped": [asdict(f) for f in self.dropped()],
            "config": self.config,
        }

    def to_markdown(self, examples: int = 5) -> str:
        lines = [
            "# Engagement audit",
            "",
            f"- judgments in: {self.judgments_in}, out: {self.judgments_out}",
            f"- judged pairs with engagement: {self.matched_pairs}",
            f"- judgments of held-out (dev) queries, left untouched: {self.held_out_judgments}",
            f"- global position-corrected CTR: {self.global_ctr:.4f}; conversion rate: {self.global_conversion_rate:.4f}",
            "",
            "| rule | keep | rejudge | drop |",
            "|---|---|---|---|",
        ]
        for rule, c in self.counts().items():
            lines.append(f"| {rule} | {c.get('keep', 0)} | {c.get('rejudge', 0)} | {c.get('drop', 0)} |")
        for rule in RULES:
            shown = [f for f in self.flags if f.rule == rule][:examples]
            if not shown:
                continue
            lines += ["", f"## {rule} (first {len(shown)})", "",
                      "| query | product | grade | new | impr | clicks | carts | purch | ctr | conv |",
                      "|---|---|---|---|---|---|---|---|---|---|"]
            for f in shown:
                new = "" if f.new_grade is None else str(f.new_grade)
                lines.append(
                    f"| {f.query} | {f.product_id} | {f.grade} | {new} | {f.impressions} | {f.clicks} | {f.carts} | "
                    f"{f.purchases} | {f.smoothed_ctr:.3f} | {f.smoothed_conversion_rate:.3f} |"
                )
        drops = self.dropped()
        lines += ["", f"## Dropped ({len(drops)})", ""]
        lines += [f"- {f.query_id} / {f.product_id} (grade {f.grade}, rule {f.rule})" for f in drops] or ["none"]
        return "\n".join(lines) + "\n"


# UBI action names counted as each kind of engagement (anything else, e.g. hover, is ignored).
IMPRESSION_ACTIONS = frozenset({"impression", "view", "product_impression"})
CLICK_ACTIONS = frozenset({"click", "product_click", "item_click", "click_through"})
CART_ACTIONS = frozenset({"add_to_cart", "add-to-cart", "cart", "addtocart"})
PURCHASE_ACTIONS = frozenset({"purchase", "order", "checkout", "buy"})


def stats_from_engagement(counts: Any) -> dict[tuple[str, str], PairStats]:
    """mrs.data.events.EngagementCounts (from read_ubi_events) → {(normalized query, product id): PairStats}.

    Ordinals are made 1-based: when any logged ordinal is 0 the log is taken as 0-based and every ordinal
    gets +1 (OpenSearch UBI's sample logs the first result as ordinal 0). Pairs whose query text normalizes
    to the same key are summed.
    """
    zero_based = any(o == 0 for e in counts.pairs.values() for o in e.positions)
    shift = 1 if zero_based else 0
    out: dict[tuple[str, str], PairStats] = {}
    for (query, product_id), e in counts.pairs.items():
        actions = e.actions
        key = (normalize_query(query), str(product_id))
        st = out.setdefault(key, PairStats())
        st.impressions += sum(actions.get(a, 0) for a in IMPRESSION_ACTIONS)
        st.clicks += sum(actions.get(a, 0) for a in CLICK_ACTIONS)
        st.carts += sum(actions.get(a, 0) for a in CART_ACTIONS)
        st.purchases += sum(actions.get(a, 0) for a in PURCHASE_ACTIONS)
        # Where the pair was SHOWN (impression ordinals) when the reader keeps them per action, else every
        # logged ordinal of the pair.
        by_action = getattr(e, "action_positions", None) or {}
        shown = [o for a in IMPRESSION_ACTIONS for o in by_action.get(a, [])]
        st.positions.extend(max(int(o) + shift, 1) for o in (shown or e.positions))
    return out


# Rejudge callback: [(judgment, ...)] → [(grade, confidence)], one per judgment, same order.
Rejudge = Callable[[Sequence[Judgment]], Sequence[tuple[int, float]]]


def normalize_query(text: str) -> str:
    """Key used to match judgment queries to logged queries: lower-cased, whitespace collapsed."""
    return " ".join(str(text).lower().split())


def audit_judgments(
    judgments: JudgmentSet,
    engagement: Mapping[tuple[str, str], PairStats],
    config: AuditConfig | None = None,
    rejudge: Rejudge | None = None,
    held_out: Collection[str] = frozenset(),
) -> tuple[JudgmentSet, AuditReport]:
    """Audit judgments against engagement.

    engagement: (normalized query text, product id) → PairStats (see normalize_query).
    held_out: query ids whose judgments are never flagged, re-judged or dropped — the dev queries of the
    training split (mrs.data.splits), so models are compared on the labels as the annotators gave them.
    rejudge: needed when any rule's action is "rejudge" and that rule fires; re-judged pairs keep their place
    with the judge's grade, source "audited" and the judge's confidence. Dropped pairs are removed and listed.
    Returns (audited judgments, report). InputError when a rejudge is needed but no judge was given.
    """
    config = config or AuditConfig()
    tot_exam = sum(e.examinations for e in engagement.values())
    tot_clicks = sum(e.clicks for e in engagement.values())
    tot_conv = sum(e.carts + e.purchases for e in engagement.values())
    global_ctr = tot_clicks / tot_exam if tot_exam > 0 else 0.0
    global_conv = tot_conv / tot_exam if tot_exam > 0 else 0.0
    k = config.prior_strength

    flags: list[Flag] = []
    flag_of: dict[int, Flag] = {}
    matched = 0
    top = judgments.scheme.top
    held_out = frozenset(held_out)
    n_held_out = 0
    for i, j in enumerate(judgments):
        if j.query_id in held_out:
            n_held_out += 1
            continue
        e = engagement.get((normalize_query(j.query), j.product_id))
        if e is None:
            continue
        matched += 1
        exam = e.examinations
        ctr = beta_smoothed(e.clicks, exam, global_ctr, k)
        conv = beta_smoothed(e.carts + e.purchases, exam, global_conv, k)
        rule = _first_rule(j.grade, top, e, ctr, conv, global_ctr, global_conv, config)
        if rule is None:
            continue
        f = Flag(rule, config.action_for(rule), j.query_id, j.query, j.product_id, j.grade,
                 e.impressions, e.clicks, e.carts, e.purchases, ctr, conv)
        flags.append(f)
        flag_of[i] = f

    to_rejudge = [i for i, f in flag_of.items() if f.action == "rejudge"]
    new_labels: dict[int, tuple[int, float]] = {}
    if to_rejudge:
        if rejudge is None:
            rules = sorted({flag_of[i].rule for i in to_rejudge})
            raise InputError(f"audit rule(s) {', '.join(rules)} ask to re-judge {len(to_rejudge)} pairs: give a judge "
                             "(--judge DIR) or set the action to keep or drop")
        labels = list(rejudge([judgments.judgments[i] for i in to_rejudge]))
        if len(labels) != len(to_rejudge):
            raise ValueError("rejudge returned a different number of labels than pairs given")
        new_labels = dict(zip(to_rejudge, labels, strict=True))

    out = JudgmentSet(judgments.scheme)
    for i, j in enumerate(judgments):
        f = flag_of.get(i)
        if f is None or f.action == "keep":
            out.add(j)
        elif f.action == "rejudge":
            grade, conf = new_labels[i]
            f.new_grade, f.new_confidence = int(grade), float(conf)
            out.add(Judgment(j.query_id, j.query, j.product_id, int(grade), source="audited", confidence=float(conf)))
    report = AuditReport(len(judgments), len(out), matched, global_ctr, global_conv, flags,
                         {**asdict(config), "actions": dict(config.actions)}, n_held_out)
    return out, report


def _first_rule(grade: int, top: int, e: PairStats, ctr: float, conv: float, global_ctr: float,
                global_conv: float, c: AuditConfig) -> str | None:
    conversions = e.carts + e.purchases
    if grade == 0 and conversions >= c.min_conversions and conv >= c.conversion_ratio * global_conv:
        return "irrelevant_converted"
    if grade == 0 and e.clicks >= c.min_clicks and ctr >= c.high_ctr_ratio * global_ctr:
        return "irrelevant_clicked"
    if grade == top and e.impressions >= c.min_impressions and ctr <= c.low_ctr_ratio * global_ctr:
        return "top_ignored"
    return None


def parse_actions(specs: Iterable[str]) -> dict[str, str]:
    """["irrelevant_clicked=drop", ...] → {rule: action}, validated; InputError for a bad spec."""
    out: dict[str, str] = {}
    for spec in specs:
        rule, sep, action = spec.partition("=")
        if not sep or rule.strip() not in RULES or action.strip() not in ACTIONS:
            raise InputError(f"bad --action {spec!r}: expected RULE=keep|rejudge|drop with RULE one of {', '.join(RULES)}")
        out[rule.strip()] = action.strip()
    return out
