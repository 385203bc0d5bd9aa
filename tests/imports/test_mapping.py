"""Suggested mappings from Arabic and English headers, and multi-value cells (imports.mapping)."""

from __future__ import annotations

import unicodedata
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leedz.imports.mapping import (
    IMPORTABLE,
    NOTES_FIELD,
    SYNONYMS,
    header_key,
    split_multi,
    suggest,
)
from leedz.leads.fields import FIELDS


class TestSuggest:
    @pytest.mark.parametrize(
        ("header", "field"),
        [
            ("الاسم", "name"),
            ("اسم النشاط", "name"),
            ("اسم الشركة", "name"),
            ("Name", "name"),
            ("Company", "name"),
            ("Business name", "name"),
            ("الجوال", "phones"),
            ("رقم الجوال", "phones"),
            ("رقم الهاتف", "phones"),
            ("هاتف", "phones"),
            ("Mobile", "phones"),
            ("Phone", "phones"),
            ("Tel", "phones"),
            ("Phone number", "phones"),
            ("WhatsApp", "phones"),
            ("البريد الإلكتروني", "emails"),
            ("الايميل", "emails"),
            ("E-mail", "emails"),
            ("Email address", "emails"),
            ("المدينة", "city"),
            ("City", "city"),
            ("الموقع", "website"),
            ("الموقع الإلكتروني", "website"),
            ("Website", "website"),
            ("URL", "website"),
            ("Contact", "contactName"),
            ("Contact person", "contactName"),
            ("Category", "category"),
            ("التصنيف", "category"),
            ("Country", "country"),
            ("الدولة", "country"),
            ("Address", "address"),
            ("العنوان", "address"),
            ("Tags", "tags"),
            ("الوسوم", "tags"),
            ("Status", "status"),
            ("الحالة", "status"),
            ("Notes", NOTES_FIELD),
            ("ملاحظات", NOTES_FIELD),
            ("Latitude", "lat"),
            ("lng", "lng"),
            ("Rating", "rating"),
            ("Reviews", "reviewsCount"),
            ("Place ID", "externalIds.googleMaps"),
            ("Do not contact", "doNotContact"),
        ],
    )
    def test_known_headers(self, header: str, field: str) -> None:
        assert suggest([header]) == {header: field}

    @pytest.mark.parametrize(
        ("header", "field"),
        [
            ("  EMAIL  ", "emails"),
            ("e_mail", "emails"),
            ("E-Mail Address", "emails"),
            ("PHONE_NUMBER", "phones"),
            ("phone-number", "phones"),
            ("Phone #", "phones"),
            ("البريد الالكتروني", "emails"),  # no hamza on the alef
            ("بريد إلكتروني", "emails"),  # no article
            ("رقم هاتف", "phones"),
            ("الجوّال", "phones"),  # a shadda
            ("إسم", "name"),  # a hamza people add
            ("المدينه", "city"),  # heh for taa marbuta
            ("الـمـديـنـة", "city"),  # tatweel
            ("\u200fالجوال\u200f", "phones"),  # direction marks from a copied page
            ("Mobile 1", "phones"),
        ],
    )
    def test_spelling_variants(self, header: str, field: str) -> None:
        assert suggest([header]) == {header: field}

    def test_each_field_once_the_strongest_claim_wins(self) -> None:
        header = ["Name", "Phone 2", "Company", "Mobile", "Phone", "City", "المدينة"]
        assert suggest(header) == {"Company": "name", "Phone": "phones", "City": "city"}

    def test_a_tie_goes_to_the_leftmost(self) -> None:
        assert suggest(["هاتف", "Tel"]) in ({"هاتف": "phones"}, {"Tel": "phones"})
        assert suggest(["Phone", "phone (2)"]) == {"Phone": "phones"}

    @pytest.mark.parametrize(
        "header", ["Owner", "المسؤول", "ID", "Created", "Revenue", "", "Column C", "123"]
    )
    def test_unknown_or_unimportable_headers_stay_unmapped(self, header: str) -> None:
        assert suggest([header]) == {}

    def test_the_mapping_keeps_the_column_order(self) -> None:
        header = ["المدينة", "الجوال", "الاسم"]
        assert list(suggest(header)) == header

    def test_every_target_is_an_importable_field(self) -> None:
        importable = {f.key for f in FIELDS.items if f.importable}
        for key in IMPORTABLE:
            assert key in importable or key.startswith("customFields.")

    def test_the_header_key(self) -> None:
        assert header_key("البريد الإلكتروني") == header_key("بريد الكتروني")
        assert header_key("E-mail") == header_key("email") == "email"


class TestSplitMulti:
    @pytest.mark.parametrize(
        ("cell", "values"),
        [
            ("0501234567", ["0501234567"]),
            ("050-123 4567", ["050-123 4567"]),
            ("+966 (50) 123-4567", ["+966 (50) 123-4567"]),
            ("٠٥٠١٢٣٤٥٦٧", ["٠٥٠١٢٣٤٥٦٧"]),
            ("050 123 4567; 055 111 2222", ["050 123 4567", "055 111 2222"]),
            ("0501234567,0551112222", ["0501234567", "0551112222"]),
            ("0501234567 / 0551112222", ["0501234567", "0551112222"]),
            ("0501234567\n0551112222\r\n", ["0501234567", "0551112222"]),
            ("٠٥٠١٢٣٤٥٦٧، ٠٥٥١١١٢٢٢٢", ["٠٥٠١٢٣٤٥٦٧", "٠٥٥١١١٢٢٢٢"]),
            ("02/2345 6789", ["02 2345 6789"]),  # an area code, one number
            ("0501234567/8", ["0501234567", "0501234568"]),
            ("a@x.sa; b@y.sa", ["a@x.sa", "b@y.sa"]),
            ("a@x.sa / b@y.sa", ["a@x.sa", "b@y.sa"]),
            ("a@x.sa,\nb@y.sa", ["a@x.sa", "b@y.sa"]),
            (" ; ,, \n", []),
            ("", []),
        ],
    )
    def test_examples(self, cell: str, values: list[str]) -> None:
        assert split_multi(cell) == values

    @given(st.text(alphabet=st.sampled_from("0123456789٠١٢٣٤٥٦٧٨٩+-() ./;,|\n@ax"), max_size=60))
    def test_never_loses_a_digit(self, cell: str) -> None:
        def digits(text: str) -> Counter[int]:
            return Counter(unicodedata.decimal(ch) for ch in text if ch.isdecimal())

        assert digits(cell) <= digits("".join(split_multi(cell)))

    @given(st.text(alphabet=st.sampled_from("0123456789٠١٢٣٤٥٦٧٨٩+-() ."), max_size=40))
    def test_one_number_stays_one(self, cell: str) -> None:
        """Without a separator there is one value: digits, spaces, dashes, dots, brackets and
        a plus only group a number."""
        assert split_multi(cell) == ([cell.strip()] if cell.strip() else [])

    @given(st.lists(st.from_regex(r"0[1-9][0-9]{8}", fullmatch=True), min_size=1, max_size=5))
    def test_joined_numbers_come_apart(self, numbers: list[str]) -> None:
        for separator in ("; ", ",", " / ", "\n", "|"):
            assert split_multi(separator.join(numbers)) == numbers


def test_no_spelling_claims_two_fields() -> None:
    for field_key, spellings in SYNONYMS.items():
        for spelling in spellings:
            assert suggest([spelling]) == {spelling: field_key}, spelling
