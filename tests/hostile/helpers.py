"""Assertions shared by the hostile-input tests."""

from __future__ import annotations


def one_error_line(result) -> str:
    """The stderr of a CliRunner result, checked to be exactly one 'error: ...' line with no traceback."""
    err = result.stderr.strip()
    assert "Traceback" not in err, err
    assert len(err.splitlines()) == 1, err
    assert err.startswith("error:"), err
    return err
