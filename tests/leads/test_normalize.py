"""Normalization of lead identity keys and text: the table of docs/normalization.md, checked.

Pure functions: no database, no network (one test proves the second in a fresh interpreter).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import unicodedata
from pathlib import Path

import publicsuffixlist
import pytest

from leedz.kit import schemas
from leedz.leads import normalize
from leedz.leads.normalize import (
    InvalidEmail,
    InvalidPhone,
    InvalidWebsite,
    PhoneProblem,
    UnknownCountry,
    WebsiteProblem,
    domain_unicode,
    identity_domain,
    is_shared_host,
    name_key,
    normalize_email,
    normalize_phone,
    normalize_text,
    registrable_domain,
    split_phones,
)
from leedz.leads.shared_hosts import SHARED_HOSTS

LRM, RLM, NBSP = "\u200e", "\u200f", "\u00a0"
ALM, LRI, RLI, PDI, RLE, PDF = "\u061c", "\u2066", "\u2067", "\u2069", "\u202b", "\u202c"


def arabic_indic(ascii_text: str) -> str:
    return ascii_text.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))


def persian(ascii_text: str) -> str:
    return ascii_text.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))


# (spelling, the record's country, the tenant's default country, E.164)
PHONE_SPELLINGS = [
    # Saudi Arabia: mobiles 05x, landlines 01x, unified 9200, toll-free 800
    ("0501234567", "SA", "SA", "+966501234567"),
    ("050 123 4567", "SA", "SA", "+966501234567"),
    ("050-123-4567", "SA", "SA", "+966501234567"),
    ("050.123.4567", "SA", "SA", "+966501234567"),
    ("(050) 123-4567", "SA", "SA", "+966501234567"),
    ("501234567", "SA", "SA", "+966501234567"),
    ("+966501234567", None, "AE", "+966501234567"),
    ("+966 50 123 4567", "EG", "EG", "+966501234567"),
    ("+966 (0)50 123 4567", None, "SA", "+966501234567"),
    ("(+966) 50-123-4567", None, "KW", "+966501234567"),
    ("00966501234567", None, "AE", "+966501234567"),
    ("00 966 50 123 4567", "KW", "KW", "+966501234567"),
    ("966501234567", "SA", "SA", "+966501234567"),
    ("966501234567", "AE", "AE", "+966501234567"),
    (arabic_indic("0501234567"), "SA", "SA", "+966501234567"),
    (arabic_indic("+966 50 123 4567"), None, "EG", "+966501234567"),
    (persian("0551234567"), "SA", "SA", "+966551234567"),
    (persian("00966-55-123-4567"), None, "AE", "+966551234567"),
    (f"{RLM}+966 50 123 4567{LRM}", None, "SA", "+966501234567"),
    (f"{LRI}050{NBSP}123{NBSP}4567{PDI}", "SA", "SA", "+966501234567"),
    (f"{RLE}٠٥٠١٢٣٤٥٦٧{PDF}", "SA", "SA", "+966501234567"),
    ("０５０１２３４５６７", "SA", "SA", "+966501234567"),  # fullwidth
    ("050–123–4567", "SA", "SA", "+966501234567"),  # en dashes
    ("050\u2212123\u22124567", "SA", "SA", "+966501234567"),  # minus signs
    ("tel:+966501234567", None, "SA", "+966501234567"),
    ("+966 11 456 7890 ext. 12", None, "SA", "+966114567890"),
    ("011 456 7890 x12", "SA", "SA", "+966114567890"),
    ("011 456 7890 تحويلة ١٢", "SA", "SA", "+966114567890"),
    ("0114567890", "SA", "SA", "+966114567890"),
    ("012 654 3210", "SA", "SA", "+966126543210"),
    ("9200 12345", "SA", "SA", "+966920012345"),
    ("800 123 4567", "SA", "SA", "+9668001234567"),
    ("0531234567", "SA", "SA", "+966531234567"),
    ("0571234567", "SA", "SA", "+966571234567"),
    ("0591234567", "SA", "SA", "+966591234567"),
    # United Arab Emirates: mobiles 05x, landlines 02 (Abu Dhabi), 04 (Dubai), 600 numbers
    ("0501234567", "AE", "AE", "+971501234567"),
    ("052 123 4567", "AE", "SA", "+971521234567"),
    ("+971 55 123 4567", None, "SA", "+971551234567"),
    ("00971561234567", "SA", "SA", "+971561234567"),
    ("971581234567", "AE", "AE", "+971581234567"),
    ("971581234567", "SA", "SA", "+971581234567"),
    (arabic_indic("٠٠٩٧١٥٤١٢٣٤٥٦٧"), None, "SA", "+971541234567"),
    (persian("04 345 6789"), "AE", "SA", "+97143456789"),
    ("(04) 345-6789", "AE", "AE", "+97143456789"),
    ("+971 (0)2 654 3210", None, "AE", "+97126543210"),
    ("600 52 2222", "AE", "AE", "+971600522222"),
    ("03 765 4321", "AE", "AE", "+97137654321"),
    ("06-543-2109", "AE", "AE", "+97165432109"),
    (f"{ALM}+971{NBSP}50{NBSP}123{NBSP}4567", None, "SA", "+971501234567"),
    # Kuwait: 8 digits, no trunk prefix; mobiles 4/5/6/9, landlines 2
    ("51234567", "KW", "KW", "+96551234567"),
    ("5512 3456", "KW", "SA", "+96555123456"),
    ("6612-3456", "KW", "KW", "+96566123456"),
    ("600 12345", "KW", "KW", "+96560012345"),
    ("9912 3456", "KW", "KW", "+96599123456"),
    ("+965 9712 3456", None, "SA", "+96597123456"),
    ("00965 2212 3456", None, "SA", "+96522123456"),
    ("96551234567", "KW", "KW", "+96551234567"),
    ("96565012345", "SA", "SA", "+96565012345"),
    (arabic_indic("41123456"), "KW", "KW", "+96541123456"),
    (persian("9412 3456"), "KW", "KW", "+96594123456"),
    (f"{RLM}(965) 5512-3456{RLM}", "KW", "KW", "+96555123456"),
    # Egypt: mobiles 010/011/012/015 + 8 digits, landlines 02 (Cairo), 03 (Alexandria)
    ("01012345678", "EG", "EG", "+201012345678"),
    ("0111 234 5678", "EG", "SA", "+201112345678"),
    ("012-1234-5678", "EG", "EG", "+201212345678"),
    ("015 1234 5678", "EG", "EG", "+201512345678"),
    ("1012345678", "EG", "EG", "+201012345678"),
    ("+20 10 1234 5678", None, "SA", "+201012345678"),
    ("0020 10 1234 5678", "SA", "SA", "+201012345678"),
    ("201012345678", "EG", "EG", "+201012345678"),
    ("201012345678", "SA", "SA", "+201012345678"),
    ("+20 (0)10 1234 5678", None, "SA", "+201012345678"),
    (arabic_indic("01012345678"), "EG", "EG", "+201012345678"),
    (persian("01112345678"), "EG", "EG", "+201112345678"),
    ("(02) 2345 6789", "EG", "EG", "+20223456789"),
    ("02/23456789", "EG", "EG", "+20223456789"),
    ("03 456 7890", "EG", "EG", "+2034567890"),
    (f"{RLI}٠٢٢٣٤٥٦٧٨٩{PDI}", "EG", "EG", "+20223456789"),
]


class TestPhoneSpellings:
    def test_the_table_spans_four_countries_and_forty_spellings(self) -> None:
        assert len(PHONE_SPELLINGS) >= 40
        assert {e164[:4] for *_, e164 in PHONE_SPELLINGS} >= {"+966", "+971", "+965", "+201"}

    @pytest.mark.parametrize(("raw", "country", "default", "e164"), PHONE_SPELLINGS)
    def test_every_spelling_gives_its_e164(
        self, raw: str, country: str | None, default: str, e164: str
    ) -> None:
        assert normalize_phone(raw, country=country, default_country=default) == e164

    @pytest.mark.parametrize(("raw", "country", "default", "e164"), PHONE_SPELLINGS)
    def test_e164_is_a_fixed_point(
        self, raw: str, country: str | None, default: str, e164: str
    ) -> None:
        assert normalize_phone(e164, country="EG", default_country="KW") == e164


class TestTheSameLocalDigitsInTwoCountries:
    @pytest.mark.parametrize(
        ("digits", "first", "second"),
        [
            ("0501234567", ("SA", "+966501234567"), ("AE", "+971501234567")),
            ("0551234567", ("SA", "+966551234567"), ("AE", "+971551234567")),
            ("0561234567", ("AE", "+971561234567"), ("SA", "+966561234567")),
        ],
    )
    def test_two_countries_two_numbers(
        self, digits: str, first: tuple[str, str], second: tuple[str, str]
    ) -> None:
        a = normalize_phone(digits, country=first[0], default_country="EG")
        b = normalize_phone(digits, country=second[0], default_country="EG")
        assert (a, b) == (first[1], second[1])
        assert a != b

    def test_the_tenant_default_decides_when_the_record_has_no_country(self) -> None:
        assert normalize_phone("0501234567", country=None, default_country="SA") == "+966501234567"
        assert normalize_phone("0501234567", country=None, default_country="AE") == "+971501234567"
        assert normalize_phone("0501234567", country=" ", default_country="AE") == "+971501234567"


class TestCountryPrecedence:
    def test_the_number_beats_the_record_and_the_tenant(self) -> None:
        assert normalize_phone("+971501234567", country="SA", default_country="SA") == (
            "+971501234567"
        )
        assert normalize_phone("00971501234567", country="SA", default_country="SA") == (
            "+971501234567"
        )

    def test_the_record_beats_the_tenant(self) -> None:
        assert normalize_phone("0501234567", country="AE", default_country="SA") == (
            "+971501234567"
        )

    def test_a_national_number_valid_in_its_country_is_never_read_as_international(
        self,
    ) -> None:
        # 96 6xx xxxx is a Kuwaiti mobile as written; it is not +966 without the plus.
        assert normalize_phone("96612345", country="KW", default_country="KW") == "+96596612345"

    def test_country_codes_are_case_insensitive(self) -> None:
        assert normalize_phone("0501234567", country="ae", default_country="sa") == (
            "+971501234567"
        )

    @pytest.mark.parametrize("code", ["XX", "Saudi Arabia", "SAU", "", "9"])
    def test_an_unknown_default_country_is_the_callers_error(self, code: str) -> None:
        with pytest.raises(UnknownCountry):
            normalize_phone("0501234567", country=None, default_country=code)

    @pytest.mark.parametrize("code", ["XX", "KSA", "UAE"])
    def test_an_unknown_record_country_is_the_callers_error_even_with_a_plus(
        self, code: str
    ) -> None:
        with pytest.raises(UnknownCountry):
            normalize_phone("+966501234567", country=code, default_country="SA")


# (spelling, country, the reason it is refused)
IMPOSSIBLE = [
    ("", "SA", PhoneProblem.EMPTY),
    ("   ", "SA", PhoneProblem.EMPTY),
    (f"{LRM}{RLM}", "SA", PhoneProblem.EMPTY),
    ("+", "SA", PhoneProblem.EMPTY),
    ("--", "SA", PhoneProblem.EMPTY),
    ("12345", "SA", PhoneProblem.TOO_SHORT),
    ("050123", "SA", PhoneProblem.TOO_SHORT),
    ("96650123456", "SA", PhoneProblem.TOO_SHORT),
    ("+96650123", None, PhoneProblem.TOO_SHORT),
    ("0501234567890123", "SA", PhoneProblem.TOO_LONG),
    ("0501234567 0557654321", "SA", PhoneProblem.TOO_LONG),  # two numbers: split_phones first
    ("1" * 100, "SA", PhoneProblem.TOO_LONG),
    ("0521234567", "SA", PhoneProblem.UNASSIGNED),  # 052 is no Saudi mobile range
    ("0401234567", "SA", PhoneProblem.UNASSIGNED),
    ("0511234567", "AE", PhoneProblem.UNASSIGNED),
    ("0571234567", "AE", PhoneProblem.UNASSIGNED),
    ("01312345678", "EG", PhoneProblem.UNASSIGNED),  # 013 is no Egyptian mobile range
    ("0101234567", "EG", PhoneProblem.UNASSIGNED),  # an Egyptian mobile one digit short
    ("61234567", "KW", PhoneProblem.UNASSIGNED),  # 61xx is not an assigned Kuwaiti block
    ("051234567", "KW", PhoneProblem.TOO_LONG),  # Kuwait has no trunk 0
    ("0223456789", "SA", PhoneProblem.UNASSIGNED),  # Cairo's digits on a Saudi record
    ("+999 123 4567", None, PhoneProblem.INVALID_COUNTRY_CODE),
    ("00999 123 4567", "SA", PhoneProblem.INVALID_COUNTRY_CODE),
    ("0800-FLOWERS", "SA", PhoneProblem.LETTERS),
    ("Tel: 0501234567", "SA", PhoneProblem.LETTERS),
    ("هاتف ٠٥٠١٢٣٤٥٦٧", "SA", PhoneProblem.LETTERS),
    ("050123456O", "SA", PhoneProblem.LETTERS),  # a letter O for a zero
    ("n/a", "SA", PhoneProblem.LETTERS),
    ("wa.me/966501234567", "SA", PhoneProblem.LETTERS),
    ("050*123*4567", "SA", PhoneProblem.UNEXPECTED_CHARACTER),
    ("+966+501234567", "SA", PhoneProblem.UNEXPECTED_CHARACTER),
    ("0501234567+", "SA", PhoneProblem.UNEXPECTED_CHARACTER),
    ("050_123_4567", "SA", PhoneProblem.UNEXPECTED_CHARACTER),
    ("050\x00123", "SA", PhoneProblem.UNEXPECTED_CHARACTER),
    ("19123", "EG", PhoneProblem.SHORT_CODE),  # an Egyptian hotline
    ("16000", "EG", PhoneProblem.SHORT_CODE),
]


class TestImpossibleNumbers:
    @pytest.mark.parametrize(("raw", "country", "reason"), IMPOSSIBLE)
    def test_each_raises_with_its_reason(
        self, raw: str, country: str | None, reason: PhoneProblem
    ) -> None:
        with pytest.raises(InvalidPhone) as caught:
            normalize_phone(raw, country=country, default_country="SA")
        assert caught.value.reason is reason

    def test_the_refusal_is_a_value_error_that_does_not_repeat_the_number(self) -> None:
        with pytest.raises(ValueError, match="not a phone number") as caught:
            normalize_phone("0521234567", country="SA", default_country="SA")
        assert "0521234567" not in str(caught.value)


class TestWhatValidMeansForGulfMobiles:
    """`is_valid_number` is required: libphonenumber's assigned ranges, not only the length."""

    @pytest.mark.parametrize("prefix", ["50", "51", "53", "54", "55", "56", "57", "58", "59"])
    def test_saudi_05x_mobiles(self, prefix: str) -> None:
        assert normalize_phone(f"0{prefix}1234567", country="SA", default_country="SA") == (
            f"+966{prefix}1234567"
        )

    @pytest.mark.parametrize("prefix", ["50", "52", "54", "55", "56", "58"])
    def test_emirati_05x_mobiles(self, prefix: str) -> None:
        assert normalize_phone(f"0{prefix}1234567", country="AE", default_country="AE") == (
            f"+971{prefix}1234567"
        )

    @pytest.mark.parametrize(
        "number", ["41123456", "50012345", "51234567", "55123456", "60012345", "65012345",
                   "66123456", "69012345", "90012345", "94123456", "96612345", "97123456",
                   "99123456"],
    )  # fmt: skip
    def test_kuwaiti_8_digit_mobiles_in_assigned_blocks(self, number: str) -> None:
        assert normalize_phone(number, country="KW", default_country="KW") == f"+965{number}"

    @pytest.mark.parametrize("number", ["5123456", "512345678", "61234567", "71234567"])
    def test_kuwaiti_numbers_outside_the_blocks_or_not_8_digits(self, number: str) -> None:
        with pytest.raises(InvalidPhone):
            normalize_phone(number, country="KW", default_country="KW")

    @pytest.mark.parametrize("prefix", ["10", "11", "12", "15"])
    def test_egyptian_01x_mobiles_of_11_digits(self, prefix: str) -> None:
        assert normalize_phone(f"0{prefix}12345678", country="EG", default_country="EG") == (
            f"+20{prefix}12345678"
        )

    @pytest.mark.parametrize("prefix", ["13", "14", "16", "19"])
    def test_egyptian_01x_outside_the_mobile_ranges(self, prefix: str) -> None:
        with pytest.raises(InvalidPhone):
            normalize_phone(f"0{prefix}12345678", country="EG", default_country="EG")


