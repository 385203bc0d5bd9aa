"""The two file formats of an export, written row by row to a file on disk (memory stays flat).

CSV: UTF-8 with a byte-order mark (Excel reads a CSV without one in the machine's code page:
Arabic would turn to question marks), `\\r\\n` line ends, cells quoted as Python's `csv`
does it when they hold a comma, a quote or a line break. XLSX: XlsxWriter in constant-memory
mode (each row goes to disk once the next begins), no string ever turned into a formula, a
number or a link, every text cell written as a string (phones stay text: `+966…` is no
number to Excel), the sheet right to left for an Arabic tenant. Text cells of both are
defused (cells.defuse).
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import xlsxwriter  # type: ignore[import-untyped]
from xlsxwriter.utility import xl_col_to_name  # type: ignore[import-untyped]

from leedz.errors import ValidationFailed
from leedz.exports.cells import defuse
from leedz.exports.columns import CellKind

XLSX_MAX_ROWS = 1_048_576
"""Rows in an Excel sheet, the header's included."""


class ExportTooLarge(ValidationFailed):
    code, title = "export_too_large", "Too many leads for an Excel sheet"


class CsvSheet:
    """Cells come as text (the SQL casts them); only the text columns need defusing, in the
    rows the SQL flags."""

    content_type = "text/csv; charset=utf-8"
    extension = "csv"

    def __init__(self, path: Path, kinds: Sequence[CellKind]) -> None:
        self._file = path.open("w", encoding="utf-8-sig", newline="")
        self._csv = csv.writer(self._file, lineterminator="\r\n")
        self._text = tuple(i for i, kind in enumerate(kinds) if kind is CellKind.TEXT)

    def header(self, labels: Sequence[str]) -> None:
        self._csv.writerow([defuse(label) for label in labels])

    def write(self, rows: Sequence[Any]) -> None:
        """Rows of text cells after a first one telling whether any of them may start with a
        formula trigger (repository.rows_sql): only those rows are defused cell by cell."""
        text, out = self._text, self._csv
        clean: list[Any] = []
        for row in rows:
            if row[0]:
                cells = list(row[1:])
                for i in text:
                    if cells[i]:
                        cells[i] = defuse(cells[i])
                clean.append(cells)
            else:
                clean.append(row[1:])
        out.writerows(clean)

    def close(self) -> None:
        self._file.close()


class XlsxSheet:
    """Numbers, booleans and times come typed (the SQL keeps their type), text as text.

    The header goes through XlsxWriter's `write_string`; the leads' rows are written as the
    sheet's XML by `_RowXml`, which writes what XlsxWriter's constant-memory mode writes for
    the same cells (tests/exports/test_xlsx_rows.py compares the two byte for byte) at a
    fraction of its cost per cell, and escapes every string (XlsxWriter writes one that starts
    with `<r>` and ends with `</r>` unescaped, as a rich string: a lead named so would make
    the file unreadable)."""

    content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    extension = "xlsx"

    def __init__(self, path: Path, kinds: Sequence[CellKind], *, right_to_left: bool) -> None:
        self._book = xlsxwriter.Workbook(str(path), WORKBOOK_OPTIONS)
        self._sheet = self._book.add_worksheet()
        if right_to_left:
            self._sheet.right_to_left()
        self._bold = self._book.add_format({"bold": True})
        self._moment = self._book.add_format({"num_format": DATE_TIME_FORMAT})
        self._kinds = tuple(kinds)
        self._rows: _RowXml | None = None
        self._row = 0

    def header(self, labels: Sequence[str]) -> None:
        for col, label in enumerate(labels):
            self._sheet.write_string(0, col, defuse(label), self._bold)
        self._sheet.freeze_panes(1, 0)
        self._row = 1

    def write(self, rows: Sequence[Any]) -> None:
        r = self._row
        if r + len(rows) > XLSX_MAX_ROWS:  # XlsxWriter would drop them without a word
            raise ExportTooLarge(f"More than {XLSX_MAX_ROWS - 1:,} leads: export them as CSV")
        if not rows:
            return
        sheet = self._sheet
        # The row XlsxWriter holds (the header) goes to its file first, as it writes it.
        sheet._write_single_row(r)
        if self._rows is None:
            self._rows = _RowXml(self._kinds, self._moment)
        xml, last, first_col, last_col = self._rows.rows(rows, r)
        sheet.fh.writelines(xml)
        if last >= r:  # the sheet's dimensions, as XlsxWriter's own writes keep them
            if sheet.dim_rowmin is None:
                sheet.dim_rowmin = r
            sheet.dim_rowmax = last
            if sheet.dim_colmin is None or first_col < sheet.dim_colmin:
                sheet.dim_colmin = first_col
            if sheet.dim_colmax is None or last_col > sheet.dim_colmax:
                sheet.dim_colmax = last_col
        sheet.previous_row = r + len(rows) - 1
        self._row = r + len(rows)

    def close(self) -> None:
        self._book.close()


WORKBOOK_OPTIONS = {
    "constant_memory": True,
    "strings_to_formulas": False,
    "strings_to_numbers": False,
    "strings_to_urls": False,
}
DATE_TIME_FORMAT = "yyyy-mm-dd hh:mm:ss"

