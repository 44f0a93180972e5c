"""The pieces both cluster backends share (mrs.cluster) and the mode rules every backend runs
(mrs.indexer.backend.search_by_mode): expected values written by hand."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mrs.cluster.backend import RADIAL_HYBRID
from mrs.cluster.indexing import read_typed_catalog
from mrs.cluster.mapping import manifest_spec_fields, shard_notes
from mrs.elasticsearch.backend import ElasticsearchBackend
from mrs.elasticsearch.mapping import ElasticIndexSpec
from mrs.elasticsearch.mapping import spec_from_manifest as es_spec_from_manifest
from mrs.errors import InputError
from mrs.indexer.backend import Hit, search_by_mode
from mrs.opensearch.backend import OpenSearchBackend
from mrs.opensearch.mapping import IndexSpec
from mrs.opensearch.mapping import spec_from_manifest as os_spec_from_manifest


class RecordingBackend:
    """Answers every search with three hits and records each call (name, args, keyword args)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple, dict]] = []

    def _answer(self, name: str, *args, **kwargs) -> list[Hit]:
        self.calls.append((name, args, kwargs))
        return [Hit(id=f"d{i}", score=1.0 - i / 10) for i in range(3)]

    def lexical(self, *args, **kwargs):
        return self._answer("lexical", *args, **kwargs)

    def knn(self, *args, **kwargs):
        return self._answer("knn", *args, **kwargs)

    def hybrid(self, *args, **kwargs):
        return self._answer("hybrid", *args, **kwargs)


def encode(text: str) -> np.ndarray:
    return np.array([1.0, 0.0], dtype=np.float32)


def test_search_by_mode_dispatches_as_the_embedded_engine_does():
    b = RecordingBackend()
    search_by_mode(b, "shirt", "lexical", 5, encode_query=encode, filter={"term": {"x": 1}},
                   hit_options={"with_source": False})
    assert b.calls[-1] == ("lexical", ("shirt", 5), {"filter": {"term": {"x": 1}}, "with_source": False})
    radial = search_by_mode(b, "shirt", "dense", 2, encode_query=encode, min_score=0.8)
    name, args, kwargs = b.calls[-1]
    assert (name, args[1:], kwargs) == ("knn", (None, 0.8), {"filter": None})  # radial: no k, cut to the first 2
    assert [h.id for h in radial] == ["d0", "d1"]
    search_by_mode(b, "shirt", "dense", 4, encode_query=encode)
    assert b.calls[-1][1][1:] == (4, None)
    search_by_mode(b, "shirt", "hybrid", 3, encode_query=encode, pipeline="p", min_score=0.7,
                   hybrid_options={"pagination_depth": 50})
    name, args, kwargs = b.calls[-1]
    assert (name, args[0], args[2:], kwargs) == ("hybrid", "shirt", (3, "p"),
                                                 {"filter": None, "knn_min_score": 0.7, "pagination_depth": 50})


def test_search_by_mode_refuses_what_no_backend_runs():
    b = RecordingBackend()
    with pytest.raises(InputError, match="empty query"):
        search_by_mode(b, "  ", "lexical", 5, encode_query=encode)
    with pytest.raises(InputError, match="unknown mode 'fuzzy'"):
        search_by_mode(b, "shirt", "fuzzy", 5, encode_query=encode)
    with pytest.raises(InputError, match="does not apply to lexical mode"):
        search_by_mode(b, "shirt", "lexical", 5, encode_query=encode, min_score=0.5)
    assert b.calls == []


@pytest.mark.parametrize("backend", [
    OpenSearchBackend(None, "shop", IndexSpec(dimension=2)),
    ElasticsearchBackend(None, "shop", ElasticIndexSpec(dimension=2)),
])
def test_cluster_backends_refuse_a_radial_dense_sub_query_before_any_request(backend):
    with pytest.raises(InputError) as err:  # client None: a request would fail differently
        search_by_mode(backend, "shirt", "hybrid", 5, encode_query=encode, min_score=0.8)
    assert err.value.message == RADIAL_HYBRID


MANIFEST = {"model": {"dimension": 384}, "vectors": {"space_type": "l2", "m": 24, "ef_construction": 200,
                                                     "ef_search": 50},
            "bm25": {"fields": {"title": 2.0}, "similarity": "LegacyBM25", "k1": 0.9, "b": 0.4,
                     "analyzer": {"name": "english"}},
            "attributes": {"brand": "keyword"}}


def test_manifest_fields_feed_both_specs_alike():
    assert manifest_spec_fields(MANIFEST) == {
        "dimension": 384, "text_fields": {"title": 2.0}, "similarity": "LegacyBM25", "k1": 0.9, "b": 0.4,
        "analyzer": "english", "space_type": "l2", "m": 24, "ef_construction": 200, "ef_search": 50,
        "attributes": {"brand": "keyword"}}
    assert manifest_spec_fields({"vectors": {"dimension": 8}})["analyzer"] == "standard"
    os_spec = os_spec_from_manifest(MANIFEST)
    es_spec = es_spec_from_manifest(MANIFEST)
    assert (os_spec.similarity, os_spec.ef_search, os_spec.attributes) == ("LegacyBM25", 50, {"brand": "keyword"})
    assert (es_spec.bm25_similarity, es_spec.similarity, es_spec.m, es_spec.ef_construction) == (
        "LegacyBM25", "l2_norm", 24, 200)


def test_spec_checks_are_the_same_for_both_clusters():
    for spec_class in (IndexSpec, ElasticIndexSpec):
        with pytest.raises(InputError, match="at least one BM25 text field"):
            spec_class(dimension=3, text_fields={})
        with pytest.raises(InputError, match=r"k1=-1 \(≥ 0\)"):
            spec_class(dimension=3, k1=-1)
        with pytest.raises(InputError, match="'title' is also a text field"):
            spec_class(dimension=3, vector_field="title")
        with pytest.raises(InputError, match="no vector dimension"):
            spec_class.from_dict({"text_fields": {"title": 1.0}})


def test_shard_notes_warn_only_beyond_one_shard():
    assert len(shard_notes(1)) == 1 and not shard_notes(1)[0].startswith("warning")
    assert shard_notes(2)[0].startswith("warning: number_of_shards 2")


def test_read_typed_catalog_reads_everything_before_typing(tmp_path):
    catalog = tmp_path / "catalog.jsonl"
    rows = [{"id": "a", "title": "Red shirt", "price": 10.5}, {"id": "b", "title": "Blue shirt", "price": 7}]
    catalog.write_text("\n".join(json.dumps(r) for r in rows) + "\n{broken\n", encoding="utf-8")
    products, attributes, rejects = read_typed_catalog(catalog, id_field=None, on_error="skip")
    assert [p.id for p in products] == ["a", "b"] and rejects.count == 1
    assert attributes.get("price") == "numeric"
    with pytest.raises(InputError):
        read_typed_catalog(catalog, id_field=None, on_error="fail")
