"""From an evidence item's rawData to the lead fields it carries, and what the rules compare.

Pure: no I/O. Agents send whatever their connectors scraped, so nothing here refuses a record:
a value of the wrong type, a phone, e-mail address or website that does not read, a country
that is no country, a coordinate out of range is dropped, and the rest of the record still
counts. Texts are cleaned (control characters become spaces, runs of spaces one) and cut to
their column's bound. Lists are read up to a bound (`EXAMINED_MAX` spellings) and kept up to
the lead's (`MAX_PHONES`, `MAX_EMAILS`, `MAX_TAGS`), so that 10,000 phones cost what 100 do.
Keys that are not lead fields stay on the evidence only.

Only the business-record types are read (`LEAD_TYPES`); a search result, a review or an
article names no business of its own.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import phonenumbers

from leedz.errors import ValidationFailed
from leedz.leads.models import LeadKeyKind
from leedz.leads.normalize import (
    InvalidEmail,
    InvalidPhone,
    InvalidWebsite,
    UnknownCountry,
    identity_domain,
    name_key,
    normalize_email,
    normalize_phone,
    split_phones,
    trim_text,
)
from leedz.leads.record import Key, website_and_domain
from leedz.leads.schemas import MAX_EMAILS, MAX_PHONES, MAX_TAGS

LEAD_TYPES = frozenset({"GOOGLE_MAPS_LISTING", "CONTACT_INFO", "SOCIAL_PROFILE", "WEBSITE_CONTENT"})
MAPS_LISTING = "GOOGLE_MAPS_LISTING"
GOOGLE_MAPS = "googleMaps"  # the external id system of a place id

# Spellings (phones, e-mail addresses, tags) read from one record at most; the rest is ignored.
EXAMINED_MAX = 100

# A phone sent as a JSON number in exponent notation (5.01234567e8) is read when it is a whole
# number below this: every float under 2**53 is exact, and no phone number has more digits.
PHONE_FLOAT_MAX = 1e15
# The Arabic decimal and thousands separators (U+066B, U+066C), as numbers typed in Arabic
# carry them.
_SEPARATORS = str.maketrans({"\u066b": ".", "\u066c": None})
# A whole number with its thousands grouped by commas (1,234), as a review count is shown.
_GROUPED = re.compile(r"^\s*\d{1,3}(?:,\d{3})+\s*$")

# Column bounds (leads/models.py), in characters.
NAME_MAX = 300
CONTACT_NAME_MAX = 200
CATEGORY_MAX = 200
ADDRESS_MAX = 500
CITY_MAX = 120
EXTERNAL_ID_MAX = 300
SOCIAL_MAX = 300
TAG_MAX = 50
REVIEWS_MAX = 1_000_000_000

SOCIAL_NETWORKS = ("instagram", "facebook", "x", "linkedin", "tiktok", "snapchat")
_SOCIAL_ALIASES = {"twitter": "x"}


def _clean(value: Any, limit: int) -> str | None:
    """A text as a lead stores it: control characters as spaces, whitespace collapsed, cut to
    `limit` characters, invisible format characters at the ends removed (`trim_text`); None
    for anything else than a string with something visible in it."""
    if not isinstance(value, str):
        return None
    if len(value) > limit * 4:  # whatever follows is cut anyway; bound the work
        value = value[: limit * 4]
    text = "".join(" " if unicodedata.category(ch) == "Cc" else ch for ch in value)
    text = trim_text(" ".join(text.split())[:limit])
    return text or None


def _identifier(value: Any, limit: int) -> str | None:
    """An id, cleaned like a text; None when longer than `limit`: cut, it would be another id
    (two long ids sharing their first characters would become one key)."""
    text = _clean(value, limit + 1)
    return text if text is not None and len(text) <= limit else None


def _number(value: Any) -> float | None:
    """A finite number (a numeric string too, in any script's digits, with the Arabic decimal
    separator); None for a boolean or anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value[:64].translate(_SEPARATORS).strip())
        except ValueError:
            return None
    if isinstance(value, int | float) and math.isfinite(value):
        return float(value)
    return None


