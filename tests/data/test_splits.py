"""Query-level splits: deterministic, disjoint, complete, stable when queries are added."""

from __future__ import annotations

import pytest

from mrs.data.splits import query_point, split_queries
from mrs.errors import InputError

IDS = [f"query {i}" for i in range(400)]


def test_deterministic_disjoint_and_complete():
    a = split_queries(IDS, seed=3)
    assert a == split_queries(list(IDS), seed=3)
    assert set(a) == {"train", "dev"}
    assert not set(a["train"]) & set(a["dev"])
    assert sorted(a["train"] + a["dev"]) == sorted(IDS)
    # expected 320 / 80; a sha256-uniform split of 400 stays well within ±40 of that
    assert 280 <= len(a["train"]) <= 360


def test_a_query_keeps_its_side_when_others_are_added():
    small = split_queries(IDS[:50], seed=1)
    big = split_queries(IDS + ["new a", "new b"], seed=1)
    for side, ids in small.items():
        assert set(ids) <= set(big[side])


def test_seed_changes_the_assignment_and_order_is_kept():
    a, b = split_queries(IDS, seed=0), split_queries(IDS, seed=1)
    assert a["dev"] != b["dev"]
    assert a["train"] == [q for q in IDS if q in set(a["train"])]


def test_three_sides_follow_the_interval():
    sides = split_queries(IDS, {"train": 0.6, "dev": 0.2, "test": 0.2}, seed=0)
    for q in IDS:
        point = query_point(q, 0)
        expected = "train" if point < 0.6 else "dev" if point < 0.8 else "test"
        assert q in sides[expected]


def test_duplicates_once_and_bad_fractions():
    assert split_queries(["a", "a", "b"], {"all": 1.0}) == {"all": ["a", "b"]}
    with pytest.raises(InputError, match="sum to 1"):
        split_queries(IDS, {"train": 0.7, "dev": 0.2})
    with pytest.raises(InputError, match="not be negative"):
        split_queries(IDS, {"train": 1.2, "dev": -0.2})
    assert split_queries(IDS[:5], {"train": 1.0, "dev": 0.0}) == {"train": IDS[:5], "dev": []}


def test_train_dev_split_is_split_queries_at_one_minus_f_and_f():
    from mrs.data.judgments import Judgment, JudgmentSet
    from mrs.data.splits import split_judgments, train_dev_split

    sides = split_queries(IDS, {"train": 0.75, "dev": 0.25}, seed=4)
    assert train_dev_split(IDS, 0.25, seed=4) == (sides["train"], sides["dev"])
    assert train_dev_split(IDS[:3], 0.0) == (IDS[:3], [])
    jset = JudgmentSet(judgments=[Judgment(q, q, "p", 1) for q in IDS[:20]])
    assert train_dev_split(jset, 0.25, seed=4) == train_dev_split(IDS[:20], 0.25, seed=4)
    train, dev = split_judgments(jset, 0.25, seed=4)
    assert [j.query_id for j in dev] == train_dev_split(IDS[:20], 0.25, seed=4)[1]
    assert len(train) + len(dev) == 20
    for bad in (1.0, -0.1):
        with pytest.raises(InputError, match=r"--dev-fraction must be in \[0, 1\)"):
            train_dev_split(IDS, bad)
