"""Hostile catalogs and judgments (issue 20, classes 2, 3 and 6): every row is indexed or rejected at the line
it starts on; headers are line 1; grades and levels are checked per row; corrupt Parquet is one line."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from mrs.cli.main import cli
from mrs.data.catalog_readers import read_catalog
from mrs.data.judgment_readers import read_judgments
from mrs.data.rejects import Rejects
from mrs.errors import InputError

from .helpers import one_error_line

MRS_HEADER = "query_id\tquery\tproduct_id\tgrade\tlevel\tsource\tconfidence\n"


def _csv(tmp_path, lines, name="catalog.csv"):
    p = tmp_path / name
    p.write_text("\n".join(["id,title,description", *lines]) + "\n", encoding="utf-8")
    return p


def _read(path, **kw):
    rejects = Rejects()
    products = list(read_catalog(path, on_error="skip", rejects=rejects, **kw))
    return products, rejects


def _rows(n, bad=None):
    return [bad[i] if bad and i in bad else f"{i},sofa {i},desc {i}" for i in range(1, n + 1)]


def test_an_unterminated_quote_costs_its_own_line_only(tmp_path):
    # data row 10 is physical line 11; the quote it opens closes inside line 14's quoted field
    path = _csv(tmp_path, _rows(20, {10: '10,"grey sofa,soft', 13: '13,"sofa, grey",nice'}))
    products, rejects = _read(path)
    assert len(products) + rejects.count == 20
    assert [p.id for p in products] == [str(i) for i in range(1, 21) if i != 10]
    assert [(r.line, r.raw) for r in rejects.rows] == [(11, '10,"grey sofa,soft')]
    assert "runs to line 14" in rejects.rows[0].reason
    assert {p.id: p.source_line for p in products}["13"] == 14


def test_a_quote_open_until_the_end_of_the_file(tmp_path):
    path = _csv(tmp_path, _rows(20, {5: '5,"never closed,x'}))
    products, rejects = _read(path)
    assert len(products) == 19 and [(r.line, r.reason.split(";")[0]) for r in rejects.rows] == \
        [(6, "unterminated quoted field")]


def test_fail_mode_stops_at_the_line_the_bad_row_starts_on(tmp_path):
    path = _csv(tmp_path, _rows(20, {10: '10,"grey sofa,soft', 13: '13,"sofa, grey",nice'}))
    with pytest.raises(InputError) as err:
        list(read_catalog(path))
    assert err.value.line == 11


def test_a_real_multi_line_field_is_one_row_at_its_first_line(tmp_path):
    path = _csv(tmp_path, ['1,sofa,"two', 'lines"', "2,chair,plain"])
    products, rejects = _read(path)
    assert [(p.id, p.source_line, p.fields["description"]) for p in products] == \
        [("1", 2, "two\nlines"), ("2", 4, "plain")] and rejects.count == 0


def test_a_wrong_csv_header_is_reported_at_line_1(tmp_path):
    p = tmp_path / "c.csv"
    p.write_text("sku_code,title\n1,sofa\n2,chair\n")
    with pytest.raises(InputError) as err:
        list(read_catalog(p))
    assert err.value.line == 1 and "no id column" in err.value.message


def test_a_first_jsonl_row_without_id_is_a_row_reject(tmp_path):
    p = tmp_path / "c.jsonl"
    rows = [{"title": "no id"}] + [{"id": str(i), "title": f"sofa {i}"} for i in range(2, 21)]
    p.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    products, rejects = _read(p)
    assert len(products) == 19 and [r.line for r in rejects.rows] == [1]
    with pytest.raises(InputError) as err:
        list(read_catalog(p))
    assert err.value.line == 1 and "later rows have one" in err.value.message
    none = tmp_path / "none.jsonl"
    none.write_text("\n".join(json.dumps({"title": f"t{i}"}) for i in range(3)) + "\n")
    with pytest.raises(InputError, match="no id column"):
        list(read_catalog(none))


def test_a_later_jsonl_row_without_the_id_field_is_a_row_reject(tmp_path):
    p = tmp_path / "c.jsonl"
    p.write_text('{"id": "1"}\n{"title": "x"}\n{"id": "3"}\n')
    products, rejects = _read(p)
    assert [x.id for x in products] == ["1", "3"] and [(r.line, r.reason) for r in rejects.rows] == \
        [(2, "no id field 'id'")]


@pytest.fixture
def corrupt_parquet(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    table = pa.table({"id": [str(i) for i in range(2000)], "title": [f"grey sofa {i} " * 5 for i in range(2000)]})
    good = tmp_path / "good.parquet"
    pq.write_table(table, good, compression="snappy", row_group_size=500)
    data = bytearray(good.read_bytes())
    for i in range(len(data) // 2, len(data) // 2 + 200):
        data[i] ^= 0x5A
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(bytes(data))
    return bad


@pytest.mark.parametrize("on_error", ["fail", "skip"])
def test_corrupt_parquet_pages_are_one_line_exit_2(corrupt_parquet, on_error):
    result = CliRunner().invoke(cli, ["data", "inspect", str(corrupt_parquet), "--on-error", on_error])
    assert result.exit_code == 2
    line = one_error_line(result)
    assert str(corrupt_parquet) in line and "corrupt Parquet data" in line


def test_json_errors_say_starting_at_column_once(tmp_path):
    p = tmp_path / "c.jsonl"
    p.write_text('{"id": "1", "title": "abc}\n')
    with pytest.raises(InputError) as err:
        list(read_catalog(p))
    assert "Unterminated string starting at column 22" in str(err.value) and "at at" not in str(err.value)


def _mrs(tmp_path, extra_row):
    p = tmp_path / "j.tsv"
    rows = [f"q1\tsofa\tp{i}\t3\texact\thuman\t1" for i in range(5)] + [extra_row]
    p.write_text(MRS_HEADER + "\n".join(rows) + "\n")
    return p


@pytest.mark.parametrize("row, message", [
    ("q2\tchair\tp1\t2\tfancy\thuman\t1", "unknown level 'fancy' for level scheme esci"),
    ("q2\tchair\tp1\t7\texact\thuman\t1", "grade 7 is outside level scheme esci"),
    ("q2\tchair\tp1\t0\texact\thuman\t1", "grade 0 contradicts level 'exact', which is grade 3 in level scheme esci"),
])
@pytest.mark.parametrize("scheme", [None, "esci"])
def test_mrs_judgment_level_errors_are_at_their_line(tmp_path, row, message, scheme):
    with pytest.raises(InputError) as err:
        read_judgments(_mrs(tmp_path, row), scheme=scheme)
    assert err.value.line == 7 and message in err.value.message
    assert "unknown label 'exact'" not in err.value.message


def test_mrs_judgment_errors_skip_only_their_rows(tmp_path):
    rejects = Rejects()
    jset = read_judgments(_mrs(tmp_path, "q2\tchair\tp1\t7\texact\thuman\t1"), on_error="skip", rejects=rejects)
    assert len(jset) == 5 and [r.line for r in rejects.rows] == [7]


def test_mrs_level_names_of_no_scheme_are_refused_at_the_first_row(tmp_path):
    p = tmp_path / "j.tsv"
    p.write_text(MRS_HEADER + "q1\tsofa\tp1\t1\tgood\thuman\t1\n")
    with pytest.raises(InputError, match="match no level scheme") as err:
        read_judgments(p)
    assert err.value.line == 2


def test_esci_grade_10_without_a_label_is_an_error_at_its_line(tmp_path):
    p = tmp_path / "j.tsv"
    p.write_text("query\tproduct_id\tsrw_rating\tesci_label\tgrade\nsofa\tp1\t\t\t10\nsofa\tp2\t\t\t3\n"
                 "sofa\tp3\t10\t\t\n")
    with pytest.raises(InputError) as err:
        read_judgments(p)
    assert err.value.line == 2 and "grade '10' is not a grade of level scheme esci" in err.value.message
    rejects = Rejects()
    jset = read_judgments(p, on_error="skip", rejects=rejects)
    # the grade column holds grades (3 = exact); srw_rating 10 is a rating (substitute)
    assert {j.product_id: j.grade for j in jset} == {"p2": 3, "p3": 2} and rejects.count == 1
