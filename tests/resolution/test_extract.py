"""extract.py: whatever an agent sends, a bounded, normalized record or nothing; never an error."""

from __future__ import annotations

from typing import Any

import pytest

from leedz.leads.models import LeadKeyKind
from leedz.leads.record import Key
from leedz.resolution.extract import (
    EXAMINED_MAX,
    NAME_MAX,
    Extracted,
    extract,
)
from leedz.resolution.service import lock_names


def read(raw: Any, kind: str = "CONTACT_INFO", hint: str | None = None) -> Extracted:
    found = extract(kind, raw, hint=hint, default_country="SA")
    assert found is not None
    return found


class TestTypes:
    @pytest.mark.parametrize("kind", ["SEARCH_RESULT", "REVIEW", "NEWS_ARTICLE"])
    def test_only_business_records_are_read(self, kind: str) -> None:
        assert extract(kind, {"name": "x", "phone": "0501234567"}, default_country="SA") is None

    @pytest.mark.parametrize("raw", [None, [], "text", 42])
    def test_raw_data_that_is_no_object_is_nothing(self, raw: Any) -> None:
        assert extract("CONTACT_INFO", raw, default_country="SA") is None

    def test_an_empty_record_identifies_nothing(self) -> None:
        record = read({"rating": 4, "unknown": {"deep": [1, 2]}})
        assert not record.identifiable
        assert record.rating == 4


class TestPhones:
    def test_every_shape_of_phone(self) -> None:
        record = read(
            {
                "phone": "011 456 7890",
                "phones": ["+966 50 123 4567", 966551234567, "٠٥٠٧٦٥٤٣٢١ / 0126543210"],
            }
        )
        assert record.phones == (
            "+966114567890", "+966501234567", "+966551234567", "+966507654321", "+966126543210",
        )  # fmt: skip

    def test_a_phone_that_does_not_read_is_dropped(self) -> None:
        record = read(
            {"phones": ["19555", "050-123-4567 - 050-765-4321", "abc", "", True, 4.5, None]}
        )
        assert record.phones == ()

    def test_whole_numbers_in_exponent_notation_are_phones(self) -> None:
        record = read({"phones": [5.01234567e8, 9.66551234567e11, 1e300, -5e8, 0.5, 5.5e8 + 0.5]})
        assert record.phones == ("+966501234567", "+966551234567")

    def test_nested_garbage_is_skipped(self) -> None:
        record = read({"phones": [{"number": "0501234567"}, [["0501234567"]], "0501234567"]})
        assert record.phones == ("+966501234567",)

    def test_the_country_order_record_then_hint_then_default(self) -> None:
        assert read({"phone": "0501234567", "country": "ae"}).phones == ("+971501234567",)
        assert read({"phone": "0501234567"}, hint="AE").phones == ("+971501234567",)
        assert read({"phone": "0501234567", "country": "Atlantis"}, hint="AE").phones == (
            "+971501234567",
        )
        assert read({"phone": "0501234567"}).phones == ("+966501234567",)

    def test_thousands_of_phones_cost_a_bounded_read(self) -> None:
        phones = [f"05{n:08d}" for n in range(10_000)]
        record = read({"phones": phones})
        assert len(record.phones) == 20
        one_cell = read({"phones": ", ".join(phones)})
        assert len(one_cell.phones) == 20
        invalid = read({"phones": ["1"] * 10_000 + ["0501234567"]})
        assert invalid.phones == ()  # only the first EXAMINED_MAX spellings are read
        assert EXAMINED_MAX == 100


class TestTexts:
    def test_a_huge_name_is_cut_to_the_column(self) -> None:
        record = read({"name": "مطعم " * 10_000})
        assert record.name is not None
        assert len(record.name) <= NAME_MAX
        assert record.name_key is not None

    def test_control_characters_and_blanks(self) -> None:
        record = read({"name": "  مطعم\x07 \tالبيك\n ", "city": "   ", "category": 5})
        assert record.name == "مطعم البيك"
        assert record.city is None
        assert record.category is None
        assert read({"name": " \x01 "}).name is None

    def test_values_out_of_range_are_dropped(self) -> None:
        record = read(
            {
                "lat": 999, "lng": 46.7, "rating": 7, "reviewsCount": -5,
                "country": "XX", "website": "javascript:alert(1)", "emails": ["not an email"],
            }
        )  # fmt: skip
        assert (record.location, record.rating, record.reviews_count) == (None, None, None)
        assert (record.country, record.website, record.emails) == (None, None, ())

    def test_numbers_as_text_and_coordinates_together(self) -> None:
        record = read({"lat": "24.7", "lng": 46.7, "rating": "4.5", "reviewsCount": 12.0})
        assert record.location == (24.7, 46.7)
        assert (record.rating, record.reviews_count) == (4.5, 12)
        assert read({"lat": 24.7}).location is None
        assert read({"rating": True, "reviewsCount": 1.5}).rating is None

    def test_numbers_in_arabic_indic_and_persian_digits(self) -> None:
        record = read({"lat": "٢٤٫٧", "lng": "۴۶.۷", "rating": "٤٫٥", "reviewsCount": "١٬٢٣٤"})
        assert record.location == (24.7, 46.7)
        assert (record.rating, record.reviews_count) == (4.5, 1234)


class TestIdentity:
    def test_keys_domains_and_what_is_locked(self) -> None:
        record = read(
            {
                "name": "مؤسسة الأمل للتجارة",
                "phones": ["0501234567"],
                "emails": [" Info@AlAmal.com.sa "],
                "website": "https://shop.alamal.com.sa/ar",
                "city": " الرياض ",
                "placeId": "ChIJ1",
            }
        )
        assert record.keys == (
            Key(LeadKeyKind.EMAIL, "info@alamal.com.sa"),
            Key(LeadKeyKind.EXTERNAL, "googleMaps:ChIJ1"),
            Key(LeadKeyKind.PHONE, "+966501234567"),
        )
        assert (record.domain, record.identity_domain) == ("alamal.com.sa", "alamal.com.sa")
        assert record.city_key == "الرياض"
        assert lock_names(record) == [
            "EMAIL info@alamal.com.sa",
            "EXTERNAL googleMaps:ChIJ1",
            "PHONE +966501234567",
            "DOMAIN alamal.com.sa",
            "NAME الامل للتجاره | الرياض",
        ]

    def test_a_shared_host_is_a_website_but_no_identity(self) -> None:
        record = read({"website": "https://www.instagram.com/alamal/", "city": "الرياض"})
        assert record.website is not None
        assert record.domain == "instagram.com"
        assert record.identity_domain is None
        assert lock_names(record) == []

    def test_social_profiles_known_networks_only(self) -> None:
        record = read({"socialProfiles": {"Instagram": "@a", "twitter": "b", "myspace": "c"}})
        assert record.social_profiles == {"instagram": "@a", "x": "b"}
        assert read({"socialProfiles": ["@a"]}).social_profiles == {}
