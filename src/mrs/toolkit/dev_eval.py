"""Dev-set evaluation of training: dense retrieval quality and level separation, also as a
sentence-transformers evaluator (``DevEvaluator``) for SentenceTransformerTrainer.

Small on purpose (the full harness is mrs.eval, which sits above the toolkit): exact cosine retrieval over
the whole catalog for the dev queries, scored with ranx, and pooled ROC AUCs of the cosine between judged
(query, product) pairs of two levels.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from sentence_transformers.sentence_transformer.evaluation import SentenceEvaluator

from mrs.data.judgments import JudgmentSet
from mrs.measures.auc import separation_auc
from mrs.measures.ranx_eval import ranx_evaluate


def encode(model, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
    """Unit-normalised float32 embeddings [len(texts), dim]."""
    emb = model.encode(list(texts), batch_size=batch_size, convert_to_numpy=True, show_progress_bar=False,
                       normalize_embeddings=True)
    return np.asarray(emb, dtype=np.float32)


def evaluate_dense(
    model,
    product_texts: Mapping[str, str],
    dev: JudgmentSet,
    *,
    k: int = 100,
    product_embeddings: np.ndarray | None = None,
    batch_size: int = 64,
    misspelled_seed: int | None = 0,
) -> dict:
    """Dense retrieval metrics of ``model`` on the dev judgments.

    product_texts: product id → embedding text for the whole catalog (the retrieval corpus).
    dev: dev judgments (queries never trained on). product_embeddings: precomputed embeddings in the order of
    product_texts (skips encoding the catalog). misspelled_seed: also score one misspelled copy of every dev
    query (mrs.toolkit.augment.misspell, 1–2 edits, this seed) against the clean query's judgments — what
    spelling augmentation is for; None skips it.
    Returns {"queries", "ndcg@10", "recall@100", "auc_exact_vs_irrelevant", "auc_exact_vs_substitute",
    "ndcg@10_misspelled", "recall@100_misspelled"}: nDCG@10 uses the integer grades as gains (ranx "ndcg",
    linear gain); recall@k counts top-level products only (how many of the exact matches the top k
    retrieves); the AUCs pool every judged dev pair of the two levels (top vs 0, and top vs top-1), the
    separation a single global threshold relies on.
    """
    ids = list(product_texts)
    if product_embeddings is None:
        product_embeddings = encode(model, [product_texts[i] for i in ids], batch_size)
    queries = dev.queries()
    qids = list(queries)
    query_emb = encode(model, [queries[q] for q in qids], batch_size)
    scores = query_emb @ product_embeddings.T  # cosines [Q, P]
    k = min(k, len(ids))
    metrics: dict = {"queries": len(qids)}
    metrics.update(_retrieval_metrics(scores, qids, ids, dev, k))
    # Separation on judged pairs: cosine of every judged dev pair.
    row = {q: r for r, q in enumerate(qids)}
    col = {p: j for j, p in enumerate(ids)}
    pair_cos, pair_grade = [], []
    for j in dev:
        if j.product_id in col:
            pair_cos.append(float(scores[row[j.query_id], col[j.product_id]]))
            pair_grade.append(j.grade)
    names = dev.scheme.levels
    top_grade = dev.scheme.top
    metrics[f"auc_{names[top_grade]}_vs_{names[0]}"] = separation_auc(pair_cos, pair_grade, top_grade, 0)
    if top_grade >= 2:
        metrics[f"auc_{names[top_grade]}_vs_{names[top_grade - 1]}"] = separation_auc(
            pair_cos, pair_grade, top_grade, top_grade - 1)
    if misspelled_seed is not None and qids:
        from mrs.toolkit.augment import augment_spelling

        copies = JudgmentSet(dev.scheme, augment_spelling(dev, 1.0, seed=misspelled_seed))
        if copies.judgments:
            typo_queries = copies.queries()
            typo_ids = list(typo_queries)
            typo_emb = encode(model, [typo_queries[q] for q in typo_ids], batch_size)
            typo = _retrieval_metrics(typo_emb @ product_embeddings.T, typo_ids, ids, copies, k)
            metrics.update({f"{name}_misspelled": value for name, value in typo.items()})
    return metrics


def regression_warnings(final: Mapping | None, references: Mapping[str, Mapping | None],
                        metric: str = "ndcg@10") -> list[str]:
    """One sentence per reference model whose dev ``metric`` the trained model's does not reach.

    final: the trained model's dev metrics (evaluate_dense); references: {name: its dev metrics} on the same
    dev queries (None entries are skipped). Returns [] when nothing regressed or there is no dev set."""
    out = []
    if not final or final.get(metric) is None:
        return out
    for name, ref in references.items():
        if ref and ref.get(metric) is not None and final[metric] < ref[metric]:
            out.append(f"the trained model is worse than the {name} on the dev queries: {metric} "
                       f"{final[metric]:.4f} < {ref[metric]:.4f}; do not deploy it as is (fewer steps, a lower "
                       "--lr or more judged queries)")
    return out


def _retrieval_metrics(scores: np.ndarray, qids: list[str], ids: list[str], judged: JudgmentSet, k: int) -> dict:
    """nDCG@10 (grades as gains) and recall@k of top-level products from cosines [len(qids), len(ids)]."""
    top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    run = {q: {ids[j]: float(scores[r, j]) for j in top[r]} for r, q in enumerate(qids)}
    qrels_all = judged.qrels()
    top_grade = judged.scheme.top
    qrels_top = {q: {p: 1 for p, g in rel.items() if g == top_grade} for q, rel in qrels_all.items()}
    qrels_top = {q: rel for q, rel in qrels_top.items() if rel}
    graded = {q: rel for q, rel in qrels_all.items() if any(g > 0 for g in rel.values())}
    out: dict = {}
    if graded:
        out["ndcg@10"] = ranx_evaluate(graded, run, ["ndcg@10"])[0]["ndcg@10"]
    if qrels_top:
        out[f"recall@{k}"] = ranx_evaluate(qrels_top, run, [f"recall@{k}"])[0][f"recall@{k}"]
    return out


def adjacent_aucs(model, product_texts: Mapping[str, str], dev: JudgmentSet, batch_size: int = 64) -> dict:
    """ROC AUC of the cosine for telling grade b from grade b−1, for every adjacent pair of levels, pooled over
    the judged dev pairs ({"auc_exact_vs_substitute": 0.61, ...}; None when a level has no pair)."""
    rows = [j for j in dev if j.product_id in product_texts]
    if not rows:
        return {}
    queries = dev.queries()
    qids = list(queries)
    q_emb = encode(model, [queries[q] for q in qids], batch_size)
    pids = list(dict.fromkeys(j.product_id for j in rows))
    p_emb = encode(model, [product_texts[p] for p in pids], batch_size)
    qrow = {q: i for i, q in enumerate(qids)}
    prow = {p: i for i, p in enumerate(pids)}
    cos = [float(q_emb[qrow[j.query_id]] @ p_emb[prow[j.product_id]]) for j in rows]
    grades = [j.grade for j in rows]
    names = dev.scheme.levels
    return {f"auc_{names[b]}_vs_{names[b - 1]}": separation_auc(cos, grades, b, b - 1)
            for b in range(dev.scheme.top, 0, -1)}


def dev_report(model, texts: Mapping[str, str], dev: JudgmentSet, product_embeddings=None) -> dict | None:
    """evaluate_dense (nDCG@10, recall@100, AUCs) + every adjacent-level AUC; None without dev queries.

    product_embeddings: the catalog's unit embeddings in the order of texts (skips encoding it again)."""
    if not dev.judgments:
        return None
    product_emb = product_embeddings if product_embeddings is not None else encode(model, list(texts.values()))
    metrics = evaluate_dense(model, texts, dev, product_embeddings=product_emb)
    metrics.update(adjacent_aucs(model, texts, dev))
    return metrics


