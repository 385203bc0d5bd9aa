"""Formula injection, defused: whatever the text, no cell a spreadsheet would run; numbers and
phones as they are."""

from __future__ import annotations

import re

import asyncpg
import pytest
from hypothesis import given
from hypothesis import strategies as st

from leedz.exports.cells import FORMULA_TRIGGERS, LEADING_BLANKS, LIST_SEPARATOR, defuse
from leedz.exports.repository import SEPARATOR, SUSPECT_PATTERN

# What a spreadsheet may compute from a cell that starts with a trigger yet is left alone: a
# sign, digits and the spacing of a phone — arithmetic of numbers at most, never a function,
# a reference to a cell or another file, or a DDE call (those need a letter, `!`, `|`, `:`…).
# (`;` between the values of a list of phones.)
ONLY_NUMBER_SYMBOLS = re.compile(r"[+-]?[0-9 ().;+-]+")

numbers = st.one_of(
    st.integers().map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(lambda f: f"{f:f}"),
)
phones = st.from_regex(
    r"\A\+?[0-9]{1,4}( ?\(?[0-9]{1,4}\)?[ .-]?)?[0-9]{2,4}([ .-]?[0-9]{2,4}){0,3}\Z"
)


class TestNeverAFormula:
    @given(st.text())
    def test_any_text_comes_out_safe(self, value: str) -> None:
        cell = defuse(value)
        assert not cell or cell[0] not in FORMULA_TRIGGERS or ONLY_NUMBER_SYMBOLS.fullmatch(cell)

    @given(st.sampled_from(sorted(FORMULA_TRIGGERS)), st.text())
    def test_a_trigger_then_anything_but_a_number_gets_a_quote(
        self, trigger: str, rest: str
    ) -> None:
        value = trigger + rest
        cell = defuse(value)
        assert cell in (value, "'" + value)
        if not ONLY_NUMBER_SYMBOLS.fullmatch(value) or not any(c in "0123456789" for c in value):
            assert cell == "'" + value

    @given(st.text())
    def test_only_a_leading_quote_is_ever_added(self, value: str) -> None:
        assert defuse(value) in (value, "'" + value)

    @pytest.mark.parametrize(
        "value",
        [
            '=HYPERLINK("http://evil.example","x")',
            "=1+1",
            "+cmd|' /C calc'!A0",
            "-2+3+cmd|' /C calc'!A0",
            "@SUM(A1:A2)",
            "\t=1+1",
            "\r=1+1",
            "-",
            "+",
            "=",
            "+()",
            "+1; =2",
            "+966501234567;",
        ],
    )
    def test_the_owasp_examples(self, value: str) -> None:
        assert defuse(value) == "'" + value


class TestNumbersAndPhonesStay:
    @given(numbers)
    def test_numbers(self, value: str) -> None:
        assert defuse(value) == value

    @given(phones)
    def test_phones(self, value: str) -> None:
        assert defuse(value) == value

    @given(st.lists(phones | numbers, min_size=1, max_size=5))
    def test_a_list_of_phones(self, values: list[str]) -> None:
        cell = LIST_SEPARATOR.join(values)
        assert defuse(cell) == cell

    @pytest.mark.parametrize(
        "value", ["+966501234567", "-12.5", "+1 (555) 123-4567", "+20 10 1234 5678", "0501234567"]
    )
    def test_the_examples(self, value: str) -> None:
        assert defuse(value) == value

    @given(st.text().filter(lambda v: not v or v[0] not in FORMULA_TRIGGERS))
    def test_text_without_a_trigger_is_unchanged(self, value: str) -> None:
        assert defuse(value) == value


def test_lists_are_joined_by_semicolons() -> None:
    assert LIST_SEPARATOR == "; "  # the import splits on ";"


class TestTheDatabasesPreFilter:
    """The CSV cursor flags the rows where a text cell starts with a trigger (only those are
    defused): it must flag every row `defuse` would change."""

    async def test_it_flags_every_cell_defuse_changes(self, owner: asyncpg.Connection) -> None:
        values = [
            *(t + rest for t in sorted(FORMULA_TRIGGERS) for rest in ("", "x", "1", "=1", " ")),
            "", "a", "١٢", "مطعم", "'=x", " =x", "a=b", "+966501234567", "-12.5", "\n=1",
            "\x1f=1", "@", "\u200f=1", "\ufeff+x", "\u00a0@x", "\uff1dSUM(A1)", " -12.5",
        ]  # fmt: skip
        rows = [[a, b] for a in values for b in values[::7]]
        flags = await owner.fetch(
            "SELECT concat_ws($1::text, a, b) ~ $2::text AS flagged"
            " FROM unnest($3::text[], $4::text[]) AS r(a, b)",
            SEPARATOR,
            SUSPECT_PATTERN,
            [a for a, _ in rows],
            [b for _, b in rows],
        )
        for (a, b), flag in zip(rows, flags, strict=True):
            if defuse(a) != a or defuse(b) != b:
                assert flag["flagged"], (a, b)
            heads = (v.lstrip(LEADING_BLANKS)[:1] for v in (a, b))
            if not any(h and h in FORMULA_TRIGGERS for h in heads) and SEPARATOR not in a + b:
                assert not flag["flagged"], (a, b)


@pytest.mark.parametrize(
    "value",
    [
        " =1+1",
        "\n=cmd|' /C calc'!A0",
        "\u200f=1+1",
        "\ufeff@SUM(A1)",
        "\u00a0+x",
        "\uff1d1+1",
        "\uff20x",
    ],
)
def test_a_trigger_behind_blanks_invisible_marks_or_full_width_is_defused(value: str) -> None:
    """An importer that trims cells (LibreOffice's "Trim spaces") would run these; Arabic text
    carries direction marks a reader cannot see."""
    assert defuse(value) == "'" + value


@pytest.mark.parametrize("value", [" +966501234567", "\u200f-12.5"])
def test_a_number_behind_blanks_stays_a_number(value: str) -> None:
    assert defuse(value) == value
