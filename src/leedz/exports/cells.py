"""What goes into one cell of an exported sheet: formula injection defused; how lists join.

A spreadsheet (Excel, LibreOffice, Google Sheets) treats a cell that starts with `=`, `+`, `-`
or `@` as a formula, and a leading tab or carriage return does not stop it (OWASP "CSV
Injection"). A lead's text comes from people and from the web, so every text cell of an export
goes through `defuse`: such a value gets a leading `'` (no spreadsheet runs that as a formula)
— except a value that is only a number or a phone number, or a list of them (a lead's phones),
which a spreadsheet could at most read as arithmetic of numbers, never a function or a
reference: `+966501234567`, `-12.5`, `+1 (555) 123-4567`, `+966501234567; +966551234567`
stay as they are.
"""

from __future__ import annotations

import re

FORMULA_TRIGGERS = frozenset("=+-@\t\r\uff1d\uff0b\uff0d\uff20")
"""The first characters that make a spreadsheet read a cell as a formula: OWASP's, and their
full-width forms (an input method's, which some spreadsheets fold to the ASCII ones)."""

LEADING_BLANKS = " \n\u00a0\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2060\ufeff"
"""What may come before a trigger and still let it through: spaces and line breaks (an importer
that trims cells, as LibreOffice's "Trim spaces" does), and invisible marks (direction marks,
zero-width characters, a BOM) that Arabic text carries and a reader cannot see."""

# A number or a phone: an optional sign, then digits, spaces, `-`, `.` and brackets only, with
# at least one digit (`-` alone, `+()` and the like are no numbers: defused); or several, as a
# multi-valued field holds them (`+966501234567; +966551234567`).
_ONE = r"[+-]?[0-9 ().-]*[0-9][0-9 ().-]*"
_NUMBER_OR_PHONE = re.compile(rf"{_ONE}(?:; ?{_ONE})*")

LIST_SEPARATOR = "; "
"""Between the values of a multi-valued field (phones, e-mails, tags): the import splits on `;`."""


def defuse(value: str) -> str:
    """`value` as a cell that no spreadsheet runs as a formula: a leading `'` when it starts
    with `=`, `+`, `-`, `@`, tab or CR (or a full-width form; after blanks or invisible marks
    too) and is not only a number or a phone; else unchanged."""
    head = value.lstrip(LEADING_BLANKS)
    if head and head[0] in FORMULA_TRIGGERS and not _NUMBER_OR_PHONE.fullmatch(head):
        return "'" + value
    return value
