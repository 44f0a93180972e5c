"""Typed attributes (detection, columns, persistence) and the filter DSL (parse, bind, evaluate, render, --where).

Expected document sets are read off the hand-built catalog below, not computed by mrs."""

from __future__ import annotations

import numpy as np
import pytest

from mrs.engine.attributes import (
    AttributeColumns,
    attribute_source,
    detect_field_types,
    parse_field_types,
)
from mrs.engine.facets import facet_counts
from mrs.engine.filters import bind, evaluate, parse_filter, to_dsl
from mrs.engine.where import parse_where
from mrs.errors import InputError

ROWS = [  # index order = p1..p5
    {"title": "red shirt", "brand": "Acme", "color": "red", "category": ["Clothing", "Shirts"], "price": 10.0,
     "rating": 4.5, "in_stock": True},
    {"title": "blue shirt", "brand": "Bolt", "color": "blue", "category": ["Clothing", "Shirts"], "price": 25,
     "rating": 3.0, "in_stock": False},
    {"title": "red shoes", "brand": "Acme", "color": "red", "category": ["Clothing", "Shoes"], "price": "60",
     "rating": None, "in_stock": True},
    {"title": "kitchen knife", "brand": "Cutco", "color": None, "category": "Kitchen > Knives", "price": 100.0,
     "rating": 5.0, "in_stock": True},
    {"title": "red towel", "brand": "Acme", "color": "red", "category": ["Kitchen", "Linens"], "price": None,
     "rating": 4.0, "in_stock": False},
]
TYPES = {"brand": "keyword", "category": "path", "color": "keyword", "in_stock": "boolean", "price": "numeric",
         "rating": "numeric"}


@pytest.fixture(scope="module")
def columns():
    return AttributeColumns.build(ROWS, TYPES)


def docs(mask) -> list[str]:
    return [f"p{i + 1}" for i in np.flatnonzero(mask)]


def run(columns, dsl) -> list[str]:
    return docs(evaluate(bind(parse_filter(dsl), columns.fields), columns))


def test_detection_types_short_repeating_strings_numbers_booleans_and_paths():
    assert detect_field_types(ROWS) == TYPES  # titles are unique: text only
    assert detect_field_types(ROWS, parse_field_types("title=keyword,rating=none")) == {
        **{k: v for k, v in TYPES.items() if k != "rating"}, "title": "keyword"}
    with pytest.raises(InputError, match="no product has field"):
        detect_field_types(ROWS, {"prize": "numeric"})
    with pytest.raises(InputError, match="unknown type 'number'"):
        parse_field_types("price=number")
    with pytest.raises(InputError, match="not name=type"):
        parse_field_types("price")


def test_value_that_does_not_fit_its_declared_type_names_the_product():
    with pytest.raises(InputError, match=r"product 'p1': field 'title' is typed numeric"):
        AttributeColumns.build(ROWS, {"title": "numeric"}, ids=[f"p{i}" for i in range(1, 6)])


def test_term_terms_exists_prefix_and_paths(columns):
    assert run(columns, {"term": {"brand": "Acme"}}) == ["p1", "p3", "p5"]
    assert run(columns, {"term": {"brand": {"value": "acme"}}}) == []  # keyword: exact, case-sensitive
    assert run(columns, {"terms": {"brand": ["Bolt", "Cutco"]}}) == ["p2", "p4"]
    assert run(columns, {"exists": {"field": "color"}}) == ["p1", "p2", "p3", "p5"]
    assert run(columns, {"exists": {"field": "rating"}}) == ["p1", "p2", "p4", "p5"]
    assert run(columns, {"term": {"category": "Kitchen"}}) == ["p4", "p5"]  # any level
    assert run(columns, {"term": {"category": "Shirts"}}) == ["p1", "p2"]
    assert run(columns, {"term": {"category_path": "Clothing > Shoes"}}) == ["p3"]
    assert run(columns, {"term": {"category_path": "Clothing"}}) == ["p1", "p2", "p3"]
    assert run(columns, {"prefix": {"category_path": "Kitchen > "}}) == ["p4", "p5"]
    assert run(columns, {"prefix": {"brand": "Cu"}}) == ["p4"]


