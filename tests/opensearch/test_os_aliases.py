"""Blue/green: the exact _aliases action sequence, pruning to N old generations, rollback, bad names."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mrs.cluster.aliases import check_index_name, generation_name, generations, rollback, swap_alias
from mrs.errors import InputError


def make(cluster, *names):
    for n in names:
        cluster.indices[n] = {"body": {}, "docs": {}}


def test_generation_name_is_alias_plus_utc_timestamp():
    assert generation_name("products", datetime(2026, 11, 27, 11, 30, 5, tzinfo=UTC)) == "products-20261127113005"
    assert generations("products", ["products-20261127113005", "products-x", "products-20251127113005",
                                    "other-20261127113005"]) == ["products-20251127113005", "products-20261127113005"]


@pytest.mark.parametrize("bad", ["Products", "a b", "-x", "_x", "a*b", "", "a/b"])
def test_index_names_follow_opensearch_rules(bad):
    with pytest.raises(InputError, match="not valid"):
        check_index_name(bad)


def test_first_deploy_only_adds_the_alias(cluster):
    make(cluster, "p-20260101000000")
    result = swap_alias(cluster.client(), "p", "p-20260101000000", keep=1)
    assert cluster.alias_actions == [{"actions": [
        {"add": {"index": "p-20260101000000", "alias": "p", "is_write_index": True}}]}]
    assert result.previous == [] and result.deleted == []


def test_swap_moves_alias_atomically_and_keeps_n_old_generations(cluster):
    gens = ["p-20260101000000", "p-20260201000000", "p-20260301000000", "p-20260401000000"]
    make(cluster, *gens, "unrelated")
    client = cluster.client()
    cluster.aliases["p"] = {"p-20260301000000"}
    result = swap_alias(client, "p", "p-20260401000000", keep=1)
    # one request: remove from the old generation, add to the new one
    assert cluster.alias_actions[-1] == {"actions": [
        {"remove": {"index": "p-20260301000000", "alias": "p"}},
        {"add": {"index": "p-20260401000000", "alias": "p", "is_write_index": True}},
    ]}
    assert cluster.aliases["p"] == {"p-20260401000000"}
    assert result.kept == ["p-20260301000000"]
    assert result.deleted == ["p-20260201000000", "p-20260101000000"]
    assert sorted(cluster.indices) == ["p-20260301000000", "p-20260401000000", "unrelated"]
    # the deletes come after the alias move
    methods = [(m, p) for m, p, *_ in cluster.requests if m in ("POST", "DELETE")]
    assert methods[0] == ("POST", "/_aliases") and all(m == "DELETE" for m, _ in methods[1:])


def test_keep_zero_deletes_every_older_generation(cluster):
    make(cluster, "p-20260101000000", "p-20260201000000")
    cluster.aliases["p"] = {"p-20260101000000"}
    result = swap_alias(cluster.client(), "p", "p-20260201000000", keep=0)
    assert result.deleted == ["p-20260101000000"] and list(cluster.indices) == ["p-20260201000000"]


def test_alias_name_taken_by_an_index_is_refused(cluster):
    make(cluster, "p", "p-20260101000000")
    with pytest.raises(InputError, match="is an index, not an alias"):
        swap_alias(cluster.client(), "p", "p-20260101000000")
    assert cluster.alias_actions == []


def test_rollback_moves_the_alias_to_the_previous_generation(cluster):
    make(cluster, "p-20260101000000", "p-20260201000000")
    cluster.aliases["p"] = {"p-20260201000000"}
    result = rollback(cluster.client(), "p")
    assert result.index == "p-20260101000000" and cluster.aliases["p"] == {"p-20260101000000"}
    with pytest.raises(InputError, match="no older generation"):
        rollback(cluster.client(), "p")
