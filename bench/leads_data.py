"""Leads for the lead benchmarks: realistic mixed Arabic/Latin records, loaded with COPY.

Each lead is drawn from word pools (Arabic names with and without hamza and with ة or ه as people
type them; Latin ones), with SA/AE/EG/KW phones in E.164, emails, websites and domains, cities,
statuses, tags, ratings (some NULL) and `created_at` spread over two years, rising with the row
number as leads arrive over time. Every phone, email and external id also gets its `lead_keys`
row, as the service writes them, so a write's key check meets an index of realistic size.

`search_text`, `name_sort` and `name_key` are the app's (leads/record.py). Calling
`derived_columns` for each of 2,000,000 rows costs ~45 µs each (90 s on this machine), nearly
all of it `normalize_text` on names that repeat: the loader normalizes each distinct name,
contact name and domain once and assembles the columns as `record.search_text` does. Every
`VERIFY_EVERY`-th row is then checked against `derived_columns` itself (and its phones, emails
and website against the app's normalization): a change to the app's rules fails the load instead
of loading stale text. tests/bench/test_smoke.py checks every row of a small load.

Phones are unique per tenant and never collide with the ones the write benchmark sends: the
i-th phone of a country is a fixed permutation of i over that country's mobile numbers, the
loader taking i from the bottom of the range and `fresh_phone` from its top half.
"""

from __future__ import annotations

import asyncio
import json
import math
import multiprocessing
import os
import random
import tempfile
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from pydantic import SecretStr
from tests.support import scratch

from leedz.app import create_app
from leedz.config import Environment, Settings
from leedz.leads.normalize import (
    domain_unicode,
    normalize_email,
    normalize_phone,
    normalize_text,
)
from leedz.leads.record import (
    SEARCH_SEPARATOR,
    derived_columns,
    identity_keys,
    name_columns,
    website_and_domain,
)
from leedz.leads.tenant_indexes import index_once

VERIFY_EVERY = 997
CHUNK = 20_000

# ---------------------------------------------------------------------------------------------
# Phones: (country, calling-code prefix, leading digits, digits after them)

_MOBILE_PLANS: dict[str, tuple[str, tuple[str, ...], int]] = {
    "SA": ("+966", ("50", "53", "54", "55", "56", "58", "59"), 7),
    "AE": ("+971", ("50", "52", "54", "55", "56", "58"), 7),
    "EG": ("+20", ("10", "11", "12", "15"), 8),
    "KW": ("+965", ("50", "55", "66", "90", "94", "96", "97", "99"), 6),
}


def _plan_size(country: str) -> int:
    _, leads, digits = _MOBILE_PLANS[country]
    size: int = len(leads) * 10**digits
    return size


def _spread(size: int) -> int:
    """A multiplier coprime with `size` near size/φ, so that neighbouring indexes land far
    apart (a lead's second number does not look like its first)."""
    step = int(size * 0.6180339887)
    while math.gcd(step, size) != 1:
        step += 1
    return step


_SPREADS = {country: _spread(_plan_size(country)) for country in _MOBILE_PLANS}


def phone(country: str, index: int) -> str:
    """The `index`-th mobile number of `country`, E.164: distinct indexes, distinct numbers."""
    code, leads, digits = _MOBILE_PLANS[country]
    value = (index * _SPREADS[country] + 12_345) % _plan_size(country)
    lead, rest = divmod(value, 10**digits)
    return f"{code}{leads[lead]}{rest:0{digits}d}"