def test_ranges_numeric_and_keyword(columns):
    # prices 10, 25, "60" (read as a number), 100, missing
    assert run(columns, {"range": {"price": {"lte": 60}}}) == ["p1", "p2", "p3"]
    assert run(columns, {"range": {"price": {"gt": 10, "lt": 100}}}) == ["p2", "p3"]
    assert run(columns, {"range": {"price": {"gte": "25"}}}) == ["p2", "p3", "p4"]
    assert run(columns, {"term": {"price": 25}}) == ["p2"]
    assert run(columns, {"range": {"rating": {"gte": 4}}}) == ["p1", "p4", "p5"]
    assert run(columns, {"range": {"brand": {"gte": "B", "lt": "Cz"}}}) == ["p2", "p4"]  # string order


def test_booleans(columns):
    assert run(columns, {"term": {"in_stock": True}}) == ["p1", "p3", "p4"]
    assert run(columns, {"term": {"in_stock": "false"}}) == ["p2", "p5"]


def test_bool_filter_must_not_should_and_minimum_should_match(columns):
    both = {"bool": {"filter": [{"term": {"brand": "Acme"}}], "must_not": [{"term": {"in_stock": False}}]}}
    assert run(columns, both) == ["p1", "p3"]
    should = [{"term": {"color": "red"}}, {"range": {"price": {"gte": 60}}}, {"term": {"in_stock": True}}]
    assert run(columns, {"bool": {"should": should}}) == ["p1", "p3", "p4", "p5"]  # default: 1 of them
    assert run(columns, {"bool": {"should": should, "minimum_should_match": 2}}) == ["p1", "p3", "p4"]
    assert run(columns, {"bool": {"should": should, "minimum_should_match": "100%"}}) == ["p3"]
    assert run(columns, {"bool": {"should": should, "minimum_should_match": -2}}) == ["p1", "p3", "p4", "p5"]
    assert run(columns, {"bool": {"should": should, "minimum_should_match": 4}}) == []
    # with a filter clause, should is optional (minimum 0): the filter alone decides
    assert run(columns, {"bool": {"filter": {"term": {"brand": "Bolt"}}, "should": should}}) == ["p2"]
    assert run(columns, [{"term": {"color": "red"}}, {"exists": {"field": "price"}}]) == ["p1", "p3"]


@pytest.mark.parametrize(("dsl", "message"), [
    ({"match": {"brand": "Acme"}}, r"filter: match: unsupported clause 'match'"),
    ({"bool": {"filter": [{"wildcard": {"brand": "A*"}}]}}, r"bool\.filter\[0\]\.wildcard: unsupported clause"),
    ({"bool": {"must": [], "boost": 2}}, r"unsupported bool parameter\(s\) boost"),
    ({"range": {"price": {"from": 1}}}, r"range\.price: unsupported range parameter\(s\) from"),
    ({"term": {"brand": "A", "color": "red"}}, r"term: term must be an object with exactly one key"),
    ({"terms": {"brand": []}}, r"terms\.brand: expected a non-empty list"),
    ({"exists": {"name": "x"}}, r"exists: expected"),
    ('{"term": ', r"not valid JSON"),
    ({"term": {"weight": 3}}, r"unknown field 'weight' \(filterable fields: brand, category, category_path"),
    ({"range": {"in_stock": {"gte": 1}}}, r"range on 'in_stock': 'in_stock' is boolean"),
    ({"prefix": {"price": "1"}}, r"prefix applies to keyword fields"),
    ({"term": {"price": "cheap"}}, r"'price' is numeric: 'cheap' is not a number"),
    ({"term": {"in_stock": "yes"}}, r"'in_stock' is boolean: 'yes' is not true or false"),
    ({"term": {"brand": None}}, r"term\.brand: expected a string, number or boolean"),
])
def test_errors_name_the_clause(columns, dsl, message):
    with pytest.raises(InputError, match=message):
        bind(parse_filter(dsl), columns.fields)


