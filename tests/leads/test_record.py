"""The derived columns of a lead (`record.DERIVED`), what they read (`record.DERIVED_FROM`), and
their computation again after a write (`record.derived_after`). Pure: no database."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import pytest

from leedz.leads.normalize import name_key_of_text, normalize_text
from leedz.leads.record import (
    DERIVED,
    DERIVED_FROM,
    derived_after,
    derived_columns,
    name_columns,
)
from leedz.leads.repository import WRITABLE, LeadRow

LEAD: dict[str, Any] = {
    "name": "Al Amal Trading",
    "contact_name": "Sara",
    "emails": ["info@alamal.sa"],
    "domain": "alamal.sa",
    "phones": ["+966501234567"],
    "city": "Riyadh",
}


class Reads(dict[str, Any]):
    """A row that remembers which of its columns were read."""

    def __init__(self, row: dict[str, Any]) -> None:
        super().__init__(row)
        self.read: set[str] = set()

    def __getitem__(self, key: str) -> Any:
        self.read.add(key)
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:
        self.read.add(key)
        return super().get(key, default)


class TestTheDerivedColumns:
    def test_they_are_what_derived_columns_computes_in_order(self) -> None:
        assert tuple(derived_columns(LEAD)) == DERIVED

    def test_they_are_the_writable_columns_a_lead_row_does_not_hold(self) -> None:
        # resolution's bulk insert writes the row's columns and these beside them: every one.
        held = {f.name for f in fields(LeadRow)}
        assert [name for name in WRITABLE if name not in held] == list(DERIVED)

    def test_what_they_read_is_derived_from(self) -> None:
        row = Reads({**LEAD, "category": "Retail", "tags": ["vip"]})
        derived_columns(row)
        assert row.read == DERIVED_FROM


class TestDerivedAfter:
    def test_a_write_of_no_column_they_read_computes_nothing(self) -> None:
        def unread(column: str) -> Any:
            raise AssertionError(f"{column} read")

        assert derived_after({"city": "Jeddah", "tags": ["x"]}, unread) == {}

    @pytest.mark.parametrize(
        ("column", "value"),
        [
            ("name", "Al Noor Est"),
            ("contact_name", "Huda"),
            ("emails", ["sales@noor.sa"]),
            ("domain", "noor.sa"),
            ("phones", ["+966552223333"]),
        ],
    )
    def test_a_write_is_read_over_the_lead_as_it_is(self, column: str, value: Any) -> None:
        after = derived_after({column: value}, LEAD.__getitem__)
        assert after == derived_columns({**LEAD, column: value})
        assert after != derived_columns(LEAD)


class TestTheNameColumns:
    # name_columns takes the key from name_key's cache: it must be the legal-form pass over
    # the normalized name, as it was computed before, for every kind of name.
    NAMES = (
        "Al Amal Trading LLC",
        "شركة الأمل للتجارة ذ.م.م",
        "مؤسسة النور",
        "L.L.C.",  # nothing but a legal form: never stripped down to nothing
        "!!!",  # normalizes to nothing
        "Café  Ünïcode Co.",
        "McDonald's W.L.L.",
        "ﻻ ﷲ ٱلأمل",
        "x" * 400 + " LLC",  # beyond the column's 300 characters
        "Ltd " * 120,
    )

    @pytest.mark.parametrize("name", NAMES)
    def test_the_key_is_the_legal_form_pass_over_the_normalized_name(self, name: str) -> None:
        text = normalize_text(name)
        expected = {"name_sort": text[:300], "name_key": name_key_of_text(text)[:300]}
        assert name_columns(name) == expected
        assert name_columns(name, normalized=text) == expected

    def test_names_of_every_code_point_give_the_same_key(self) -> None:
        # Every code point but the surrogates, 64 to a name, between a legal form before and
        # one after (what the pass strips).
        points = [p for p in range(0x110000) if not 0xD800 <= p <= 0xDFFF]
        for start in range(0, len(points), 64):
            name = "شركة " + " ".join(chr(p) for p in points[start : start + 64]) + " LLC"
            text = normalize_text(name)
            assert name_columns(name)["name_key"] == name_key_of_text(text)[:300], start
