"""Folding and its reversal, as pure functions over lead rows."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from leedz.evidence.models import Confidence
from leedz.leads.models import LeadSource, LeadStatus
from leedz.leads.repository import LeadRow
from leedz.merges import folding

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def row(name: str, minutes: int = 0, **fields: Any) -> LeadRow:
    base: dict[str, Any] = {
        "id": uuid.uuid4(), "name": name, "contact_name": None, "category": None, "phones": [],
        "emails": [], "website": None, "domain": None, "social_profiles": {}, "address": None,
        "city": None, "country": None, "lat": None, "lng": None, "rating": None,
        "reviews_count": None, "external_ids": {}, "status": LeadStatus.NEW, "owner_id": None,
        "tags": [], "do_not_contact": False, "custom_fields": {}, "confidence": Confidence.HIGH,
        "source_type": LeadSource.MANUAL, "source_job_id": None, "edited_fields": ["name"],
        "version": 1, "created_by_id": None, "created_at": T0 + timedelta(minutes=minutes),
        "updated_at": T0, "last_activity_at": T0, "deleted_at": None, "merged_into_id": None,
    }  # fmt: skip
    return LeadRow(**(base | fields))


def applied(lead: LeadRow, columns: dict[str, Any]) -> LeadRow:
    return dataclasses.replace(lead, **columns)


def test_nothing_to_fill_changes_nothing() -> None:
    survivor = row("A", contact_name="Ali", phones=["+966501111111"])
    fold = folding.fold(survivor, [row("B", contact_name="Badr")])
    assert fold.columns == {}
    assert fold.changes == {}


def test_a_group_is_filled_whole_and_from_one_lead() -> None:
    survivor = row("A")
    older = row("B", minutes=1, lat=1.5, lng=2.5, edited_fields=["name", "location"])
    newer = row("C", minutes=2, website="https://c.example/", domain="c.example")
    fold = folding.fold(survivor, [older, newer])
    assert fold.columns == {
        "lat": 1.5, "lng": 2.5, "website": "https://c.example/", "domain": "c.example",
    }  # fmt: skip
    assert fold.fields == ["location", "website"]
    assert fold.edited_added == ["location"]  # B's location was typed by a person


def test_an_owner_fills_an_unassigned_survivor_and_goes_back() -> None:
    owner = uuid.uuid4()
    survivor = row("A")
    fold = folding.fold(survivor, [row("B", owner_id=owner)])
    assert fold.columns == {"owner_id": owner}
    assert fold.changes["owner_id"] == {"from": None, "to": str(owner)}
    merged = applied(survivor, fold.columns)
    assert folding.revert(merged, fold.changes, fold.edited_added).columns == {"owner_id": None}
    reassigned = applied(merged, {"owner_id": uuid.uuid4()})
    assert folding.revert(reassigned, fold.changes, fold.edited_added).columns == {}


def test_undo_removes_what_came_and_keeps_what_people_added() -> None:
    survivor = row("A", tags=["VIP"], external_ids={"a": "1"})
    other = row("B", tags=["vip", "new"], external_ids={"a": "2", "b": "3"}, emails=["b@b.sa"])
    fold = folding.fold(survivor, [other])
    assert fold.columns["tags"] == ["VIP", "new"]
    assert fold.columns["external_ids"] == {"a": "1", "b": "3"}
    since = applied(
        survivor,
        fold.columns | {"tags": ["VIP", "NEW", "later"], "external_ids": {"a": "1", "b": "9"}},
    )
    back = folding.revert(since, fold.changes, fold.edited_added)
    assert back.columns["tags"] == ["VIP", "later"]  # "NEW" is the merge's "new"
    assert "external_ids" not in back.columns  # b was changed by a person: it stays
    assert back.columns["emails"] == []


def test_edited_fields_lose_only_what_went_back() -> None:
    survivor = row("A")
    other = row("B", contact_name="Badr", category="Cafe",
                edited_fields=["name", "contact_name", "category"])  # fmt: skip
    fold = folding.fold(survivor, [other])
    assert fold.edited_added == ["category", "contact_name"]
    merged = applied(survivor, fold.columns | {"edited_fields": ["name", *fold.edited_added]})
    since = applied(merged, {"contact_name": "Someone"})
    back = folding.revert(since, fold.changes, fold.edited_added)
    assert back.columns == {"category": None, "edited_fields": ["name", "contact_name"]}
    assert back.fields == ["category"]


def test_do_not_contact_is_raised_by_any_and_lowered_back() -> None:
    survivor = row("A")
    fold = folding.fold(survivor, [row("B"), row("C", do_not_contact=True)])
    assert fold.columns == {"do_not_contact": True}
    merged = applied(survivor, fold.columns)
    assert folding.revert(merged, fold.changes, []).columns == {"do_not_contact": False}
