"""Reading an uploaded spreadsheet: what it is (`detect`) and its data rows (`rows`). Pure: files
on disk in, strings out, no database.

CSV (and its `.txt`/`.tsv` kin) and XLSX, told apart by their bytes, never by the name alone.
Every rule — formats, encodings, delimiters, what a row and its number are, the limits — is
written down in docs/imports.md. A file that cannot be read raises a `FileUnreadable` subclass
with a stable code; nothing is read whole into memory (a CSV streams; an XLSX is checked for a
decompression bomb before python-calamine opens it).

Blocking: call `detect` and iterate `rows` from a thread (`anyio.to_thread.run_sync`) when on
the event loop; `detect` reads the whole file once to validate it and count its rows.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import datetime as dt
import enum
import functools
import math
import re
import unicodedata
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import charset_normalizer
import python_calamine

from leedz.errors import ValidationFailed
from leedz.imports import mapping

# ---------------------------------------------------------------------------------------------
# Errors


class FileUnreadable(ValidationFailed):
    """Base of every refusal of a file's content (422)."""

    code, title = "file_unreadable", "The file cannot be read"


class FileFormatUnsupported(FileUnreadable):
    code, title = "file_format_unsupported", "Not a CSV or XLSX file"


class FileCorrupt(FileUnreadable):
    code, title = "file_corrupt", "The file is damaged"


class FileTooComplex(FileUnreadable):
    code, title = "file_too_complex", "The file is too complex to read"


class XlsxBomb(FileTooComplex):
    """An archive that would expand far beyond what a spreadsheet needs (a decompression bomb)."""

    code, title = "xlsx_bomb", "The XLSX file expands too much"


class FileEncodingUnknown(FileUnreadable):
    code, title = "file_encoding_unknown", "The file's text encoding cannot be recognized"


class FileEmpty(FileUnreadable):
    code, title = "file_empty", "The file holds no header row"


class SheetNotFound(FileUnreadable):
    code, title = "sheet_not_found", "The workbook has no such sheet"


# ---------------------------------------------------------------------------------------------
# Limits, as docs/imports.md states them

MAX_COLUMNS = 1_000
"""Columns in the header row; a wider file is refused (`file_too_complex`)."""
MAX_CELL_CHARS = 131_072
"""Characters in one CSV cell (Python's csv default): a longer one is an unclosed quote."""
MAX_LINE_CHARS = 1 << 20
"""Characters in one line of a CSV (a record may span several, in quoted cells)."""
MAX_HEADER_CHARS = 200
"""A column's name is cut to this many characters (the import mapping's limit)."""
SAMPLE_ROWS = 5
"""Data rows shown by `detect`."""
ENCODING_SAMPLE_BYTES = 1 << 20
"""Bytes read to guess an encoding and sniff a delimiter."""
XLSX_MAX_MEMBERS = 10_000
XLSX_MAX_TOTAL_BYTES = 500 << 20
"""Declared uncompressed size of all the archive's members together."""
XLSX_MAX_RATIO = 100
"""Uncompressed : compressed, per member larger than XLSX_RATIO_FLOOR_BYTES."""
XLSX_RATIO_FLOOR_BYTES = 1 << 20
XLSX_MAX_CELLS = 20_000_000
"""Cells in a worksheet's rectangle (python-calamine holds 32 bytes for each, filled or not)."""
_CHUNK = 1 << 20


class FileFormat(enum.StrEnum):
    CSV = "CSV"
    XLSX = "XLSX"


@dataclass(frozen=True, slots=True)
class ReadOptions:
    """How to read a file again: what `detect` found, or what the job input stored."""

    format: FileFormat
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    columns: int | None = None
    """Cells per row: `len(Detected.header)`; None, the header row's own width."""