class TestSplitPhones:
    @pytest.mark.parametrize(
        ("cell", "spellings"),
        [
            ("0501234567", ["0501234567"]),
            ("0501234567; 0557654321", ["0501234567", "0557654321"]),
            ("0501234567, 0557654321", ["0501234567", "0557654321"]),
            ("0501234567 | 0557654321", ["0501234567", "0557654321"]),
            ("0501234567\n0557654321\r\n0114567890", ["0501234567", "0557654321", "0114567890"]),
            ("0501234567،0557654321؛0114567890", ["0501234567", "0557654321", "0114567890"]),
            ("050 123 4567 / 055 765 4321", ["050 123 4567", "055 765 4321"]),
            ("+966 50 123 4567 ／ +966 55 765 4321", ["+966 50 123 4567", "+966 55 765 4321"]),
            ("050-123-4567", ["050-123-4567"]),
            ("02/23456789", ["02 23456789"]),
            ("(02) / 2345-6789", ["(02) 2345-6789"]),
            ("0501234567/8", ["0501234567", "0501234568"]),
            ("0501234567/8/9", ["0501234567", "0501234568", "0501234569"]),
            ("050 123 4567/68", ["050 123 4567", "050 123 4568"]),
            ("٠٥٠١٢٣٤٥٦٧/٨", ["٠٥٠١٢٣٤٥٦٧", "٠٥٠١٢٣٤٥٦٨"]),
            ("02/2345 6789/90", ["02 2345 6789", "02 2345 6790"]),
            ("0501234567/12345", ["0501234567/12345"]),  # 5 digits: neither reading is safe
            ("Tel/Fax: 0501234567", ["Tel/Fax: 0501234567"]),
            ("02/03", ["02/03"]),
            (" ; , ;", []),
            (f"{LRM} ,{RLM}", []),
            ("", []),
        ],
    )
    def test_cells(self, cell: str, spellings: list[str]) -> None:
        assert split_phones(cell) == spellings

    def test_split_then_normalize_a_messy_cell(self) -> None:
        cell = f"{RLM}٠٥٠١٢٣٤٥٦٧/٨{LRM}، +971 4 345 6789; 00965 5512 3456\n"
        assert [
            normalize_phone(s, country="SA", default_country="SA") for s in split_phones(cell)
        ] == ["+966501234567", "+966501234568", "+97143456789", "+96555123456"]


