"""Catalog readers: every format on tiny hand-made files, field normalisation, and each bad-input case."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mrs.data.readers import Rejects, read_catalog, rejects_path_for
from mrs.data.text import ProductTextTemplate
from mrs.errors import InputError


def _write(tmp_path, name, text, mode="w"):
    p = tmp_path / name
    if mode == "wb":
        p.write_bytes(text)
    else:
        p.write_text(text, encoding="utf-8")
    return p


def test_jsonl_streams_products_with_ids_lines_and_list_category(tmp_path):
    p = _write(tmp_path, "c.jsonl",
               '{"id": "A1", "title": "Red Sofa", "category": "Home > Furniture > Sofas"}\n'
               '\n'
               '{"id": 7, "title": "Blue Lamp", "category": ["Home", "Lighting"]}\n')
    products = list(read_catalog(p))
    assert [x.id for x in products] == ["A1", "7"]
    assert [x.source_line for x in products] == [1, 3]
    assert products[0].get("category") == ["Home", "Furniture", "Sofas"]
    assert products[1].get("category") == ["Home", "Lighting"]


def test_reading_streams_rows_before_the_end_of_the_file(tmp_path):
    # a bad line 3 only fails when reached: rows 1-2 were handed out first, nothing was loaded ahead
    p = _write(tmp_path, "c.jsonl", '{"id": "1"}\n{"id": "2"}\n{broken\n')
    stream = read_catalog(p)
    assert [next(stream).id, next(stream).id] == ["1", "2"]
    with pytest.raises(InputError, match=r"c\.jsonl:3: malformed JSON"):
        next(stream)


def test_esci_style_row_uses_underscore_id_and_keeps_fields(tmp_path):
    row = {"title": "Kindle", "brand": "Amazon", "category": [], "asin": "B07", "_id": "B07"}
    p = _write(tmp_path, "esci.jsonl", json.dumps(row) + "\n")
    (product,) = read_catalog(p)
    assert product.id == "B07"
    assert product.get("asin") == "B07" and product.get("brand") == "Amazon"


def test_wands_product_csv_is_tab_separated_and_normalised(tmp_path):
    header = "product_id\tproduct_name\tproduct_class\tcategory_hierarchy\tproduct_description\tproduct_features\n"
    p = _write(tmp_path, "product.csv",
               header + "0\tsolid wood platform bed\tBeds\tFurniture / Bedroom Furniture / Beds\tgood bed\t"
                        "overallwidth:60|color:brown\n")
    (product,) = read_catalog(p)
    assert product.id == "0"
    assert product.get("title") == "solid wood platform bed"
    assert product.get("category") == ["Furniture", "Bedroom Furniture", "Beds"]
    assert product.get("description") == "good bed"
    assert product.get("product_name") == "solid wood platform bed"  # original kept
    text = ProductTextTemplate().render(product)
    assert text == "solid wood platform bed. Category: Bedroom Furniture > Beds"


def test_comma_csv_with_quotes_semicolon_and_explicit_delimiter(tmp_path):
    p = _write(tmp_path, "c.csv", 'id,title,price\n1,"Sofa, grey",300\n2,Lamp,20\n')
    assert [(x.id, x.get("title")) for x in read_catalog(p)] == [("1", "Sofa, grey"), ("2", "Lamp")]
    p2 = _write(tmp_path, "c2.txt", "sku;name\nX;Chair\nY;Table\n")
    assert [(x.id, x.get("title")) for x in read_catalog(p2, id_field="sku")] == [("X", "Chair"), ("Y", "Table")]
    p3 = _write(tmp_path, "c3.tsv", "id\ttitle\n5\tDesk\n")
    assert [x.id for x in read_catalog(p3)] == ["5"]


def test_parquet_is_read_in_batches(tmp_path, monkeypatch):
    import mrs.data.catalog_readers as cr

    monkeypatch.setattr(cr, "PARQUET_BATCH_ROWS", 2)
    p = tmp_path / "c.parquet"
    pq.write_table(pa.table({"product_id": ["a", "b", "c"], "product_name": ["x", "y", "z"]}), p)
    products = list(read_catalog(p))
    assert [(x.id, x.get("title"), x.source_line) for x in products] == [("a", "x", 1), ("b", "y", 2), ("c", "z", 3)]


def test_json_array_file(tmp_path):
    p = _write(tmp_path, "c.json", json.dumps([{"id": "1", "name": "Mug"}, {"id": "2", "name": "Cup"}]))
    assert [x.get("title") for x in read_catalog(p)] == ["Mug", "Cup"]


def test_fields_keeps_only_named_columns_and_the_id(tmp_path):
    p = _write(tmp_path, "c.jsonl", '{"id": "1", "title": "Mug", "brand": "B", "image": "u"}\n')
    (product,) = read_catalog(p, fields=["title"])
    assert product.fields == {"id": "1", "title": "Mug"}


def test_bom_is_stripped(tmp_path):
    p = _write(tmp_path, "c.csv", "\ufeffid,title\n1,Mug\n".encode(), mode="wb")
    assert [x.id for x in read_catalog(p)] == ["1"]
    p2 = _write(tmp_path, "c.jsonl", '\ufeff{"id": "9"}\n'.encode(), mode="wb")
    assert [x.id for x in read_catalog(p2)] == ["9"]


# ---- bad input: fail names file and line; skip records the row and goes on -------------------------------

BAD_ROWS = [
    ("malformed.jsonl", b'{"id": "1"}\n{"id": "2",\n{"id": "3"}\n', 2, "malformed JSON"),
    ("emptyid.jsonl", b'{"id": "1"}\n{"id": "  "}\n{"id": "3"}\n', 2, "empty id"),
    ("dup.jsonl", b'{"id": "1"}\n{"id": "3"}\n{"id": "1"}\n', 3, "duplicate id '1' (first on line 1)"),
    ("latin1.jsonl", b'{"id": "1"}\n{"id": "2", "title": "caf\xe9"}\n{"id": "3"}\n', 2, "not UTF-8"),
    ("ragged.csv", b"id,title\n1,a\n2,b,extra\n3,c\n", 3, "expected 2 fields, got 3"),
    ("notobj.jsonl", b'{"id": "1"}\n[1, 2]\n{"id": "3"}\n', 2, "expected a JSON object"),
]


@pytest.mark.parametrize(("name", "data", "bad_line", "reason"), BAD_ROWS)
def test_bad_row_fails_with_file_and_line(tmp_path, name, data, bad_line, reason):
    p = _write(tmp_path, name, data, mode="wb")
    with pytest.raises(InputError) as err:
        list(read_catalog(p))
    assert err.value.path == str(p) and err.value.line == bad_line
    assert reason in str(err.value)
    assert str(err.value).startswith(f"{p}:{bad_line}: ")


@pytest.mark.parametrize(("name", "data", "bad_line", "reason"), BAD_ROWS)
def test_bad_row_skipped_is_recorded_and_counted(tmp_path, name, data, bad_line, reason):
    p = _write(tmp_path, name, data, mode="wb")
    rejects = Rejects()
    ids = [x.id for x in read_catalog(p, on_error="skip", rejects=rejects)]
    assert ids == ["1", "3"]
    assert rejects.count == 1
    out = rejects.write(rejects_path_for(tmp_path / "out.jsonl"))
    assert out == tmp_path / "out.jsonl.rejects.jsonl"
    (row,) = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert row["file"] == str(p) and row["line"] == bad_line and reason in row["reason"]
    assert row["raw"]  # the bad row's text is kept, nothing silently lost


def test_tsv_read_with_comma_delimiter_is_a_clear_error(tmp_path):
    p = _write(tmp_path, "product.csv", "product_id\tproduct_name\n1\tbed\n")
    with pytest.raises(InputError) as err:
        list(read_catalog(p, delimiter=","))
    assert err.value.line == 1
    assert "only one column with delimiter ','" in str(err.value) and "'\\t'" in str(err.value)


def test_missing_id_column(tmp_path):
    p = _write(tmp_path, "c.jsonl", '{"sku": "1", "title": "Mug"}\n')
    with pytest.raises(InputError, match=r"c\.jsonl:1: no id column: none of id, _id, asin, product_id"):
        list(read_catalog(p))
    with pytest.raises(InputError, match="no id column 'code'"):
        list(read_catalog(p, id_field="code"))
    assert [x.id for x in read_catalog(p, id_field="sku")] == ["1"]


def test_empty_and_missing_files(tmp_path):
    empty = _write(tmp_path, "empty.jsonl", "")
    with pytest.raises(InputError, match=r"empty\.jsonl:1: empty file"):
        list(read_catalog(empty))
    blank = _write(tmp_path, "blank.csv", "\n\n")
    with pytest.raises(InputError, match="empty file"):
        list(read_catalog(blank))
    with pytest.raises(InputError, match=r"nope\.jsonl: no such file"):
        list(read_catalog(tmp_path / "nope.jsonl"))


def test_unknown_extension(tmp_path):
    p = _write(tmp_path, "c.xml", "<x/>")
    with pytest.raises(InputError, match="unknown catalog format '.xml'"):
        list(read_catalog(p))


def test_skip_without_rejects_is_a_programming_error(tmp_path):
    p = _write(tmp_path, "c.jsonl", '{"id": "1"}\n')
    with pytest.raises(ValueError, match="needs a Rejects"):
        list(read_catalog(p, on_error="skip"))
