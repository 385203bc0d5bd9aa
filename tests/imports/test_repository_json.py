"""The JSON of a batch's parameters (`kit.repository.jsonb_text`, orjson first) reads as the
standard library's did: PostgreSQL parses the same values whichever encoder wrote the text.
Pure."""

from __future__ import annotations

import json
import random
import sys
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from uuid import UUID

import pytest

from leedz.evidence.models import Confidence
from leedz.kit.repository import jsonb_text as _json
from leedz.leads.models import LeadSource, LeadStatus


def _standard(value: Any) -> str:
    """What `_json` wrote before orjson."""
    return json.dumps(value, ensure_ascii=False, default=str)


def _lead(rng: random.Random, n: int) -> dict[str, Any]:
    """A lead as `service._encoded` gives it, with values drawn from awkward corners."""
    at = datetime(2026, 12, 1, tzinfo=UTC) + timedelta(microseconds=rng.randrange(10**12))
    floats = [0.0, -0.0, 0.1, 1e16, 1e-7, 24.7136, -46.6753, 5e-324, 1.7976931348623157e308]
    text = "".join(chr(rng.choice([rng.randrange(32, 0x7F), rng.randrange(0x600, 0x700),
                                   rng.randrange(0, 32), rng.randrange(0x10000, 0x10FFFF)]))
                   for _ in range(rng.randrange(0, 12)))  # fmt: skip
    return {
        "id": UUID(int=rng.getrandbits(128)),
        "name": text or "x",
        "contact_name": None,
        "phones": ["+96650" + str(n).zfill(7)],
        "emails": [f"{text}@example.sa"],
        "social_profiles": {"instagram": text},
        "lat": rng.choice(floats),
        "lng": rng.uniform(-180, 180),
        "rating": rng.choice([None, 4.5, rng.random() * 5]),
        "reviews_count": rng.choice([None, 0, 2**63 - 1, -(2**63)]),
        "external_ids": {"googleMaps": text},
        "status": rng.choice(list(LeadStatus)).value,
        "confidence": rng.choice(list(Confidence)).value,
        "source_type": LeadSource.IMPORT,  # a StrEnum member, as the standard library wrote it
        "do_not_contact": rng.random() < 0.5,
        "custom_fields": {"nested": {"list": [1, 2.5, "ت", None, True]}, text: [text]},
        "edited_fields": sorted({"name", "phones"}),
        "created_at": at,
        "updated_at": at.astimezone(timezone(timedelta(hours=3))),
        "deleted_at": None,
        "source_job_id": UUID(int=n),
    }


class TestTheBatchJson:
    def test_a_batch_of_leads_reads_as_with_the_standard_library(self) -> None:
        rng = random.Random(20261202)
        rows = [_lead(rng, n) for n in range(2_000)]
        assert json.loads(_json(rows)) == json.loads(_standard(rows))

    def test_datetimes_are_spelled_as_before(self) -> None:
        at = datetime(2026, 12, 1, 10, 30, 0, 123, tzinfo=UTC)
        times = [at, at.replace(microsecond=0), at.astimezone(timezone(timedelta(hours=3)))]
        assert json.loads(_json(times)) == [str(t) for t in times]

    @pytest.mark.parametrize(
        "value",
        [
            {"big": 2**64},  # an integer over 64 bits
            {"surrogate": "\ud800"},  # a lone surrogate
            {1: "a key that is no string"},
            [[[[]]]] * 3,  # written by orjson
        ],
    )
    def test_what_orjson_refuses_is_written_by_the_standard_library(self, value: Any) -> None:
        assert json.loads(_json(value)) == json.loads(_standard(value))

    def test_nesting_beyond_orjson_s_depth_is_written_too(self) -> None:
        deep: Any = "leaf"
        for _ in range(300):  # orjson stops at 254 levels
            deep = [deep]
        assert sys.getrecursionlimit() > 300
        assert json.loads(_json(deep)) == deep

    def test_report_tags_read_as_before(self) -> None:
        for tags in ([], ["vip"], ["عميل مهم", "x\u2028y"]):
            assert json.loads(_json(tags)) == json.loads(_standard(tags))
