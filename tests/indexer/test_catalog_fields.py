"""Unknown BM25 fields and text-template keys are caught before indexing (issue 16, item 6)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from mrs.cli.main import cli
from mrs.data.catalog import Product
from mrs.data.text import DEFAULT_TEMPLATE, ProductTextTemplate
from mrs.errors import InputError
from mrs.indexer.documents import DEFAULT_FIELDS, catalog_columns, check_catalog_fields, parse_fields

SHOP_CSV = "sku,item,dept,details\nA1,Red pan,Kitchen,Steel pan\nA2,Grey sofa,Living,Three seats\n"


def _columns(*rows):
    return catalog_columns([Product(f"P{i}", dict(r)) for i, r in enumerate(rows)])


def test_catalog_columns_in_first_seen_order_without_the_id_column():
    products = [Product("A1", {"sku": "A1", "item": "pan"}), Product("A2", {"sku": "A2", "dept": "home"})]
    assert catalog_columns(products) == ["item", "dept"]


def test_misspelled_field_is_an_error_listing_the_columns():
    cols = _columns({"name": "x", "description": "y"})
    with pytest.raises(InputError, match=r"--fields: 'descr' is not a column of the catalog; columns found: name, "
                                         r"description"):
        check_catalog_fields(cols, parse_fields("name^3,descr"), ProductTextTemplate("{name}"), fields_given=True,
                             template_given=True)


def test_misspelled_template_key_is_an_error():
    cols = _columns({"name": "x", "colour": "red"})
    with pytest.raises(InputError, match=r"--text-template: \{colr\} is not a column"):
        check_catalog_fields(cols, {"name": 1.0}, ProductTextTemplate("{name}. Colour: {colr}"), fields_given=True,
                             template_given=True)


def test_catalog_matching_no_default_field_is_an_error():
    cols = _columns({"item": "x", "dept": "y", "details": "z"})
    with pytest.raises(InputError, match=r"none of the default BM25 fields .* pass --fields .*item\^3,dept,details"):
        check_catalog_fields(cols, dict(DEFAULT_FIELDS), ProductTextTemplate(DEFAULT_TEMPLATE), fields_given=False,
                             template_given=False)


def test_default_field_absent_is_a_warning_naming_unindexed_columns():
    cols = _columns({"title": "x", "dept": "y"})
    warnings = check_catalog_fields(cols, dict(DEFAULT_FIELDS), ProductTextTemplate(DEFAULT_TEMPLATE),
                                    fields_given=False, template_given=False)
    assert len(warnings) == 1
    assert "brand, color, category, bullet_points, description are not columns" in warnings[0]
    assert "searching title" in warnings[0] and "columns not indexed: dept" in warnings[0]


def test_full_catalog_passes_silently():
    cols = _columns({f: "x" for f in DEFAULT_FIELDS})
    assert check_catalog_fields(cols, dict(DEFAULT_FIELDS), ProductTextTemplate(DEFAULT_TEMPLATE),
                                fields_given=False, template_given=False) == []


@pytest.mark.parametrize(("options", "message"), [
    ([], "none of the default BM25 fields"),
    (["--fields", "item^3,descr"], "--fields: 'descr' is not a column of the catalog; columns found: item, dept, "
                                    "details"),
    (["--fields", "item^3,details", "--text-template", "{item}. Colour: {colr}"],
     "--text-template: {colr} is not a column"),
])
def test_index_catalog_stops_before_indexing(tmp_path, options, message):
    (tmp_path / "shop.csv").write_text(SHOP_CSV)
    result = CliRunner().invoke(cli, ["index", "catalog", str(tmp_path / "shop.csv"), "--index",
                                      str(tmp_path / "index"), "--id-field", "sku", *options])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert not (tmp_path / "index").exists()


def test_template_is_a_hidden_deprecated_alias_of_text_template(tmp_path):
    (tmp_path / "shop.csv").write_text(SHOP_CSV)
    result = CliRunner().invoke(cli, ["index", "catalog", str(tmp_path / "shop.csv"), "--index",
                                      str(tmp_path / "index"), "--id-field", "sku", "--fields", "item",
                                      "--template", "{itme}"])
    assert result.exit_code == 2
    assert "--template is deprecated; use --text-template" in result.output
    assert "--text-template: {itme} is not a column" in result.output


@pytest.mark.parametrize("command", [["index", "catalog"], ["train", "stage1"], ["train", "stage2"], ["mine"],
                                     ["judge", "train"], ["judge", "annotate"]])
def test_every_command_names_the_option_text_template(command):
    out = CliRunner().invoke(cli, [*command, "--help"]).output
    assert "--text-template" in out
    assert "--template " not in out
