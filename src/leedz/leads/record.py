"""From a lead's fields to its stored columns: E.164 phones, domain, keys and search text.

Pure functions over leads/normalize.py, shared by manual writes, merges and (later) resolution and
imports, so every path stores a lead the same way. A phone that is not a number is a 422 naming
its position (`phones[2]`); nothing is stored.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from leedz.errors import ValidationFailed
from leedz.kit import schemas as kit_schemas
from leedz.leads.models import LeadKeyKind
from leedz.leads.normalize import (
    InvalidPhone,
    InvalidWebsite,
    UnknownCountry,
    domain_unicode,
    name_key,
    normalize_phone,
    normalize_text,
    registrable_domain,
)

SEARCH_SEPARATOR = " | "
# The columns `derived_columns` computes, in the table's order, and the ones it reads.
DERIVED = ("search_text", "name_sort", "name_key")
DERIVED_FROM = frozenset({"name", "contact_name", "emails", "domain", "phones"})


@dataclass(frozen=True, slots=True)
class Key:
    """One identity key: `(kind, value)` is unique per tenant."""

    kind: LeadKeyKind
    value: str

    @property
    def reason(self) -> str:
        """How a 409 or a duplicate suggestion names it: `phone:+9665…`, `email:…`."""
        return f"{self.kind.value.lower()}:{self.value}"


def phones_e164(
    spellings: Iterable[str], *, country: str | None, default_country: str, field: str = "phones"
) -> list[str]:
    """Each spelling as E.164, in order, without repeats; 422 naming the first bad one."""
    found: dict[str, None] = {}
    for index, spelling in enumerate(spellings):
        try:
            found[normalize_phone(spelling, country=country, default_country=default_country)] = (
                None
            )
        except (InvalidPhone, UnknownCountry) as exc:
            raise ValidationFailed(
                f"{field}[{index}]: {exc}",
                field=field,
                errors=[
                    {
                        "loc": ["body", field, index],
                        "msg": str(exc),
                        "type": "phone_invalid",
                    }
                ],
            ) from exc
    return list(found)


def website_and_domain(website: str | None) -> tuple[str | None, str | None]:
    """The stored website (an absolute http(s) URL) and its registrable domain."""
    if website is None:
        return None, None
    text = website if "://" in website else f"https://{website}"
    try:
        url = kit_schemas.http_url(text)
        domain = registrable_domain(url)
    except (ValueError, InvalidWebsite) as exc:
        raise ValidationFailed(
            f"website: {exc}",
            field="website",
            errors=[{"loc": ["body", "website"], "msg": str(exc), "type": "website_invalid"}],
        ) from exc
    return url, domain


def external_keys(external_ids: Mapping[str, str]) -> list[Key]:
    return [
        Key(LeadKeyKind.EXTERNAL, f"{system}:{ident}") for system, ident in external_ids.items()
    ]


def identity_keys(
    phones: Iterable[str], emails: Iterable[str], external_ids: Mapping[str, str]
) -> list[Key]:
    """Every key of a lead, in a fixed order (kind, then value): writers that lock keys in the
    same order never deadlock each other."""
    keys = {Key(LeadKeyKind.PHONE, p) for p in phones}
    keys |= {Key(LeadKeyKind.EMAIL, e) for e in emails}
    keys |= set(external_keys(external_ids))
    return sorted(keys, key=lambda k: (k.kind.value, k.value))


def search_text(
    *,
    name: str,
    contact_name: str | None,
    emails: Iterable[str],
    domain: str | None,
    phones: Iterable[str],
    normalized_name: str | None = None,
) -> str:
    """What `q` searches, normalized (normalize_text) and joined by a separator no query holds:
    name, contact name, emails, the domain (and its Unicode form), phone digits (E.164, no +).
    `normalized_name`: `normalize_text(name)`, when the caller has it."""
    parts = [normalize_text(name) if normalized_name is None else normalized_name]
    if contact_name:
        parts.append(normalize_text(contact_name))
    parts.extend(emails)
    if domain:
        parts.append(domain)
        readable = domain_unicode(domain)
        if readable != domain:
            parts.append(normalize_text(readable))
    parts.extend(phone.lstrip("+") for phone in phones)
    return SEARCH_SEPARATOR.join(part for part in parts if part)


def name_columns(name: str, *, normalized: str | None = None) -> dict[str, str]:
    """`name_sort` (the sort order: normalized, case-folded) and `name_key` (the resolution key).
    `normalized`: `normalize_text(name)`, when the caller has it."""
    text = normalize_text(name) if normalized is None else normalized
    # `name_key(name)` is `name_key_of_text(normalize_text(name))`, remembered (lru_cache): an
    # import or an upload asked for it already when it read the record, and the legal-form
    # pass is the costly half (~40 µs a name).
    return {"name_sort": text[:300], "name_key": name_key(name)[:300]}


def derived_columns(row: Mapping[str, Any]) -> dict[str, Any]:
    """The columns computed from the others: search text and the two name forms (the name
    normalized once for the three)."""
    normalized = normalize_text(row["name"])
    return {
        "search_text": search_text(
            name=row["name"],
            contact_name=row.get("contact_name"),
            emails=row.get("emails") or [],
            domain=row.get("domain"),
            phones=row.get("phones") or [],
            normalized_name=normalized,
        ),
        **name_columns(row["name"], normalized=normalized),
    }


def derived_after(columns: Mapping[str, Any], current: Callable[[str], Any]) -> dict[str, Any]:
    """The derived columns again once `columns` (a write's) are set over a lead whose other
    columns `current` reads (`LeadRow.column`); none when the write sets none they read."""
    if not DERIVED_FROM & columns.keys():
        return {}
    return derived_columns({c: columns[c] if c in columns else current(c) for c in DERIVED_FROM})
