"""A row read with the job's memory of phone spellings reads exactly as without it."""

from __future__ import annotations

import random

import pytest

from leedz.imports.record import Phones, RowMapping, read_row
from leedz.leads.normalize import InvalidPhone, UnknownCountry, normalize_phone

HEADER = ["Name", "Phone", "Email", "Country"]
MAPPING = {"Name": "name", "Phone": "phones", "Email": "emails", "Country": "country"}
# Valid, invalid, repeated, other countries', Arabic-Indic digits, an unknown country.
SPELLINGS = [
    "0501234567", "050 123 4567", "(050) 123-4567", "+966 50 123 4567", "00966501234567",
    "٠٥٠١٢٣٤٥٦٧", "966501234567", "0551234567/8", "12", "abc", "", "+1 202 555 0143",
    "0101234567", "19999", "050-123-456", "+999 123", "050 123 4567 ext. 12", "٠٥٥ ١٢٣ ٤٥٦٧",
]  # fmt: skip
COUNTRIES = [None, "", "SA", "AE", "EG", "sa", "XX", "KW"]


def _answer(spelling: str, country: str | None, default: str) -> str:
    try:
        return normalize_phone(spelling, country=country, default_country=default)
    except (InvalidPhone, UnknownCountry) as exc:
        return f"{type(exc).__name__}: {exc}"


def _remembered(phones: Phones, spelling: str, country: str | None, default: str) -> str:
    try:
        return phones.e164(spelling, country=country, default_country=default)
    except (InvalidPhone, UnknownCountry) as exc:
        return f"{type(exc).__name__}: {exc}"


@pytest.mark.parametrize("limit", [1, 7, 20_000])
def test_remembered_phones_answer_as_normalize_phone(limit: int) -> None:
    phones = Phones(limit=limit)
    pick = random.Random(limit)
    for _ in range(2_000):
        spelling = pick.choice(SPELLINGS)
        country, default = pick.choice(COUNTRIES), pick.choice(["SA", "AE", "EG", "XX"])
        assert _remembered(phones, spelling, country, default) == _answer(
            spelling, country, default
        )
    assert len(phones._known) <= limit


def test_a_refusal_is_raised_again_without_old_frames() -> None:
    phones = Phones()
    for _ in range(3):
        with pytest.raises(InvalidPhone) as raised:
            phones.e164("12", country=None, default_country="SA")
        depth = 0
        tb = raised.value.__traceback__
        while tb is not None:
            depth, tb = depth + 1, tb.tb_next
        assert depth <= 3  # the test, e164; not one more frame per time it was raised
    kept = list(phones._known.values())
    assert all(k.__traceback__ is None for k in kept if isinstance(k, Exception))
    # what the memory keeps pins no frame of a row once it was raised (20,000 of them would)


def test_an_unknown_country_is_raised_again_as_itself() -> None:
    phones = Phones()
    for _ in range(2):
        with pytest.raises(UnknownCountry) as raised:
            phones.e164("0501234567", country="ZZ", default_country="SA")
        assert raised.value.code == "ZZ"


def test_rows_read_with_one_memory_read_as_each_alone() -> None:
    mapping = RowMapping.compile(HEADER, MAPPING)
    pick = random.Random(7)
    phones = Phones(limit=50)
    for n in range(3_000):
        cells = [
            pick.choice(["Kudu", "مطعم البيك", "", "Al Baik LLC"]),
            " / ".join(pick.sample(SPELLINGS, pick.randint(0, 3))),
            pick.choice(["", "info@kudu.example", "bad@", "a@b.example; c@d.example"]),
            pick.choice(["", "SA", "AE", "XX", "Egypt"]),
        ]
        for default in ("SA", "EG"):
            alone = read_row(cells, mapping, country=None, default_country=default)
            shared = read_row(cells, mapping, country=None, default_country=default, phones=phones)
            assert shared == alone, (n, cells)