@dataclass(frozen=True, slots=True)
class Detected:
    """What `detect` found. `header` holds the column names as the mapping names them (blank
    ones become `Column C`, repeated ones `Phone (2)`); every data row has `len(header)` cells."""

    format: FileFormat
    encoding: str | None
    delimiter: str | None
    header: tuple[str, ...]
    sample_rows: tuple[tuple[str, ...], ...]
    row_estimate: int
    suggested_mapping: dict[str, str] = field(hash=False)
    sheets: tuple[str, ...] = ()
    sheet: str | None = None

    @property
    def options(self) -> ReadOptions:
        return ReadOptions(self.format, self.encoding, self.delimiter, self.sheet, len(self.header))

    def as_json(self) -> dict[str, Any]:
        """The API's `detected` object (camelCase)."""
        return {
            "format": self.format.value,
            "encoding": self.encoding,
            "delimiter": self.delimiter,
            "header": list(self.header),
            "sampleRows": [list(row) for row in self.sample_rows],
            "rowEstimate": self.row_estimate,
            "suggestedMapping": dict(self.suggested_mapping),
            "sheets": list(self.sheets),
            "sheet": self.sheet,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Detected:
        """The inverse of `as_json` (a stored file's `detected`)."""
        return cls(
            format=FileFormat(data["format"]),
            encoding=data.get("encoding"),
            delimiter=data.get("delimiter"),
            header=tuple(data["header"]),
            sample_rows=tuple(tuple(row) for row in data.get("sampleRows", ())),
            row_estimate=int(data.get("rowEstimate", 0)),
            suggested_mapping=dict(data.get("suggestedMapping", {})),
            sheets=tuple(data.get("sheets", ())),
            sheet=data.get("sheet"),
        )


# ---------------------------------------------------------------------------------------------
# Public functions


def detect(path: Path, *, name: str, sheet: str | None = None) -> Detected:
    """What the file is: format, encoding, delimiter, header, a few sample rows, the number of
    data rows and a suggested mapping. Reads the whole file once (streaming) so that a file it
    accepts reads to the end; raises a `FileUnreadable` subclass otherwise. `name` (the
    uploaded file's name) only breaks ties: a `.tsv` prefers a tab."""
    file_format = sniff_format(path)
    if file_format is FileFormat.XLSX:
        return _detect_xlsx(path, sheet=sheet)
    return _detect_csv(path, name=name)


def rows(
    path: Path, how: Detected | ReadOptions, *, sheet: str | None = None
) -> Iterator[list[str]]:
    """The data rows (header excluded), each as `len(header)` strings; see `numbered_rows`."""
    for _, cells in _fitted_rows(path, how, sheet=sheet):
        yield cells


def numbered_rows(
    path: Path, how: Detected | ReadOptions, *, sheet: str | None = None, after: int = 0
) -> Iterator[tuple[int, list[str]]]:
    """The data rows with their numbers as a spreadsheet shows them: the header is the first
    non-empty record (row 1 when nothing precedes it), a cell's quoted line breaks do not add
    rows, an empty row keeps its number (and is yielded, all cells empty) unless only empty
    rows follow it. Rows are padded with "" or cut to `len(Detected.header)`. Rows numbered
    `after` or less are skipped (a resumed job). Streams: memory stays flat for a CSV. For a
    sheet other than the detected one, `detect(path, name=…, sheet=…)` gives its header."""
    found = _fitted_rows(path, how, sheet=sheet)
    if not after:
        yield from found
        return
    for number, cells in found:
        if number > after:
            yield number, cells


def _fitted_rows(path: Path, how: Detected | ReadOptions, *, sheet: str | None) -> Iterator[Record]:
    options = how.options if isinstance(how, Detected) else how
    if options.format is FileFormat.XLSX:
        records = _xlsx_records(path, sheet=sheet or options.sheet)
    else:
        if options.encoding is None or options.delimiter is None:
            raise ValueError("a CSV is read with an encoding and a delimiter")
        records = _csv_records(path, encoding=options.encoding, delimiter=options.delimiter)
    _, header = _header(records)
    other_sheet = sheet is not None and sheet != options.sheet
    width = options.columns if options.columns is not None and not other_sheet else len(header)
    return _data_rows(records, width=width)


# ---------------------------------------------------------------------------------------------
# Format, told by the bytes

# Known binary formats, refused by name (the message names what the file is).
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"%PDF-", "a PDF document"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Excel (.xls) or password-protected workbook"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"\xfd7zXZ\x00", "an xz archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"\x28\xb5\x2f\xfd", "a zstd archive"),
    (b"\x7fELF", "a program"),
    (b"SQLite format 3\x00", "an SQLite database"),
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
    (b"{\\rtf", "an RTF document"),
)
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
_MARKUP = re.compile(rb"^\s*<(?:\?xml|!doctype|html)", re.IGNORECASE)
_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16 LE, whose BOM it starts with
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def sniff_format(path: Path) -> FileFormat:
    """CSV or XLSX, by the file's first bytes; a known binary format, a ZIP that is not an
    XLSX workbook, or markup raises `FileFormatUnsupported`, an empty file `FileEmpty`."""
    with path.open("rb") as file:
        head = file.read(64)
    if not head:
        raise FileEmpty("the file is empty")
    if head.startswith(_ZIP_MAGICS):
        return FileFormat.XLSX
    for magic, what in _MAGIC:
        if head.startswith(magic):
            raise FileFormatUnsupported(f"this is {what}, not a CSV or XLSX file")
    text_head = head
    for bom, _ in _BOMS:
        if head.startswith(bom):
            text_head = head[len(bom) :]
            break
    if _MARKUP.match(text_head.replace(b"\x00", b"")):
        raise FileFormatUnsupported("this is an XML or HTML document, not a CSV or XLSX file")
    return FileFormat.CSV


