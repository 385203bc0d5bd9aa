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
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import xlsxwriter  # type: ignore[import-untyped]

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


Put = Callable[[Any, int, int, Any], object]  # (worksheet, row, column, value)


class XlsxSheet:
    """Numbers, booleans and times come typed (the SQL keeps their type), text as text."""

    content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    extension = "xlsx"

    def __init__(self, path: Path, kinds: Sequence[CellKind], *, right_to_left: bool) -> None:
        self._book = xlsxwriter.Workbook(
            str(path),
            {
                "constant_memory": True,
                "strings_to_formulas": False,
                "strings_to_numbers": False,
                "strings_to_urls": False,
            },
        )
        self._sheet = self._book.add_worksheet()
        if right_to_left:
            self._sheet.right_to_left()
        self._bold = self._book.add_format({"bold": True})
        moment = self._book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
        self._puts = [self._put(kind, moment) for kind in kinds]
        self._row = 0

    @staticmethod
    def _put(kind: CellKind, moment: Any) -> Put:
        if kind is CellKind.NUMBER:
            return lambda sheet, r, c, v: sheet.write_number(r, c, v)
        if kind is CellKind.BOOLEAN:
            return lambda sheet, r, c, v: sheet.write_boolean(r, c, v)
        if kind is CellKind.DATE_TIME:
            return lambda sheet, r, c, v: sheet.write_datetime(r, c, v, moment)
        return lambda sheet, r, c, v: sheet.write_string(r, c, defuse(v))

    def header(self, labels: Sequence[str]) -> None:
        for col, label in enumerate(labels):
            self._sheet.write_string(0, col, defuse(label), self._bold)
        self._sheet.freeze_panes(1, 0)
        self._row = 1

    def write(self, rows: Sequence[Any]) -> None:
        sheet, puts, r = self._sheet, self._puts, self._row
        if r + len(rows) > XLSX_MAX_ROWS:  # XlsxWriter would drop them without a word
            raise ExportTooLarge(f"More than {XLSX_MAX_ROWS - 1:,} leads: export them as CSV")
        for row in rows:
            for c, value in enumerate(row):
                if value is not None:
                    puts[c](sheet, r, c, value)
            r += 1
        self._row = r

    def close(self) -> None:
        self._book.close()


def open_sheet(
    fmt: str, path: Path, kinds: Sequence[CellKind], *, right_to_left: bool
) -> CsvSheet | XlsxSheet:
    """A writer of `fmt` (CSV or XLSX) into `path`."""
    if fmt == "XLSX":
        return XlsxSheet(path, kinds, right_to_left=right_to_left)
    return CsvSheet(path, kinds)
