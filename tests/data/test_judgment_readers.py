"""Judgment readers: ESCI qrels, Search-Relevance JSON, WANDS, TREC, mrs TSV; detection and bad input."""

from __future__ import annotations

import json

import pytest

from mrs.data.judgments import Judgment, JudgmentSet
from mrs.data.levels import ESCI, THREE_LEVEL
from mrs.data.readers import (
    Rejects,
    detect_judgment_format,
    read_judgments,
    read_queries,
    write_judgments,
)
from mrs.errors import InputError

ESCI_TSV = (
    "query\tproduct_id\tsrw_rating\tesci_label\tgrade\n"
    "red sofa\tP1\t100.000\tE\t3\n"
    "red sofa\tP2\t10.000\tS\t2\n"
    "red sofa\tP3\t1.000\tC\t1\n"
    "lamp\tP4\t0.000\tI\t0\n"
)


def _write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_esci_qrels_query_text_is_its_id(tmp_path):
    js = read_judgments(_write(tmp_path, "q.tsv", ESCI_TSV))
    assert js.scheme is ESCI
    assert [(j.query_id, j.query, j.product_id, j.grade) for j in js] == [
        ("red sofa", "red sofa", "P1", 3), ("red sofa", "red sofa", "P2", 2),
        ("red sofa", "red sofa", "P3", 1), ("lamp", "lamp", "P4", 0)]
    assert js.level_counts() == {"exact": 1, "substitute": 1, "complement": 1, "irrelevant": 1}
    assert js.qrels() == {"red sofa": {"P1": 3, "P2": 2, "P3": 1}, "lamp": {"P4": 0}}


def test_srw_json_ratings_map_to_esci_grades(tmp_path):
    doc = {"name": "x", "judgmentRatings": [
        {"query": "red sofa", "ratings": [{"docId": "P1", "rating": "100.000"}, {"docId": "P2", "rating": "10.000"}]},
        {"query": "lamp", "ratings": [{"docId": "P3", "rating": 1}, {"docId": "P4", "rating": "0.000"}]}]}
    js = read_judgments(_write(tmp_path, "j.json", json.dumps(doc, indent=2)))
    assert [(j.query, j.product_id, j.grade) for j in js] == [
        ("red sofa", "P1", 3), ("red sofa", "P2", 2), ("lamp", "P3", 1), ("lamp", "P4", 0)]


def test_srw_unknown_rating_names_its_line(tmp_path):
    doc = {"judgmentRatings": [{"query": "lamp", "ratings": [{"docId": "P1", "rating": "100.000"},
                                                             {"docId": "P2", "rating": "55"}]}]}
    p = _write(tmp_path, "j.json", json.dumps(doc, indent=2))
    line_of_p2 = next(i for i, t in enumerate(p.read_text().splitlines(), 1) if '"P2"' in t)
    with pytest.raises(InputError) as err:
        read_judgments(p)
    assert err.value.line == line_of_p2 and "unknown label '55'" in str(err.value)


def test_wands_labels_need_and_use_query_csv(tmp_path):
    queries = _write(tmp_path, "query.csv", "query_id\tquery\tquery_class\n0\tsalon chair\tMassage Chairs\n"
                                            "1\tsmart coffee table\tCoffee Tables\n")
    labels = _write(tmp_path, "label.csv", "id\tquery_id\tproduct_id\tlabel\n0\t0\t25434\tExact\n"
                                           "1\t0\t12088\tIrrelevant\n2\t1\t42931\tPartial\n")
    assert detect_judgment_format(labels) == "wands"
    with pytest.raises(InputError, match="needs the query texts"):
        read_judgments(labels)
    js = read_judgments(labels, queries=queries)
    assert js.scheme.name == "wands"
    assert [(j.query_id, j.query, j.product_id, j.grade) for j in js] == [
        ("0", "salon chair", "25434", 2), ("0", "salon chair", "12088", 0), ("1", "smart coffee table", "42931", 1)]


def test_trec_qrels_with_and_without_queries(tmp_path):
    qrels = _write(tmp_path, "x.qrels", "q1 0 D1 3\nq1 0 D2 0\nq2 Q0 D3 2\n")
    with pytest.raises(InputError, match=r"x\.qrels: the query ids \(q1, q2, \.\.\.\) are ids.*pass --queries FILE"):
        read_judgments(qrels)  # searching the text "q1" would measure nothing
    js = read_judgments(qrels, needs_query_text=False)  # scoring run files needs only the ids
    assert [(j.query_id, j.query, j.product_id, j.grade) for j in js] == [
        ("q1", "q1", "D1", 3), ("q1", "q1", "D2", 0), ("q2", "q2", "D3", 2)]
    topics = _write(tmp_path, "topics.tsv", "q1\tred sofa\nq2\tdesk lamp\n")
    assert read_queries(topics) == {"q1": "red sofa", "q2": "desk lamp"}
    js = read_judgments(qrels, queries=topics)
    assert [j.query for j in js] == ["red sofa", "red sofa", "desk lamp"]
    txt = _write(tmp_path, "qrels.txt", "q1 0 D1 1\n")
    assert detect_judgment_format(txt) == "trec"


