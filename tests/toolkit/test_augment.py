"""Additive spelling augmentation: bounded edits, seeded, additive, training queries only."""

from __future__ import annotations

import random

import pytest

from mrs.data.judgments import Judgment
from mrs.toolkit.augment import (
    EDIT_KINDS,
    KEYBOARD_NEIGHBOURS,
    apply_edit,
    augment_spelling,
    edit_distance,
    misspell,
)

QUERIES = ["wireless gaming mouse", "red cotton shirt", "usb c cable 2m", "kitchen towels", "iphone 12 case"]


def _judgments() -> list[Judgment]:
    out = []
    for i, q in enumerate(QUERIES):
        out += [Judgment(f"q{i}", q, f"p{i}a", 3), Judgment(f"q{i}", q, f"p{i}b", 2), Judgment(f"q{i}", q, f"p{i}c", 0)]
    return out


def test_edit_distance_counts_transposition_as_one():
    assert edit_distance("mouse", "mouse") == 0
    assert edit_distance("mouse", "muose") == 1  # transposition
    assert edit_distance("mouse", "mose") == 1  # deletion
    assert edit_distance("mouse", "mousse") == 1  # doubled letter
    assert edit_distance("mouse", "nouse") == 1  # substitution
    assert edit_distance("kitten", "sitting") == 3


def test_keyboard_neighbours_are_adjacent_keys():
    assert set(KEYBOARD_NEIGHBOURS["a"]) == set("qwsz")
    assert set(KEYBOARD_NEIGHBOURS["g"]) == set("tyfhvb")


@pytest.mark.parametrize("kind", EDIT_KINDS)
def test_each_edit_kind_is_one_edit(kind):
    rng = random.Random(3)
    for q in QUERIES:
        out = apply_edit(q, kind, rng)
        assert edit_distance(q, out) == 1, (kind, q, out)
        assert len(out) - len(q) == {"delete": -1, "insert": 1, "double": 1}.get(kind, 0)


def test_misspellings_are_one_or_two_edits_away():
    rng = random.Random(0)
    for _ in range(50):
        for q in QUERIES:
            out = misspell(q, rng)
            assert 1 <= edit_distance(q, out) <= 2, (q, out)
    assert misspell("tv 4k", random.Random(0)) == "tv 4k"  # no word of 3+ letters: nothing to misspell


def test_augmentation_is_seeded():
    a = augment_spelling(_judgments(), rate=1.0, seed=7)
    b = augment_spelling(_judgments(), rate=1.0, seed=7)
    c = augment_spelling(_judgments(), rate=1.0, seed=8)
    assert [j.query for j in a] == [j.query for j in b]
    assert [j.query for j in a] != [j.query for j in c]


def test_augmentation_adds_copies_with_the_same_labels_and_leaves_input_alone():
    original = _judgments()
    before = list(original)
    added = augment_spelling(original, rate=1.0, seed=0)
    assert original == before  # additive: the clean judgments are untouched
    clean = {(j.query_id, j.product_id): j for j in original}
    assert len(added) == len(original)  # rate 1.0: one copy of every query, all its judgments
    for j in added:
        origin_id = j.query_id.split("~sp")[0]
        source = clean[(origin_id, j.product_id)]
        assert j.grade == source.grade and j.source == "augmented"
        assert j.query != source.query and 1 <= edit_distance(source.query, j.query) <= 2


def test_rate_controls_the_expected_number_of_copies():
    assert augment_spelling(_judgments(), rate=0.0) == []
    two = augment_spelling(_judgments(), rate=2.0, seed=1)
    assert len({j.query_id for j in two}) == 2 * len(QUERIES)
    many = [Judgment(f"q{i}", f"some query number {i}", "p", 3) for i in range(400)]
    half = augment_spelling(many, rate=0.5, seed=0)
    assert 150 <= len(half) <= 250  # about half of 400 queries get one copy
    with pytest.raises(ValueError):
        augment_spelling(many, rate=-1)