def _country(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    code = value.strip().upper()
    return code if code in phonenumbers.SUPPORTED_REGIONS else None


def _spellings(raw: Mapping[str, Any], *keys: str) -> Iterator[str]:
    """Each string (or number: a phone sent as 966501234567 or 5.01234567e8) of the keys'
    values, a value being one item or a list of them; nested lists, objects, booleans and
    numbers that are no whole number are skipped."""
    for key in keys:
        value = raw.get(key)
        items = value if isinstance(value, list) else [value]
        for item in items[:EXAMINED_MAX]:
            if isinstance(item, str):
                yield item
            elif isinstance(item, int) and not isinstance(item, bool):
                yield str(item)
            elif isinstance(item, float) and item.is_integer() and 0 < item < PHONE_FLOAT_MAX:
                yield str(int(item))


def read_phones(
    raw: Mapping[str, Any], *, country: str | None, hint: str | None, default_country: str
) -> tuple[str, ...]:
    """`phone` then `phones` (a list, or one string holding several), split and normalized to
    E.164 with the record's country, else the upload's hint, else the tenant's default; what
    is not a number (a short code, two numbers joined by a dash) is dropped."""
    default = hint or default_country
    found: dict[str, None] = {}
    examined = 0
    for cell in _spellings(raw, "phone", "phones"):
        for spelling in split_phones(cell[:2048]):
            examined += 1
            if examined > EXAMINED_MAX or len(found) >= MAX_PHONES:
                return tuple(found)
            try:
                found[normalize_phone(spelling, country=country, default_country=default)] = None
            except (InvalidPhone, UnknownCountry):
                continue
    return tuple(found)


def read_emails(raw: Mapping[str, Any]) -> tuple[str, ...]:
    found: dict[str, None] = {}
    for examined, text in enumerate(_spellings(raw, "email", "emails")):
        if examined >= EXAMINED_MAX or len(found) >= MAX_EMAILS:
            break
        try:
            found[normalize_email(text[:1024])] = None
        except InvalidEmail:
            continue
    return tuple(found)


def _website(value: Any) -> tuple[str | None, str | None, str | None]:
    """(stored website, its registrable domain, its identity domain), all None when the value
    is no website."""
    text = _clean(value, 2048)
    if text is None:
        return None, None, None
    try:
        url, domain = website_and_domain(text)
    except ValidationFailed:
        return None, None, None
    if url is None:
        return None, None, None
    try:
        identity = identity_domain(url)
    except InvalidWebsite:
        identity = None
    return url, domain, identity


def _location(raw: Mapping[str, Any]) -> tuple[float, float] | None:
    lat, lng = _number(raw.get("lat")), _number(raw.get("lng"))
    if lat is None or lng is None or not (-90 <= lat <= 90 and -180 <= lng <= 180):
        return None
    return lat, lng


def _rating(value: Any) -> float | None:
    rating = _number(value)
    return rating if rating is not None and 0 <= rating <= 5 else None


def _reviews(value: Any) -> int | None:
    if isinstance(value, str) and _GROUPED.match(value):  # "1,234" as Maps shows it in English
        value = value.replace(",", "")
    count = _number(value)
    if count is None or not count.is_integer() or not 0 <= count <= REVIEWS_MAX:
        return None
    return int(count)


def _social(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    found: dict[str, str] = {}
    for key, handle in list(value.items())[:EXAMINED_MAX]:
        network = _SOCIAL_ALIASES.get(str(key).lower(), str(key).lower())
        text = _clean(handle, SOCIAL_MAX)
        if network in SOCIAL_NETWORKS and text is not None:
            found.setdefault(network, text)
    return found


def _tags(value: Any) -> tuple[str, ...]:
    items = value if isinstance(value, list) else []
    seen: dict[str, str] = {}
    for item in items[:EXAMINED_MAX]:
        tag = _clean(item, TAG_MAX)
        if tag is not None and len(seen) < MAX_TAGS:
            seen.setdefault(tag.casefold(), tag)
    return tuple(seen.values())


def city_key(city: str | None) -> str | None:
    """How rules 4 and 5 compare a city: trimmed, lower case; None when unknown."""
    if city is None:
        return None
    return city.strip().lower() or None


@dataclass(frozen=True, slots=True)
class Extracted:
    """The lead fields of one record, read and bounded; what it does not carry is None/empty."""

    name: str | None = None
    contact_name: str | None = None
    category: str | None = None
    phones: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    website: str | None = None
    domain: str | None = None  # the website's registrable domain (stored)
    identity_domain: str | None = None  # None for a shared host (what rule 4 compares)
    address: str | None = None
    city: str | None = None
    country: str | None = None
    location: tuple[float, float] | None = None
    rating: float | None = None
    reviews_count: int | None = None
    place_id: str | None = None
    social_profiles: dict[str, str] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    # Derived once, in __post_init__: resolution reads them many times a record (locks,
    # candidates, the index, the rules, the policy), and a name key costs a normalization.
    _name_key: str | None = field(init=False, repr=False, compare=False, default=None)
    _city_key: str | None = field(init=False, repr=False, compare=False, default=None)
    _keys: tuple[Key, ...] = field(init=False, repr=False, compare=False, default=())

    def __post_init__(self) -> None:
        key = name_key(self.name)[:NAME_MAX] if self.name else ""
        keys = [Key(LeadKeyKind.PHONE, p) for p in self.phones]
        keys += [Key(LeadKeyKind.EMAIL, e) for e in self.emails]
        if self.place_id:
            keys.append(Key(LeadKeyKind.EXTERNAL, f"{GOOGLE_MAPS}:{self.place_id}"))
        object.__setattr__(self, "_name_key", key or None)
        object.__setattr__(self, "_city_key", city_key(self.city))
        object.__setattr__(
            self, "_keys", tuple(sorted(set(keys), key=lambda k: (k.kind.value, k.value)))
        )

    @property
    def name_key(self) -> str | None:
        return self._name_key

    @property
    def city_key(self) -> str | None:
        return self._city_key

    @property
    def external_ids(self) -> dict[str, str]:
        return {GOOGLE_MAPS: self.place_id} if self.place_id else {}

    @property
    def keys(self) -> tuple[Key, ...]:
        """Its identity keys (rules 1-3), in lock order (kind, value)."""
        return self._keys

    @property
    def identifiable(self) -> bool:
        """Something a rule compares: a key, an identity domain, or a name."""
        return bool(self._keys or self.identity_domain or self._name_key)


def extract(
    evidence_type: str,
    raw: Any,
    *,
    hint: str | None = None,
    default_country: str,
) -> Extracted | None:
    """The lead fields of an evidence item, or None when its type is not a business record or
    its rawData is not an object. `hint` is the upload's country (the job's), used for a phone
    without a country code when the record names no country of its own."""
    if evidence_type not in LEAD_TYPES or not isinstance(raw, dict):
        return None
    country = _country(raw.get("country"))
    url, domain, identity = _website(raw.get("website"))
    place_id = raw.get("placeId")
    if isinstance(place_id, int) and not isinstance(place_id, bool):
        place_id = str(place_id)
    return Extracted(
        name=_clean(raw.get("name"), NAME_MAX),
        contact_name=_clean(raw.get("contactName"), CONTACT_NAME_MAX),
        category=_clean(raw.get("category"), CATEGORY_MAX),
        phones=read_phones(
            raw, country=country, hint=_country(hint), default_country=default_country
        ),
        emails=read_emails(raw),
        website=url,
        domain=domain,
        identity_domain=identity,
        address=_clean(raw.get("address"), ADDRESS_MAX),
        city=_clean(raw.get("city"), CITY_MAX),
        country=country,
        location=_location(raw),
        rating=_rating(raw.get("rating")),
        reviews_count=_reviews(raw.get("reviewsCount")),
        place_id=_identifier(place_id, EXTERNAL_ID_MAX),
        social_profiles=_social(raw.get("socialProfiles")),
        tags=_tags(raw.get("tags")),
    )
