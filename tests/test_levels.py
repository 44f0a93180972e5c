"""Level schemes: names, aliases and ESCI ratings map onto ordered grades."""

import pytest

from mrs.data.levels import ESCI, THREE_LEVEL, WANDS, get_scheme, map_grades
from mrs.errors import InputError


def test_esci_grades_names_labels_and_ratings():
    assert ESCI.levels == ("irrelevant", "complement", "substitute", "exact")
    assert ESCI.top == 3
    # names, single-letter ESCI labels, SRW ratings (100/10/1/0, as strings with decimals) and grades
    for label, grade in [("exact", 3), ("Substitute", 2), ("E", 3), ("s", 2), ("C", 1), ("I", 0),
                         ("100.000", 3), ("10.000", 2), ("1.000", 1), ("0.000", 0), ("3", 3), (2, 2)]:
        assert ESCI.grade_of(label) == grade, label


def test_esci_official_gains():
    assert [ESCI.gain_of(g) for g in range(4)] == [0.0, 0.01, 0.1, 1.0]
    assert WANDS.gain_of(2) == 2.0  # schemes without gains use the grade


def test_unknown_label_is_a_key_error():
    with pytest.raises(KeyError):
        ESCI.grade_of("very relevant")
    with pytest.raises(KeyError):
        WANDS.grade_of("7")


def test_wands_and_three_level():
    assert WANDS.grade_of("Partial") == 1 and WANDS.grade_of("Exact") == 2
    assert THREE_LEVEL.name_of(1) == "moderately relevant"


def test_esci_to_three_level_mapping():
    assert map_grades(None, ESCI, THREE_LEVEL) == {3: 2, 2: 1, 1: 1, 0: 0}
    assert map_grades(None, WANDS, WANDS) == {0: 0, 1: 1, 2: 2}
    with pytest.raises(InputError):
        map_grades(None, WANDS, ESCI)


def test_get_scheme_unknown_is_input_error():
    assert get_scheme("three-level") is THREE_LEVEL
    with pytest.raises(InputError, match="unknown level scheme"):
        get_scheme("five-star")