# ---------------------------------------------------------------------------------------------
# CSV encoding

_ARABIC_LETTER = re.compile("[\u0621-\u064a\u0671-\u06d3]")


def _bom_encoding(head: bytes) -> str | None:
    return next((name for bom, name in _BOMS if head.startswith(bom)), None)


def _utf16_without_bom(sample: bytes) -> str | None:
    """UTF-16 text without a BOM: ASCII characters leave a NUL in every other byte."""
    probe = sample[:4096]
    pairs = len(probe) // 2
    if pairs < 8:
        return None
    even = probe[0 : pairs * 2 : 2].count(0)
    odd = probe[1 : pairs * 2 : 2].count(0)
    if odd > pairs * 0.3 and even < pairs * 0.05:
        return "utf-16-le"
    if even > pairs * 0.3 and odd < pairs * 0.05:
        return "utf-16-be"
    return None


# C0 control bytes other than tab, line feed, form feed and carriage return: text has next to
# none (in every encoding asked here but UTF-16/32, which are told apart first).
_CONTROL_BYTES = bytes([*range(0x01, 0x09), 0x0B, *range(0x0E, 0x20), 0x7F])


def _control_share(sample: bytes) -> float:
    if not sample:
        return 0.0
    return (len(sample) - len(sample.translate(None, _CONTROL_BYTES))) / len(sample)


def _valid_utf8_prefix(sample: bytes) -> bool:
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        decoder.decode(sample, final=False)  # a sequence cut by the sample's end is fine
    except UnicodeDecodeError:
        return False
    return True


_WORD = re.compile(r"[^\W\d_]+")


def _looks_arabic(sample: bytes) -> bool:
    """Windows-1256 reading: the words with Arabic letters are Arabic through and through.
    Latin text in a Windows-1252 code page read as 1256 turns some accented letters into
    Arabic ones inside Latin words (`João` → `Joمo`): a mixed word is the tell."""
    text = sample.decode("cp1256", errors="replace")
    arabic = mixed = 0
    for word in _WORD.findall(text):
        letters = sum(1 for ch in word if _ARABIC_LETTER.match(ch))
        if not letters:
            continue
        if letters == len(word):
            arabic += 1
        else:
            mixed += 1
    return arabic > 0 and mixed <= 0.05 * (arabic + mixed)


def _guess_encoding(sample: bytes, *, utf8: bool = True) -> str:
    """The encoding of text without a BOM (docs/imports.md, Encodings)."""
    utf16 = _utf16_without_bom(sample)
    if utf16 is not None:
        return utf16
    if b"\x00" in sample or _control_share(sample) > 0.01:
        raise FileFormatUnsupported("the file holds binary data, not text")
    if utf8 and _valid_utf8_prefix(sample):
        return "utf-8"
    # Excel on Arabic Windows saves "CSV" as Windows-1256; charset-normalizer alone may call a
    # short Arabic sample Windows-1252, -1250 or Mac-Arabic: Arabic letters decide first.
    if _looks_arabic(sample):
        return "cp1256"
    matches = list(charset_normalizer.from_bytes(sample))
    if not matches:
        raise FileEncodingUnknown(
            "the text encoding cannot be recognized: save the file as CSV UTF-8"
        )
    # On a tie, Windows-1252 (Excel's "CSV" on French and English Windows, met in the Maghreb
    # and the Levant) before the other code pages that read the sample as well.
    best = matches[0]
    tied = [m for m in matches if (m.chaos, m.coherence) == (best.chaos, best.coherence)]
    chosen = next((m for m in tied if m.encoding == "cp1252"), best)
    return codecs.lookup(chosen.encoding).name


def _first_decode_error(path: Path, encoding: str) -> int | None:
    """The byte offset of the first byte that `encoding` cannot decode, or None; a NUL
    character (binary data: PostgreSQL stores no NUL) raises `FileFormatUnsupported`."""
    decoder = codecs.getincrementaldecoder(encoding)()
    offset = 0
    with path.open("rb") as file:
        while chunk := file.read(_CHUNK):
            try:
                text = decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                return offset + exc.start
            if "\x00" in text:
                raise FileFormatUnsupported("the file holds binary data, not text")
            offset += len(chunk)
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return offset
    return None