def test_trec_grade_outside_scheme_is_unknown_label(tmp_path):
    qrels = _write(tmp_path, "x.qrels", "q1 0 D1 3\nq1 0 D2 7\n")
    with pytest.raises(InputError, match=r"x\.qrels:2: unknown label '7'"):
        read_judgments(qrels)


def test_write_then_read_back_round_trips(tmp_path):
    js = JudgmentSet(ESCI, [Judgment("q1", "red\tsofa", "P1", 3), Judgment("q1", "red\tsofa", "P2", 1, "mined", 0.75)])
    out = write_judgments(js, tmp_path / "out" / "judgments.tsv")
    assert out.read_text(encoding="utf-8").splitlines()[0] == \
        "query_id\tquery\tproduct_id\tgrade\tlevel\tsource\tconfidence"
    assert detect_judgment_format(out) == "mrs"
    back = read_judgments(out)
    assert back.scheme is ESCI
    assert back.judgments == [Judgment("q1", "red sofa", "P1", 3), Judgment("q1", "red sofa", "P2", 1, "mined", 0.75)]


def test_mrs_tsv_scheme_comes_from_level_names(tmp_path):
    js = JudgmentSet(THREE_LEVEL, [Judgment("q", "q", "P1", 2), Judgment("q", "q", "P2", 1)])
    back = read_judgments(write_judgments(js, tmp_path / "j.tsv"))
    assert back.scheme is THREE_LEVEL and [j.grade for j in back] == [2, 1]


def test_esci_read_as_three_level_maps_grades(tmp_path):
    js = read_judgments(_write(tmp_path, "q.tsv", ESCI_TSV), scheme="three-level")
    # esci → three-level: exact 3 → 2, substitute 2 → 1, complement 1 → 1, irrelevant 0 → 0
    assert js.scheme is THREE_LEVEL and [j.grade for j in js] == [2, 1, 1, 0]


def test_unknown_label_fail_and_skip(tmp_path):
    p = _write(tmp_path, "q.tsv", ESCI_TSV + "lamp\tP5\t\tX\t\n")
    with pytest.raises(InputError) as err:
        read_judgments(p)
    assert str(err.value).startswith(f"{p}:6: unknown label 'X' for level scheme esci")
    rejects = Rejects()
    js = read_judgments(p, on_error="skip", rejects=rejects)
    assert len(js) == 4 and rejects.count == 1 and rejects.rows[0].line == 6
    assert rejects.rows[0].raw == "lamp\tP5\t\tX\t"


def test_duplicate_judgment_and_wrong_field_count(tmp_path):
    p = _write(tmp_path, "q.tsv", ESCI_TSV + "red sofa\tP1\t10.000\tS\t2\nlamp\tP9\n")
    rejects = Rejects()
    js = read_judgments(p, on_error="skip", rejects=rejects)
    assert len(js) == 4
    assert [(r.line, r.reason.split(" (")[0]) for r in rejects.rows] == [
        (6, "duplicate judgment for query 'red sofa' and product 'P1'"), (7, "expected 5 fields, got 2")]


def test_non_utf8_bom_and_empty_files(tmp_path):
    p = tmp_path / "q.tsv"
    p.write_bytes(("\ufeff" + ESCI_TSV).encode() + b"lamp\tP\xff\t0.000\tI\t0\n")
    with pytest.raises(InputError, match=r"q\.tsv:6: not UTF-8"):
        read_judgments(p)
    rejects = Rejects()
    assert len(read_judgments(p, on_error="skip", rejects=rejects)) == 4 and rejects.count == 1
    empty = _write(tmp_path, "e.tsv", "")
    with pytest.raises(InputError, match="empty file"):
        read_judgments(empty)
    header_only = _write(tmp_path, "h.tsv", ESCI_TSV.splitlines()[0] + "\n")
    with pytest.raises(InputError, match="no judgments"):
        read_judgments(header_only)
    with pytest.raises(InputError, match="no such file"):
        read_judgments(tmp_path / "missing.tsv")


def test_wrong_delimiter_and_unknown_format(tmp_path):
    p = _write(tmp_path, "q.csv", ESCI_TSV.replace("\t", ";"))
    with pytest.raises(InputError, match=r"q\.csv:1: cannot tell the judgments format"):
        read_judgments(p)
    with pytest.raises(InputError, match=r"q\.csv:1: missing column\(s\) query, product_id \(is the delimiter"):
        read_judgments(p, fmt="esci")


def test_malformed_srw_json(tmp_path):
    p = _write(tmp_path, "j.json", '{\n "judgmentRatings": [\n  {"query": "x",\n}')
    with pytest.raises(InputError, match=r"j\.json:4: malformed JSON"):
        read_judgments(p)
    q = _write(tmp_path, "k.json", '{"name": "x"}')
    with pytest.raises(InputError, match="no 'judgmentRatings' list"):
        read_judgments(q)