class TestEmail:
    @pytest.mark.parametrize(
        ("raw", "address"),
        [
            ("info@alamal.com.sa", "info@alamal.com.sa"),
            ("  Info@AlAmal.COM.SA \n", "info@alamal.com.sa"),
            ("ＩＮＦＯ@alamal.com.sa", "info@alamal.com.sa"),  # NFKC: fullwidth letters
            (f"{RLM}sales@alamal.ae{LRM}", "sales@alamal.ae"),
            ("mailto:Sales@AlAmal.ae", "sales@alamal.ae"),
            ("MAILTO:sales@alamal.ae?subject=Hello%20there", "sales@alamal.ae"),
            ("mailto:info%40alamal.com.eg", "info@alamal.com.eg"),
            ("first.last+leads@alamal.com.kw", "first.last+leads@alamal.com.kw"),
            ("info@مثال.السعودية", "info@مثال.السعودية"),
        ],
    )
    def test_the_compared_form(self, raw: str, address: str) -> None:
        assert normalize_email(raw) == address

    @pytest.mark.parametrize(
        "raw",
        ["", "   ", "info", "info@", "@alamal.com", "info@alamal", "in fo@alamal.com",
         "info@@alamal.com", "info@alamal..com", "info@-alamal.com", "a" * 310 + "@alamal.com",
         "info@alamal.com\x00", "mailto:", "0501234567"],
    )  # fmt: skip
    def test_not_addresses(self, raw: str) -> None:
        with pytest.raises(InvalidEmail):
            normalize_email(raw)

    def test_it_is_the_accounts_form_wherever_that_form_is_valid(self) -> None:
        for raw in ["  Info@AlAmal.com.sa ", "ＩＮＦＯ@x.com", "A.B@Example.ORG"]:
            assert normalize_email(raw) == schemas.normalize_email(raw)


