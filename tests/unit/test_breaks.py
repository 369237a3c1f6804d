"""The hand-made bugs of ``make breaks`` still apply to the code.

``scripts/breaks.toml`` names each bug by a text of the code, and the test that
catches it. When the code moves on, a text that no longer occurs (or occurs
twice) would make the break silently test nothing, and a renamed test would
send every replay to the whole suite: these fail first, so the list is kept up
with the code.
"""

from __future__ import annotations

import pytest

from support.helpers import load_script

breaks = load_script("breaks")


@pytest.mark.parametrize("one", breaks.load_breaks(), ids=lambda one: one.name)
def test_each_break_can_still_be_made(one: object) -> None:
    assert breaks.why_it_does_not_apply(one) is None


def test_break_names_are_unique() -> None:
    names = [one.name for one in breaks.load_breaks()]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("one", breaks.load_breaks(), ids=lambda one: one.name)
def test_each_break_records_a_test_of_the_suite_that_catches_it(one: object) -> None:
    assert breaks.why_the_record_is_wrong(one) is None
