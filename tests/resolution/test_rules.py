"""rules.py and policy.py, pure: the five rules against leads, the bridging decision, the field
policy."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from leedz.evidence.models import Confidence
from leedz.leads.models import LeadKeyKind, LeadSource, LeadStatus
from leedz.leads.record import Key
from leedz.leads.repository import LeadRow
from leedz.resolution import policy
from leedz.resolution.extract import Extracted, extract
from leedz.resolution.policy import Backer, Source
from leedz.resolution.rules import LeadState, Match, Rule, contradict, decide, matches

T0 = datetime(2026, 12, 1, tzinfo=UTC)


def lead(n: int, **fields: Any) -> LeadState:
    """Lead `n` (created n minutes after T0)."""
    row: dict[str, Any] = {
        "id": uuid.UUID(int=n), "name": "x", "contact_name": None, "category": None,
        "phones": [], "emails": [], "website": None, "domain": None, "social_profiles": {},
        "address": None, "city": None, "country": None, "lat": None, "lng": None,
        "rating": None, "reviews_count": None, "external_ids": {}, "status": LeadStatus.NEW,
        "owner_id": None, "tags": [], "do_not_contact": False, "custom_fields": {},
        "confidence": Confidence.MEDIUM, "source_type": LeadSource.SEARCH, "source_job_id": None,
        "edited_fields": [], "version": 1, "created_by_id": None,
        "created_at": T0 + timedelta(minutes=n), "updated_at": T0 + timedelta(minutes=n),
        "last_activity_at": T0, "deleted_at": None, "merged_into_id": None,
    }  # fmt: skip
    return LeadState.of(LeadRow(**(row | fields)))


def record(**raw: Any) -> Extracted:
    found = extract("CONTACT_INFO", raw, default_country="SA")
    assert found is not None
    return found


def match(state: LeadState, *rules: Rule) -> Match:
    return Match(state, frozenset(rules))


class TestMatches:
    def test_keys_then_domain_then_name(self) -> None:
        a = lead(1, phones=["+966501234567"])
        b = lead(2, domain="albaik.com", city="جدة")
        c = lead(3, name="مطعم البيك", city="الرياض", phones=["+966114567890"])
        leads = {s.id: s for s in (a, b, c)}
        owners = {Key(LeadKeyKind.PHONE, "+966501234567"): a.id}
        found = matches(
            record(name="مطعم البيك", phone="0501234567", website="albaik.com", city=" الرياض"),
            leads,
            owners,
        )
        # b: its city is another one; c: same name, same city, but phones that disagree.
        assert [(m.lead.id, m.rules) for m in found] == [(a.id, frozenset({Rule.PHONE}))]
        no_phone = matches(record(name="مطعم البيك", city="الرياض"), leads, owners)
        assert [(m.lead.id, m.rules) for m in no_phone] == [(c.id, frozenset({Rule.NAME}))]
        no_city = matches(record(website="https://www.albaik.com/ar"), leads, owners)
        assert [(m.lead.id, m.rules) for m in no_city] == [(b.id, frozenset({Rule.DOMAIN}))]

    def test_a_lead_in_the_trash_matches_by_key_only(self) -> None:
        gone = lead(1, phones=["+966501234567"], city="الرياض", name="مطعم",
                    deleted_at=T0)  # fmt: skip
        owners = {Key(LeadKeyKind.PHONE, "+966501234567"): gone.id}
        assert matches(record(name="مطعم", city="الرياض"), {gone.id: gone}, owners) == []
        found = matches(record(phone="0501234567"), {gone.id: gone}, owners)
        assert [m.lead.id for m in found] == [gone.id]


class TestDecide:
    def test_strong_links_merge_everything_into_the_oldest(self) -> None:
        a, b, c = lead(3), lead(1), lead(2)
        decision = decide([match(b, Rule.PHONE), match(c, Rule.EMAIL), match(a, Rule.PHONE)])
        assert decision.survivor.lead is b
        assert [m.lead for m in decision.merged] == [c, a]

    def test_a_chain_profile_without_a_city_joins_one_branch(self) -> None:
        riyadh = lead(1, city="الرياض", phones=["+966114567890"], domain="asala.sa")
        dammam = lead(2, city="الدمام", phones=["+966138765432"], domain="asala.sa")
        assert contradict(riyadh, dammam)
        decision = decide([match(riyadh, Rule.DOMAIN), match(dammam, Rule.DOMAIN)])
        assert decision.survivor.lead is riyadh
        assert decision.merged == ()
        assert [m.lead for m in decision.left_apart] == [dammam]

    def test_the_survivor_is_the_oldest_strong_match(self) -> None:
        older_weak = lead(1, city="الرياض")
        strong = lead(2, phones=["+966501234567"], city="الرياض")
        decision = decide([match(older_weak, Rule.NAME), match(strong, Rule.PHONE)])
        assert decision.survivor.lead is strong
        assert [m.lead for m in decision.merged] == [older_weak]

    def test_a_weak_match_that_contradicts_a_strong_one_stays_apart(self) -> None:
        strong = lead(2, phones=["+966501234567"])
        twin = lead(1, phones=["+966551234567"], city="الرياض")
        decision = decide([match(twin, Rule.NAME), match(strong, Rule.PHONE)])
        assert decision.survivor.lead is strong
        assert decision.merged == ()

    def test_strong_matches_merge_even_when_their_phones_differ(self) -> None:
        landline = lead(1, phones=["+966114567890"])
        mobile = lead(2, phones=["+966501234567"])
        weak = lead(3, phones=["+966551112222"])
        decision = decide(
            [match(landline, Rule.PHONE), match(mobile, Rule.PHONE), match(weak, Rule.DOMAIN)]
        )
        assert [m.lead for m in decision.merged] == [mobile]
        assert [m.lead for m in decision.left_apart] == [weak]


def source(confidence: Confidence, minute: int, *, maps: bool = False) -> Source:
    return Source(
        evidence_id=uuid.uuid4(),
        confidence=confidence,
        collected_at=T0 + timedelta(minutes=minute),
        maps=maps,
    )


def backer(confidence: Confidence, minute: int, *, maps: bool = False) -> Backer:
    return source(confidence, minute, maps=maps).backer


class TestPolicy:
    def test_confidence_then_recency_and_a_persons_edit(self) -> None:
        row = lead(1, address="old", category="edited by hand", edited_fields=["category"]).row
        backers = {"address": backer(Confidence.MEDIUM, 10)}
        incoming = record(address="new", category="agent's")
        for conf, minute, wins in (
            (Confidence.LOW, 99, False),
            (Confidence.MEDIUM, 5, False),
            (Confidence.MEDIUM, 10, False),
            (Confidence.MEDIUM, 11, True),
            (Confidence.HIGH, 0, True),
        ):
            outcome = policy.join(row, backers, incoming, source(conf, minute), {})
            assert ("address" in outcome.changed) is wins, (conf, minute)
            assert "category" not in outcome.changed

    def test_rating_follows_the_newest_listing(self) -> None:
        row = lead(1, rating=4.0, reviews_count=10).row
        backers = {"rating": backer(Confidence.HIGH, 10, maps=True)}
        newer = record(rating=4.5)
        assert policy.join(row, backers, newer, source(Confidence.LOW, 11, maps=True), {}).changed
        assert not policy.join(
            row, backers, newer, source(Confidence.HIGH, 9, maps=True), {}
        ).changed
        assert not policy.join(row, backers, newer, source(Confidence.HIGH, 99), {}).changed

    def test_a_shared_host_never_replaces_an_own_website(self) -> None:
        row = lead(1, website="https://alamal.com.sa", domain="alamal.com.sa").row
        insta = record(website="https://instagram.com/alamal")
        outcome = policy.join(row, {}, insta, source(Confidence.HIGH, 99), {})
        assert outcome.changed == []

    def test_unions_and_keys_another_lead_holds(self) -> None:
        row = lead(1, phones=["+966501234567"], tags=["VIP"], social_profiles={"x": "a"}).row
        other = uuid.uuid4()
        owners = {
            Key(LeadKeyKind.PHONE, "+966501234567"): row.id,
            Key(LeadKeyKind.PHONE, "+966551234567"): other,
        }
        incoming = record(
            phones=["0501234567", "0551234567", "0561234567"], tags=["vip", "new"],
            socialProfiles={"x": "b", "instagram": "c"},
        )  # fmt: skip
        outcome = policy.join(row, {}, incoming, source(Confidence.LOW, 0), owners)
        assert outcome.columns["phones"] == ["+966501234567", "+966561234567"]
        assert outcome.claims == [Key(LeadKeyKind.PHONE, "+966561234567")]
        assert outcome.columns["tags"] == ["VIP", "new"]
        assert outcome.columns["social_profiles"] == {"x": "a", "instagram": "c"}
        assert {"phones", "tags", "socialProfiles"} <= set(outcome.fields)