def fresh_phone(country: str, index: int) -> str:
    """A number no load ever gives (the top half of the country's range)."""
    return phone(country, _plan_size(country) // 2 + index)


def country_of(e164: str) -> str:
    return next(c for c, (code, _, _) in _MOBILE_PLANS.items() if e164.startswith(code))


_ARABIC_DIGITS = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def spelling(e164: str, record_country: str, pick: int) -> str:
    """One of the ways people type the number on a record of `record_country` (what
    POST /v1/leads must normalize back to `e164`): national forms only for a number of that
    country, international ones for the others."""
    country = country_of(e164)
    code, _, _ = _MOBILE_PLANS[country]
    national = e164.removeprefix(code)
    international = (
        f"{code} {national[:2]} {national[2:5]} {national[5:]}",  # +966 50 123 4567
        "00" + e164[1:],  # 00966501234567
        f"{code}-{national}",  # +966-501234567
    )
    if country != record_country:
        return international[pick % len(international)]
    trunk = "0" + national if country in {"SA", "AE", "EG"} else national
    local = (
        f"{trunk[:3]} {trunk[3:6]} {trunk[6:]}",  # 050 123 4567
        trunk.translate(_ARABIC_DIGITS),  # ٠٥٠١٢٣٤٥٦٧
        f"({trunk[:3]}) {trunk[3:6]}-{trunk[6:]}",  # (050) 123-4567
    )
    choices = local + international
    return choices[pick % len(choices)]


# ---------------------------------------------------------------------------------------------
# Word pools

# (Arabic spellings of the business type — as typed, with and without ة/ه and hamza — and the
# category it stands for).
_AR_TYPES: tuple[tuple[tuple[str, ...], str], ...] = (
    (("مطعم",), "Restaurant"),
    (("مؤسسة", "مؤسسه", "موسسة"), "Company"),
    (("شركة", "شركه"), "Company"),
    (("صيدلية", "صيدليه"), "Pharmacy"),
    (("مركز",), "Center"),
    (("مقهى", "مقهي", "كافيه"), "Cafe"),
    (("مخبز", "مخابز"), "Bakery"),
    (("بقالة", "بقاله", "سوبرماركت"), "Grocery"),
    (("صالون",), "Beauty salon"),
    (("مكتب",), "Office"),
    (("معرض",), "Showroom"),
    (("ورشة", "ورشه"), "Auto repair"),
    (("عيادة", "عياده", "عيادات"), "Clinic"),
    (("فندق",), "Hotel"),
    (("مكتبة", "مكتبه"), "Bookstore"),
    (("مغسلة", "مغسله"), "Laundry"),
    (("محل",), "Store"),
    (("مجمع",), "Complex"),
)
# Arabic cores (spelled variants) and their Latin slug for domains and emails.
_AR_CORES: tuple[tuple[tuple[str, ...], str], ...] = (
    (("الأمل", "الامل"), "alamal"),
    (("النور",), "alnoor"),
    (("الفجر",), "alfajr"),
    (("السلام",), "alsalam"),
    (("الرياض",), "alriyadh"),
    (("الخليج",), "alkhaleej"),
    (("البركة", "البركه"), "albaraka"),
    (("الريان",), "alrayyan"),
    (("الواحة", "الواحه"), "alwaha"),
    (("النخيل",), "alnakheel"),
    (("الهدى", "الهدي"), "alhuda"),
    (("الإيمان", "الايمان"), "aleman"),
    (("الأندلس", "الاندلس"), "alandalus"),
    (("الزهراء", "الزهرا"), "alzahraa"),
    (("المدينة", "المدينه"), "almadina"),
    (("الصفا",), "alsafa"),
    (("المروة", "المروه"), "almarwa"),
    (("القمة", "القمه"), "alqimma"),
    (("الجزيرة", "الجزيره"), "aljazeera"),
    (("الأصالة", "الاصاله"), "alasala"),
    (("الشروق",), "alshorouk"),
    (("الوفاء",), "alwafaa"),
    (("اللؤلؤة", "اللؤلؤه", "اللولوة"), "allulua"),
    (("الأمانة", "الامانه"), "alamana"),
    (("الرحمة", "الرحمه"), "alrahma"),
    (("الياسمين",), "alyasmeen"),
    (("الفيصل",), "alfaisal"),
    (("السعادة", "السعاده"), "alsaada"),
    (("الخير",), "alkhair"),
    (("الشفاء", "الشفا"), "alshifa"),
    (("دار الحكمة", "دار الحكمه"), "daralhikma"),
    (("بيت الشاي",), "baitalshai"),
    (("أبو خالد", "ابو خالد"), "abukhaled"),
    (("أم علي", "ام علي"), "umali"),
    (("ركن الذهب",), "roknaldahab"),
    (("نجمة الصباح", "نجمه الصباح"), "najmatalsabah"),
)
_AR_SUFFIXES = (
    "",
    "",
    "",
    "للتجارة",
    "للتجاره",
    "للمقاولات",
    "الطبية",
    "التجارية",
    "للسياحة",
    "للسفر والسياحة",
    "ذ.م.م",
    "وشركاه",
    "الحديثة",
    "الدولية",
    "للإلكترونيات",
)
_LATIN_CORES: tuple[tuple[str, str], ...] = (
    ("Al Amal", "alamal"),
    ("Al Noor", "alnoor"),
    ("Al Fajr", "alfajr"),
    ("Salam", "salam"),
    ("Gulf", "gulf"),
    ("Oasis", "oasis"),
    ("Palm", "palm"),
    ("Desert Rose", "desertrose"),
    ("Golden", "golden"),
    ("Royal", "royal"),
    ("Star", "star"),
    ("Crystal", "crystal"),
    ("Falcon", "falcon"),
    ("Al Baraka", "albaraka"),
    ("Al Rayyan", "alrayyan"),
    ("Green Valley", "greenvalley"),
    ("Blue Nile", "bluenile"),
    ("Pyramids", "pyramids"),
    ("Marina", "marina"),
    ("Emirates", "emirates"),
    ("Café de Paris", "cafedeparis"),
    ("McDonald's", "mcdonalds"),
    ("Dr. Sulaiman", "drsulaiman"),
    ("Al-Khaleej", "alkhaleej"),
)
_LATIN_TYPES = (
    "Trading",
    "Cafe",
    "Clinic",
    "Restaurant",
    "Pharmacy",
    "Bakery",
    "Salon",
    "Motors",
    "Contracting",
    "Electronics",
    "Group",
    "Dental Center",
    "Real Estate",
    "Hotel",
    "Laundry",
)
_LATIN_LEGAL = ("", "", "", "LLC", "Co.", "Est.", "W.L.L.", "FZE", "L.L.C.", "Ltd")
_DISTRICTS = (
    "العليا",
    "الملز",
    "النسيم",
    "السليمانية",
    "الروضة",
    "الحمراء",
    "الشاطئ",
    "المعادي",
    "الزمالك",
    "مدينة نصر",
    "ديرة",
    "الكرامة",
    "Olaya",
    "Malaz",
    "Deira",
    "Jumeirah",
    "Al Barsha",
    "Maadi",
    "Zamalek",
    "Nasr City",
    "Salmiya",
    "Corniche",
)
_STREETS = (
    "شارع الملك فهد",
    "طريق الملك عبدالعزيز",
    "شارع التحلية",
    "شارع الهرم",
    "شارع الخليج العربي",
    "Sheikh Zayed Road",
    "Gulf Road",
    "King Abdullah Road",
    "Corniche Street",
    "شارع 9",
)
_FIRST_AR = (
    "محمد",
    "أحمد",
    "احمد",
    "عبدالله",
    "عبد الله",
    "فاطمة",
    "نورة",
    "نوره",
    "خالد",
    "سارة",
    "علي",
    "عمر",
    "يوسف",
    "مريم",
    "إبراهيم",
    "ابراهيم",
    "سلطان",
    "هند",
    "منى",
    "طارق",
)
_LAST_AR = (
    "العتيبي",
    "القحطاني",
    "الشمري",
    "الحربي",
    "المطيري",
    "الدوسري",
    "الزهراني",
    "حسن",
    "السيد",
    "عبدالرحمن",
    "الكندري",
    "العجمي",
    "المصري",
    "النعيمي",
    "المنصوري",
)
_FIRST_LATIN = ("Mohammed", "Ahmed", "Omar", "Sara", "Fatima", "Khaled", "Youssef", "Layla", "John")
_LAST_LATIN = ("Ali", "Hassan", "Al Harbi", "Al-Mansouri", "Ibrahim", "Saleh", "Smith", "Nasser")
_MAILBOXES = ("info", "sales", "contact", "hello", "admin", "booking", "orders", "support")
_WEBMAIL = ("gmail.com", "hotmail.com", "outlook.com", "yahoo.com", "icloud.com")
_TAGS = (
    "vip",
    "follow-up",
    "ramadan",
    "b2b",
    "wholesale",
    "cold",
    "hot",
    "عميل مميز",
    "متابعة",
    "expo-2026",
    "referral",
)
# (country, weight, [(city, lat, lng)], top-level domains)
_COUNTRIES: tuple[tuple[str, int, tuple[tuple[str, float, float], ...], tuple[str, ...]], ...] = (
    (
        "SA",
        50,
        (
            ("الرياض", 24.71, 46.68),
            ("Riyadh", 24.71, 46.68),
            ("جدة", 21.49, 39.19),
            ("Jeddah", 21.49, 39.19),
            ("الدمام", 26.43, 50.10),
            ("مكة المكرمة", 21.39, 39.86),
            ("المدينة المنورة", 24.47, 39.61),
            ("الخبر", 26.22, 50.20),
        ),
        ("com.sa", "sa", "com"),
    ),
    (
        "AE",
        25,
        (
            ("دبي", 25.20, 55.27),
            ("Dubai", 25.20, 55.27),
            ("أبوظبي", 24.45, 54.38),
            ("Abu Dhabi", 24.45, 54.38),
            ("الشارقة", 25.35, 55.42),
            ("Ajman", 25.41, 55.44),
        ),
        ("ae", "com"),
    ),
    (
        "EG",
        15,
        (
            ("القاهرة", 30.04, 31.24),
            ("Cairo", 30.04, 31.24),
            ("الإسكندرية", 31.20, 29.92),
            ("الجيزة", 30.01, 31.21),
            ("المنصورة", 31.04, 31.38),
        ),
        ("com.eg", "com"),
    ),
    (
        "KW",
        10,
        (
            ("مدينة الكويت", 29.37, 47.98),
            ("Kuwait City", 29.37, 47.98),
            ("حولي", 29.33, 48.03),
            ("السالمية", 29.33, 48.08),
            ("الجهراء", 29.34, 47.66),
        ),
        ("com.kw", "com"),
    ),
)
# A few Arabic (IDN) websites: their domain is punycode, their search text the Arabic form.
_IDN_SITES = tuple(
    f"https://{core[0].replace(' ', '')}{n}.السعودية"
    for core, _ in _AR_CORES[:10]
    for n in range(5)
)
_STATUSES = (("NEW", 55), ("CONTACTED", 20), ("QUALIFIED", 10), ("WON", 8), ("LOST", 7))
_SOURCES = (("SEARCH", 50), ("IMPORT", 30), ("MANUAL", 15), ("SURVEY", 5))
_CONFIDENCE = (("HIGH", 30), ("MEDIUM", 50), ("LOW", 20))


def _weighted(pairs: Sequence[tuple[str, int]]) -> list[str]:
    return [value for value, weight in pairs for _ in range(weight)]


# ---------------------------------------------------------------------------------------------
# Rows

LEAD_COLUMNS = (
    "id",
    "tenant_id",
    "name",
    "contact_name",
    "category",
    "phones",
    "emails",
    "website",
    "domain",
    "social_profiles",
    "address",
    "city",
    "country",
    "lat",
    "lng",
    "rating",
    "reviews_count",
    "external_ids",
    "status",
    "owner_id",
    "tags",
    "do_not_contact",
    "custom_fields",
    "confidence",
    "source_type",
    "source_job_id",
    "edited_fields",
    "search_text",
    "name_sort",
    "name_key",
    "version",
    "created_by_id",
    "created_at",
    "updated_at",
    "last_activity_at",
    "deleted_at",
    "merged_into_id",
)
KEY_COLUMNS = ("tenant_id", "kind", "value", "lead_id")
SPAN = timedelta(days=730)


@dataclass
class Business:
    """What a generated lead is made of, before it becomes columns (the write benchmark sends
    these through POST /v1/leads in people's spellings)."""

    name: str
    contact_name: str | None
    category: str
    country: str
    city: str
    lat: float | None
    lng: float | None
    address: str | None
    phones: list[str]
    emails: list[str]
    website: str | None
    domain: str | None
    tags: list[str]
    rating: float | None
    reviews_count: int | None
    external_ids: dict[str, str]


class Generator:
    """Businesses and lead rows for one tenant, reproducible from `seed`."""

    def __init__(self, seed: int, *, fresh: bool = False) -> None:
        """With `fresh`, businesses whose phones, emails and domains no load gives (the write
        benchmark's)."""
        self.random = random.Random(seed)
        self.fresh = fresh
        self._phones: dict[str, int] = dict.fromkeys(_MOBILE_PLANS, 0)
        self._countries = [c for c in _COUNTRIES for _ in range(c[1])]
        self._statuses = _weighted(_STATUSES)
        self._sources = _weighted(_SOURCES)
        self._confidence = _weighted(_CONFIDENCE)
        self._names: dict[str, tuple[str, dict[str, str]]] = {}
        self._texts: dict[str, str] = {}
        self._unicode: dict[str, str] = {}
        self._idn = {site: website_and_domain(site) for site in _IDN_SITES}
        self._shared_domains = {domain for _, domain in self._idn.values()}
        self.serial = 10**9 if fresh else 0
        # The (name key, city) of every lead `lead` gave, and those whose lead has no phone.
        self._named: set[tuple[str, str]] = set()
        self._phoneless: set[tuple[str, str]] = set()

    # -- the business ----------------------------------------------------------------------

    def _name(self) -> tuple[str, str, str]:
        """(name, category, slug)."""
        r = self.random
        if r.random() < 0.65:
            spellings, category = r.choice(_AR_TYPES)
            core, slug = r.choice(_AR_CORES)
            kind, core_text = r.choice(spellings), r.choice(core)
            form = r.random()
            if form < 0.45:
                name = f"{kind} {core_text}"
            elif form < 0.75:
                name = f"{kind} {core_text} {r.choice(_AR_SUFFIXES)}".strip()
            elif form < 0.85:
                name = f"{core_text} {r.choice(_AR_SUFFIXES[3:])}"
            else:
                name = f"{kind} {core_text} - {r.choice(_DISTRICTS)}"
            return name, category, slug
        core_text, slug = r.choice(_LATIN_CORES)
        kind = r.choice(_LATIN_TYPES)
        form = r.random()
        if form < 0.5:
            name = f"{core_text} {kind} {r.choice(_LATIN_LEGAL)}".strip()
        elif form < 0.8:
            name = f"{kind} {core_text}"
        else:
            name = f"{core_text} {kind} - {r.choice(_DISTRICTS)}"
        return name, kind, f"{slug}-{kind.split()[0].lower()}"

    def _contact(self) -> str | None:
        r = self.random
        roll = r.random()
        if roll < 0.4:
            return None
        if roll < 0.85:
            return f"{r.choice(_FIRST_AR)} {r.choice(_LAST_AR)}"
        return f"{r.choice(_FIRST_LATIN)} {r.choice(_LAST_LATIN)}"

    def next_phone(self, country: str) -> str:
        index = self._phones[country]
        self._phones[country] = index + 1
        return fresh_phone(country, index) if self.fresh else phone(country, index)

    def business(self) -> Business:
        r = self.random
        self.serial += 1
        serial = self.serial
        name, category, slug = self._name()
        country, _, cities, tlds = r.choice(self._countries)
        city, lat, lng = r.choice(cities)
        located = r.random() < 0.6
        roll = r.random()
        count = 0 if roll < 0.08 else 1 if roll < 0.75 else 2 if roll < 0.95 else 3
        # One lead in ten has a number of another country (a branch, a foreign line).
        home = country if r.random() < 0.9 else r.choice(self._countries)[0]
        numbers = [self.next_phone(home) for _ in range(count)]
        website = domain = None
        emails: list[str] = []
        roll = r.random()
        if roll < 0.004:
            website, domain = self._idn[r.choice(_IDN_SITES)]
        elif roll < 0.4:
            domain = f"{slug}{serial}.{r.choice(tlds)}"
            website = f"https://{'www.' if r.random() < 0.6 else ''}{domain}/"
            emails.append(f"{r.choice(_MAILBOXES)}@{domain}")
            if r.random() < 0.15:
                emails.append(f"{r.choice(_MAILBOXES)}.{serial}@{domain}")
        elif roll < 0.7:
            emails.append(f"{slug}.{serial}@{r.choice(_WEBMAIL)}")
        rated = r.random() < 0.7
        return Business(
            name=name,
            contact_name=self._contact(),
            category=category,
            country=country,
            city=city,
            lat=round(lat + r.uniform(-0.15, 0.15), 6) if located else None,
            lng=round(lng + r.uniform(-0.15, 0.15), 6) if located else None,
            address=f"{r.choice(_STREETS)} {r.randint(1, 400)}, {r.choice(_DISTRICTS)}"
            if r.random() < 0.5
            else None,
            phones=numbers,
            emails=emails,
            website=website,
            domain=domain,
            tags=r.sample(_TAGS, k=r.choice((0, 0, 0, 1, 1, 2, 3))),
            rating=round(r.uniform(1.0, 5.0), 1) if rated else None,
            reviews_count=int(r.paretovariate(1.2) * 3) if rated else None,
            external_ids={"googleMaps": f"ChIJ{uuid.UUID(int=r.getrandbits(128)).hex[:23]}"}
            if r.random() < 0.3
            else {},
        )

    # -- its derived columns, per distinct text --------------------------------------------

    def _text(self, text: str) -> str:
        found = self._texts.get(text)
        if found is None:
            found = self._texts[text] = normalize_text(text)
        return found

    def derived(
        self,
        *,
        name: str,
        contact_name: str | None,
        emails: Sequence[str],
        domain: str | None,
        phones: Sequence[str],
    ) -> tuple[str, str, str]:
        """(search_text, name_sort, name_key) as record.derived_columns computes them."""
        named = self._names.get(name)
        if named is None:
            named = self._names[name] = (normalize_text(name), name_columns(name))
        parts = [named[0]]
        if contact_name:
            parts.append(self._text(contact_name))
        parts.extend(emails)
        if domain:
            parts.append(domain)
            readable = self._unicode.get(domain)
            if readable is None:
                readable = domain_unicode(domain)
                if readable != domain:
                    self._unicode[domain] = readable
            if readable != domain:
                parts.append(self._text(readable))
        parts.extend(p.lstrip("+") for p in phones)
        search = SEARCH_SEPARATOR.join(part for part in parts if part)
        return search, named[1]["name_sort"], named[1]["name_key"]

    # -- rows ------------------------------------------------------------------------------

    def _resolved_business(self) -> tuple[Business, tuple[str, str, str]]:
        """The next business a tenant whose leads came through resolution holds, with its
        derived columns. Rule 5 ties two leads of one name key in one city unless both have
        phones and share none, so resolution leaves no lead without a phone beside another
        of its name and city: the one that came second joined the first (rule 4 likewise ties
        a shared website's leads). A draw that would make such a pair is drawn again: a
        phoneless business only where its name is new in its city (and never on a shared
        IDN site), and no business where a phoneless lead has its name and city already."""
        while True:
            b = self.business()
            derived = self.derived(
                name=b.name,
                contact_name=b.contact_name,
                emails=b.emails,
                domain=b.domain,
                phones=b.phones,
            )
            place = (derived[2], b.city.strip().lower())
            if place in self._phoneless:
                continue
            if not b.phones:
                if place in self._named or b.domain in self._shared_domains:
                    continue
                self._phoneless.add(place)
            self._named.add(place)
            return b, derived

    def lead(
        self,
        tenant_id: uuid.UUID,
        owner_id: uuid.UUID | None,
        created_at: datetime,
        now: datetime,
        previous: uuid.UUID | None,
    ) -> tuple[tuple[Any, ...], list[tuple[Any, ...]]]:
        """One `leads` row (LEAD_COLUMNS order) and its `lead_keys` rows."""
        r = self.random
        b, (search, name_sort, name_key) = self._resolved_business()
        lead_id = uuid.uuid4()
        updated = min(now, created_at + timedelta(days=r.expovariate(1 / 20)))
        touched = min(now, updated + timedelta(days=r.expovariate(1 / 10)))
        roll = r.random()
        deleted = min(now, touched + timedelta(days=r.uniform(0, 5))) if roll < 0.01 else None
        merged = previous if 0.01 <= roll < 0.015 else None
        source = r.choice(self._sources)
        social = (
            {"instagram": f"https://instagram.com/{b.domain.split('.')[0]}"}
            if b.domain and r.random() < 0.3
            else {}
        )
        row = (
            lead_id,
            tenant_id,
            b.name,
            b.contact_name,
            b.category,
            b.phones,
            b.emails,
            b.website,
            b.domain,
            json.dumps(social),
            b.address,
            b.city,
            b.country,
            b.lat,
            b.lng,
            b.rating,
            b.reviews_count,
            json.dumps(b.external_ids),
            r.choice(self._statuses),
            owner_id if owner_id is not None and r.random() < 0.4 else None,
            b.tags,
            r.random() < 0.03,
            "{}",
            r.choice(self._confidence),
            source,
            None,
            ["name", "phones"] if source == "MANUAL" else [],
            search,
            name_sort,
            name_key,
            1 if updated == created_at else r.randint(2, 6),
            owner_id if source == "MANUAL" else None,
            created_at,
            updated,
            touched,
            deleted,
            merged,
        )
        # A lead folded into another gave its keys to the survivor.
        # (Built directly: record.identity_keys sorts Key objects, a third of this function's
        # time; `verify` compares the two.)
        keys: list[tuple[Any, ...]] = []
        if merged is None:
            keys += [(tenant_id, "PHONE", p, lead_id) for p in b.phones]
            keys += [(tenant_id, "EMAIL", e, lead_id) for e in b.emails]
            keys += [
                (tenant_id, "EXTERNAL", f"{s}:{v}", lead_id) for s, v in b.external_ids.items()
            ]
        return row, keys


def verify(row: tuple[Any, ...], keys: Sequence[tuple[Any, ...]]) -> None:
    """The row as the app would have stored it: derived columns, phones, emails, website, and
    its keys."""
    values = dict(zip(LEAD_COLUMNS, row, strict=True))
    wanted = identity_keys(values["phones"], values["emails"], json.loads(values["external_ids"]))
    if values["merged_into_id"] is None and sorted(k[1:3] for k in keys) != sorted(
        (k.kind.value, k.value) for k in wanted
    ):
        raise AssertionError(f"keys {keys} are not the app's {wanted}")
    expected = derived_columns(values)
    got = {k: values[k] for k in ("search_text", "name_sort", "name_key")}
    if got != expected:
        raise AssertionError(f"derived columns drifted from leads/record.py: {got} != {expected}")
    for number in values["phones"]:
        if normalize_phone(number, country=None, default_country="SA") != number:
            raise AssertionError(f"{number} is not the app's E.164 form")
    for email in values["emails"]:
        if normalize_email(email) != email:
            raise AssertionError(f"{email} is not the app's compared form")
    if values["website"] is not None:
        stored = website_and_domain(values["website"])
        if stored != (values["website"], values["domain"]):
            raise AssertionError(f"{values['website']} is stored as {stored}")


# ---------------------------------------------------------------------------------------------
# Loading


@dataclass
class LoadStats:
    leads: int = 0
    keys: int = 0
    generate_seconds: float = 0.0
    copy_seconds: float = 0.0
    index_seconds: float = 0.0
    analyze_seconds: float = 0.0
    seconds: float = 0.0
    verified: int = 0
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{self.leads:,} leads and {self.keys:,} keys in {self.seconds:.0f} s"
            f" (generate {self.generate_seconds:.0f} s, COPY {self.copy_seconds:.0f} s,"
            f" indexes {self.index_seconds:.0f} s, ANALYZE {self.analyze_seconds:.0f} s;"
            f" {self.verified} rows checked against the app's normalization)"
            + "".join(f"; {note}" for note in self.notes)
        )