class TestRegistrableDomain:
    @pytest.mark.parametrize(
        ("website", "domain"),
        [
            ("shop.alamal.com.sa", "alamal.com.sa"),
            ("alamal.com.sa", "alamal.com.sa"),
            ("https://www.Example.CO.UK/path?q", "example.co.uk"),
            ("WWW.ALAMAL.COM.SA", "alamal.com.sa"),
            ("http://alamal.com.sa:8080/contact", "alamal.com.sa"),
            ("alamal.com.sa:8443/contact#form", "alamal.com.sa"),
            ("https://portal.moh.gov.sa/ar", "moh.gov.sa"),
            ("https://www.alamal.ae", "alamal.ae"),
            ("http://shop.alamal.co.ae", "alamal.co.ae"),
            ("www.alamal.com.eg/ar/", "alamal.com.eg"),
            ("alamal.com.kw", "alamal.com.kw"),
            ("https://a.b.c.alamal.com.kw/", "alamal.com.kw"),
            ("//cdn.alamal.com.sa/logo.png", "alamal.com.sa"),
            ("http:/alamal.com.sa", "alamal.com.sa"),
            ("https://alamal.com.sa./", "alamal.com.sa"),
            (f"{RLM}https://alamal.com.sa{LRM}", "alamal.com.sa"),
            ("https://ａｌａｍａｌ.com.sa", "alamal.com.sa"),  # fullwidth: NFKC in the URL parser
            ("http://مثال.السعودية/ar", "xn--mgbh0fb.xn--mgberp4a5d4ar"),
            ("www.مثال.السعودية", "xn--mgbh0fb.xn--mgberp4a5d4ar"),
            ("https://xn--mgbh0fb.xn--mgberp4a5d4ar", "xn--mgbh0fb.xn--mgberp4a5d4ar"),
            ("http://متجر.امارات", "xn--pgbep1f.xn--mgbaam7a8h"),
            ("https://bücher.de", "xn--bcher-kva.de"),
            # The PSL's private section: the owner's subdomain is the registrable domain.
            ("https://alamal.myshopify.com/products", "alamal.myshopify.com"),
            ("https://alamal.github.io/site", "alamal.github.io"),
            ("alamal.netlify.app", "alamal.netlify.app"),
            # Nobody's registrable domain.
            ("http://1.2.3.4/", None),
            ("http://[2001:db8::1]:8080/", None),
            ("http://0x7f.1/", None),  # an IPv4 address in WHATWG's hex form
            ("localhost:3000", None),
            ("http://intranet/", None),
            ("alamal.local", None),
            ("alamal.invalidtld", None),
            ("com.sa", None),
            ("gov.sa", None),
            ("github.io", None),
        ],
    )
    def test_the_domain(self, website: str, domain: str | None) -> None:
        assert registrable_domain(website) == domain

    @pytest.mark.parametrize(
        ("website", "reason"),
        [
            ("", WebsiteProblem.EMPTY),
            (f"  {LRM} ", WebsiteProblem.EMPTY),
            ("https://alamal.com.sa/" + "a" * 3000, WebsiteProblem.TOO_LONG),
            ("ftp://alamal.com.sa", WebsiteProblem.NOT_HTTP),
            ("mailto:info@alamal.com.sa", WebsiteProblem.NOT_HTTP),
            ("tel:+966501234567", WebsiteProblem.NOT_HTTP),
            ("javascript:alert(1)", WebsiteProblem.NOT_HTTP),
            ("whatsapp://send?phone=966501234567", WebsiteProblem.NOT_HTTP),
            ("https://user:secret@alamal.com.sa/", WebsiteProblem.USER_INFO),
            ("https://user@alamal.com.sa/", WebsiteProblem.USER_INFO),
            ("info@alamal.com.sa", WebsiteProblem.USER_INFO),
            ("https://", WebsiteProblem.MALFORMED),
            ("http://exa mple.com", WebsiteProblem.MALFORMED),
            ("http://alamal..com.sa", WebsiteProblem.MALFORMED),
            ("http://.alamal.com.sa", WebsiteProblem.MALFORMED),
            ("http://al_amal.com.sa", WebsiteProblem.MALFORMED),
            ("http://-alamal-.com.sa", WebsiteProblem.MALFORMED),
        ],
    )
    def test_refused(self, website: str, reason: WebsiteProblem) -> None:
        with pytest.raises(InvalidWebsite) as caught:
            registrable_domain(website)
        assert caught.value.reason is reason

    def test_user_info_is_refused_as_http_url_text_refuses_it(self) -> None:
        """The website column (kit.schemas.HttpUrlText) and its domain agree on credentials."""
        with pytest.raises(ValueError, match="user name or password"):
            schemas.http_url("https://user:secret@alamal.com.sa/")
        with pytest.raises(InvalidWebsite, match="user name or password"):
            registrable_domain("https://user:secret@alamal.com.sa/")

    def test_the_domain_of_a_stored_website_is_the_domain_of_what_was_typed(self) -> None:
        for typed in ["https://WWW.مثال.السعودية/ar", "http://Shop.AlAmal.com.sa:80/x"]:
            assert registrable_domain(schemas.http_url(typed)) == registrable_domain(typed)

    @pytest.mark.parametrize(
        ("domain", "readable"),
        [
            ("xn--mgbh0fb.xn--mgberp4a5d4ar", "مثال.السعودية"),
            ("xn--bcher-kva.de", "bücher.de"),
            ("alamal.com.sa", "alamal.com.sa"),
        ],
    )
    def test_domain_unicode(self, domain: str, readable: str) -> None:
        assert domain_unicode(domain) == readable