def _read_range(path: Path, start: int, size: int) -> bytes:
    with path.open("rb") as file:
        file.seek(max(start, 0))
        return file.read(size)


def _detect_encoding(path: Path) -> str:
    """A BOM, else a guess from the first MiB, checked against the whole file; when UTF-8
    fails further on, a second guess from the bytes around the failure."""
    sample = _read_range(path, 0, ENCODING_SAMPLE_BYTES)
    bom = _bom_encoding(sample)
    encoding = bom or _guess_encoding(sample)
    bad = _first_decode_error(path, encoding)
    if bad is not None and bom is None and encoding == "utf-8":
        around = _read_range(path, bad - 32_768, 65_536)
        encoding = _guess_encoding(sample[:65_536] + b"\n" + around, utf8=False)
        bad = _first_decode_error(path, encoding)
    if bad is not None:
        raise FileEncodingUnknown(
            f"the bytes at offset {bad} are not {encoding} text: save the file as CSV UTF-8",
            offset=bad,
        )
    return encoding


def _open_text(path: Path, encoding: str) -> Any:
    """The file as text, without its BOM, with the newlines left to the csv module."""
    file = path.open(encoding=encoding, newline="", errors="strict")
    if file.read(1) != "\ufeff":
        file.seek(0)
    return file


# ---------------------------------------------------------------------------------------------
# CSV delimiter

DELIMITERS = (",", ";", "\t", "|")
_SNIFF_LINES = 50
_EXCEL_SEP = re.compile(r"^sep=(.)\r?\n?$")


def _excel_sep(first_line: str) -> str | None:
    """Excel's `sep=;` first line names the delimiter (and is not a row)."""
    found = _EXCEL_SEP.match(first_line)
    return found.group(1) if found and found.group(1) in DELIMITERS else None


def _widths(sample: str, delimiter: str) -> list[int]:
    reader = csv.reader(sample.splitlines(keepends=True), delimiter=delimiter, strict=False)
    try:
        return [len(record) for record in reader if record]
    except csv.Error:
        return []


def _consistency(sample: str, delimiter: str) -> tuple[bool, float, int]:
    """How well `delimiter` splits the sample: more than one column, the share of records as
    wide as the first one, that width (quotes respected, the last line maybe cut)."""
    widths = _widths(sample, delimiter)[:-1] or _widths(sample, delimiter)
    if not widths:
        return (False, 0.0, 0)
    first = widths[0]
    return (first > 1, sum(1 for w in widths if w == first) / len(widths), first)


def _sniff_delimiter(sample: str, *, name: str) -> str:
    """csv.Sniffer restricted to , ; tab |, kept when its answer splits the sample as
    consistently as the best of the four counted outside quotes; else that best."""
    lines = sample.splitlines(keepends=True)[:_SNIFF_LINES]
    sample = "".join(lines)
    scores = {d: _consistency(sample, d) for d in DELIMITERS}
    preferred = "\t" if name.lower().endswith((".tsv", ".tab")) else ","
    best = max(DELIMITERS, key=lambda d: (scores[d], d == preferred))
    try:
        sniffed = csv.Sniffer().sniff(sample, delimiters="".join(DELIMITERS)).delimiter
    except csv.Error:
        sniffed = None
    if sniffed in scores and scores[sniffed] >= scores[best]:
        return sniffed
    return best if scores[best][0] else preferred


# ---------------------------------------------------------------------------------------------
# CSV records

Record = tuple[int, list[str]]


_SEP_LINE_CHARS = 16


def _bounded_lines(file: Any) -> Iterator[str]:
    """The file's lines, each at most MAX_LINE_CHARS long: csv.reader holds a whole record, so
    a 50 MB line of commas would be a list of 50 million cells."""
    readline = file.readline
    while line := readline(MAX_LINE_CHARS):
        if len(line) == MAX_LINE_CHARS and line[-1] not in "\r\n":
            raise FileTooComplex(f"a line is longer than {MAX_LINE_CHARS} characters")
        yield line


def _csv_records(path: Path, *, encoding: str, delimiter: str) -> Iterator[Record]:
    """Every record with its number (blank lines included: a spreadsheet shows them)."""
    with _open_text(path, encoding) as file:
        first = file.readline(_SEP_LINE_CHARS)
        number = 0
        if _excel_sep(first) is None:
            file.seek(0)
            if file.read(1) != "\ufeff":
                file.seek(0)
        lines = _bounded_lines(file)
        reader = csv.reader(lines, delimiter=delimiter, quotechar='"', doublequote=True)
        try:
            for number, record in enumerate(reader, start=1):
                yield number, record
        except csv.Error as exc:
            raise FileCorrupt(
                f"row {number + 1} cannot be read ({exc}): a quote that never closes?",
                row=number + 1,
            ) from exc
        except UnicodeDecodeError as exc:
            raise FileCorrupt(f"row {number + 1} is not {encoding} text", row=number + 1) from exc


