"""The product text template shared by training and indexing."""

import pytest

from mrs.data.catalog import Product
from mrs.data.text import DEFAULT_TEMPLATE, ProductTextTemplate, as_list
from mrs.errors import InputError


def test_default_template_uses_last_two_category_levels():
    p = Product("p1", {"title": "Linen Sofa", "brand": "Nordby", "color": "blue",
                       "category": ["Home", "Furniture", "Sofas"]})
    assert ProductTextTemplate().render(p) == "Linen Sofa. Brand: Nordby. Color: blue. Category: Furniture > Sofas"


def test_empty_segments_are_dropped():
    p = Product("p2", {"title": "Desk Lamp", "brand": None, "color": "", "category": "Home > Lighting"})
    assert ProductTextTemplate(DEFAULT_TEMPLATE).render(p) == "Desk Lamp. Category: Home > Lighting"


def test_custom_template_and_id_placeholder():
    p = Product("X1", {"title": "Mug"})
    assert ProductTextTemplate("{title} ({id})").render(p) == "Mug (X1)"


def test_template_without_placeholder_is_rejected():
    with pytest.raises(InputError):
        ProductTextTemplate("just text")


@pytest.mark.parametrize("value,expected", [
    (["A", "B"], ["A", "B"]), ("A / B / C", ["A", "B", "C"]), ("A > B", ["A", "B"]), ("", []), (None, []),
])
def test_as_list_splits_category_paths(value, expected):
    assert as_list(value) == expected