BRIEFED_SHARED = [
    "facebook.com", "https://www.facebook.com/alamal.sa", "m.facebook.com/alamal",
    "instagram.com/alamal", "x.com/alamal", "twitter.com/alamal", "linkedin.com/company/alamal",
    "tiktok.com/@alamal", "snapchat.com/add/alamal", "youtube.com/@alamal",
    "linktr.ee/alamal", "beacons.ai/alamal",
    "wa.me/966501234567", "api.whatsapp.com/send?phone=966501234567", "whatsapp.com",
    "t.me/alamal", "telegram.me/alamal",
    "sites.google.com/view/alamal", "alamal.blogspot.com", "alamal.wixsite.com/home",
    "alamal.wordpress.com", "alamal.weebly.com", "alamal.godaddysites.com", "alamal.business.site",
    "alamal.square.site", "alamal.myshopify.com", "alamal.carrd.co", "alamal.notion.site",
    "alamal.github.io/site",
    "https://www.google.com/maps/place/Al+Amal", "maps.google.com/?cid=123",
    "https://maps.app.goo.gl/abc123", "goo.gl/maps/abc", "g.page/alamal",
    "maps.apple.com/?q=alamal", "bing.com/maps?q=alamal", "waze.com/ul?ll=24.7,46.6",
]  # fmt: skip