@dataclass(frozen=True)
class TenantLoad:
    tenant_id: uuid.UUID
    owner_id: uuid.UUID | None
    count: int
    seed: int


# Secondary indexes are dropped for a large load and rebuilt after it from their own
# definitions (pg_get_indexdef): building the trigram index once is several times faster than
# maintaining it row by row. Constraints (primary keys, unique) stay.
_SECONDARY_INDEXES = """
SELECT i.relname, pg_get_indexdef(i.oid) AS definition FROM pg_index x
JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
WHERE t.relname = ANY($1::text[]) AND t.relnamespace = 'public'::regnamespace
AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)
ORDER BY pg_relation_size(i.oid) DESC, i.relname
"""


async def _copy_tenant(dsn: str, spec: TenantLoad, now: datetime) -> LoadStats:
    stats = LoadStats()
    generator = Generator(spec.seed)
    start = now - SPAN
    step = SPAN / max(spec.count, 1)
    previous: uuid.UUID | None = None
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():
            done = 0
            while done < spec.count:
                began = time.perf_counter()
                leads: list[tuple[Any, ...]] = []
                keys: list[tuple[Any, ...]] = []
                for i in range(done, min(done + CHUNK, spec.count)):
                    jitter = timedelta(seconds=generator.random.uniform(0, 3600))
                    created = min(start + step * i + jitter, now)
                    row, row_keys = generator.lead(
                        spec.tenant_id, spec.owner_id, created, now, previous
                    )
                    previous = row[0]
                    if i % VERIFY_EVERY == 0:
                        verify(row, row_keys)
                        stats.verified += 1
                    leads.append(row)
                    keys.extend(row_keys)
                copied = time.perf_counter()
                stats.generate_seconds += copied - began
                await conn.copy_records_to_table("leads", records=leads, columns=LEAD_COLUMNS)
                await conn.copy_records_to_table("lead_keys", records=keys, columns=KEY_COLUMNS)
                stats.copy_seconds += time.perf_counter() - copied
                stats.leads += len(leads)
                stats.keys += len(keys)
                done += len(leads)
    finally:
        await conn.close()
    return stats


