"""An ordinal relevance judge over pair features, cross-fitted by query (``mrs judge train --kind ordinal-*``).

Model: the cumulative (ordinal) decomposition of Frank & Hall ("A Simple Approach to Ordinal
Classification", ECML 2001): for every level boundary k = 1..K−1 a binary classifier estimates P(grade ≥ k)
from the pair features of mrs.toolkit.judge_features; the estimates are made non-increasing in k
(P(≥ k) ← min over j ≤ k of P(≥ j)) and P(grade = k) = P(≥ k) − P(≥ k + 1). The answer is the most probable
level, its probability the confidence. Binary classifier per kind: ``ordinal-gbm``, scikit-learn's
HistGradientBoostingClassifier; ``ordinal-logistic``, standardised features + LogisticRegression (the
cumulative-link logistic model with one slope vector per boundary). Rows are weighted by
(level frequency)^(−class_weight_power), as the cross-encoder's cross-entropy is.

Cross-fitting: the training queries are dealt into ``folds`` folds (by seeded hash, mrs.data.splits); one
model per fold is fitted on the other folds, and one on all training queries. A pair whose query was a
training query is labelled by the model that never saw that query (mining and audit re-judge training
queries' pairs, so a judge that memorised them would only repeat the human label); any other query gets the
full model. The out-of-fold labels of the training pairs are the judge's cross-validated report.

A judge directory holds ``judge.json`` (kind, scheme, template, embedding model, query → fold, report),
``field_stats.json`` and ``models.pkl`` (the scikit-learn models, pickled: load only judge directories you
made or trust).
"""

from __future__ import annotations

import json
import os
import pickle
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np

from mrs.data.catalog import Product
from mrs.data.judgments import JudgmentSet
from mrs.data.levels import LevelScheme, get_scheme
from mrs.data.splits import query_point
from mrs.data.text import DEFAULT_TEMPLATE, ProductTextTemplate
from mrs.errors import InputError
from mrs.models import write_json
from mrs.toolkit.judge_features import FEATURE_NAMES, FieldStats, feature_matrix
from mrs.toolkit.judge_protocol import JUDGE_FILE, JudgeLabel
from mrs.toolkit.synthetic import normalize_query

ORDINAL_KINDS = ("ordinal-gbm", "ordinal-logistic")
STATS_FILE = "field_stats.json"
MODELS_FILE = "models.pkl"


def _binary_model(kind: str, seed: int):
    if kind == "ordinal-gbm":
        from sklearn.ensemble import HistGradientBoostingClassifier

        return HistGradientBoostingClassifier(max_iter=150, learning_rate=0.05, max_leaf_nodes=15,
                                              min_samples_leaf=20, l2_regularization=1.0, random_state=seed)
    if kind == "ordinal-logistic":
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        return make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000))
    raise InputError(f"unknown judge kind {kind!r} (expected one of {', '.join(ORDINAL_KINDS)} or cross-encoder)")


def level_weights(grades: np.ndarray, num_levels: int, power: float) -> np.ndarray:
    """Row weights (count of the row's level / mean count)^(−power), mean 1 over rows."""
    counts = np.bincount(grades, minlength=num_levels).astype(float)
    mean = counts[counts > 0].mean()
    w = np.where(counts > 0, (np.maximum(counts, 1) / mean) ** (-power), 0.0)[grades]
    return w / w.mean()


class CumulativeModel:
    """K−1 binary models of P(grade ≥ k); ``probabilities`` combines them (module doc)."""

    def __init__(self, kind: str, num_levels: int, seed: int = 0):
        self.kind, self.num_levels, self.seed = kind, num_levels, seed
        self.boundaries: list = []

    def fit(self, x: np.ndarray, grades: np.ndarray, weights: np.ndarray) -> CumulativeModel:
        self.boundaries = []
        for k in range(1, self.num_levels):
            y = (grades >= k).astype(int)
            if y.min() == y.max():  # every row on one side: a constant probability
                self.boundaries.append(float(y[0]))
                continue
            model = _binary_model(self.kind, self.seed)
            step = model.steps[-1][0] + "__sample_weight" if hasattr(model, "steps") else "sample_weight"
            model.fit(x, y, **{step: weights})
            self.boundaries.append(model)
        return self

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        """[n, num_levels] P(grade = k), rows summing to 1."""
        at_least = np.ones((x.shape[0], self.num_levels + 1))
        at_least[:, self.num_levels] = 0.0
        for k, model in enumerate(self.boundaries, start=1):
            at_least[:, k] = model if isinstance(model, float) else model.predict_proba(x)[:, 1]
        at_least[:, 1:self.num_levels] = np.minimum.accumulate(at_least[:, 1:self.num_levels], axis=1)
        return np.clip(at_least[:, :-1] - at_least[:, 1:], 0.0, 1.0)