class TestSharedHosts:
    @pytest.mark.parametrize("website", BRIEFED_SHARED)
    def test_shared(self, website: str) -> None:
        assert is_shared_host(website)
        assert identity_domain(website) is None

    @pytest.mark.parametrize(
        "website",
        ["https://www.google.com.sa/maps/place/x", "google.ae/maps", "maps.google.com.eg",
         "www.google.com.kw", "salla.sa/alamal", "alamal.zid.store", "talabat.com/ar/alamal",
         "bit.ly/3abc", "t.co/abc"],
    )  # fmt: skip
    def test_also_shared(self, website: str) -> None:
        assert is_shared_host(website)

    @pytest.mark.parametrize(
        ("website", "domain"),
        [
            ("https://www.alamal.com.sa", "alamal.com.sa"),
            ("alamal.ae", "alamal.ae"),
            ("notfacebook.com", "notfacebook.com"),
            ("facebook.com.alamal.com.sa", "alamal.com.sa"),
            ("google.alamal.com.sa", "alamal.com.sa"),
            ("mygoogle.com", "mygoogle.com"),
            ("alamal.netlify.app", "alamal.netlify.app"),
            ("https://alamal.com.eg/facebook.com", "alamal.com.eg"),
        ],
    )
    def test_not_shared(self, website: str, domain: str) -> None:
        assert not is_shared_host(website)
        assert identity_domain(website) == domain

    def test_an_ip_address_is_neither_shared_nor_an_identity(self) -> None:
        assert not is_shared_host("http://1.2.3.4/")
        assert identity_domain("http://1.2.3.4/") is None

    def test_malformed_input_is_refused_not_taken_as_unshared(self) -> None:
        with pytest.raises(InvalidWebsite):
            is_shared_host("https://user:pw@facebook.com/")

    @pytest.mark.parametrize("entry", sorted(SHARED_HOSTS))
    def test_every_entry_sits_at_a_registrable_domain_or_a_public_suffix(self, entry: str) -> None:
        """An entry below the registrable level (`sites.google.com`) would leave its parent
        (`google.com`) usable as an identity key for every site on it."""
        assert entry == entry.lower().strip()
        assert registrable_domain(entry) in (entry, None)
        assert is_shared_host(entry)
        assert is_shared_host(f"https://someone.{entry}/page")