def _load_tenant(dsn: str, spec: TenantLoad, now: datetime) -> LoadStats:
    """A worker process's part: one tenant, generated and copied in its own transaction."""
    return asyncio.run(_copy_tenant(dsn, spec, now))


async def _build(dsn: str, definitions: Sequence[str]) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("SET maintenance_work_mem = '256MB'")
        for definition in definitions:
            await conn.execute(definition)
    finally:
        await conn.close()


async def load(
    dsn: str, tenants: Sequence[TenantLoad], *, rebuild_indexes: bool | None = None
) -> LoadStats:
    """COPY the tenants' leads and keys, then ANALYZE. `dsn` is the database owner's (COPY as
    the owner: row-level security does not apply to it).

    Each tenant is generated and copied by a process of its own, in a transaction of its own,
    so that two tenants use both cores. With `rebuild_indexes` (the default above 100,000
    leads) the secondary indexes of `leads`, `lead_keys` and `lead_search` (which a trigger on
    `leads` fills) are dropped first and rebuilt at the end, on two connections (the largest
    on one, the others on the other); on a failure they are rebuilt before the error is
    raised."""
    total = sum(t.count for t in tenants)
    rebuild = total > 100_000 if rebuild_indexes is None else rebuild_indexes
    stats = LoadStats()
    began = time.perf_counter()
    now = datetime.now(UTC)
    conn = await asyncpg.connect(dsn)
    try:
        tables = ["leads", "lead_keys", "lead_search"]  # lead_search from 20261201_1700 on
        indexes = await conn.fetch(_SECONDARY_INDEXES, tables) if rebuild else []
        for index in indexes:
            await conn.execute(f'DROP INDEX "{index["relname"]}"')
        try:
            loop = asyncio.get_running_loop()
            spawn = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(max_workers=len(tenants), mp_context=spawn) as pool:
                parts = await asyncio.gather(
                    *(loop.run_in_executor(pool, _load_tenant, dsn, spec, now) for spec in tenants)
                )
        finally:
            indexed = time.perf_counter()
            definitions = [i["definition"] for i in indexes]
            # The largest (the trigram index) alone, the rest beside it.
            await asyncio.gather(_build(dsn, definitions[:1]), _build(dsn, definitions[1:]))
            stats.index_seconds = time.perf_counter() - indexed
        analyzed = time.perf_counter()
        for table in await conn.fetch(
            "SELECT relname FROM pg_class WHERE relname = ANY($1::text[])"
            " AND relnamespace = 'public'::regnamespace ORDER BY relname",
            tables,
        ):
            await conn.execute(f'ANALYZE "{table["relname"]}"')
        stats.analyze_seconds = time.perf_counter() - analyzed
    finally:
        await conn.close()
    for part in parts:
        stats.leads += part.leads
        stats.keys += part.keys
        stats.verified += part.verified
        stats.generate_seconds = max(stats.generate_seconds, part.generate_seconds)
        stats.copy_seconds = max(stats.copy_seconds, part.copy_seconds)
    stats.seconds = time.perf_counter() - began
    if indexes:
        stats.notes.append(f"{len(indexes)} secondary indexes dropped and rebuilt")
    return stats