_STRING_MAX = 32_767
"""UTF-16 units in a cell (XlsxWriter truncates a longer string, and so does this)."""
_EXCEL_EPOCH = datetime(1899, 12, 31, tzinfo=UTC).replace(tzinfo=None)
"""Excel's day 0 (naive: the cells hold wall-clock times)."""
_SPECIAL = re.compile("[\x00-\x08\x0b-\x1f_&<>\ufffe\uffff]")
"""What XlsxWriter's escaping may change in a string (XML's `&<>`, control characters as
`_xHHHH_`, a literal `_xHHHH_` as `_x005F_xHHHH_`, two non-characters)."""
_ESCAPED = re.compile("_x[0-9a-fA-F]{4}_")
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f]")


def _inline_string(value: str) -> str:
    """The <is> of a string cell, as XlsxWriter's constant-memory mode writes it (but never
    raw: always escaped)."""
    if len(value) > _STRING_MAX // 2 and _utf16_len(value) > _STRING_MAX:
        value = _utf16_truncate(value, _STRING_MAX)
    if _SPECIAL.search(value):
        value = _ESCAPED.sub(r"_x005F\g<0>", value)
        value = _CONTROL.sub(lambda m: f"_x{ord(m.group()):04X}_", value)
        value = value.replace("\ufffe", "_xFFFE_").replace("\uffff", "_xFFFF_")
        preserve = value[:1].isspace() or value[-1:].isspace()
        value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    else:
        preserve = value[:1].isspace() or value[-1:].isspace()
    if preserve:
        return f'<is><t xml:space="preserve">{value}</t></is>'
    return f"<is><t>{value}</t></is>"


def _utf16_len(value: str) -> int:
    return len(value.encode("utf-16-le", "surrogatepass")) // 2


def _utf16_truncate(value: str, units: int) -> str:
    """The longest head of `value` within `units` UTF-16 units, no character split."""
    length = 0
    for index, char in enumerate(value):
        length += 2 if ord(char) > 0xFFFF else 1
        if length > units:
            return value[:index]
    return value


def _finite(value: Any) -> Any:
    if not math.isfinite(value):  # as XlsxWriter's write_number refuses it
        raise TypeError("NAN/INF not supported in write_number()")
    return value


def _excel_time(value: datetime) -> float:
    """`value` (naive) as Excel's serial day number, as XlsxWriter computes it."""
    if value.tzinfo is not None:  # as XlsxWriter refuses it
        raise TypeError("Excel doesn't support timezones in datetimes.")
    delta = value - _EXCEL_EPOCH
    days = delta.days + (float(delta.seconds) + float(delta.microseconds) / 1e6) / 86_400
    if value.date() == date(1900, 1, 1):
        days -= 1
    if days > 59:  # Excel's 1900 that was a leap year
        days += 1
    return days


class _RowXml:
    """Rows of a sheet as the XML that XlsxWriter's constant-memory mode writes for them (no
    row format, default height), each cell typed by its column's kind; None and "" are no
    cell. Text cells are defused."""

    def __init__(self, kinds: Sequence[CellKind], time_format: Any) -> None:
        self._kinds = tuple(kinds)
        self._letters = tuple(xl_col_to_name(c) for c in range(len(kinds)))
        self._time_format = time_format
        """XlsxWriter's Format of the times: its index is given when a first time is written,
        as XlsxWriter does it (a file without times declares no such format)."""

    def rows(self, rows: Sequence[Any], first: int) -> tuple[list[str], int, int, int]:
        """The XML of `rows` from sheet row `first` (0-based), a string per row that holds a
        cell; the last such row (`first - 1` if none), and the first and last columns of a
        cell."""
        text, number, boolean = CellKind.TEXT, CellKind.NUMBER, CellKind.BOOLEAN
        columns = tuple(enumerate(zip(self._kinds, self._letters, strict=True)))
        time_format: int | None = None
        out: list[str] = []
        last, first_col, last_col = first - 1, len(columns), -1
        for r, row in enumerate(rows, start=first + 1):  # XML's rows count from 1
            n = str(r)
            cells = []
            for c, (kind, letter) in columns:
                value = row[c]
                if value is None or value == "":
                    continue
                if kind is text:
                    cells.append(
                        f'<c r="{letter}{n}" t="inlineStr">{_inline_string(defuse(value))}</c>'
                    )
                elif kind is number:
                    cells.append(f'<c r="{letter}{n}"><v>{_finite(value):.16G}</v></c>')
                elif kind is boolean:
                    cells.append(f'<c r="{letter}{n}" t="b"><v>{1 if value else 0}</v></c>')
                else:
                    if time_format is None:
                        time_format = self._time_format._get_xf_index()
                    cells.append(
                        f'<c r="{letter}{n}" s="{time_format}"><v>{_excel_time(value):.16G}</v></c>'
                    )
                first_col = min(first_col, c)
                last_col = max(last_col, c)
            if cells:
                out.append(f'<row r="{n}">{"".join(cells)}</row>')
                last = r - 1
        return out, last, first_col, last_col


def open_sheet(
    fmt: str, path: Path, kinds: Sequence[CellKind], *, right_to_left: bool
) -> CsvSheet | XlsxSheet:
    """A writer of `fmt` (CSV or XLSX) into `path`."""
    if fmt == "XLSX":
        return XlsxSheet(path, kinds, right_to_left=right_to_left)
    return CsvSheet(path, kinds)
