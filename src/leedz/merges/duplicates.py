"""Which leads may be the same business as a lead, why, and how sure (docs/merges.md).

Pure functions: the repository finds candidates (same domain, same name key, similar name, a
domain mentioned in their search text), these decide which reasons hold and score them.

Reasons, each with a weight `w`: the first when both cities are known and equal, the second when
either is unknown (a different known city never matches):

- `domain`: the same registrable website domain, not a shared host: 0.9 / 0.8.
- `email_domain`: an e-mail domain in common, or one's e-mail domain is the other's website
  domain; never a free mail provider (merges/free_mail.py) nor a shared host: 0.7 / 0.6.
- `name`: the same name key, unless both leads have phones: 0.7 / 0.5.
- `similar_name`: pg_trgm similarity of the normalized names (`name_sort`) at least
  `SIMILARITY_THRESHOLD`, same known city only, unless both leads have phones: 0.6 x similarity.

score = 1 - prod(1 - w) over the reasons found (two independent hints make each other surer), in
0..1, rounded to three decimals. Two live leads never share a phone (keys are unique), so "both
have phones" means "they have different phones": a name alone then says nothing.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from leedz.leads.normalize import InvalidWebsite, is_shared_host, registrable_domain
from leedz.leads.record import name_columns
from leedz.leads.repository import LeadRow
from leedz.merges.free_mail import is_free_mail

SIMILARITY_THRESHOLD = 0.5
"""Measured on pairs of Arabic and Latin business names (docs/merges.md): every spelling variant
of one name scored 0.5 or more; unrelated names sharing a generic word (مطعم, restaurant) mostly
under it. A suggestion, decided by a person: recall matters more than precision."""

_W_DOMAIN = (0.9, 0.8)
_W_EMAIL_DOMAIN = (0.7, 0.6)
_W_NAME = (0.7, 0.5)
_W_SIMILAR = 0.6


class ReasonType(enum.StrEnum):
    DOMAIN = "domain"
    EMAIL_DOMAIN = "email_domain"
    NAME = "name"
    SIMILAR_NAME = "similar_name"


@dataclass(frozen=True, slots=True)
class Reason:
    type: ReasonType
    value: str | None = None
    similarity: float | None = None


@dataclass(frozen=True, slots=True)
class Scored:
    lead: LeadRow
    score: float
    reasons: list[Reason]


def website_domain(lead: LeadRow) -> str | None:
    """The lead's website domain when it may identify it (not a shared host)."""
    if not lead.domain:
        return None
    try:
        return None if is_shared_host(lead.domain) else lead.domain
    except InvalidWebsite:
        return None


def mail_domains(emails: Iterable[str]) -> set[str]:
    """The registrable domains of the addresses, without free mail and shared hosts."""
    found: set[str] = set()
    for email in emails:
        host = email.rpartition("@")[2]
        try:
            domain = registrable_domain(host) if host else None
            if domain is None or is_free_mail(domain) or is_shared_host(domain):
                continue
        except InvalidWebsite:
            continue
        found.add(domain)
    return found


def _city(lead: LeadRow) -> str | None:
    return lead.city.lower() if lead.city else None  # as the SQL compares: lower(city)


def reasons(lead: LeadRow, other: LeadRow, similarity: float | None) -> tuple[list[Reason], bool]:
    """The reasons `other` may be `lead`, and whether both cities are known and equal."""
    city, other_city = _city(lead), _city(other)
    if city and other_city and city != other_city:
        return [], False
    same_city = city is not None and city == other_city
    found: list[Reason] = []
    web, other_web = website_domain(lead), website_domain(other)
    if web is not None and web == other_web:
        found.append(Reason(ReasonType.DOMAIN, value=web))
    mail, other_mail = mail_domains(lead.emails), mail_domains(other.emails)
    shared = (
        (mail & other_mail)
        | (mail & ({other_web} if other_web else set()))
        | (({web} if web else set()) & other_mail)
    )
    if shared:
        found.append(Reason(ReasonType.EMAIL_DOMAIN, value=sorted(shared)[0]))
    phones_differ = bool(lead.phones) and bool(other.phones)
    if not phones_differ:
        key = name_columns(lead.name)["name_key"]
        if key and key == name_columns(other.name)["name_key"]:
            found.append(Reason(ReasonType.NAME))
        elif same_city and similarity is not None and similarity >= SIMILARITY_THRESHOLD:
            found.append(Reason(ReasonType.SIMILAR_NAME, similarity=round(similarity, 3)))
    return found, same_city


def score(found: Iterable[Reason], *, same_city: bool) -> float:
    at = 0 if same_city else 1
    remaining = 1.0
    for reason in found:
        if reason.type is ReasonType.DOMAIN:
            weight = _W_DOMAIN[at]
        elif reason.type is ReasonType.EMAIL_DOMAIN:
            weight = _W_EMAIL_DOMAIN[at]
        elif reason.type is ReasonType.NAME:
            weight = _W_NAME[at]
        else:
            weight = _W_SIMILAR * (reason.similarity or 0.0)
        remaining *= 1.0 - weight
    return round(1.0 - remaining, 3)


def rank(
    lead: LeadRow, candidates: Iterable[tuple[LeadRow, float | None]], *, limit: int
) -> list[Scored]:
    """Candidates with at least one reason, best first (score, then oldest), at most `limit`."""
    scored = []
    for other, similarity in candidates:
        found, same_city = reasons(lead, other, similarity)
        if found:
            scored.append(Scored(other, score(found, same_city=same_city), found))
    scored.sort(key=lambda s: (-s.score, s.lead.created_at, str(s.lead.id)))
    return scored[:limit]
