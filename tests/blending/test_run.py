"""run_calibration through the backend protocol with a fake backend: three sub-queries, missing products,
too few pairs per level."""

from __future__ import annotations

import numpy as np
import pytest

from mrs.blending.run import CalibrateOptions, check_level_counts, run_calibration
from mrs.data.judgments import Judgment, JudgmentSet
from mrs.data.levels import ESCI
from mrs.engine.pipeline import parse_pipeline
from mrs.errors import InputError
from mrs.indexer.backend import Hit


class FakeBackend:
    """Products p0..p39; each query's scores are a noisy function of the judged grade (known by the fake)."""

    def __init__(self, grades: dict[str, dict[str, int]], seed: int = 0):
        rng = np.random.default_rng(seed)
        self.ids = [f"p{i}" for i in range(40)]
        self.dense, self.lexical, self.title = {}, {}, {}
        for q, g in grades.items():
            grade = np.array([g.get(p, 0) for p in self.ids], dtype=float)
            self.dense[q] = 0.55 + 0.1 * grade + rng.normal(0, 0.04, 40)
            self.lexical[q] = np.clip(2 + 2.5 * grade + rng.normal(0, 2.0, 40), 0.1, None)
            self.title[q] = np.clip(1 + 1.5 * grade + rng.normal(0, 2.5, 40), 0.1, None)

    @staticmethod
    def _top(scores, ids, k, name):
        order = np.argsort(-scores, kind="stable")[:k]
        return [Hit(ids[i], float(scores[i]), {name: float(scores[i])}) for i in order]

    def lexical_hits(self, text, vector, k):
        return self._top(self.lexical[text], self.ids, k, "lexical")

    def title_hits(self, text, vector, k):
        return self._top(self.title[text], self.ids, k, "lexical")

    def lexical(self, text, k):
        return self.lexical_hits(text, None, k)

    def knn(self, vector, k=None, min_score=None):
        return self._top(self.dense[f"q{int(vector[0])}"], self.ids, k, "dense")

    def hybrid(self, text, vector, k, pipeline=None):
        raise AssertionError("calibrate must not re-query per grid point")

    def score_documents(self, text, vector, ids):
        row = {p: i for i, p in enumerate(self.ids)}
        return {p: ({"lexical": float(self.lexical[text][row[p]]), "dense": float(self.dense[text][row[p]])}
                    if p in row else {"lexical": None, "dense": None}) for p in ids}

    def count(self):
        return len(self.ids)


class FakeEncoder:
    def encode(self, texts):
        # a one-number "vector" per query ("q7" → [7.0]) that the fake backend maps back to its query
        return np.array([[float(t[1:])] for t in texts], dtype=np.float32)


def _judgments(n_queries=16, seed=0):
    rng = np.random.default_rng(seed)
    js = JudgmentSet(ESCI)
    grades = {}
    for q in range(n_queries):
        qid = f"q{q}"
        judged = rng.choice(40, 20, replace=False)
        grades[qid] = {f"p{i}": int(rng.integers(0, 4)) for i in judged}
        for pid, g in grades[qid].items():
            js.add(Judgment(qid, qid, pid, g))
    js.add(Judgment("q0", "q0", "not-in-index", 3))
    return js, grades


def test_run_with_three_subqueries_and_a_missing_product():
    js, grades = _judgments()
    backend = FakeBackend(grades)
    sources = {"title": backend.title_hits, "lexical": backend.lexical_hits,
               "dense": lambda text, vector, k: backend.knn(vector, k)}
    opts = CalibrateOptions(dev_fraction=0.25, seed=1, k=15, bootstrap=30, min_pairs=5)
    r = run_calibration(backend, FakeEncoder(), js, opts, sources=sources, manifest={})
    cal = r.calibration
    assert r.grid.subqueries == ("title", "lexical", "dense")
    assert all(len(cs.config.weights) == 3 for cs in r.grid.scores)
    # the chosen blend deploys as a 3-clause pipeline; weights in tenths summing to 1
    body = cal.blend["pipeline"]
    assert parse_pipeline(body, n_subqueries=3)
    assert r.grid.verified is True
    # the judged product missing from the index is counted and left out, never silently dropped
    assert cal.data["pairs_missing_from_index"] == 1
    assert cal.data["pairs"] == len(js) and cal.data["pairs_scored"] == len(js) - 1
    assert set(r.train_ids).isdisjoint(r.dev_ids) and len(r.train_ids) + len(r.dev_ids) == 16
    # grades separate the fake dense scores well: every level gets a threshold; higher levels cut higher
    t = cal.thresholds
    assert all(x.reachable for x in t.values())
    assert t["exact"].threshold > t["substitute"].threshold > t["complement"].threshold
    assert set(cal.ece) == {"exact", "substitute", "complement"}
    # the tuned blend is at least as good as the default and RRF on train (it searched their spaces too)
    assert r.grid.best.train >= max(r.grid.default.train, r.grid.rrf.train)
    assert cal.scores["hybrid"]["exact"]["pairs"] > 0


def test_too_few_pairs_per_level_names_the_level():
    js = JudgmentSet(ESCI, [Judgment("q", "q", f"p{i}", 3) for i in range(12)]
                     + [Judgment("q", "q", "x", 2)] + [Judgment("q", "q", f"y{i}", 0) for i in range(12)])
    with pytest.raises(InputError, match=r"level 'substitute' has 1 judged pairs; calibrate needs at least 10"):
        check_level_counts(js, 10, "j.tsv")
    js.judgments += [Judgment("q", "q", f"s{i}", 2) for i in range(10)]
    with pytest.raises(InputError, match=r"level 'complement' has 0 judged pairs"):
        check_level_counts(js, 10)


def test_a_split_without_dev_queries_is_bad_input():
    js, grades = _judgments(n_queries=2)
    backend = FakeBackend(grades)
    with pytest.raises(InputError, match="train / .* dev queries"):
        run_calibration(backend, FakeEncoder(), js, CalibrateOptions(dev_fraction=0.01, min_pairs=1, bootstrap=0))