# ---------------------------------------------------------------------------------------------
# Data sets: a database per size, shared by the lead benchmarks of one run

PASSWORD = "bench password 1"


@dataclass(frozen=True)
class Owner:
    """A tenant's owner, signed up through the app; benchmarks sign in to get a fresh token."""

    email: str
    tenant_id: uuid.UUID
    user_id: uuid.UUID


@dataclass
class Dataset:
    url: str
    leads: int
    """Leads per tenant."""
    owners: list[Owner]
    stats: LoadStats


async def signup(url: str, emails: Sequence[str]) -> list[Owner]:
    """Owners of new tenants, each on ENTERPRISE (no quota), through the app in this process."""
    settings = Settings(
        env=Environment.TEST,
        data_dir=Path(tempfile.mkdtemp(prefix="leedz-bench-")),
        jwt_secret=SecretStr("bench-signup-" + "s" * 40),
        log_level="WARNING",
    )
    app = create_app(settings, database_url=url)
    owners = []
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://bench") as http,
    ):
        for email in emails:
            response = await http.post(
                "/v1/auth/signup",
                json={"email": email, "password": PASSWORD, "name": email.split("@")[0]},
            )
            response.raise_for_status()
            body = response.json()
            owners.append(
                Owner(email, uuid.UUID(body["tenant"]["id"]), uuid.UUID(body["user"]["id"]))
            )
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(
            "UPDATE tenants SET plan_id = (SELECT id FROM plans WHERE name = 'ENTERPRISE')"
            " WHERE id = ANY($1::uuid[])",
            [o.tenant_id for o in owners],
        )
    finally:
        await conn.close()
    return owners