def _detect_csv(path: Path, *, name: str) -> Detected:
    encoding = _detect_encoding(path)
    with _open_text(path, encoding) as file:
        sample = file.read(ENCODING_SAMPLE_BYTES // 4)
    first_line = sample.splitlines(keepends=True)[0] if sample else ""
    delimiter = _excel_sep(first_line) or _sniff_delimiter(
        sample[len(first_line) :] if _excel_sep(first_line) else sample, name=name
    )
    records = _csv_records(path, encoding=encoding, delimiter=delimiter)
    return _described(records, format=FileFormat.CSV, encoding=encoding, delimiter=delimiter)


# ---------------------------------------------------------------------------------------------
# Header, rows, description: both formats


def _blank(cells: list[str]) -> bool:
    text = "".join(cells)  # one C-level pass: a row is read per call
    return not text or text.isspace()


def _used_width(cells: list[str]) -> int:
    """Up to the last cell that is not blank."""
    for index in range(len(cells) - 1, -1, -1):
        cell = cells[index]
        if cell and not cell.isspace():
            return index + 1
    return 0


def _checked_width(width: int, number: int) -> int:
    if width > MAX_COLUMNS:
        raise FileTooComplex(
            f"row {number} fills {width} columns; at most {MAX_COLUMNS} are read", row=number
        )
    return width


def _header(records: Iterator[Record]) -> Record:
    """The first non-empty record, without its trailing blank cells; the records iterator
    continues after it."""
    for number, cells in records:
        width = _used_width(cells)
        if width:
            return number, cells[: _checked_width(width, number)]
    raise FileEmpty("the file holds no header row")


def _fit(cells: list[str], width: int) -> list[str]:
    if len(cells) < width:
        cells.extend([""] * (width - len(cells)))
    elif len(cells) > width:
        del cells[width:]
    return cells


def _data_rows(records: Iterable[Record], *, width: int | None) -> Iterator[Record]:
    """Records fitted to `width` (None: as they are); empty ones kept in place, trailing ones
    dropped."""
    pending: list[int] = []  # numbers of empty rows not yet known to be followed by data
    for number, cells in records:
        if _blank(cells):
            pending.append(number)
            continue
        for empty in pending:
            yield empty, [""] * (width or 0)
        pending.clear()
        yield number, cells if width is None or len(cells) == width else _fit(cells, width)


_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def column_letters(index: int) -> str:
    """A 0-based column index as a spreadsheet names it: 0 → A, 27 → AB."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def column_names(cells: list[str]) -> tuple[str, ...]:
    """Header cells as unique column names: trimmed, line breaks and control characters as
    one space, cut to MAX_HEADER_CHARS; a blank one `Column C` (its letter), a repeated one
    `Phone (2)`, `Phone (3)`."""
    names: list[str] = []
    seen: set[str] = set()
    for index, cell in enumerate(cells):
        base = " ".join(_CONTROL.sub(" ", unicodedata.normalize("NFC", cell)).split())
        base = base[:MAX_HEADER_CHARS] or f"Column {column_letters(index)}"
        candidate, copy = base, 1
        while candidate.casefold() in seen:
            copy += 1
            suffix = f" ({copy})"
            candidate = base[: MAX_HEADER_CHARS - len(suffix)] + suffix
        seen.add(candidate.casefold())
        names.append(candidate)
    return tuple(names)


def _described(
    records: Iterator[Record],
    *,
    format: FileFormat,  # noqa: A002 - the API's field name
    encoding: str | None = None,
    delimiter: str | None = None,
    sheets: tuple[str, ...] = (),
    sheet: str | None = None,
    last_row: int | None = None,
) -> Detected:
    """The header, samples and row count of `records`: all of them are read, unless the last
    row's number is known (`last_row`: a worksheet's used range), when the samples suffice."""
    header_number, header_cells = _header(records)
    # Columns past the header's last name count when some row fills them: their cells can
    # still be mapped (as `Column F`), never silently dropped.
    width = len(header_cells)
    samples: list[list[str]] = []
    count = 0
    for number, cells in _data_rows(records, width=None):
        count += 1
        if last_row is None:
            width = max(width, _checked_width(_used_width(cells), number))
        else:
            width = max(width, len(cells))  # a worksheet's rows are as wide as its range
        if len(samples) < SAMPLE_ROWS:
            samples.append(cells)
        elif last_row is not None:
            break
    header = column_names(_fit(header_cells, width))
    return Detected(
        format=format,
        encoding=encoding,
        delimiter=delimiter,
        header=header,
        sample_rows=tuple(tuple(_fit(cells, width)) for cells in samples),
        row_estimate=count if last_row is None else max(count, last_row - header_number),
        suggested_mapping=mapping.suggest(list(header)),
        sheets=sheets,
        sheet=sheet,
    )


# ---------------------------------------------------------------------------------------------
# XLSX

_SPREADSHEET_TYPES = (
    b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
    b"application/vnd.ms-excel.sheet.macroEnabled.main+xml",
    b"application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml",
)
_CONTENT_TYPES = "[Content_Types].xml"
_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError)
_CONTENT_TYPES_MAX_BYTES = 1 << 20


def _open_archive(path: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except _ZIP_ERRORS as exc:
        raise FileCorrupt("the XLSX file is damaged or cut short (not a complete ZIP)") from exc


def _check_declared_sizes(archive: zipfile.ZipFile) -> None:
    members = archive.infolist()
    if len(members) > XLSX_MAX_MEMBERS:
        raise XlsxBomb(f"the archive holds {len(members)} parts; at most {XLSX_MAX_MEMBERS}")
    total = sum(member.file_size for member in members)
    if total > XLSX_MAX_TOTAL_BYTES:
        raise XlsxBomb(
            f"the workbook expands to {total} bytes; at most {XLSX_MAX_TOTAL_BYTES} are read"
        )
    for member in members:
        if member.flag_bits & 0x1:
            raise FileFormatUnsupported("the workbook is encrypted")
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size > XLSX_RATIO_FLOOR_BYTES and ratio > XLSX_MAX_RATIO:
            raise XlsxBomb(
                f"a part of the workbook expands {ratio:.0f} times; at most {XLSX_MAX_RATIO}"
            )


def _check_workbook_type(archive: zipfile.ZipFile) -> None:
    try:
        info = archive.getinfo(_CONTENT_TYPES)
    except KeyError:
        raise FileFormatUnsupported("this ZIP archive is not an XLSX workbook") from None
    if info.file_size > _CONTENT_TYPES_MAX_BYTES:
        raise XlsxBomb("the workbook's content types are too large")
    declared = _read_member(archive, info, limit=_CONTENT_TYPES_MAX_BYTES)
    if not any(kind in declared for kind in _SPREADSHEET_TYPES):
        raise FileFormatUnsupported(
            "this is an Office or ZIP file other than an XLSX workbook (.xlsx)"
        )


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, *, limit: int) -> bytes:
    try:
        with archive.open(info) as member:
            return member.read(limit)
    except _ZIP_ERRORS as exc:
        raise FileCorrupt("the XLSX file is damaged") from exc


# What python-calamine accepts as a cell's place: `r="AB12"` on a <c> (any case, either quote,
# spaces or line breaks around `=`), a <row r="12"> for the cells without one, and a cell
# without any reference right after the one before it. The XML is scanned, never parsed:
# folded (upper case, one kind of quote and of space, `/` as `>` so `<c/>` reads `<c>>`), then
# searched for a reference past the farthest one seen so far, which in a well-formed sheet
# (rows in order) is found nowhere: each chunk costs a few byte searches, and only a chunk
# holding such a reference, or cells without one, is read in full.
_FOLD = bytes.maketrans(b"abcdefghijklmnopqrstuvwxyz'\t\n\r/", b'ABCDEFGHIJKLMNOPQRSTUVWXYZ"   >')
_REFERENCE = re.compile(rb' R *= *"([A-Z]*)0*([0-9]+)')
_UNREFERENCED_CELL = re.compile(rb"<(?:[A-Z_][\w.-]*:)?C(?:>| (?![^>]*?\bR *=)[^>]*>)")
_MAX_ROW_DIGITS = 9
_MAX_COLUMN_LETTERS = 3  # XFD, Excel's last column


def _greater(value: str, low: str, high: str, *, first: str) -> str:
    """A pattern for the strings of characters `low`..`high` greater than `value` when read as
    numbers in that base (`first` the smallest leading character: `1` for digits, `A` for
    Excel's column letters): a longer one, or one as long and greater at its first
    difference."""
    alternatives = [f"[{first}-{high}][{low}-{high}]{{{len(value)},}}"]
    for i, current in enumerate(value):
        if current < high:
            rest = len(value) - i - 1
            alternatives.append(
                f"{value[:i]}[{chr(ord(current) + 1)}-{high}][{low}-{high}]{{{rest}}}"
            )
    return "(?:" + "|".join(alternatives) + ")"


@functools.lru_cache(maxsize=64)  # one pattern a chunk whose farthest reference moved
def _beyond(last_row: int, last_column: str) -> re.Pattern[bytes]:
    """A reference past `last_row`, or past the column named `last_column`."""
    rows = _greater(str(last_row), "0", "9", first="1")
    columns = _greater(last_column, "A", "Z", first="A")
    return re.compile(f' R *= *"(?:[A-Z]*0*{rows}(?![0-9])|{columns}[0-9])'.encode())


@dataclass(slots=True)
class _CellExtent:
    """How far a worksheet's cells reach: python-calamine allocates every cell of the rectangle
    up to the farthest one (32 bytes each), so two cells, A1 and XFD1048576, in a 5 KB file
    would ask for 17 billion cells and abort the process."""

    last_row: int = 0
    last_column: str = ""  # letters
    unreferenced: int = 0  # <c> elements without a reference: each follows the one before
    rows: int = 0  # <row> elements

    def read(self, xml: bytes) -> None:
        xml = xml.translate(_FOLD)
        last = xml.rfind(b" R")
        while last >= 0 and not (found := _REFERENCE.match(xml, last)):
            last = xml.rfind(b" R", 0, last)
        if last >= 0 and found:
            self._reach(found.group(1), found.group(2))
        if _beyond(self.last_row, self.last_column).search(xml):
            for letters, digits in _REFERENCE.findall(xml):
                self._reach(letters, digits)
        self.rows += xml.count(b"<ROW")
        self.unreferenced += xml.count(b"<C>")  # no attribute at all (`<c>`, `<c/>`)
        prefixed = b":C" in xml
        if prefixed:
            self.rows += xml.count(b":ROW")
        if prefixed or xml.count(b"<C ") != xml.count(b'<C R="'):
            self.unreferenced += len(_UNREFERENCED_CELL.findall(xml)) - xml.count(b"<C>")

    def _reach(self, letters: bytes, digits: bytes) -> None:
        if len(digits) > _MAX_ROW_DIGITS or len(letters) > _MAX_COLUMN_LETTERS:
            self.last_row, self.last_column = 10**_MAX_ROW_DIGITS, "ZZZ"
            return
        self.last_row = max(self.last_row, int(digits))
        column = letters.decode()
        if (len(column), column) > (len(self.last_column), self.last_column):
            self.last_column = column

    def bound(self) -> int:
        """The most cells the rectangle can hold: exact when every cell has a reference; a
        cell without one may add a column, and a row without a number a row."""
        last_column = _column_number(self.last_column.encode())
        if self.unreferenced:
            return (self.last_row + self.rows) * (last_column + self.unreferenced)
        return self.last_row * last_column


def _column_number(letters: bytes) -> int:
    if len(letters) > 3:  # past XFD, Excel's last column
        return 10**9
    number = 0
    for letter in letters:
        number = number * 26 + letter - ord("A") + 1
    return number


def _scan_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
    """Decompress one member in chunks (its CRC checked; zipfile stops at the declared size,
    so a lying header fails the CRC) and, for XML, bound the cells it places."""
    extent = _CellExtent() if info.filename.endswith(".xml") else None
    carry = b""
    try:
        with archive.open(info) as member:
            while chunk := member.read(_CHUNK):
                if extent is None:
                    continue
                xml = carry + chunk
                cut = xml.rfind(b"<")  # a tag never holds a "<": keep the last one whole
                xml, carry = (xml[:cut], xml[cut:]) if cut > 0 else (xml, b"")
                extent.read(xml)
    except _ZIP_ERRORS as exc:
        raise FileCorrupt(f"the XLSX file is damaged ({info.filename})") from exc
    if extent is None:
        return
    extent.read(carry)
    if extent.bound() > XLSX_MAX_CELLS:
        raise XlsxBomb(
            f"a worksheet's cells span more than {XLSX_MAX_CELLS} cells ({info.filename})"
        )


def check_xlsx(path: Path) -> None:
    """Refuse what must not reach python-calamine: a damaged ZIP or member (`file_corrupt`),
    one that is not a workbook, or an encrypted one (`file_format_unsupported`), a
    decompression bomb by its declared sizes, or a worksheet whose cells span more than
    XLSX_MAX_CELLS (`xlsx_bomb`). Every member is decompressed once, in chunks it drops."""
    with _open_archive(path) as archive:
        _check_declared_sizes(archive)
        _check_workbook_type(archive)
        for info in archive.infolist():
            _scan_member(archive, info)


def _open_workbook(path: Path) -> python_calamine.CalamineWorkbook:
    try:
        return python_calamine.CalamineWorkbook.from_path(str(path))
    except python_calamine.PasswordError as exc:
        raise FileFormatUnsupported("the workbook is password-protected") from exc
    except (python_calamine.CalamineError, ValueError, OSError) as exc:
        raise FileCorrupt("the XLSX workbook cannot be read") from exc


def _worksheets(workbook: python_calamine.CalamineWorkbook) -> tuple[str, ...]:
    return tuple(
        sheet.name
        for sheet in workbook.sheets_metadata
        if sheet.typ == python_calamine.SheetTypeEnum.WorkSheet
    )


def _default_sheet(workbook: python_calamine.CalamineWorkbook, sheets: tuple[str, ...]) -> str:
    visible = [
        sheet.name
        for sheet in workbook.sheets_metadata
        if sheet.name in sheets and sheet.visible == python_calamine.SheetVisibleEnum.Visible
    ]
    if visible:
        return visible[0]
    if sheets:
        return sheets[0]
    raise FileEmpty("the workbook has no worksheet")


def _number_text(value: float) -> str:
    if not math.isfinite(value):
        return ""
    if value.is_integer():
        return str(int(value))
    return format(Decimal(repr(value)), "f")


def cell_text(value: object) -> str:
    """A cell as text: a whole number without `.0` (a phone stored as a number, 966501234567.0,
    is `966501234567`), other numbers in plain decimal notation, dates and times ISO 8601 (a
    datetime at midnight as its date), booleans TRUE/FALSE as Excel shows them, text unchanged
    (a formula cell is the value Excel cached for it: nothing is evaluated)."""
    if isinstance(value, str):
        text = value
    elif isinstance(value, bool):
        text = "TRUE" if value else "FALSE"
    elif isinstance(value, int | float):
        text = _number_text(float(value)) if isinstance(value, float) else str(value)
    elif isinstance(value, dt.datetime):
        text = value.date().isoformat() if value.time() == dt.time(0) else value.isoformat()
    elif isinstance(value, dt.date | dt.time):
        text = value.isoformat()
    else:
        text = "" if value is None else str(value)
    return text


@contextlib.contextmanager
def _worksheet(
    path: Path, *, sheet: str | None
) -> Iterator[tuple[python_calamine.CalamineSheet, str, tuple[str, ...]]]:
    """The worksheet named `sheet` (default: the first visible one), its name, and the names
    of every worksheet, once the archive passed `check_xlsx`."""
    check_xlsx(path)
    workbook = _open_workbook(path)
    try:
        sheets = _worksheets(workbook)
        name = sheet or _default_sheet(workbook, sheets)
        if name not in sheets:
            raise SheetNotFound(f"the workbook has no worksheet named {name!r}", sheets=sheets)
        try:
            worksheet = workbook.get_sheet_by_name(name)
        except (python_calamine.CalamineError, ValueError) as exc:
            raise FileCorrupt(f"the worksheet {name!r} cannot be read") from exc
        yield worksheet, name, sheets
    finally:
        workbook.close()


def _sheet_records(worksheet: python_calamine.CalamineSheet) -> Iterator[Record]:
    # calamine yields from row 1 (leading empty rows included): the index is the row number.
    try:
        for index, values in enumerate(worksheet.iter_rows()):
            cells = [cell_text(value) for value in values]
            if len(cells) > MAX_COLUMNS:  # refused as a CSV's is, not cut: no column is lost
                _checked_width(_used_width(cells), index + 1)
                del cells[MAX_COLUMNS:]
            yield index + 1, cells
    except python_calamine.CalamineError as exc:
        raise FileCorrupt(f"the worksheet {worksheet.name!r} cannot be read") from exc


def _xlsx_records(path: Path, *, sheet: str | None) -> Iterator[Record]:
    with _worksheet(path, sheet=sheet) as (worksheet, _, _):
        yield from _sheet_records(worksheet)


def _detect_xlsx(path: Path, *, sheet: str | None) -> Detected:
    with _worksheet(path, sheet=sheet) as (worksheet, name, sheets):
        end = worksheet.end
        return _described(
            _sheet_records(worksheet),
            format=FileFormat.XLSX,
            sheets=sheets,
            sheet=name,
            last_row=end[0] + 1 if end else 0,
        )
