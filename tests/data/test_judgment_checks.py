"""Judgments are read as their author meant (issue 16, item 1): ids are not query texts, grades fit the scheme."""

from __future__ import annotations

import pytest

from mrs.data.judgment_checks import looks_like_ids, schemes_fitting
from mrs.data.readers import read_judgments
from mrs.errors import InputError


@pytest.mark.parametrize(("ids", "expected"), [
    (["101", "102"], True), (["q1", "Q-22"], True), (["3f2a9c1e-77b0-4c1d-9e0a-8d2b6c1f0e11"], True),
    (["red frying pan", "101"], False), (["sofa", "lamp"], False), (["ps5", "lamp"], False), ([], False),
])
def test_looks_like_ids(ids, expected):
    assert looks_like_ids(ids) is expected


def test_texts_from_topics_file(tmp_path):
    (tmp_path / "q.qrels").write_text("101 0 P1 2\n102 0 P2 1\n")
    (tmp_path / "topics.tsv").write_text("101\tred pan\n102\tgrey sofa\n")
    js = read_judgments(tmp_path / "q.qrels", queries=tmp_path / "topics.tsv", scheme="three-level")
    assert js.queries() == {"101": "red pan", "102": "grey sofa"}
    assert js.scheme.name == "three-level"


def test_three_level_grades_need_a_scheme(tmp_path):
    (tmp_path / "q.qrels").write_text("101 0 P1 2\n101 0 P2 1\n101 0 P3 0\n")
    with pytest.raises(InputError, match=r"q\.qrels: grades 0-2 fill three levels but the default scheme esci has "
                                         r"four .*--scheme wands or --scheme three-level"):
        read_judgments(tmp_path / "q.qrels", needs_query_text=False)
    assert read_judgments(tmp_path / "q.qrels", scheme="esci", needs_query_text=False).scheme.name == "esci"


def test_grade_beyond_the_chosen_scheme_names_the_scheme_that_fits(tmp_path):
    (tmp_path / "q.qrels").write_text("101 0 P1 3\n")
    with pytest.raises(InputError, match=r"q\.qrels:1: unknown label '3' for level scheme three-level .*it is a "
                                         r"level of --scheme esci"):
        read_judgments(tmp_path / "q.qrels", scheme="three-level", needs_query_text=False)


def test_schemes_fitting():
    assert schemes_fitting("3") == ["esci"]
    assert schemes_fitting("partial") == ["wands"]