NAMES_EQUAL = [
    ("الأمل", "الامل"),  # hamza above alef
    ("إبراهيم", "ابراهيم"),  # hamza below alef
    ("آمنة", "امنه"),  # madda; taa marbuta
    ("ٱلرحمن", "الرحمن"),  # alef wasla
    ("مكتبة جرير", "مكتبه جرير"),  # taa marbuta
    ("مستشفى الحياة", "مستشفي الحياه"),  # alef maqsura, taa marbuta
    ("علي", "على"),  # alef maqsura: the name Ali and the word "on" meet (accepted)
    ("الـــريـاض", "الرياض"),  # tatweel
    ("مَطْعَمُ الأَمَلِ", "مطعم الامل"),  # harakat
    ("هٰذا", "هذا"),  # superscript alef
    ("شاطئ", "شاطى"),  # yeh with hamza, alef maqsura
    ("رؤية", "روية"),  # waw with hamza
    ("كافيه", "کافیه"),  # Persian kaf and yeh
    (f"{RLM}الأمل{LRM}", "الامل"),  # direction marks
    ("ﻻ", "لا"),  # a presentation-form ligature
    ("ﻣﻜﺘﺒﺔ ﺍﻷﻣﻞ", "مكتبه الامل"),  # presentation forms, as text copied out of a PDF
    ("مجمع ٣٤ التجاري", "مجمع 34 التجاري"),  # Arabic-Indic digits
    ("مجمع ۳۴ التجاري", "مجمع 34 التجاري"),  # Persian digits
    ("الأمل، للتجارة؛", "الامل للتجاره"),  # Arabic punctuation
    ("Café Beirut", "CAFE BEIRUT"),  # accents, case
    ("Straße", "STRASSE"),  # case folding
    ("Al-Amal", "al amal"),  # a dash is a space
    ("McDonald’s", "McDonalds"),  # apostrophes vanish
    ("Al  Amal \t Trading", "al amal trading"),  # whitespace collapses
    ("L.L.C.", "LLC"),  # dotted initials
    ("ＡＬ ＡＭＡＬ", "al amal"),  # fullwidth
    ("Crème   Brûlée!", "creme brulee"),  # accents, punctuation
    ("Øresund Łódź", "oresund lodz"),  # letters NFKD does not decompose
]

NAMES_DIFFERENT = [
    ("Al Amal", "الأمل"),  # a transliteration: meets only by phone, e-mail or domain
    ("Jarir Bookstore", "مكتبة جرير"),
    ("الأمل", "الأمير"),
    ("سعد", "سعيد"),
    ("مطعم", "مطاعم"),
    ("مكتبة", "مكتب"),  # taa marbuta is ه, not nothing
    ("سماء", "سما"),  # a standalone hamza is a letter
    ("Al Amal", "Al Amel"),
    ("Noor", "Nour"),
    ("Amal", "Amaal"),
    ("Al Amal", "Alamal"),  # a space is a word boundary
    ("H&M", "HM"),
    ("Cafe 1", "Cafe 2"),
    ("Al Amal Trading", "Al Amal Contracting"),
]


class TestNormalizeText:
    @pytest.mark.parametrize(("a", "b"), NAMES_EQUAL)
    def test_variants_normalize_equal(self, a: str, b: str) -> None:
        assert normalize_text(a) == normalize_text(b)

    @pytest.mark.parametrize(("a", "b"), NAMES_DIFFERENT)
    def test_different_names_stay_different(self, a: str, b: str) -> None:
        assert normalize_text(a) != normalize_text(b)

    def test_there_are_twenty_pairs_and_more(self) -> None:
        assert len(NAMES_EQUAL) + len(NAMES_DIFFERENT) >= 20
        assert len(NAMES_DIFFERENT) >= 10

    @pytest.mark.parametrize(
        ("text", "normalized"),
        [
            ("مَكْتَبَةُ الأَمَلِ", "مكتبه الامل"),
            ("شركة الأمل ذ.م.م", "شركه الامل ذمم"),
            ("Al-Amal Trading Co. L.L.C.", "al amal trading co llc"),
            ("info@alamal.com.sa", "info alamal com sa"),
            ("+966 50 123 4567", "966 50 123 4567"),
            ("U.A.E / Dubai", "uae dubai"),
            ("A & W", "a w"),
            ("\u0627\u064b\u0670\u06e1\u06ed", "ا"),  # tanween, superscript alef, Quranic marks
            ("\u06dd\u06de\u06e9", ""),  # Quranic signs that are not combining marks
            ("soft\u00adhyphen zero\u200bwidth", "softhyphen zerowidth"),
            ("", ""),
            ("   ", ""),
        ],
    )
    def test_the_form(self, text: str, normalized: str) -> None:
        assert normalize_text(text) == normalized

    @pytest.mark.parametrize("text", [t for pair in NAMES_EQUAL + NAMES_DIFFERENT for t in pair])
    def test_idempotent_and_only_letters_digits_and_single_spaces(self, text: str) -> None:
        once = normalize_text(text)
        assert normalize_text(once) == once
        assert once == once.strip()
        assert "  " not in once
        for ch in once:
            assert ch == " " or ch.isalpha() or ch in "0123456789", repr(ch)
            assert not unicodedata.category(ch).startswith(("M", "C"))

    def test_none_of_the_mapped_arabic_forms_survive(self) -> None:
        forms = "أإآٱٲٳٵؤئىیةۃۀەھہکڪـ"
        assert not set(normalize_text(forms)) & set(forms)

    def test_a_long_text_is_handled(self) -> None:
        assert normalize_text("الأمل " * 20_000) == " ".join(["الامل"] * 20_000)