async def prepare(url: str, leads: int) -> Dataset:
    """Two tenants with `leads` leads each, side by side (the one the benchmarks use, and the
    other tenant whose rows share every index with it)."""
    owners = await signup(url, ["owner-a@bench.example", "owner-b@bench.example"])
    stats = await load(
        url, [TenantLoad(o.tenant_id, o.user_id, leads, seed) for seed, o in enumerate(owners)]
    )
    return Dataset(url=url, leads=leads, owners=owners, stats=stats)


def bench_size() -> int:
    """LEEDZ_BENCH_LEADS: leads per tenant of the large data set (default 1,000,000)."""
    return int(os.environ.get("LEEDZ_BENCH_LEADS", "1000000").replace("_", ""))


TENANT_INDEX_MIN_LEADS: int = Settings.model_fields["search_tenant_index_min_leads"].default


async def _tenant_indexes(url: str) -> str:
    """What the server's hourly pass would do to the loaded tenants (leads/tenant_indexes.py):
    a trigram index of its own for each large one, built now, as a service running for an hour
    would have it."""
    started = time.perf_counter()
    conn = await asyncpg.connect(scratch.asyncpg_dsn(url))
    try:
        done = await index_once(conn, min_leads=TENANT_INDEX_MIN_LEADS)
    finally:
        await conn.close()
    return f"{len(done.built)} tenant search indexes built in {time.perf_counter() - started:.0f} s"


class Datasets:
    """The run's data sets, by size: each created, migrated and loaded the first time a
    benchmark asks for it, all dropped at the end of the run (`drop`)."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        self._by_size: dict[int, Dataset] = {}

    def get(self, leads: int) -> Dataset:
        found = self._by_size.get(leads)
        if found is None:
            url = scratch.create_migrated_database(
                self.admin_url, "leedz_bench_leads", app_role="leedz_app"
            )
            try:
                found = asyncio.run(prepare(scratch.asyncpg_dsn(url), leads))
                found.stats.notes.append(asyncio.run(_tenant_indexes(url)))
            except BaseException:
                scratch.drop_database(self.admin_url, url)
                raise
            found.url = url
            print(f"  data set of {leads:,} leads per tenant: {found.stats.summary()}")
            self._by_size[leads] = found
        return found

    def drop(self) -> None:
        for dataset in self._by_size.values():
            scratch.drop_database(self.admin_url, dataset.url)
        self._by_size.clear()
