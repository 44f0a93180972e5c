"""Batch plans: several judged products per query, mixed levels, no duplicate products, no false negatives."""

from __future__ import annotations

from collections import Counter

import pytest

from mrs.toolkit.batching import TrainingExample, batch_labels, build_batches, plan_groups, rows_left_out


def _query(qid: str, grades: list[int], origin: str | None = None, prefix: str | None = None) -> list[TrainingExample]:
    prefix = prefix or qid
    return [TrainingExample(qid, origin or qid, f"query {qid}", f"{prefix}-p{i}", f"text of {prefix}-p{i}", g)
            for i, g in enumerate(grades)]


def _examples() -> list[TrainingExample]:
    rows: list[TrainingExample] = []
    for q in range(6):
        rows += _query(f"q{q}", [3, 3, 2, 1, 0, 0, 0, 0, 2, 3, 0, 0])
    rows += _query("q0~sp0", [3, 3, 2, 1, 0, 0, 0, 0, 2, 3, 0, 0], origin="q0", prefix="q0")  # misspelled q0
    return rows


def test_groups_mix_levels_and_lead_with_a_positive():
    rows = _examples()
    import random

    groups = plan_groups(rows, per_query=4, top=3, rng=random.Random(0))
    for g in groups:
        assert len(g) <= 4 and len({rows[i].query_id for i in g}) == 1
        assert rows[g[0]].grade == 3  # each group carries a top-level product first
        assert len({rows[i].grade for i in g}) >= 2  # and lower levels beside it
    covered = Counter(i for g in groups for i in g)
    assert set(covered) == set(range(len(rows)))  # an epoch covers every row


def test_batches_hold_no_duplicate_products_and_no_two_variants_of_a_query():
    rows = _examples()
    batches = build_batches(rows, batch_size=16, per_query=4, top=3, seed=0)
    assert batches
    for b in batches:
        assert len(b) <= 16
        assert len({rows[i].product_id for i in b}) == len(b)
        assert len({rows[i].product_text for i in b}) == len(b)
        origins = {rows[i].origin_id for i in b}
        assert len({rows[i].query_id for i in b}) == len(origins)  # q0 and q0~sp0 never together
        assert max(Counter(rows[i].query_id for i in b).values()) <= 4
    # Several queries share a batch (only the tail of an epoch, when one query's groups remain, may not).
    mixed = [b for b in batches if len({rows[i].query_id for i in b}) >= 2]
    assert len(mixed) >= len(batches) - 2
    seen = [i for b in batches for i in b]
    assert len(seen) == len(set(seen))
    assert build_batches(rows, batch_size=16, per_query=4, top=3, seed=0) == batches  # seeded
    assert build_batches(rows, batch_size=16, per_query=4, top=3, seed=1) != batches


def test_a_product_judged_for_one_query_is_never_an_in_batch_negative_of_another():
    rows = _query("a", [3, 0]) + _query("b", [3, 0])
    # Query "s" (synthetic) is about a's exact product a-p0 and also judged on b-p1.
    rows += [TrainingExample("s", "s", "synthetic a", "a-p0", "text of a-p0", 3),
             TrainingExample("s", "s", "synthetic a", "b-p1", "text of b-p1", 0)]
    judged = {"a": {"a-p0", "a-p1"}, "b": {"b-p0", "b-p1"}, "s": {"a-p0", "b-p1"}}
    for seed in range(10):
        for b in build_batches(rows, batch_size=8, per_query=4, top=3, seed=seed, judged=judged):
            queries = {rows[i].origin_id for i in b}
            for i in b:
                for q in queries - {rows[i].origin_id}:
                    assert rows[i].product_id not in judged[q], (seed, b)


def test_batch_labels_number_query_groups():
    rows = _query("x", [3, 0]) + _query("y", [2])
    assert batch_labels([rows[0], rows[2], rows[1]]) == [(0, 3), (1, 2), (0, 0)]


def test_batch_size_must_hold_a_pair():
    with pytest.raises(ValueError):
        build_batches(_examples(), batch_size=1, top=3)


def test_rows_cut_by_the_per_query_cap_are_counted_not_lost_silently():
    # one query with 12 rows (3 exact + 9 irrelevant) and per_query 4: 3 groups of ≤ 4 rows hold every row
    rows = _query("q1", [3, 3, 3] + [0] * 9)
    plan = [[rows[i] for i in b] for b in build_batches(rows, batch_size=4, per_query=4, top=3, seed=0)]
    assert rows_left_out(len(rows), plan) == 0
    # each group is 1 exact + 3 irrelevant = one batch of 4; a plan of only the first batch leaves 8 rows out
    assert [len(b) for b in plan] == [4, 4, 4]
    assert rows_left_out(len(rows), plan[:1]) == 8


@pytest.mark.parametrize("grades,per_query", [
    ([3] + [0] * 43, 8),           # one positive reused in every group: 43 negatives need 7 groups of 1 + 7
    ([3, 3] + [2] * 10 + [0] * 20, 8),
    ([3] * 4 + [0] * 4, 3),       # more positives than a group: sizes must stay balanced (3, 3, 2)
    ([3] * 7 + [1] * 2 + [0] * 5, 4),
])
def test_no_row_is_cut_when_groups_are_planned(grades, per_query):
    import random

    rows = _query("q1", grades)
    groups = plan_groups(rows, per_query, 3, random.Random(0))
    assert all(len(g) <= per_query for g in groups)
    assert {i for g in groups for i in g} == set(range(len(rows)))  # every row lands in a group
    assert all(rows[g[0]].grade == 3 for g in groups)              # each group leads with a positive


def test_every_row_is_batched_when_groups_meet_full_batches_and_conflicts():
    # Groups that do not fit the room left in a batch, or clash with it (same origin, shared product), wait for
    # a later batch instead of being trimmed: the epoch holds every row (q0~sp0 repeats q0's products).
    rows = _examples()
    for batch_size, per_query in ((16, 4), (10, 8), (7, 3)):
        plan = [[rows[i] for i in b] for b in build_batches(rows, batch_size=batch_size, per_query=per_query, top=3)]
        assert rows_left_out(len(rows), plan) == 0
        assert all(len(b) <= batch_size for b in plan)


def test_synthetic_fillers_are_spread_over_every_batch_of_conflicting_queries():
    # four human queries judging the SAME six products: no two can share a batch (each one's products
    # would be false negatives of the other), so there are at least four batches; 40 synthetic rows
    # (one product each) must be spread over them, not used up by the first batch
    rows: list[TrainingExample] = []
    for q in range(4):
        rows += [TrainingExample(f"h{q}", f"h{q}", f"query h{q}", f"shared-p{i}", f"text shared-p{i}", g, "human")
                 for i, g in enumerate([3, 2, 1, 0, 0, 2])]
    rows += [TrainingExample(f"syn:s{i}:0", f"syn:s{i}:0", f"synthetic {i}", f"s{i}", f"text s{i}", 3, "synthetic")
             for i in range(40)]
    plan = build_batches(rows, batch_size=20, per_query=8, top=3, seed=0)
    assert len(plan) == 4
    for batch in plan:
        sources = Counter(rows[i].source for i in batch)
        assert sources["human"] == 6 and sources["synthetic"] == 10
    assert rows_left_out(len(rows), [[rows[i] for i in b] for b in plan]) == 0