class OrdinalJudge:
    """A fitted ordinal judge (module doc); implements mrs.toolkit.judge.Judge.

    products_by_text: rendered product text → Product (the judge needs the fields, the Judge protocol passes
    texts): filled by ``attach_catalog``; a text not found is read as a product whose title is the text."""

    def __init__(self, kind: str, scheme: LevelScheme, template: str, stats: FieldStats, full: CumulativeModel,
                 fold_models: Sequence[CumulativeModel], query_folds: Mapping[str, int], embedder: str | None,
                 info: dict | None = None):
        self.kind, self.scheme, self.template, self.stats = kind, scheme, template, stats
        self.full, self.fold_models, self.query_folds = full, list(fold_models), dict(query_folds)
        self.embedder = embedder
        self.info = dict(info or {})
        self.products_by_text: dict[str, Product] = {}
        self._encoder = None

    def attach_catalog(self, products: Sequence[Product]) -> OrdinalJudge:
        tpl = ProductTextTemplate(self.template)
        self.products_by_text = {tpl.render(p): p for p in products}
        return self

    def _cosines(self, queries: Sequence[str], texts: Sequence[str]) -> np.ndarray:
        if self.embedder is None:
            return np.zeros(len(queries))
        if self._encoder is None:
            from mrs.models import load_sentence_transformer

            self._encoder = load_sentence_transformer(self.embedder or None, device="cpu")
        return pair_cosines(self._encoder, queries, texts)

    def features(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        products = [self.products_by_text.get(t) or Product(id="", fields={"title": t}) for _, t in pairs]
        queries = [q for q, _ in pairs]
        return feature_matrix(queries, products, self.stats, self._cosines(queries, [t for _, t in pairs]))

    def probabilities(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        """[n, levels] P(level) per pair, each from the model that never saw the pair's query."""
        x = self.features(pairs)
        out = np.zeros((len(pairs), len(self.scheme.levels)))
        folds = np.array([self.query_folds.get(normalize_query(q), -1) for q, _ in pairs])
        for f in np.unique(folds):
            rows = folds == f
            model = self.full if f < 0 else self.fold_models[f]
            out[rows] = model.probabilities(x[rows])
        return out

    def label(self, pairs: Sequence[tuple[str, str]]) -> list[JudgeLabel]:
        if not pairs:
            return []
        probs = self.probabilities(pairs)
        grades = probs.argmax(axis=1)
        return [JudgeLabel(int(g), float(probs[i, g])) for i, g in enumerate(grades)]

    def save(self, out_dir: str | os.PathLike, extra: dict | None = None) -> Path:
        """Write judge.json, field_stats.json and models.pkl, all or nothing (mrs.atomic.atomic_directory)."""
        from mrs.atomic import atomic_directory

        with atomic_directory(out_dir) as tmp:
            self.info.update(extra or {})
            self.info.update({"kind": self.kind, "scheme": self.scheme.name, "levels": list(self.scheme.levels),
                              "template": self.template, "features": list(FEATURE_NAMES),
                              "embedder": self.embedder, "query_folds": self.query_folds})
            write_json(tmp / JUDGE_FILE, self.info)
            write_json(tmp / STATS_FILE, self.stats.to_dict())
            with open(tmp / MODELS_FILE, "wb") as fh:
                pickle.dump({"full": self.full, "folds": self.fold_models}, fh)
        return Path(out_dir)

    @classmethod
    def load(cls, judge_dir: str | os.PathLike, info: dict) -> OrdinalJudge:
        d = Path(judge_dir)
        try:
            stats = FieldStats.from_dict(json.loads((d / STATS_FILE).read_text(encoding="utf-8")))
            with open(d / MODELS_FILE, "rb") as fh:
                models = pickle.load(fh)  # noqa: S301 - a judge directory the user made (module doc)
        except (OSError, ValueError, KeyError) as e:
            raise InputError(f"incomplete ordinal judge directory ({e})", str(d)) from None
        return cls(info["kind"], get_scheme(info["scheme"]), info.get("template", DEFAULT_TEMPLATE), stats,
                   models["full"], models["folds"], info.get("query_folds", {}), info.get("embedder"), info)


def pair_cosines(model, queries: Sequence[str], texts: Sequence[str]) -> np.ndarray:
    """Cosine of each (query, text) pair under a SentenceTransformer; each distinct text is encoded once."""
    from mrs.toolkit.dev_eval import encode

    uq, ut = list(dict.fromkeys(queries)), list(dict.fromkeys(texts))
    qe, te = encode(model, uq), encode(model, ut)
    qi, ti = {q: i for i, q in enumerate(uq)}, {t: i for i, t in enumerate(ut)}
    return np.einsum("ij,ij->i", qe[[qi[q] for q in queries]], te[[ti[t] for t in texts]])


def fit_ordinal_judge(kind: str, train: JudgmentSet, products: Mapping[str, Product], *, template: str,
                      embedder: str | None, folds: int = 5, seed: int = 0, class_weight_power: float = 0.5,
                      on_step: Callable[[int, int], None] | None = None) -> tuple[OrdinalJudge, dict]:
    """Fit the judge on ``train`` (judged products missing from ``products`` are skipped by the caller) and
    return (judge, cross-fit report). embedder: model for the cosine feature ("" = packaged base, None = no
    cosine). The report is evaluate-style metrics of the out-of-fold labels over every training pair."""
    if folds < 2:
        raise InputError(f"--folds must be at least 2 (cross-fitting), got {folds}")
    step = on_step or (lambda done, total: None)
    rows = [j for j in train if j.product_id in products]
    if not rows:
        raise InputError("no training pairs for the judge (are the judged products in the catalog?)")
    scheme = train.scheme
    tpl = ProductTextTemplate(template)
    texts = [tpl.render(products[j.product_id]) for j in rows]
    queries = [j.query for j in rows]
    total = folds + 2
    judge = OrdinalJudge(kind, scheme, template, FieldStats.fit(products.values()), None, [], {}, embedder)
    judge.attach_catalog(list(products.values()))
    x = judge.features(list(zip(queries, texts, strict=True)))
    step(1, total)
    grades = np.array([j.grade for j in rows])
    weights = level_weights(grades, len(scheme.levels), class_weight_power)
    qkeys = [normalize_query(q) for q in queries]
    ordered = sorted(set(qkeys), key=lambda q: query_point(q, seed))
    query_folds = {q: i % folds for i, q in enumerate(ordered)}
    fold_of_row = np.array([query_folds[q] for q in qkeys])
    oof = np.zeros((len(rows), len(scheme.levels)))
    for f in range(folds):
        fit_rows = fold_of_row != f
        model = CumulativeModel(kind, len(scheme.levels), seed).fit(x[fit_rows], grades[fit_rows], weights[fit_rows])
        judge.fold_models.append(model)
        oof[~fit_rows] = model.probabilities(x[~fit_rows])
        step(f + 2, total)
    judge.full = CumulativeModel(kind, len(scheme.levels), seed).fit(x, grades, weights)
    judge.query_folds = query_folds
    step(total, total)
    return judge, label_metrics(grades, oof.argmax(axis=1), scheme)


def label_metrics(gold: Sequence[int], predicted: Sequence[int], scheme: LevelScheme,
                  majority_grade: int | None = None) -> dict:
    """accuracy, balanced accuracy (mean recall over the levels present), within-one, per-level recall and the
    confusion matrix (rows gold, columns predicted) of predicted vs gold grades; plus the always-majority
    baseline (majority_grade, default the most frequent gold grade)."""
    gold, predicted = np.asarray(gold), np.asarray(predicted)
    n_levels = len(scheme.levels)
    confusion = np.zeros((n_levels, n_levels), dtype=int)
    np.add.at(confusion, (gold, predicted), 1)
    present = [g for g in range(n_levels) if confusion[g].sum()]
    recall = {scheme.name_of(g): float(confusion[g, g] / confusion[g].sum()) for g in present}
    majority = Counter(gold.tolist()).most_common(1)[0][0] if majority_grade is None else majority_grade
    return {
        "pairs": int(gold.size), "accuracy": float((gold == predicted).mean()),
        "balanced_accuracy": float(np.mean([recall[scheme.name_of(g)] for g in present])),
        "within_one": float((np.abs(gold - predicted) <= 1).mean()), "per_level_recall": recall,
        "confusion": confusion.tolist(),
        "majority": {"grade": int(majority), "accuracy": float((gold == majority).mean()),
                     "balanced_accuracy": 1.0 / len(present)},
    }