class TestNameKey:
    @pytest.mark.parametrize(
        ("a", "b"),
        [
            ("Al Amal Trading Co. L.L.C.", "Al Amal Trading"),
            ("Al Amal Trading LLC", "al amal trading"),
            ("Al Amal General Trading W.L.L.", "Al Amal General Trading"),
            ("Al Amal FZ-LLC", "Al Amal FZE"),
            ("Al Amal FZ LLC", "Al Amal"),  # the longer form first: no stray "fz"
            ("Al Amal Est.", "Al Amal"),
            ("Al Amal Company Limited", "Al Amal"),
            ("شركة الأمل", "الامل"),
            ("مؤسسة الأمل للتجارة", "الأمل للتجارة"),
            ("شركة الأمل ذ.م.م", "الأمل"),
            ("الأمل ذات مسؤولية محدودة", "الامل"),
            ("الأمل وشركاه", "الأمل"),
            ("Al Amal S.A.E.", "Al Amal"),
        ],
    )
    def test_the_legal_form_is_not_the_name(self, a: str, b: str) -> None:
        assert name_key(a) == name_key(b)

    @pytest.mark.parametrize(
        ("a", "b"),
        [
            ("Al Amal Trading", "Al Amal"),  # what the business does stays
            ("مطعم الأمل", "الأمل"),
            ("Al Amal Group", "Al Amal"),
            ("Al Amal", "الأمل"),
            ("Co-op Market", "Market"),  # only at the ends, only whole words
        ],
    )
    def test_words_that_describe_the_business_stay(self, a: str, b: str) -> None:
        assert name_key(a) != name_key(b)

    @pytest.mark.parametrize(("name", "key"), [("LLC", "llc"), ("شركة", "شركه"), ("Co.", "co")])
    def test_never_down_to_nothing(self, name: str, key: str) -> None:
        assert name_key(name) == key

    def test_legal_words_inside_the_name_stay(self) -> None:
        assert name_key("The Co Working Space") == "the co working space"


class TestNoNetwork:
    def test_the_suffix_list_is_the_one_inside_the_package(self) -> None:
        assert Path(publicsuffixlist.PSLFILE).is_file()
        assert Path(publicsuffixlist.PSLFILE).is_relative_to(Path(publicsuffixlist.__file__).parent)
        assert normalize._public_suffixes().accept_unknown is False

    def test_a_fresh_interpreter_without_sockets_normalizes_everything(self) -> None:
        """Every socket constructor and resolver raises before the module is even imported:
        loading the Public Suffix List and the phone metadata, and every function, run."""
        script = textwrap.dedent(
            """
            import socket

            def refuse(*args, **kwargs):
                raise AssertionError("network access attempted")

            class NoSocket(socket.socket):
                def __init__(self, *args, **kwargs):
                    refuse()

            socket.socket = NoSocket
            socket.create_connection = refuse
            socket.getaddrinfo = refuse
            socket.gethostbyname = refuse

            import urllib.request
            try:
                urllib.request.urlopen("http://127.0.0.1:9/", timeout=1)
            except AssertionError:
                pass
            else:
                raise SystemExit("the guard did not hold")

            from leedz.leads import normalize as n

            assert n.registrable_domain("https://shop.alamal.com.sa/x") == "alamal.com.sa"
            assert n.registrable_domain("http://مثال.السعودية") == "xn--mgbh0fb.xn--mgberp4a5d4ar"
            assert n.is_shared_host("alamal.wixsite.com")
            assert n.identity_domain("www.alamal.ae") == "alamal.ae"
            for number, country in [("0501234567", "SA"), ("0501234567", "AE"),
                                    ("51234567", "KW"), ("01012345678", "EG")]:
                n.normalize_phone(number, country=country, default_country="SA")
            assert n.normalize_email("Info@AlAmal.com.sa") == "info@alamal.com.sa"
            assert n.normalize_text("الأمل") == "الامل"
            print("no network")
            """
        )
        done = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
        )
        assert (done.returncode, done.stdout.strip()) == (0, "no network"), done.stderr