class DevEvaluator(SentenceEvaluator):
    """The dev metrics of a training stage as a sentence-transformers evaluator.

    product_texts: product id → embedding text of the retrieval corpus; dev: the dev judgments (queries
    never trained on); adjacent_levels: also every adjacent-level AUC (dev_report, Stage 2) instead of
    evaluate_dense alone (Stage 1). ``metrics(model)`` returns the report's dict (None without dev queries);
    calling it as the trainer does returns the numeric metrics prefixed "dev_" (primary: dev_ndcg@10) and
    stores them in the model's card data.
    """

    def __init__(self, product_texts: Mapping[str, str], dev: JudgmentSet, *, adjacent_levels: bool = False,
                 name: str = "dev") -> None:
        super().__init__()
        self.product_texts = product_texts
        self.dev = dev
        self.adjacent_levels = adjacent_levels
        self.name = name
        self.primary_metric = "ndcg@10"

    def metrics(self, model) -> dict | None:
        if not self.dev.judgments:
            return None
        if self.adjacent_levels:
            return dev_report(model, self.product_texts, self.dev)
        return evaluate_dense(model, self.product_texts, self.dev)

    def __call__(self, model, output_path: str | None = None, epoch: int = -1, steps: int = -1) -> dict[str, float]:
        numeric = {k: v for k, v in (self.metrics(model) or {}).items()
                   if isinstance(v, (int, float)) and k != "queries"}
        prefixed = self.prefix_name_to_metrics(numeric, self.name)
        self.store_metrics_in_model_card_data(model, prefixed, epoch, steps)
        return prefixed
