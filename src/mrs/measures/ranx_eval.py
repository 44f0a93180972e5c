"""ranx evaluation of a run against qrels: the one path every report's nDCG, recall, MAP … goes through.

Inputs are plain dicts:
- qrels: {query id: {product id: integer relevance value}} (grades, or gains on an integer scale);
- run: {query id: {product id: score}} (higher score = ranked higher).
Metric names are ranx's own (``ndcg@10``, ``recall@100-l2``). The blend grid scores thousands of rankings
per query with the vectorised kernels of mrs.blending.objective instead, tested equal to these.

Reference: Bassani (2022), "ranx: A Blazing-Fast Python Library for Ranking Evaluation and Comparison".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

# ranx cannot build a Run holding an empty dict for a query; a score-less placeholder id never matches.
NO_RESULT_ID = "\x00no-result"


def ranx_inputs(qrels: Mapping[str, Mapping[str, int]], run: Mapping[str, Mapping[str, float]]):
    """(ranx Qrels, ranx Run) over the judged queries: queries whose qrels are empty are dropped (nothing to
    score), and a judged query the run lacks gets an empty result list (it scores 0)."""
    from ranx import Qrels, Run

    judged = {q: dict(d) for q, d in qrels.items() if d}
    run_dict = {q: dict(run.get(q) or {}) for q in judged}
    for docs in run_dict.values():
        if not docs:
            docs[NO_RESULT_ID] = 0.0
    return Qrels(judged), Run(run_dict)


def ranx_evaluate(qrels: Mapping[str, Mapping[str, int]], run: Mapping[str, Mapping[str, float]],
                  metrics: Sequence[str]) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """ranx metrics of one run: ({ranx metric: mean over the judged queries}, {ranx metric: {query id: score}}).

    qrels / run as in ranx_inputs; metrics: ranx names, duplicates evaluated once."""
    from ranx import evaluate

    names = list(dict.fromkeys(metrics))
    rq, rr = ranx_inputs(qrels, run)
    evaluate(rq, rr, names, save_results_in_run=True)
    # ranx keeps per-query scores in the Run: rr.scores[metric][query id]
    by_query = {m: {q: float(v) for q, v in rr.scores[m].items()} for m in names}
    return {m: float(rr.mean_scores[m]) for m in names}, by_query
