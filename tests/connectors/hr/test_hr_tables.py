"""HR's blacklist as bureaus publish it: every column stored, removal not before listing."""

from __future__ import annotations

from connectors.hr.tables import BLACKLIST


def test_every_column_of_the_published_list_is_stored() -> None:
    assert set(BLACKLIST.spec.column_names) == set(BLACKLIST.written)
    assert BLACKLIST.references[0].agency == "housing"  # an enterprise housing lacks: a warning
