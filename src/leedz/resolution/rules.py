"""The five rules and the bridging decision, pure: which leads a record is, and what to do.

A record is the same business as a lead when (docs/resolution.md):

1. the same external id (a Google Maps place id);
2. a phone in common (E.164);
3. an e-mail address in common;
4. the same identity domain, in the same city or with either city unknown;
5. the same name key in the same city, unless both have phones and share none.

Rules 1-3 are read from the keys' owners (`lead_keys`), 4 and 5 from the leads' current fields.
A record matching several leads bridges them; `decide` says which of them are merged.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from uuid import UUID

from leedz.leads.models import LeadKeyKind
from leedz.leads.record import Key, name_columns
from leedz.leads.repository import LeadRow
from leedz.resolution.extract import Extracted, city_key


class Rule(enum.StrEnum):
    EXTERNAL_ID = "externalId"
    PHONE = "phone"
    EMAIL = "email"
    DOMAIN = "domain"
    NAME = "name"


STRONG = frozenset({Rule.EXTERNAL_ID, Rule.PHONE, Rule.EMAIL})
RULE_OF_KEY = {
    LeadKeyKind.EXTERNAL: Rule.EXTERNAL_ID,
    LeadKeyKind.PHONE: Rule.PHONE,
    LeadKeyKind.EMAIL: Rule.EMAIL,
}
_ORDER = {rule: n for n, rule in enumerate(Rule)}


def ordered(rules: Iterable[Rule]) -> list[Rule]:
    """Rules in the contract's order (1 to 5)."""
    return sorted(set(rules), key=_ORDER.__getitem__)


@dataclass(frozen=True, slots=True)
class LeadState:
    """A lead as the rules read it, with what they compare computed once."""

    row: LeadRow
    name_key: str
    city_key: str | None
    phones: frozenset[str]

    @classmethod
    def of(cls, row: LeadRow) -> LeadState:
        return cls(
            row=row,
            name_key=name_columns(row.name)["name_key"],
            city_key=city_key(row.city),
            phones=frozenset(row.phones),
        )

    @property
    def id(self) -> UUID:
        return self.row.id

    @property
    def age(self) -> tuple[object, str]:
        """Oldest first: creation time, then id."""
        return (self.row.created_at, str(self.row.id))


@dataclass(frozen=True, slots=True)
class Match:
    lead: LeadState
    rules: frozenset[Rule]

    @property
    def strong(self) -> bool:
        return bool(self.rules & STRONG)


def _disjoint_phones(a: frozenset[str], b: frozenset[str]) -> bool:
    """Both have phones and share none."""
    return bool(a and b and not a & b)


def domain_rule(record: Extracted, lead: LeadState) -> bool:
    """Rule 4: the same identity domain, in the same city or with either city unknown."""
    if record.identity_domain is None or lead.row.domain != record.identity_domain:
        return False
    mine, theirs = record.city_key, lead.city_key
    return mine is None or theirs is None or mine == theirs


def name_rule(record: Extracted, lead: LeadState) -> bool:
    """Rule 5: the same name key in the same (known) city, unless the phones disagree."""
    mine = record.city_key
    if record.name_key is None or mine is None or lead.city_key != mine:
        return False
    if lead.name_key != record.name_key:
        return False
    return not _disjoint_phones(frozenset(record.phones), lead.phones)


def matches(
    record: Extracted, leads: Mapping[UUID, LeadState], owners: Mapping[Key, UUID]
) -> list[Match]:
    """Every lead of `leads` the record is, with the rules that say so, oldest first. `owners`
    maps the record's keys to the lead holding each (live or in the trash); rules 4 and 5 only
    look at live leads."""
    found: dict[UUID, set[Rule]] = {}
    for key in record.keys:
        owner = owners.get(key)
        if owner is not None and owner in leads:
            found.setdefault(owner, set()).add(RULE_OF_KEY[key.kind])
    if record.identity_domain is not None or record.name_key is not None:
        for lead in leads.values():
            if not lead.row.live:
                continue
            if domain_rule(record, lead):
                found.setdefault(lead.id, set()).add(Rule.DOMAIN)
            if name_rule(record, lead):
                found.setdefault(lead.id, set()).add(Rule.NAME)
    return sorted(
        (Match(leads[i], frozenset(rules)) for i, rules in found.items()),
        key=lambda m: m.lead.age,
    )


def contradict(a: LeadState, b: LeadState) -> bool:
    """Two leads the rules tell apart: both have phones and share none, or both have a known
    city and the cities differ."""
    if _disjoint_phones(a.phones, b.phones):
        return True
    return a.city_key is not None and b.city_key is not None and a.city_key != b.city_key


@dataclass(frozen=True, slots=True)
class Decision:
    """The lead the record joins, and the leads merged into it first (oldest first)."""

    survivor: Match
    merged: tuple[Match, ...]
    left_apart: tuple[Match, ...]  # matched weakly, but told apart from the group


def decide(found: list[Match]) -> Decision:
    """What a record matching `found` (live leads, oldest first, at least one) does.

    Every lead matched by a strong rule (1-3) is merged into the oldest of them: the record's own
    phone, e-mail address or place id says they are one business. A lead matched only by a weak
    rule (4, 5) joins that group only when it contradicts none of its members (checked oldest
    first); without strong matches the group starts from the oldest lead. The survivor is the
    oldest strong match, else the oldest match. The literal contract merges every match; this
    refinement keeps a chain's website or a shared name from bridging branches the rules
    themselves tell apart (docs/resolution.md)."""
    strong = [m for m in found if m.strong]
    weak = [m for m in found if not m.strong]
    group = strong or weak[:1]
    apart: list[Match] = []
    for match in weak:
        if match in group:
            continue
        if any(contradict(match.lead, member.lead) for member in group):
            apart.append(match)
        else:
            group.append(match)
    survivor = group[0]  # the oldest strong match, else the oldest match
    merged = sorted((m for m in group if m is not survivor), key=lambda m: m.lead.age)
    return Decision(survivor=survivor, merged=tuple(merged), left_apart=tuple(apart))