def test_where_short_form(columns):
    def where(*items):
        return docs(evaluate(bind(parse_where(items), columns.fields), columns))

    assert where("brand=Acme", "price<=60") == ["p1", "p3"]
    assert where("brand=Bolt|Cutco") == ["p2", "p4"]
    assert where("brand!=Acme") == ["p2", "p4"]
    assert where("price>10", "price<100") == ["p2", "p3"]
    assert where("category_path=Kitchen*") == ["p4", "p5"]
    assert where("rating=*") == ["p1", "p2", "p4", "p5"]
    assert where("rating!=*") == ["p3"]
    assert where("in_stock=true", "color=red") == ["p1", "p3"]
    with pytest.raises(InputError, match="--where: 'brand' is not FIELD=VALUE"):
        parse_where(["brand"])


def test_to_dsl_maps_fields_and_round_trips(columns):
    dsl = {"bool": {"filter": [{"term": {"brand": "Acme"}}, {"range": {"price": {"lte": 60}}}],
                    "must_not": [{"exists": {"field": "rating"}}]}}
    node = bind(parse_filter(dsl), columns.fields)
    rendered = to_dsl(node, lambda f: f"attr.{f}")
    assert rendered == {"bool": {"filter": [{"term": {"attr.brand": "Acme"}}, {"range": {"attr.price": {"lte": 60.0}}}],
                                 "must_not": [{"exists": {"field": "attr.rating"}}]}}
    assert run(columns, to_dsl(node)) == run(columns, dsl) == ["p3"]
    should = to_dsl(parse_filter({"bool": {"should": [{"term": {"brand": "Bolt"}}]}}))
    assert should == {"bool": {"should": [{"term": {"brand": "Bolt"}}], "minimum_should_match": 1}}


def test_attribute_source_is_what_a_cluster_document_holds():
    assert attribute_source(ROWS[3], TYPES) == {"brand": ["Cutco"], "category": ["Kitchen", "Knives"],
                                                "category_path": ["Kitchen", "Kitchen > Knives"], "in_stock": True,
                                                "price": 100.0, "rating": 5.0}
    assert "rating" not in attribute_source(ROWS[2], TYPES) and attribute_source(ROWS[2], TYPES)["price"] == 60.0


def test_facet_counts_like_a_terms_aggregation(columns):
    matched = np.array([True, False, True, True, True])  # p1, p3, p4, p5
    out = facet_counts(columns, matched, ["brand", "category", "in_stock", "price"], size=3)
    assert out["brand"] == {"buckets": [{"key": "Acme", "doc_count": 3}, {"key": "Cutco", "doc_count": 1}],
                            "sum_other_doc_count": 0}
    # Clothing 2, Kitchen 2, Knives 1, Linens 1, Shirts 1, Shoes 1 → count desc, then key asc; 3 left out
    assert out["category"]["buckets"] == [{"key": "Clothing", "doc_count": 2}, {"key": "Kitchen", "doc_count": 2},
                                          {"key": "Knives", "doc_count": 1}]
    assert out["category"]["sum_other_doc_count"] == 3
    assert out["in_stock"]["buckets"] == [{"key": True, "doc_count": 3}, {"key": False, "doc_count": 1}]
    assert out["price"]["buckets"] == [{"key": 10.0, "doc_count": 1}, {"key": 60.0, "doc_count": 1},
                                       {"key": 100.0, "doc_count": 1}]
    with pytest.raises(InputError, match="facet: unknown field 'title'"):
        facet_counts(columns, matched, ["title"])


def test_columns_save_and_load(columns, tmp_path):
    columns.save(tmp_path / "attributes")
    loaded = AttributeColumns.load(tmp_path / "attributes", 5)
    assert loaded.types == TYPES
    for dsl in ({"term": {"category_path": "Clothing"}}, {"range": {"price": {"lte": 60}}},
                {"term": {"in_stock": False}}):
        assert run(loaded, dsl) == run(columns, dsl)
    with pytest.raises(InputError, match="corrupt attribute columns"):
        AttributeColumns.load(tmp_path / "attributes", 6)
    (tmp_path / "attributes" / "attributes.npz").unlink()
    with pytest.raises(InputError, match="missing its attribute columns"):
        AttributeColumns.load(tmp_path / "attributes", 5)
