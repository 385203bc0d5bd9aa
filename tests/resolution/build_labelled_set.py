"""Builds tests/resolution/labelled_set.jsonl: the entity-resolution labelled set.

`uv run python -m tests.resolution.build_labelled_set` rewrites the file; the test suite checks
that the committed file is exactly what this script builds (fixed seed, no clock, no network).

The businesses are written out below by hand, one line each (country, city, category, Arabic
name, English name, website); what varies per record is how an agent saw them: which phone, in
which spelling, which spelling of the name, which city script, which website (their own or a
shared host). Those choices come from a seeded `random.Random`, inside shapes that are
themselves written to be realistic (a Maps listing shows one phone; a contact page shows the
landline and the WhatsApp mobile; an Instagram profile shows the mobile and no city; a website
is in English with the e-mail address). The hard cases (twins, branches, chains, shared hosts,
the same local digits in two countries, unreachable records, the rules' own weak spots) are
scenarios written one by one at the end of the file.

Every record carries `cases`: the kinds of difficulty it exercises, for the README's counts and
the test that every kind is present. The label (`business`) is the truth, never what a rule can
find: a record that is the same business but shares nothing a rule compares is labelled with its
business and tagged `unreachable_*`.

Before writing, the builder checks its own spelling: every phone spelling must normalize (with
the record's country, else its `country` hint, else SA) to the number it was meant to spell, and
every Arabic spelling variant must be a real variant (different text). That checks the data, not
the resolver.
"""

from __future__ import annotations

import json
import random
import re
import sys
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import phonenumbers
from phonenumbers import PhoneNumberFormat

from leedz.leads.normalize import (
    InvalidPhone,
    identity_domain,
    is_shared_host,
    name_key,
    normalize_email,
    normalize_phone,
    split_phones,
)

SEED = 20261201
OUT = Path(__file__).with_name("labelled_set.jsonl")
# The tenant default the set is built for: a record without a country and without a hint is
# read as Saudi (evaluate.DEFAULT_COUNTRY).
DEFAULT_COUNTRY = "SA"

RLM, LRM = "\u200f", "\u200e"

# ---------------------------------------------------------------------------------------------
# Places and categories


@dataclass(frozen=True)
class City:
    key: str
    country: str
    ar: str
    en: str
    area: str  # the landline area code after the country code
    lat: float
    lng: float
    streets: tuple[str, ...]


CITIES = {
    c.key: c
    for c in (
        City("riyadh", "SA", "الرياض", "Riyadh", "11", 24.7136, 46.6753,
             ("طريق الملك فهد، حي العليا", "شارع التحلية، حي السليمانية",
              "طريق الأمير محمد بن عبدالعزيز، حي الورود", "شارع العروبة، حي الملز",
              "طريق أنس بن مالك، حي الملقا", "شارع الأمير سلطان، حي النسيم")),
        City("jeddah", "SA", "جدة", "Jeddah", "12", 21.5433, 39.1728,
             ("شارع فلسطين، حي الحمراء", "طريق الأمير سلطان، حي الروضة",
              "شارع التحلية، حي الأندلس", "طريق الكورنيش، حي الشاطئ", "شارع صاري، حي السلامة")),
        City("makkah", "SA", "مكة المكرمة", "Makkah", "12", 21.3891, 39.8579,
             ("شارع إبراهيم الخليل، حي المسفلة", "طريق الملك عبدالله، حي العزيزية")),
        City("madinah", "SA", "المدينة المنورة", "Madinah", "14", 24.5247, 39.5692,
             ("طريق قباء، حي قباء", "شارع السلام، حي العنبرية")),
        City("dammam", "SA", "الدمام", "Dammam", "13", 26.4207, 50.0888,
             ("شارع الملك سعود، حي الفيصلية", "طريق الأمير محمد بن فهد، حي الشاطئ")),
        City("khobar", "SA", "الخبر", "Al Khobar", "13", 26.2172, 50.1971,
             ("طريق الكورنيش، حي العقربية", "شارع الأمير فيصل بن فهد، حي الخبر الشمالية")),
        City("dubai", "AE", "دبي", "Dubai", "4", 25.2048, 55.2708,
             ("شارع الشيخ زايد، البرشاء", "شارع الرقة، ديرة", "شارع الكرامة، الكرامة",
              "شارع الوصل، جميرا", "شارع الاتحاد، القصيص")),
        City("abu_dhabi", "AE", "أبوظبي", "Abu Dhabi", "2", 24.4539, 54.3773,
             ("شارع حمدان، وسط المدينة", "شارع المرور، الخالدية")),
        City("sharjah", "AE", "الشارقة", "Sharjah", "6", 25.3463, 55.4209,
             ("شارع الوحدة، الخان", "شارع الملك فيصل، المجاز")),
        City("ajman", "AE", "عجمان", "Ajman", "6", 25.4052, 55.5136,
             ("شارع الشيخ خليفة، النعيمية",)),
        City("cairo", "EG", "القاهرة", "Cairo", "2", 30.0444, 31.2357,
             ("شارع عباس العقاد، مدينة نصر", "شارع التحرير، وسط البلد",
              "شارع الخليفة المأمون، مصر الجديدة", "شارع 26 يوليو، الزمالك",
              "شارع مكرم عبيد، مدينة نصر")),
        City("giza", "EG", "الجيزة", "Giza", "2", 30.0131, 31.2089,
             ("شارع الهرم، الطالبية", "شارع التحرير، الدقي",
              "شارع جامعة الدول العربية، المهندسين")),
        City("alexandria", "EG", "الإسكندرية", "Alexandria", "3", 31.2001, 29.9187,
             ("طريق الجيش، سيدي بشر", "شارع فؤاد، محطة الرمل", "شارع أبو قير، سموحة")),
        City("kuwait_city", "KW", "الكويت", "Kuwait City", "2", 29.3759, 47.9774,
             ("شارع فهد السالم، القبلة", "شارع الخليج العربي، شرق", "شارع أحمد الجابر، الشرق")),
        City("hawalli", "KW", "حولي", "Hawalli", "2", 29.3328, 48.0286,
             ("شارع تونس، حولي", "شارع بيروت، حولي")),
        City("salmiya", "KW", "السالمية", "Salmiya", "2", 29.3339, 48.0761,
             ("شارع سالم المبارك، السالمية", "شارع الخليج العربي، السالمية")),
        City("farwaniya", "KW", "الفروانية", "Farwaniya", "2", 29.2775, 47.9589,
             ("شارع الفروانية الرئيسي، الفروانية",)),
    )
}  # fmt: skip

# (Arabic, English) as Google Maps shows a category in each interface language.
CATEGORIES = {
    "restaurant": ("مطعم", "Restaurant"),
    "pharmacy": ("صيدلية", "Pharmacy"),
    "clinic": ("مستوصف", "Medical clinic"),
    "medical_center": ("مركز طبي", "Medical center"),
    "dental": ("عيادة أسنان", "Dental clinic"),
    "laundry": ("مغسلة ملابس", "Laundry"),
    "sweets": ("محل حلويات", "Dessert shop"),
    "bakery": ("مخبز", "Bakery"),
    "cafe": ("مقهى", "Cafe"),
    "grocery": ("بقالة", "Grocery store"),
    "supermarket": ("سوبرماركت", "Supermarket"),
    "barber": ("صالون حلاقة", "Barber shop"),
    "ladies_salon": ("صالون نسائي", "Beauty salon"),
    "bookstore": ("مكتبة", "Book store"),
    "auto": ("ورشة سيارات", "Auto repair shop"),
    "contracting": ("مقاولات", "General contractor"),
    "trading": ("شركة تجارية", "Trading company"),
    "transport": ("نقل عفش", "Moving company"),
    "perfume": ("محل عطور", "Perfume store"),
    "training": ("مركز تدريب", "Training center"),
    "real_estate": ("مكتب عقاري", "Real estate agency"),
    "mobiles": ("محل جوالات", "Cell phone store"),
    "beauty": ("مركز تجميل", "Beauty center"),
    "abaya": ("محل عبايات", "Clothing store"),
    "furniture": ("معرض أثاث", "Furniture store"),
    "tailor": ("مشغل خياطة", "Tailor"),
    "kitchen": ("مطبخ منزلي", "Caterer"),
    "ac_repair": ("صيانة مكيفات", "Air conditioning repair service"),
    "services": ("خدمات عامة", "Service establishment"),
    "printing": ("مطبعة", "Print shop"),
}

# ---------------------------------------------------------------------------------------------
# Phone numbers: unique, valid in their country's numbering plan


class Numbers:
    """Fresh valid numbers, never the same twice unless asked for (`same_digits`)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = set()

    def _digits(self, n: int) -> str:
        return "".join(self.rng.choice("0123456789") for _ in range(n))

    def _candidate(self, country: str, kind: str, area: str) -> str:
        r = self.rng
        patterns: dict[tuple[str, str], Callable[[], str]] = {
            ("SA", "mobile"): lambda: "+9665" + r.choice("0345689") + self._digits(7),
            ("SA", "landline"): lambda: f"+966{area}" + r.choice("2456") + self._digits(6),
            ("SA", "unified"): lambda: "+9669200" + self._digits(5),
            ("AE", "mobile"): lambda: "+9715" + r.choice("024568") + self._digits(7),
            ("AE", "landline"): lambda: f"+971{area}" + r.choice("234568") + self._digits(6),
            ("EG", "mobile"): lambda: "+201" + r.choice("0125") + self._digits(8),
            ("EG", "landline"): lambda: (
                f"+20{area}" + r.choice("2345") + self._digits(7 if area == "2" else 6)
            ),
            ("KW", "mobile"): lambda: "+965" + r.choice("569") + self._digits(7),
            ("KW", "landline"): lambda: "+9652" + r.choice("2345") + self._digits(6),
        }
        return patterns[(country, kind)]()

    def new(self, country: str, kind: str, area: str = "") -> str:
        while True:
            e164 = self._candidate(country, kind, area)
            if e164 not in self.used and phonenumbers.is_valid_number(phonenumbers.parse(e164)):
                self.used.add(e164)
                return e164

    def same_digits(self, e164: str, country: str) -> str:
        """The number another country's subscriber has with the same local digits."""
        number = phonenumbers.parse(e164)
        national = phonenumbers.national_significant_number(number)
        code = phonenumbers.country_code_for_region(country)
        twin = f"+{code}{national}"
        assert phonenumbers.is_valid_number(phonenumbers.parse(twin)), twin
        assert twin not in self.used
        self.used.add(twin)
        return twin


# ---------------------------------------------------------------------------------------------
# Phone spellings

ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
PERSIAN = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")

# Which case each spelling exercises.
STYLE_CASE = {
    "national": "phone_local",
    "national_compact": "phone_local",
    "national_dashed": "phone_punctuation",
    "national_dots": "phone_punctuation",
    "national_brackets": "phone_punctuation",
    "nsn": "phone_without_trunk",
    "intl": "phone_international",
    "e164": "phone_international",
    "intl_dashed": "phone_international",
    "intl_brackets": "phone_international",
    "intl_trunk": "phone_international_with_trunk",
    "idd": "phone_00",
    "idd_spaced": "phone_00",
    "no_plus": "phone_no_plus",
    "tel": "phone_tel_uri",
    "arabic_indic": "phone_arabic_indic",
    "arabic_indic_intl": "phone_arabic_indic",
    "persian": "phone_persian",
    "rtl_marks": "phone_direction_marks",
    "extension": "phone_extension",
}
# Spellings that need the record's (or the tenant's) country to be read.
LOCAL_STYLES = frozenset(
    {"national", "national_compact", "national_dashed", "national_dots", "national_brackets",
     "nsn", "arabic_indic", "persian", "extension"}
)  # fmt: skip
ANY_STYLE = tuple(STYLE_CASE)
EVERYDAY_STYLES = ("national", "national", "national_compact", "national_dashed", "intl", "e164")


@dataclass(frozen=True)
class Parts:
    """One number's pieces, from which every spelling is written."""

    e164: str
    national: str  # 050 123 4567, as the country groups it
    intl: str  # +966 50 123 4567
    nsn: str  # 501234567, the national significant number
    code: str  # 966
    trunk: str  # 0, none in Kuwait

    @property
    def after_code(self) -> str:
        return " ".join(self.intl.split()[1:])


SPELLINGS: dict[str, Callable[[Parts], str]] = {
    "national": lambda p: p.national,
    "national_compact": lambda p: p.trunk + p.nsn,
    "national_dashed": lambda p: p.national.replace(" ", "-"),
    "national_dots": lambda p: p.national.replace(" ", "."),
    "national_brackets": lambda p: f"({p.national.split()[0]}) " + "-".join(p.national.split()[1:]),
    "nsn": lambda p: p.nsn,
    "intl": lambda p: p.intl,
    "e164": lambda p: p.e164,
    "intl_dashed": lambda p: p.intl.replace(" ", "-"),
    "intl_brackets": lambda p: f"(+{p.code}) {p.after_code}",
    "intl_trunk": lambda p: f"+{p.code} (0){p.after_code}",
    "idd": lambda p: f"00{p.code}{p.nsn}",
    "idd_spaced": lambda p: "00 " + p.intl[1:],
    "no_plus": lambda p: p.code + p.nsn,
    "tel": lambda p: "tel:" + p.e164,
    "arabic_indic": lambda p: (p.trunk + p.nsn).translate(ARABIC_INDIC),
    "arabic_indic_intl": lambda p: p.intl.translate(ARABIC_INDIC),
    "persian": lambda p: p.national.translate(PERSIAN),
    "rtl_marks": lambda p: f"{RLM}{p.intl}{LRM}",
    "extension": lambda p: p.national + " تحويلة ١٢",
}


def spell(e164: str, style: str) -> str:
    """The number written in one style; `raw:TEXT` is TEXT as written out by hand (a hotline,
    two numbers in one cell)."""
    if style.startswith("raw:"):
        return style.removeprefix("raw:")
    number = phonenumbers.parse(e164)
    code = str(number.country_code)
    parts = Parts(
        e164=e164,
        national=phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL),
        intl=phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL),
        nsn=phonenumbers.national_significant_number(number),
        code=code,
        trunk="" if code == "965" else "0",
    )
    return SPELLINGS[style](parts)


def usable_styles(e164: str, styles: Iterable[str]) -> list[str]:
    """The styles that make sense for the number (no trunk in Kuwait, no extension on a
    mobile, brackets only around an area code)."""
    kuwait = e164.startswith("+965")
    mobile = phonenumbers.number_type(phonenumbers.parse(e164)) == (
        phonenumbers.PhoneNumberType.MOBILE
    )
    out = []
    for s in styles:
        if kuwait and s in {"nsn", "intl_trunk", "national_brackets"}:
            continue
        if s == "extension" and (mobile or kuwait):
            continue
        out.append(s)
    return out


# ---------------------------------------------------------------------------------------------
# Name spellings: the variants people type for one Arabic name

HAMZA_SEATS = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ؤ": "و", "ئ": "ي"})
# Letters that join the next one: tatweel may follow them inside a word.
JOINING = set("بتثجحخسشصضطظعغفقكلمنهيئ")
FATHA, SHADDA, SUKUN = "\u064e", "\u0651", "\u0652"


def no_hamza(name: str) -> str:
    return name.translate(HAMZA_SEATS)


def taa_as_heh(name: str) -> str:
    return re.sub(r"ة(?=\s|$)", "ه", name)


def maqsura_as_yeh(name: str) -> str:
    return re.sub(r"ى(?=\s|$)", "ي", name)


def yeh_as_maqsura(name: str) -> str:
    """Egyptian spelling: a final yeh written without its dots (المصري → المصرى)."""
    return re.sub(r"(?<=\S\S)ي(?=\s|$)", "ى", name)


def tatweel(name: str) -> str:
    """A kashida stretched inside the two longest words, as a sign writer does."""
    words = name.split(" ")
    longest = sorted(range(len(words)), key=lambda i: -len(words[i]))[:2]
    for i in longest:
        word = words[i]
        for j in range(len(word) - 2, 0, -1):
            if word[j] in JOINING and word[j + 1] not in " ":
                words[i] = word[: j + 1] + "ــ" + word[j + 1 :]
                break
    return " ".join(words)


SUN_LETTERS = set("تثدذرزسشصضطظلن")
LONG_VOWELS = set("اويىة")


def _vowelled(word: str) -> str:
    """One word as a careful sign writer vowels it: after a sun-letter article a shadda
    (الشَّامي), else a fatha on the first letter and a sukun on the second (مَطْعم)."""
    article = next((a for a in ("لل", "ال") if word.startswith(a) and len(word) > 3), "")
    stem = word[len(article) :]
    if not stem or not "\u0621" <= stem[0] <= "\u064a":
        return word
    if article and stem[0] in SUN_LETTERS:
        return article + stem[0] + SHADDA + FATHA + stem[1:]
    second = stem[1:2]
    if second and second not in LONG_VOWELS and len(stem) > 2:
        return article + stem[0] + FATHA + second + SUKUN + stem[2:]
    return article + stem[0] + FATHA + stem[1:]


def diacritics(name: str) -> str:
    """Harakat and shadda on the name's words (مَطْعم البَيْت الشَّامي)."""
    return " ".join(_vowelled(w) for w in name.split(" "))


def combined(name: str) -> str:
    return tatweel(taa_as_heh(no_hamza(name)))


NAME_VARIANTS: dict[str, Callable[[str], str]] = {
    "arabic_hamza": no_hamza,
    "arabic_taa_marbuta": taa_as_heh,
    "arabic_alef_maqsura": maqsura_as_yeh,
    "arabic_yeh_as_maqsura": yeh_as_maqsura,
    "arabic_tatweel": tatweel,
    "arabic_diacritics": diacritics,
    "arabic_combined_variants": combined,
}

LEGAL_PREFIXES = ("شركة ", "مؤسسة ")

# ---------------------------------------------------------------------------------------------
# Businesses and their records


@dataclass
class Biz:
    key: str
    city: City
    category: str
    ar: str
    en: str
    domain: str | None = None
    emails: list[str] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)  # [primary, mobile, ...] as E.164
    place_id: str = ""
    handle: str = ""
    lat: float = 0.0
    lng: float = 0.0
    address: str = ""
    rating: float = 0.0
    reviews: int = 0
    variant_turn: int = 0

    @property
    def country(self) -> str:
        return self.city.country


@dataclass
class Rec:
    biz: Biz
    type: str
    raw: dict[str, Any]
    hint: str | None
    cases: set[str]
    truth_phones: list[tuple[str, str]]  # (spelling, E.164) for the self-check


class Builder:
    """Writes businesses and their records, with the seeded choices in one place."""

    def __init__(self, seed: int = SEED) -> None:
        self.rng = random.Random(seed)
        self.numbers = Numbers(self.rng)
        self.records: list[Rec] = []
        self.businesses: dict[str, Biz] = {}
        self.style_turn = 0

    # -- businesses -----------------------------------------------------------------------

    def biz(
        self,
        key: str,
        city: str,
        category: str,
        ar: str,
        en: str,
        *,
        domain: str | None = None,
        email: str | bool | None = True,
        primary: str = "landline",
        mobile: bool = True,
        phones: Sequence[str] | None = None,
    ) -> Biz:
        """A business; `email=True` gives info@domain (or a Gmail address without a domain),
        a string that address, False none. `primary` is the kind of the number on its Maps
        listing; `mobile` adds a WhatsApp mobile; `phones` fixes the numbers."""
        c = CITIES[city]
        b = Biz(key=f"{c.country.lower()}-{city}-{key}", city=c, category=category, ar=ar, en=en)
        assert b.key not in self.businesses, b.key
        b.domain = domain
        b.handle = handle(en)
        if isinstance(email, str):
            b.emails = [email]
        elif email:
            b.emails = [f"info@{domain}" if domain else f"{b.handle.replace('_', '.')}@gmail.com"]
        if phones is not None:
            b.phones = list(phones)
        else:
            b.phones = [self.numbers.new(c.country, primary, c.area)]
            if mobile and primary != "mobile":
                b.phones.append(self.numbers.new(c.country, "mobile"))
        r = self.rng
        b.place_id = "ChIJ" + "".join(
            r.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
            for _ in range(23)
        )
        b.lat = round(c.lat + r.uniform(-0.08, 0.08), 6)
        b.lng = round(c.lng + r.uniform(-0.08, 0.08), 6)
        b.address = r.choice(c.streets) + "، " + c.ar
        b.rating = round(r.uniform(3.4, 4.9), 1)
        b.reviews = r.randint(7, 2400)
        self.businesses[b.key] = b
        return b

    # -- spellings ------------------------------------------------------------------------

    def style(self, e164: str, choices: Sequence[str] = ANY_STYLE) -> str:
        """A spelling style for the number, cycling so every style is used."""
        usable = usable_styles(e164, choices)
        if choices is ANY_STYLE:
            self.style_turn += 1
            return usable[self.style_turn % len(usable)]
        return self.rng.choice(usable)

    def variant(self, b: Biz, kinds: Sequence[str] | None = None) -> tuple[str, str]:
        """An Arabic spelling variant of the name that differs from it, and its case."""
        names = list(kinds or NAME_VARIANTS)
        for _ in range(len(names)):
            kind = names[b.variant_turn % len(names)]
            b.variant_turn += 1
            text = NAME_VARIANTS[kind](b.ar)
            if text != b.ar:
                return text, kind
        raise AssertionError(f"no variant of {b.ar!r} among {names}")

    # -- records --------------------------------------------------------------------------

    def record(
        self,
        b: Biz,
        type_: str,
        *,
        name: str | None,
        city: str | None,
        phones: Sequence[tuple[str, str]] = (),
        phone_key: str = "phones",
        emails: Sequence[tuple[str, str]] = (),
        email_key: str = "emails",
        website: str | None = None,
        country: str | None = None,
        hint: str | None = "biz",
        cases: Iterable[str] = (),
        extra: dict[str, Any] | None = None,
    ) -> Rec:
        """One record. `phones` are (E.164, style); `phone_key` is `phones` (a list), `phone`
        (one string) or `phones:SEP` (one string, numbers joined by SEP). `emails` are
        (address, style). `hint` is the country the record was uploaded under: "biz" for the
        business's country, None for none."""
        raw: dict[str, Any] = {}
        tags = set(cases)
        if name is not None:
            raw["name"] = name
        else:
            tags.add("no_name")
        spelled = [(spell(e, s), "" if s.startswith("raw:") else e) for e, s in phones]
        tags |= {STYLE_CASE[s] for _, s in phones if s in STYLE_CASE}
        if spelled:
            raw.update(self._phone_field(spelled, phone_key, tags))
        if emails:
            raw.update(self._email_field(emails, email_key, tags))
        if website is not None:
            raw["website"] = website
            tags |= website_cases(website)
        if city is not None:
            raw["city"] = city
        if country is not None:
            raw["country"] = country
        raw.update(extra or {})
        rec = Rec(
            biz=b,
            type=type_,
            raw=raw,
            hint=b.country if hint == "biz" else hint,
            cases=tags,
            truth_phones=spelled,
        )
        self.records.append(rec)
        return rec

    @staticmethod
    def _phone_field(spelled: list[tuple[str, str]], key: str, tags: set[str]) -> dict[str, Any]:
        texts = [s for s, _ in spelled]
        if len(texts) > 1:
            tags.add("multiple_phones")
        if key == "phone":
            assert len(texts) == 1
            tags.add("phone_key_singular")
            return {"phone": texts[0]}
        if key.startswith("phones:"):
            tags.add("phones_in_one_string")
            return {"phones": key.removeprefix("phones:").join(texts)}
        return {"phones": texts}

    @staticmethod
    def _email_field(emails: Sequence[tuple[str, str]], key: str, tags: set[str]) -> dict[str, Any]:
        texts = [spell_email(a, s) for a, s in emails]
        tags |= {f"email_{s}" for _, s in emails if s != "plain"}
        if key == "email":
            assert len(texts) == 1
            tags.add("email_key_singular")
            return {"email": texts[0]}
        return {"emails": texts}

    # -- the four kinds of evidence ------------------------------------------------------

    def maps(
        self,
        b: Biz,
        *,
        name: tuple[str, str] | str | None = None,
        lang: str = "ar",
        phone: tuple[int, str] | None = (0, "national"),
        website: str | None = "own",
        place_id: str | None = "own",
        city: str | None = "lang",
        country: str | None = "biz",
        hint: str | None = "biz",
        cases: Iterable[str] = (),
    ) -> Rec:
        """A Google Maps listing: one phone, the category in the interface language, the
        city from the address in that language, coordinates, rating."""
        text, tags = self._name(b, name, lang)
        cat_ar, cat_en = CATEGORIES[b.category]
        extra: dict[str, Any] = {
            "category": cat_ar if lang == "ar" else cat_en,
            "address": b.address if lang == "ar" else f"{b.city.en}, {b.city.country}",
            "lat": b.lat,
            "lng": b.lng,
            "rating": b.rating,
            "reviewsCount": b.reviews,
        }
        if place_id is not None:
            extra["placeId"] = b.place_id if place_id == "own" else place_id
        phones = [(b.phones[phone[0]], phone[1])] if phone else []
        return self.record(
            b,
            "GOOGLE_MAPS_LISTING",
            name=text,
            city=self._city(b, city, lang),
            phones=phones,
            phone_key="phone",
            website=self._website(b, website),
            country=b.country if country == "biz" else country,
            hint=hint,
            cases=tags | set(cases),
            extra=extra,
        )

    def contact(
        self,
        b: Biz,
        *,
        name: tuple[str, str] | str | None = None,
        lang: str = "ar",
        phones: Sequence[tuple[int, str]] = ((0, "national"), (1, "national")),
        phone_key: str = "phones",
        emails: Sequence[tuple[int, str]] = ((0, "plain"),),
        email_key: str = "emails",
        website: str | None = "own",
        city: str | None = "lang",
        hint: str | None = "biz",
        contact_name: str | None = None,
        cases: Iterable[str] = (),
    ) -> Rec:
        """Contact details read off a page: the landline and the mobile, the e-mail address."""
        text, tags = self._name(b, name, lang)
        extra = {"contactName": contact_name} if contact_name else {}
        return self.record(
            b,
            "CONTACT_INFO",
            name=text,
            city=self._city(b, city, lang),
            phones=[(b.phones[i], s) for i, s in phones if i < len(b.phones)],
            phone_key=phone_key,
            emails=[(b.emails[i], s) for i, s in emails if i < len(b.emails)],
            email_key=email_key,
            website=self._website(b, website),
            hint=hint,
            cases=tags | set(cases),
            extra=extra,
        )

    def social(
        self,
        b: Biz,
        *,
        platform: str = "instagram",
        name: tuple[str, str] | str | None = None,
        lang: str = "ar",
        phones: Sequence[tuple[int, str]] = ((1, "national"),),
        city: str | None = None,
        website: str | None = "platform",
        emails: Sequence[tuple[int, str]] = (),
        hint: str | None = "biz",
        cases: Iterable[str] = (),
    ) -> Rec:
        """A social profile: the handle, the WhatsApp mobile, rarely a city."""
        text, tags = self._name(b, name, lang)
        profile = shared_url(platform, b)
        idx = [(i if i < len(b.phones) else 0, s) for i, s in phones]
        site = profile if website == "platform" else self._website(b, website)
        return self.record(
            b,
            "SOCIAL_PROFILE",
            name=text,
            city=self._city(b, city, lang),
            phones=[(b.phones[i], s) for i, s in idx],
            phone_key="phones",
            emails=[(b.emails[i], s) for i, s in emails if i < len(b.emails)],
            website=site,
            hint=hint,
            cases=tags | set(cases),
            extra={"socialProfiles": {SOCIAL_KEY.get(platform, platform): profile}},
        )

    def web(
        self,
        b: Biz,
        *,
        name: tuple[str, str] | str | None = None,
        lang: str = "en",
        phones: Sequence[tuple[int, str]] = ((0, "intl"),),
        emails: Sequence[tuple[int, str]] = ((0, "plain"),),
        website: str | None = "own",
        city: str | None = None,
        hint: str | None = "biz",
        cases: Iterable[str] = (),
    ) -> Rec:
        """What the business's own website says, usually in English, usually without a city."""
        text, tags = self._name(b, name, lang)
        return self.record(
            b,
            "WEBSITE_CONTENT",
            name=text,
            city=self._city(b, city, lang),
            phones=[(b.phones[i], s) for i, s in phones if i < len(b.phones)],
            emails=[(b.emails[i], s) for i, s in emails if i < len(b.emails)],
            website=self._website(b, website),
            hint=hint,
            cases=tags | set(cases),
        )

    # -- helpers --------------------------------------------------------------------------

    def _name(
        self, b: Biz, name: tuple[str, str] | str | None, lang: str
    ) -> tuple[str | None, set[str]]:
        if isinstance(name, tuple):
            return name[0], {name[1]}
        if name == "none":
            return None, set()
        if name is not None:
            return name, set()
        return (b.ar, set()) if lang == "ar" else (b.en, {"transliteration"})

    @staticmethod
    def _city(b: Biz, city: str | None, lang: str) -> str | None:
        if city == "lang":
            return b.city.ar if lang == "ar" else b.city.en
        if city == "ar":
            return b.city.ar
        if city == "en":
            return b.city.en
        return city

    def _website(self, b: Biz, website: str | None) -> str | None:
        if website != "own":
            return website
        if b.domain is None:
            return None
        return self.rng.choice(
            (
                f"https://www.{b.domain}/",
                f"https://{b.domain}",
                f"http://www.{b.domain}/ar/contact",
                f"{b.domain}",
                f"https://www.{b.domain}/?utm_source=google&utm_medium=maps",
            )
        )


def handle(name: str) -> str:
    """An Instagram-style handle from the English name: words joined by _, at most 30."""
    words = re.sub(r"[^a-z0-9]+", " ", name.lower()).split()
    out = words[0]
    for word in words[1:]:
        if len(out) + 1 + len(word) > 30:
            break
        out += "_" + word
    return out


SOCIAL_KEY = {"instagram": "instagram", "facebook": "facebook", "x": "x", "tiktok": "tiktok",
              "snapchat": "snapchat", "linkedin": "linkedin"}  # fmt: skip


def shared_url(platform: str, b: Biz) -> str:
    h = b.handle
    digits = b.phones[-1].lstrip("+") if b.phones else "966500000000"
    return {
        "instagram": f"https://www.instagram.com/{h}/",
        "facebook": f"https://www.facebook.com/{h.replace('_', '.')}",
        "x": f"https://x.com/{h}",
        "tiktok": f"https://www.tiktok.com/@{h}",
        "snapchat": f"https://www.snapchat.com/add/{h}",
        "linkedin": f"https://www.linkedin.com/company/{h.replace('_', '-')}",
        "linktree": f"https://linktr.ee/{h}",
        "whatsapp": f"https://wa.me/{digits}",
        "google_sites": f"https://sites.google.com/view/{h.replace('_', '-')}",
        "business_site": f"https://{h.replace('_', '-')}.business.site/",
        "google_maps": f"https://maps.google.com/?cid={zlib.crc32(h.encode()) * 7919}",
        "goo_gl": f"https://maps.app.goo.gl/{h[:11]}",
        "wixsite": f"https://{h.replace('_', '')}.wixsite.com/home",
        "salla": f"https://salla.sa/{h.replace('_', '-')}",
    }[platform]


SHARED_CASE = {
    "instagram.com": "shared_host_instagram",
    "facebook.com": "shared_host_facebook",
    "linktr.ee": "shared_host_linktree",
    "wa.me": "shared_host_whatsapp",
    "google.com": "shared_host_google",
    "business.site": "shared_host_business_site",
    "goo.gl": "shared_host_google",
    "wixsite.com": "shared_host_site_builder",
    "salla.sa": "shared_host_site_builder",
}


def website_cases(website: str) -> set[str]:
    if not is_shared_host(website):
        plain = re.fullmatch(r"https?://(www\.)?[^/]+/?", website)
        return set() if plain else {"website_path_or_subdomain"}
    for host, case in SHARED_CASE.items():
        if host in website:
            return {"shared_host", case}
    return {"shared_host"}


def spell_email(address: str, style: str) -> str:
    local, domain = address.split("@")
    if style == "plain":
        return address
    if style == "upper":
        return address.upper()
    if style == "mixed_case":
        return local.capitalize() + "@" + ".".join(p.capitalize() for p in domain.split("."))
    if style == "whitespace":
        return f"  {address}\u00a0"
    if style == "mailto":
        return f"mailto:{address}"
    raise ValueError(style)


# ---------------------------------------------------------------------------------------------
# Shapes: how the records of an ordinary business look

EMAIL_STYLES = ("plain", "upper", "mixed_case", "whitespace", "mailto")
INTL_STYLES = ("intl", "e164", "intl_dashed", "intl_brackets", "intl_trunk", "idd", "idd_spaced",
               "no_plus", "tel", "arabic_indic_intl", "rtl_marks")  # fmt: skip
SEPARATORS = (" / ", "، ", "; ", "\n", " | ", ", ")


def _last(b: Biz) -> int:
    return len(b.phones) - 1


def shape_a(bd: Builder, b: Biz) -> None:
    """Two Maps scrapes (two jobs), a contact page, an Instagram profile."""
    bd.maps(b)
    bd.maps(b, name=bd.variant(b), phone=(0, bd.style(b.phones[0])))
    bd.contact(
        b,
        name=bd.variant(b),
        phones=[(0, bd.style(b.phones[0])), (_last(b), bd.style(b.phones[-1]))],
        emails=[(0, bd.rng.choice(EMAIL_STYLES))],
    )
    bd.social(b, phones=[(_last(b), bd.style(b.phones[-1]))])


def shape_b(bd: Builder, b: Biz) -> None:
    """Maps in Arabic and in English (one place id), the website in English, a contact page
    listing both numbers in one string."""
    bd.maps(b)
    bd.maps(b, lang="en", phone=(0, bd.style(b.phones[0], INTL_STYLES)))
    if b.domain:
        bd.web(
            b,
            phones=[(0, bd.style(b.phones[0], INTL_STYLES))],
            emails=[(0, bd.rng.choice(EMAIL_STYLES))],
        )
    else:
        bd.contact(
            b,
            lang="en",
            city=None,
            phones=[(_last(b), bd.style(b.phones[-1]))],
            emails=[(0, bd.rng.choice(EMAIL_STYLES))],
        )
    phones = [(0, bd.style(b.phones[0])), (_last(b), bd.style(b.phones[-1]))]
    key = f"phones:{bd.rng.choice(SEPARATORS)}" if len(b.phones) > 1 else "phone"
    bd.contact(b, name=bd.variant(b), phones=phones[: len(b.phones)], phone_key=key, emails=())


def shape_c(bd: Builder, b: Biz) -> None:
    """A Maps listing under a variant spelling, a contact page, the website or Instagram."""
    bd.maps(b, name=bd.variant(b), phone=(0, bd.style(b.phones[0])))
    bd.contact(
        b,
        phones=[(_last(b), bd.style(b.phones[-1])), (0, bd.style(b.phones[0]))][: len(b.phones)],
        emails=[(0, bd.rng.choice(EMAIL_STYLES))],
        email_key="email",
    )
    if b.domain:
        bd.web(b, phones=[(_last(b), bd.style(b.phones[-1], INTL_STYLES))], emails=())
    else:
        bd.social(
            b,
            platform="facebook" if b.country == "EG" else "instagram",
            phones=[(_last(b), bd.style(b.phones[-1]))],
        )


def shape_d(bd: Builder, b: Biz) -> None:
    """A small business run from a mobile: Maps, Instagram with a city, a contact page in
    English."""
    bd.maps(b, phone=(0, bd.style(b.phones[0])))
    bd.social(b, name=bd.variant(b), phones=[(0, bd.style(b.phones[0]))], city="ar")
    bd.contact(b, lang="en", city="en", phones=[(0, bd.style(b.phones[0], INTL_STYLES))])


def shape_e(bd: Builder, b: Biz) -> None:
    """Only two sightings: Maps and a directory page under a variant spelling."""
    bd.maps(b)
    bd.contact(
        b, name=bd.variant(b), phones=[(0, bd.style(b.phones[0]))], phone_key="phone", emails=()
    )


def shape_f(bd: Builder, b: Biz) -> None:
    """Well covered: two Maps scrapes, the website, a link-in-bio, a contact page."""
    bd.maps(b)
    bd.maps(b, name=bd.variant(b), phone=(0, bd.style(b.phones[0])))
    bd.web(
        b,
        phones=[(0, bd.style(b.phones[0], INTL_STYLES))],
        emails=[(0, bd.rng.choice(EMAIL_STYLES))],
    )
    bd.social(
        b, platform="linktree", name=bd.variant(b), phones=[(_last(b), bd.style(b.phones[-1]))]
    )
    bd.contact(
        b,
        name=bd.variant(b),
        phones=[(0, bd.style(b.phones[0])), (_last(b), bd.style(b.phones[-1]))][: len(b.phones)],
        emails=[(0, bd.rng.choice(EMAIL_STYLES))],
    )


def duplicate_listing(bd: Builder, b: Biz) -> None:
    """A second Maps listing of the same place (another place id, created by a customer),
    with no phone and no website: only the name in its city ties it to the business."""
    bd.maps(
        b,
        name=bd.variant(b),
        phone=None,
        website=None,
        place_id=new_place_id(bd.rng),
        cases={"name_rule_only", "duplicate_maps_listing"},
    )


def new_place_id(rng: random.Random) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
    return "ChIJ" + "".join(rng.choice(alphabet) for _ in range(23))


SHAPES: dict[str, Callable[[Builder, Biz], None]] = {
    "A": shape_a, "B": shape_b, "C": shape_c, "D": shape_d, "E": shape_e, "F": shape_f,
}  # fmt: skip

# key, city, category, Arabic name, English name, own domain, shape, options.
# Options: primary= the kind of the Maps number (landline by default), dup=True adds a second
# Maps listing found only by its name, mobile=False a business with one number.
ORDINARY: list[tuple[str, str, str, str, str, str | None, str, dict[str, Any]]] = [
    # Saudi Arabia
    ("amal", "riyadh", "trading", "مؤسسة الأمل للتجارة", "Al Amal Trading Est.",
     "alamal-trading.com.sa", "F", {}),
    ("bait_shami", "riyadh", "restaurant", "مطعم البيت الشامي", "Al Bait Al Shami Restaurant",
     None, "A", {"dup": True}),
    ("huda", "riyadh", "clinic", "مستوصف الهدى الطبي", "Al Huda Medical Clinic",
     "alhuda-clinic.com", "B", {}),
    ("sultan", "riyadh", "sweets", "حلويات السلطان", "Al Sultan Sweets", "sultansweets.sa", "C",
     {}),
    ("ruya", "riyadh", "contracting", "شركة الرؤية للمقاولات", "Al Ruya Contracting Co.",
     "alruya.com.sa", "B", {}),
    ("shifa_mc", "riyadh", "medical_center", "مركز الشفاء الطبي", "Al Shifa Medical Center",
     "shifa-mc.com", "A", {}),
    ("fuad", "riyadh", "bookstore", "مكتبة الفؤاد", "Al Fuad Bookstore", None, "E", {"dup": True}),
    ("itqan", "riyadh", "auto", "ورشة الإتقان لصيانة السيارات", "Al Itqan Car Service", None, "D",
     {"primary": "mobile"}),
    ("ibtisama", "riyadh", "dental", "عيادات ابتسامة لطب الأسنان", "Ibtisama Dental Clinics",
     "ibtisama.sa", "F", {}),
    ("anaqa", "riyadh", "barber", "صالون الأناقة للحلاقة الرجالية", "Al Anaqa Barber Shop", None,
     "E", {"primary": "mobile"}),
    ("emaar_khaleej", "riyadh", "contracting", "مؤسسة إعمار الخليج للمقاولات",
     "Emaar Al Khaleej Contracting Est.", "emaarkhaleej.com", "C", {}),
    ("naql", "riyadh", "transport", "شركة النقل السريع لنقل العفش",
     "Fast Moving Furniture Transport Co.", None, "D", {"primary": "mobile"}),
    ("fakhama", "riyadh", "perfume", "عطور الفخامة", "Al Fakhama Perfumes",
     "alfakhama-perfumes.com", "A", {}),
    ("riyada", "riyadh", "training", "مركز ريادة للتدريب", "Riyada Training Center",
     "riyada-training.sa", "B", {}),
    ("dar_emaar", "riyadh", "real_estate", "مكتب دار الإعمار للعقارات", "Dar Al Emaar Real Estate",
     None, "C", {}),
    ("nakheel_press", "riyadh", "printing", "مطبعة النخيل الحديثة", "Al Nakheel Modern Press",
     "nakheelpress.com", "E", {}),
    ("shurfa", "jeddah", "restaurant", "مطعم الشرفة", "Al Shurfa Restaurant", None, "A", {}),
    ("red_sea", "jeddah", "trading", "مؤسسة البحر الأحمر للتجارة", "Red Sea Trading Est.",
     "redsea-trading.com", "B", {}),
    ("andalus", "jeddah", "clinic", "مستوصف الأندلس الطبي", "Al Andalus Medical Clinic",
     "andalus-clinic.com", "F", {}),
    ("bayadh", "jeddah", "laundry", "مغسلة البياض", "Al Bayadh Laundry", None, "D",
     {"primary": "mobile"}),
    ("corniche", "jeddah", "cafe", "مقهى الكورنيش", "Corniche Cafe", None, "E", {"dup": True}),
    ("warraq", "jeddah", "bookstore", "مكتبة الوراق", "Al Warraq Bookstore", "alwarraq.com.sa",
     "C", {}),
    ("saadeddin", "jeddah", "sweets", "حلويات سعد الدين", "Saadeddin Sweets",
     "saadeddin-sweets.com", "A", {}),
    ("lulua", "jeddah", "beauty", "مركز اللؤلؤة للتجميل", "Al Lulua Beauty Center", None, "A", {}),
    ("khaleej_bahri", "khobar", "restaurant", "مطعم الخليج البحري", "Gulf Seafood Restaurant",
     "gulfseafood.sa", "B", {}),
    ("dhahran", "khobar", "contracting", "شركة الظهران للمقاولات المحدودة",
     "Dhahran Contracting Co. Ltd", "dhahran-contracting.com", "C", {}),
    ("riaya", "dammam", "pharmacy", "صيدلية الرعاية", "Al Riaya Pharmacy", None, "A", {}),
    ("ishraq", "khobar", "beauty", "مركز الإشراق للتجميل", "Al Ishraq Beauty Center", None, "D",
     {"primary": "mobile"}),
    ("sharqiya", "dammam", "furniture", "مؤسسة الشرقية للأثاث", "Al Sharqiya Furniture Est.",
     "sharqiya-furniture.com", "F", {}),
    ("zamzam", "makkah", "services", "مؤسسة زمزم للخدمات", "Zamzam Services Est.", None, "C", {}),
    ("hijaz", "makkah", "restaurant", "مطعم الحجاز", "Al Hijaz Restaurant", None, "E",
     {"dup": True}),
    ("madina_sweets", "madinah", "sweets", "حلويات المدينة", "Al Madina Sweets",
     "madinasweets.com", "A", {}),
    ("taiba", "madinah", "clinic", "مستوصف طيبة الطبي", "Taiba Medical Clinic", None, "B", {}),
    ("huda_books", "madinah", "bookstore", "مكتبة الهدى", "Al Huda Bookstore", None, "E",
     {"mobile": False}),
    # United Arab Emirates
    ("bait_mandi", "dubai", "restaurant", "مطعم بيت المندي", "Bait Al Mandi Restaurant", None,
     "A", {"dup": True}),
    ("hayat", "dubai", "pharmacy", "صيدلية الحياة", "Al Hayat Pharmacy", "alhayatpharmacy.ae",
     "B", {}),
    ("fajr", "dubai", "laundry", "مغسلة الفجر", "Al Fajr Laundry", None, "D",
     {"primary": "mobile"}),
    ("noor_mc", "dubai", "medical_center", "مركز النور الطبي", "Al Noor Medical Centre",
     "alnoormc.ae", "F", {}),
    ("royal_sweets", "dubai", "sweets", "حلويات رويال", "Royal Sweets", None, "E", {}),
    ("abaq", "dubai", "perfume", "عطور عبق الشرق", "Abaq Al Sharq Perfumes", "abaqalsharq.com",
     "C", {}),
    ("saada", "dubai", "cafe", "مقهى السعادة", "Al Saada Cafe", None, "A", {}),
    ("layla", "dubai", "ladies_salon", "صالون ليلى للسيدات", "Layla Ladies Salon", None, "D",
     {"primary": "mobile"}),
    ("burj_auto", "dubai", "auto", "ورشة برج الإمارات لتصليح السيارات",
     "Burj Al Emarat Auto Repair", None, "C", {}),
    ("qasr", "abu_dhabi", "restaurant", "مطعم القصر", "Al Qasr Restaurant", None, "A", {}),
    ("rahma", "abu_dhabi", "clinic", "مستوصف الرحمة", "Al Rahma Clinic", "alrahmaclinic.ae", "B",
     {}),
    ("hikma", "abu_dhabi", "bookstore", "مكتبة دار الحكمة", "Dar Al Hikma Bookshop", None, "E",
     {}),
    ("marsa", "abu_dhabi", "furniture", "معرض المرسى للأثاث", "Al Marsa Furniture",
     "almarsa-furniture.ae", "C", {}),
    ("sharjah_laundry", "sharjah", "laundry", "مغسلة الشارقة الحديثة", "Sharjah Modern Laundry",
     None, "E", {"dup": True}),
    ("wafa_market", "sharjah", "supermarket", "سوبرماركت الوفاء", "Al Wafa Supermarket", None,
     "A", {}),
    ("najm", "ajman", "auto", "ورشة النجم الساطع لتصليح السيارات", "Bright Star Auto Repair",
     None, "D", {"primary": "mobile"}),
    ("ajman_smile", "ajman", "dental", "عيادة ابتسامة عجمان لطب الأسنان",
     "Ajman Smile Dental Clinic", "ajmansmile.ae", "F", {}),
    # Egypt
    ("abu_haidar", "cairo", "restaurant", "مطعم أبو حيدر للمشويات", "Abu Haidar Grills", None,
     "A", {}),
    ("umaraa", "cairo", "bakery", "مخبز الأمراء", "El Omaraa Bakery", None, "D",
     {"primary": "mobile"}),
    ("aseel", "cairo", "sweets", "حلواني الأصيل", "El Aseel Sweets", "elaseel-sweets.com", "B",
     {}),
    ("hayah_mc", "cairo", "medical_center", "مركز الحياة الطبي", "El Hayah Medical Center",
     "elhayah-mc.com", "F", {}),
    ("usra", "cairo", "bookstore", "مكتبة الأسرة", "El Osra Bookstore", None, "E", {}),
    ("masry", "cairo", "restaurant", "مطعم المصري للأكلات الشعبية", "El Masry Restaurant", None,
     "A", {"dup": True}),
    ("tahrir", "cairo", "cafe", "قهوة التحرير", "Tahrir Coffee House", None, "D",
     {"primary": "mobile"}),
    ("shorouk_lab", "cairo", "medical_center", "معمل الشروق للتحاليل الطبية",
     "El Shorouk Medical Lab", "elshorouk-lab.com", "C", {}),
    ("zahraa", "cairo", "beauty", "مركز الزهراء للتجميل", "El Zahraa Beauty Center", None, "C",
     {}),
    ("haram", "giza", "clinic", "مستوصف الهرم التخصصي", "El Haram Specialized Clinic",
     "elharam-clinic.com", "B", {}),
    ("dokki_press", "giza", "printing", "مطبعة الدقي", "Dokki Printing House", None, "E", {}),
    ("asmak", "alexandria", "restaurant", "مطعم أسماك البحر", "Asmak El Bahr Seafood", None, "A",
     {}),
    ("alex_sweets", "alexandria", "sweets", "حلويات الإسكندرية", "Alexandria Sweets",
     "alexsweets.com.eg", "C", {}),
    ("bahary", "alexandria", "clinic", "مستوصف بحري الخيري", "Bahary Charity Clinic", None, "E",
     {}),
    # Kuwait
    ("kout", "kuwait_city", "restaurant", "مطعم الكوت", "Al Kout Restaurant", None, "A",
     {"dup": True}),
    ("fanar", "kuwait_city", "pharmacy", "صيدلية الفنار", "Al Fanar Pharmacy", None, "B", {}),
    ("deira_laundry", "kuwait_city", "laundry", "مغسلة الديرة", "Al Deira Laundry", None, "D",
     {"primary": "mobile"}),
    ("dasman", "kuwait_city", "sweets", "حلويات دسمان", "Dasman Sweets", "dasmansweets.com", "F",
     {}),
    ("hawalli_ahli", "hawalli", "clinic", "مستوصف حولي الأهلي", "Hawalli Ahli Clinic",
     "hawalliahli.com.kw", "C", {}),
    ("blaj", "salmiya", "cafe", "مقهى البلاج", "Al Blaj Cafe", None, "E", {}),
    ("farwaniya_market", "farwaniya", "supermarket", "سوبرماركت الفروانية",
     "Farwaniya Supermarket", None, "A", {}),
    ("murooj", "farwaniya", "auto", "كراج المروج لتصليح السيارات", "Al Murooj Garage", None, "D",
     {"primary": "mobile"}),
    ("lulu_khaleej", "salmiya", "abaya", "عبايات لؤلؤة الخليج", "Luluat Al Khaleej Abayas", None,
     "C", {}),
]  # fmt: skip


def ordinary(bd: Builder) -> None:
    for key, city, category, ar, en, domain, shape, opts in ORDINARY:
        b = bd.biz(
            key,
            city,
            category,
            ar,
            en,
            domain=domain,
            primary=opts.get("primary", "landline"),
            mobile=opts.get("mobile", True),
        )
        SHAPES[shape](bd, b)
        if opts.get("dup"):
            duplicate_listing(bd, b)


# ---------------------------------------------------------------------------------------------
# Hard cases, one scenario each


def legal_forms(bd: Builder) -> None:
    """The legal form written, dropped, abbreviated or spelled out (ذ.م.م, LLC, L.L.C.,
    W.L.L., ش.م.م, S.A.E., شركة before the name): one name for the name rule."""
    b = bd.biz(
        "abraj",
        "riyadh",
        "contracting",
        "شركة أبراج الرياض للمقاولات ذ.م.م",
        "Abraj Al Riyadh Contracting LLC",
        domain="abraj-riyadh.com",
    )
    bd.maps(b, cases={"legal_form_variant"})
    bd.maps(
        b,
        name=("أبراج الرياض للمقاولات", "legal_form_variant"),
        phone=None,
        website=None,
        place_id=new_place_id(bd.rng),
        cases={"name_rule_only", "duplicate_maps_listing"},
    )
    bd.contact(
        b,
        name=("شركه ابراج الرياض للمقاولات", "legal_form_variant"),
        phones=[(0, "national_dashed"), (1, "idd")],
        emails=[(0, "upper")],
        cases={"arabic_taa_marbuta", "arabic_hamza"},
    )
    bd.web(
        b,
        name=("Abraj Al Riyadh Contracting L.L.C.", "transliteration"),
        phones=[(1, "intl")],
        emails=[(0, "plain")],
        cases={"legal_form_variant"},
    )
    bd.contact(
        b,
        lang="en",
        name=("ABRAJ AL RIYADH CONTRACTING", "transliteration"),
        city="en",
        phones=[(1, "e164")],
        emails=(),
        cases={"legal_form_variant"},
    )

    b = bd.biz(
        "golden_gulf",
        "dubai",
        "trading",
        "مؤسسة الخليج الذهبي للتجارة العامة ذ.م.م",
        "Golden Gulf General Trading LLC",
        domain="goldengulf.ae",
    )
    b.emails.append("sales@goldengulf.ae")
    bd.maps(b, cases={"legal_form_variant"})
    bd.maps(
        b,
        lang="en",
        name=("Golden Gulf General Trading L.L.C", "transliteration"),
        phone=(0, "intl"),
        country="ae",
        cases={"legal_form_variant", "country_lower_case"},
    )
    bd.contact(
        b,
        lang="en",
        name=("GOLDEN GULF GENERAL TRADING", "transliteration"),
        city=" DUBAI ",
        phones=(),
        emails=[(1, "mixed_case")],
        cases={"legal_form_variant", "city_case_whitespace", "name_rule_only"},
    )
    bd.social(
        b, name=("الخليج الذهبي للتجارة العامة", "legal_form_variant"), phones=[(1, "arabic_indic")]
    )
    bd.contact(
        b,
        name=("مؤسسة الخليج الذهبي للتجارة العامة", "legal_form_variant"),
        phones=[(0, "national"), (1, "national")],
        emails=[(0, "plain"), (1, "plain")],
        website=None,
    )

    b = bd.biz(
        "nile",
        "cairo",
        "contracting",
        "شركة النيل للمقاولات ش.م.م",
        "Nile Contracting S.A.E.",
        domain="nilecontracting.com.eg",
    )
    bd.maps(b, cases={"legal_form_variant"})
    bd.contact(
        b,
        name=("النيل للمقاولات", "legal_form_variant"),
        phones=[(0, "national_compact")],
        phone_key="phone",
        emails=[(0, "plain")],
    )
    bd.web(
        b,
        name=("Nile Contracting Company S.A.E.", "transliteration"),
        phones=(),
        emails=[(0, "whitespace")],
        cases={"legal_form_variant"},
    )
    bd.contact(
        b,
        lang="en",
        name=("Nile Contracting Co.", "transliteration"),
        city="en",
        phones=[(1, "no_plus")],
        emails=(),
        cases={"legal_form_variant"},
    )
    bd.social(
        b,
        platform="facebook",
        name=("شركة النيل للمقاولات", "legal_form_variant"),
        phones=[(1, "national")],
    )

    b = bd.biz(
        "safat",
        "kuwait_city",
        "trading",
        "شركة الصفاة للتجارة العامة والمقاولات ذ.م.م",
        "Al Safat General Trading & Contracting Co. W.L.L.",
        domain="alsafat.com.kw",
    )
    bd.maps(b, cases={"legal_form_variant"})
    bd.maps(b, lang="en", phone=(0, "intl_brackets"), cases={"legal_form_variant"})
    bd.contact(
        b,
        name=("الصفاة للتجارة العامة والمقاولات", "legal_form_variant"),
        phones=[(0, "national"), (1, "persian")],
        emails=[(0, "mailto")],
    )
    bd.web(
        b,
        name=("Al-Safat General Trading and Contracting Company W.L.L", "transliteration"),
        phones=[(1, "idd_spaced")],
        emails=[(0, "plain")],
        cases={"legal_form_variant"},
    )


def chains(bd: Builder) -> None:
    """One brand, one website, a branch in each city: the branches are different businesses
    (their own numbers, their own place), though name and domain are the same."""
    brands = [
        ("albaik", ("riyadh", "jeddah"), "restaurant", "مطاعم البيك", "ALBAIK", "albaik.com"),
        ("shifa_pharmacies", ("cairo", "giza"), "pharmacy", "صيدليات الشفاء",
         "El Shifa Pharmacies", "elshifa-pharmacies.com"),
        ("freej", ("kuwait_city", "hawalli"), "restaurant", "مطاعم الفريج", "Al Freej Restaurants",
         "alfreej-kw.com"),
        ("sharq_sweets", ("dubai", "abu_dhabi"), "sweets", "حلويات الشرق", "Al Sharq Sweets",
         "alsharqsweets.ae"),
    ]  # fmt: skip
    case = {"chain_domain_across_cities"}
    for key, cities, category, ar, en, domain in brands:
        for city in cities:
            b = bd.biz(key, city, category, ar, en, domain=domain, email=False)
            bd.maps(b, cases=case)
            # مطعم (restaurant) for مطاعم (restaurants): no normalization makes them one word.
            other = (
                ("مطعم البيك", "name_variant_beyond_normalization")
                if key == "albaik"
                else bd.variant(b)
            )
            bd.maps(b, name=other, phone=(0, bd.style(b.phones[0])), cases=case)
            bd.contact(
                b, lang="en", city="en", phones=[(1, "intl"), (0, "intl")], emails=(), cases=case
            )


def branches_in_one_city(bd: Builder) -> None:
    """Branches of one brand in one city, each with its own numbers: different businesses.
    The laundry's branches share only the brand's Instagram page (a shared host); the koshary
    branches only their hotline, a short code that has no E.164 form."""
    case = {"branches_same_city_different_phones"}
    instagram = "https://www.instagram.com/yasmin_laundries/"
    for district in ("الروضة", "الصفا"):
        b = bd.biz(
            f"yasmin_{district}",
            "jeddah",
            "laundry",
            "مغاسل الياسمين",
            "Al Yasmin Laundries",
            email=False,
        )
        b.address = f"حي {district}، جدة"
        bd.maps(b, website=instagram, cases=case)
        bd.contact(
            b,
            phones=[(0, bd.style(b.phones[0])), (1, bd.style(b.phones[1]))],
            emails=(),
            website=instagram,
            cases=case,
        )
    hotline = {"short_code_hotline"}
    for district, en in (("مدينة نصر", "Nasr City"), ("مصر الجديدة", "Heliopolis")):
        b = bd.biz(
            f"zaeem_{en.lower().replace(' ', '_')}",
            "cairo",
            "restaurant",
            f"كشري الزعيم - {district}",
            f"Koshary El Zaeem - {en}",
            email=False,
            mobile=False,
        )
        bd.maps(
            b,
            phone=(0, "raw:19555"),
            website="https://www.facebook.com/koshary.elzaeem",
            cases=case | hotline | {"name_rule_only"},
        )
        bd.contact(
            b,
            phones=[(0, "raw:19555، " + spell(b.phones[0], "national"))],
            phone_key="phones",
            emails=(),
            cases=case | hotline,
        )


def twins(bd: Builder) -> None:
    """Two different businesses with one name in one city, each with its own numbers."""
    case = {"same_name_same_city_different_business"}
    pairs = [
        ("nazafa", "riyadh", "laundry", "مغسلة النظافة", "Al Nazafa Laundry"),
        ("rahma_pharmacy", "giza", "pharmacy", "صيدلية الرحمة", "El Rahma Pharmacy"),
        ("freej_cafeteria", "dubai", "cafe", "كافتيريا الفريج", "Al Freej Cafeteria"),
    ]
    for key, city, category, ar, en in pairs:
        first = bd.biz(f"{key}_1", city, category, ar, en, email=False)
        bd.maps(first, cases=case)
        bd.contact(
            first, phones=[(0, "national"), (1, bd.style(first.phones[1]))], emails=(), cases=case
        )
        second = bd.biz(f"{key}_2", city, category, ar, en, email=False, primary="mobile")
        bd.maps(second, phone=(0, "national_compact"), cases=case)
        bd.social(second, name=bd.variant(second), phones=[(0, "intl")], city="ar", cases=case)


def same_local_digits(bd: Builder) -> None:
    """The same local digits in Saudi Arabia and the Emirates: two numbers, two businesses.
    The first pair carries the country on the record, the second only the upload's hint."""
    case = {"same_local_digits_two_countries"}
    sa = bd.biz(
        "wafa_mobiles",
        "riyadh",
        "mobiles",
        "مؤسسة الوفاء للجوالات",
        "Al Wafa Mobiles Est.",
        primary="mobile",
        email="wafa.mobiles@gmail.com",
    )
    ae = bd.biz(
        "najmat_dubai",
        "dubai",
        "mobiles",
        "محل نجمة دبي للهواتف",
        "Dubai Star Phones",
        primary="mobile",
        phones=[bd.numbers.same_digits(sa.phones[0], "AE")],
        email=False,
    )
    for b in (sa, ae):
        bd.maps(b, phone=(0, "national_compact"), cases=case)
    bd.contact(sa, phones=[(0, "national_compact")], phone_key="phone", city=None, cases=case)
    bd.social(ae, phones=[(0, "national_compact")], cases=case)
    sa = bd.biz(
        "lamasat",
        "jeddah",
        "ladies_salon",
        "صالون لمسات الجمال",
        "Lamasat Beauty Salon",
        primary="mobile",
        email=False,
    )
    ae = bd.biz(
        "zahrat_emarat",
        "sharjah",
        "ladies_salon",
        "صالون زهرة الإمارات",
        "Zahrat Al Emarat Salon",
        primary="mobile",
        phones=[bd.numbers.same_digits(sa.phones[0], "AE")],
        email=False,
    )
    for b in (sa, ae):
        bd.maps(b, phone=(0, "national"), country=None, cases=case | {"no_record_country"})
        bd.social(b, phones=[(0, "national")], cases=case)


SHARED_HOST_BUSINESSES = [
    ("riyadh", "um_faisal", "sweets", "حلويات أم فيصل", "Um Faisal Sweets", "instagram"),
    ("riyadh", "lamsat_harir", "abaya", "عبايات لمسة حرير", "Lamsat Harir Abayas", "linktree"),
    ("riyadh", "razan", "tailor", "مشغل رزان للخياطة النسائية", "Razan Ladies Tailoring",
     "whatsapp"),
    ("riyadh", "sufra", "kitchen", "مطبخ سفرة البيت", "Sufrat Al Bait Kitchen", "google_sites"),
    ("riyadh", "rose", "ladies_salon", "صالون روز للسيدات", "Rose Ladies Salon", "facebook"),
    ("riyadh", "amana_ac", "ac_repair", "مؤسسة الأمانة لصيانة المكيفات", "Al Amana AC Maintenance",
     "business_site"),
    ("riyadh", "sahab", "laundry", "مغسلة سحاب", "Sahab Laundry", "google_maps"),
    ("riyadh", "bun_hail", "cafe", "كافيه بن وهيل", "Bun w Hail Cafe", "instagram"),
    ("riyadh", "qassim_dates", "grocery", "متجر تمور القصيم", "Qassim Dates Store", "salla"),
    ("riyadh", "oud_mulook", "perfume", "عطور عود الملوك", "Oud Al Mulook", "wixsite"),
    ("dubai", "hanan_cakes", "sweets", "كيك حنان", "Hanan Cakes", "instagram"),
    ("dubai", "mandoos", "abaya", "عبايات المندوس", "Al Mandoos Abayas", "linktree"),
    ("dubai", "lamset_oud", "perfume", "لمسة عود", "Lamset Oud", "whatsapp"),
    ("dubai", "karak_house", "cafe", "بيت الكرك", "Karak House", "goo_gl"),
    ("cairo", "om_ali", "sweets", "حلويات أم علي البيتي", "Om Ali Homemade Sweets", "facebook"),
    ("cairo", "nour_fashion", "abaya", "نور للأزياء", "Nour Fashion", "facebook"),
    ("cairo", "sett_el_beit", "kitchen", "مطبخ ست البيت", "Sett El Beit Kitchen", "instagram"),
    ("kuwait_city", "hala_sweets", "sweets", "حلويات هلا", "Hala Sweets", "instagram"),
    ("kuwait_city", "bint_kuwait", "abaya", "عبايات بنت الكويت", "Bint Al Kuwait Abayas",
     "linktree"),
]  # fmt: skip


def shared_hosts(bd: Builder) -> None:
    """Home businesses whose only "website" is a page on a shared host, several per city and
    several on one host: the host must never tie two of them together. Their Instagram
    profiles have no city, so a shared host taken as a domain would tie every one of them."""
    for city, key, category, ar, en, platform in SHARED_HOST_BUSINESSES:
        b = bd.biz(key, city, category, ar, en, primary="mobile", email=False)
        bd.maps(b, phone=(0, bd.style(b.phones[0])), website=shared_url(platform, b))
        bd.social(
            b,
            platform="facebook" if b.country == "EG" else "instagram",
            phones=[(0, bd.style(b.phones[0]))],
        )
        if platform in {"whatsapp", "google_sites", "salla", "facebook"}:
            bd.contact(
                b,
                name=bd.variant(b),
                phones=[(0, bd.style(b.phones[0]))],
                emails=(),
                website=shared_url(platform, b),
                phone_key="phone",
            )


NOISE = [
    ("zahrat_rabee", "riyadh", "pharmacy", "صيدلية زهرة الربيع", "Zahrat Al Rabee Pharmacy", 2),
    ("sultana", "riyadh", "sweets", "حلويات السلطانة", "Al Sultana Sweets", 1),
    ("huda_ahli", "riyadh", "clinic", "مستوصف الهدى الأهلي", "Al Huda Al Ahli Clinic", 2),
    ("shawarma_deira", "riyadh", "restaurant", "مطعم شاورما الديرة", "Shawarma Al Deira", 1),
    ("bahr_seafood", "jeddah", "restaurant", "مطعم البحر الأحمر للمأكولات البحرية",
     "Red Sea Seafood Restaurant", 1),
    ("shatee_cafe", "jeddah", "cafe", "مقهى الشاطئ", "Al Shatee Cafe", 2),
    ("balsam", "dubai", "pharmacy", "صيدلية بلسم", "Balsam Pharmacy", 1),
    ("fajr_jadeed", "dubai", "laundry", "مغسلة الفجر الجديد", "New Al Fajr Laundry", 2),
    ("zaatar", "dubai", "restaurant", "مطعم زعتر وزيت", "Zaatar w Zeit", 1),
    ("abu_shaqra", "cairo", "restaurant", "مطعم أبو شقرة", "Abou Shakra", 2),
    ("nahar_pharmacy", "cairo", "pharmacy", "صيدلية النهار", "El Nahar Pharmacy", 1),
    ("umaraa_hadith", "cairo", "bakery", "مخبز الأمراء الحديث", "Modern El Omaraa Bakery", 1),
    ("diwaniya", "kuwait_city", "restaurant", "مطعم الديوانية", "Al Diwaniya Restaurant", 1),
    ("manar_pharmacy", "kuwait_city", "pharmacy", "صيدلية المنار", "Al Manar Pharmacy", 2),
    ("asmak_mina", "alexandria", "restaurant", "مطعم أسماك الميناء", "Asmak El Mina", 1),
    ("rawda_clinic", "dammam", "clinic", "مستوصف الروضة", "Al Rawda Clinic", 1),
]  # fmt: skip


def noise(bd: Builder) -> None:
    """Different businesses that share only a category and a city with others (some with a
    name one letter or one word away: حلويات السلطانة beside حلويات السلطان)."""
    for key, city, category, ar, en, count in NOISE:
        b = bd.biz(key, city, category, ar, en, domain=None, email=False)
        bd.maps(b, cases={"noise_same_category_city"})
        if count > 1:
            bd.contact(
                b,
                name=bd.variant(b),
                phones=[(1, bd.style(b.phones[1])), (0, "e164")],
                emails=(),
                cases={"noise_same_category_city"},
            )


def phone_cells(bd: Builder) -> None:
    """Numbers as a directory writes them: consecutive lines as `0112456780/1`, two numbers
    joined by a dash (which never separates: that cell is lost), a list item holding two."""
    b = bd.biz(
        "nada_complex",
        "riyadh",
        "medical_center",
        "مجمع عيادات الندى الطبي",
        "Al Nada Medical Complex",
        domain="alnada-clinics.com",
    )
    first = b.phones[0]
    while first[-1] == "9" or f"{first[:-1]}{int(first[-1]) + 1}" in bd.numbers.used:
        first = bd.numbers.new("SA", "landline", "11")
    second = f"{first[:-1]}{int(first[-1]) + 1}"
    bd.numbers.used.add(second)
    b.phones = [first, b.phones[1], second]
    bd.maps(b, phone=(2, "national"))
    bd.contact(
        b,
        phones=[(0, f"raw:{spell(first, 'national_compact')}/{second[-1]}")],
        emails=[(0, "plain")],
        cases={"phones_shorthand", "phones_in_one_string"},
    )
    bd.web(b, phones=[(0, "extension"), (1, "intl")], emails=[(0, "mixed_case")])

    b = bd.biz(
        "rayyan",
        "dammam",
        "trading",
        "مؤسسة الريان للتجارة",
        "Al Rayyan Trading Est.",
        domain="alrayyan-trading.com",
    )
    bd.maps(b)
    dash = f"raw:{spell(b.phones[0], 'national')} - {spell(b.phones[1], 'national')}"
    bd.contact(b, phones=[(0, dash)], emails=[(0, "upper")], cases={"phones_unsplittable"})
    bd.web(b, phones=[(0, "intl")], emails=[(0, "plain")])
    pair = f"raw:{spell(b.phones[1], 'national')} / {spell(b.phones[0], 'national')}"
    bd.social(b, phones=[(0, pair)], cases={"phones_in_one_string", "phones_list_item_with_two"})


def unreachable(bd: Builder) -> None:
    """The same business, but nothing a rule compares is shared: a realistic loss of recall,
    kept and counted (README: known unreachable pairs)."""
    # An Instagram profile with no number and no city: only its handle, which no rule reads.
    b = bd.biz("rukn_qahwa", "riyadh", "cafe", "مقهى ركن القهوة", "Rukn Al Qahwa Cafe", email=False)
    bd.maps(b)
    bd.contact(b, phones=[(0, "national"), (1, "national_dashed")], emails=())
    bd.social(
        b,
        name=("Rukn Al Qahwa ☕ ركن القهوة", "transliteration"),
        phones=(),
        cases={"unreachable_social_handle_only"},
    )
    # An English directory entry with an old mobile and a personal address.
    b = bd.biz("saqr", "dammam", "trading", "مؤسسة الصقر للتجارة", "Al Saqr Trading Est.")
    bd.maps(b)
    bd.contact(b, phones=[(0, "national")], emails=[(0, "plain")])
    old = bd.numbers.new("SA", "mobile")
    bd.record(
        b,
        "CONTACT_INFO",
        name="Al Saqr Trading Est.",
        city="Dammam",
        phones=[(old, "intl")],
        emails=[("saqr.trading1998@hotmail.com", "plain")],
        cases={"transliteration", "unreachable_transliteration"},
    )
    # One name, one city, but the listing shows the landline and the profile the mobile.
    b = bd.biz(
        "rukn_shawarma",
        "jeddah",
        "restaurant",
        "مطعم ركن الشاورما",
        "Rukn Al Shawarma",
        email=False,
    )
    bd.maps(b, phone=(0, "national"), website=None)
    bd.social(b, phones=[(1, "national")], city="ar", cases={"unreachable_different_phones"})


def city_spellings(bd: Builder) -> None:
    """One city in two scripts (الكويت / Kuwait City) or two spellings (جدة / جده): the rules
    compare cities as written, so a name or a domain alone cannot tie these records."""
    b = bd.biz(
        "nada_pharmacy", "kuwait_city", "pharmacy", "صيدلية الندى", "Al Nada Pharmacy", email=False
    )
    bd.maps(b)
    bd.contact(b, phones=[(0, "national"), (1, "intl")], emails=())
    bd.maps(
        b,
        lang="en",
        name=(b.ar, "city_script_differs"),
        phone=None,
        website=None,
        place_id=new_place_id(bd.rng),
        cases={"unreachable_city_script", "duplicate_maps_listing"},
    )
    b = bd.biz(
        "tamayuz",
        "riyadh",
        "training",
        "مركز التميز للتدريب",
        "Al Tamayuz Training Center",
        domain="tamayuz-training.sa",
    )
    bd.maps(b, phone=(0, "national"))
    bd.web(b, city="Riyadh", phones=(), emails=(), cases={"unreachable_city_script"})
    b = bd.biz("salam_bakery", "jeddah", "bakery", "مخبز السلام", "Al Salam Bakery", email=False)
    bd.maps(b, phone=(0, "national"))
    bd.maps(
        b,
        name=("مخبز السلام", "city_spelling_variant"),
        phone=None,
        website=None,
        place_id=new_place_id(bd.rng),
        city="جده",
        cases={"unreachable_city_spelling", "duplicate_maps_listing"},
    )
    bd.contact(b, phones=[(0, "intl"), (1, "national")], emails=())


def hazards(bd: Builder) -> None:
    """Where the five rules themselves join different businesses (README: the rules' weak
    spots). Labelled with the truth; every record of such a scenario carries its `hazard_*`
    case, and the evaluation shows what each costs."""
    # A chain's brand profile without a city, linking to the chain's website: rule 4 ("either
    # city unknown") ties it to every branch, and so the branches together.
    case = {"hazard_chain_record_without_city"}
    for city in ("riyadh", "dammam"):
        b = bd.biz(
            "asala",
            city,
            "bakery",
            "مخابز الأصالة",
            "Al Asala Bakeries",
            domain="asala-bakeries.com",
            email=False,
        )
        bd.maps(b, cases=case | {"chain_domain_across_cities"})
        bd.contact(
            b,
            phones=[(0, bd.style(b.phones[0])), (1, "national")],
            emails=(),
            website=None,
            cases=case,
        )
    brand = bd.biz(
        "asala_brand",
        "riyadh",
        "bakery",
        "مخابز الأصالة",
        "Al Asala Bakeries",
        domain="asala-bakeries.com",
        email="hello@asala-bakeries.com",
        mobile=False,
    )
    bd.social(
        brand,
        phones=(),
        website="https://asala-bakeries.com/links",
        emails=[(0, "plain")],
        cases=case,
    )
    # A chain's unified number (9200…) on every branch's listing: rule 2 ties the branches.
    case = {"hazard_chain_unified_number"}
    unified = bd.numbers.new("SA", "unified")
    for city, district in (("riyadh", "العليا"), ("jeddah", "التحلية")):
        b = bd.biz(
            "tazaj",
            city,
            "restaurant",
            f"مطاعم الطازج - فرع {district}",
            f"Al Tazaj - {district}",
            domain="altazaj.com.sa",
            email=False,
        )
        b.phones.insert(0, unified)
        bd.maps(b, phone=(0, "national"), cases=case)
        if city == "riyadh":
            bd.contact(
                b, phones=[(1, "national"), (0, "national")], emails=(), website=None, cases=case
            )
    # Two branches of a pharmacy chain in one city, both listing the chain's website: rule 4
    # ("the same domain in the same city") ties them, though their numbers differ.
    case = {"hazard_same_city_branches_share_domain", "branches_same_city_different_phones"}
    for district in ("الحمراء", "الروضة"):
        b = bd.biz(
            f"dawaa_shafi_{district}",
            "jeddah",
            "pharmacy",
            f"صيدليات الدواء الشافي - {district}",
            f"Al Dawaa Al Shafi - {district}",
            domain="aldawaa-alshafi.com",
            email=False,
        )
        bd.maps(b, cases=case)
        bd.contact(
            b, phones=[(0, "national"), (1, "national")], emails=(), website=None, cases=case
        )
    # A profile without a number, named like two different groceries in its city: rule 5 (one
    # side has no phone) ties it to both.
    case = {"hazard_phoneless_same_name", "same_name_same_city_different_business"}
    first = bd.biz(
        "khair_1",
        "riyadh",
        "grocery",
        "بقالة الخير",
        "Al Khair Grocery",
        email="alkhair.grocery@gmail.com",
    )
    bd.maps(first, cases=case)
    bd.contact(first, phones=[(0, "national"), (1, "national")], emails=[(0, "plain")], cases=case)
    second = bd.biz(
        "khair_2",
        "riyadh",
        "grocery",
        "بقالة الخير",
        "Al Khair Grocery",
        email=False,
        primary="mobile",
    )
    bd.maps(second, phone=(0, "national"), cases=case)
    bd.social(first, phones=(), city="ar", emails=[(0, "whitespace")], cases=case)


def transliterations(bd: Builder) -> None:
    """English names that only an e-mail address or a domain ties to the Arabic records."""
    b = bd.biz(
        "dar_tahi",
        "riyadh",
        "kitchen",
        "مطبخ دار الطاهي",
        "Dar Al Tahi Kitchen",
        email="dar.altahi.kitchen@gmail.com",
    )
    bd.maps(b)
    bd.contact(b, phones=[(0, "national"), (1, "national")], emails=[(0, "plain")])
    bd.contact(b, lang="en", city=None, phones=(), emails=[(0, "mixed_case")], website=None)
    b = bd.biz(
        "nawras",
        "dubai",
        "trading",
        "مؤسسة النورس للتجارة",
        "Al Nawras Trading Est.",
        domain="alnawras-trading.ae",
    )
    bd.maps(b)
    bd.contact(b, phones=[(0, "national"), (1, "national")], emails=(), website=None)
    bd.web(b, phones=(), emails=())
    b = bd.biz(
        "mawada",
        "cairo",
        "medical_center",
        "مركز المودة لعلاج الأسنان",
        "El Mawada Dental Center",
        domain="elmawada-dental.com",
    )
    bd.maps(b)
    bd.web(b, phones=(), emails=[(0, "upper")])
    bd.contact(b, phones=[(1, "national")], emails=[(0, "plain")], website=None, email_key="email")


def scenarios(bd: Builder) -> None:
    ordinary(bd)
    legal_forms(bd)
    chains(bd)
    branches_in_one_city(bd)
    twins(bd)
    same_local_digits(bd)
    shared_hosts(bd)
    noise(bd)
    phone_cells(bd)
    unreachable(bd)
    city_spellings(bd)
    hazards(bd)
    transliterations(bd)


# ---------------------------------------------------------------------------------------------
# Finishing: cases read off the records, the upload hint, the self-check, ids


def _arabic(text: str | None) -> bool:
    return bool(text) and any("\u0600" <= ch <= "\u06ff" for ch in text or "")


def _identifiers(r: Rec) -> dict[str, set[str]]:
    emails = r.raw.get("emails", r.raw.get("email", []))
    emails = [emails] if isinstance(emails, str) else emails
    website = r.raw.get("website")
    domain = identity_domain(website) if website else None
    return {
        "phone": {e for _, e in r.truth_phones if e},
        "email": {normalize_email(e) for e in emails},
        "domain": {domain} if domain else set(),
        "place_id": {r.raw["placeId"]} if "placeId" in r.raw else set(),
    }


def _city(r: Rec) -> str | None:
    city = r.raw.get("city")
    return city.strip().casefold() if city and city.strip() else None


def _shared_kinds(r: Rec, others: list[Rec]) -> set[str]:
    mine = _identifiers(r)
    kinds = set()
    for o in others:
        theirs = _identifiers(o)
        for kind, values in mine.items():
            if not values & theirs[kind]:
                continue
            if kind == "domain" and None not in (_city(r), _city(o)) and _city(r) != _city(o):
                continue
            kinds.add(kind)
    return kinds


def describe(records: list[Rec]) -> None:
    """Cases that depend on the other records of the business."""
    by_business: dict[str, list[Rec]] = {}
    for r in records:
        by_business.setdefault(r.biz.key, []).append(r)
    for group in by_business.values():
        cities = {_city(r) for r in group}
        b = group[0].biz
        for r in group:
            if _city(r) == b.city.en.casefold() and b.city.ar.casefold() in cities:
                r.cases.add("city_script_differs")
            if "transliteration" in r.cases:
                arabic = [o for o in group if o is not r and _arabic(o.raw.get("name"))]
                kinds = _shared_kinds(r, arabic)
                if len(kinds) == 1:
                    r.cases.add(f"transliteration_{kinds.pop()}_only")
            if "placeId" in r.raw and any(
                o is not r
                and o.raw.get("placeId") == r.raw["placeId"]
                and name_key(o.raw.get("name") or "") != name_key(r.raw.get("name") or "")
                for o in group
            ):
                r.cases.add("place_id_different_name")


def _read(text: str, country: str | None, default: str) -> str | None:
    try:
        return normalize_phone(text, country=country, default_country=default)
    except InvalidPhone:
        return None


def _reads_back(r: Rec, hint: str | None) -> bool:
    default = hint or DEFAULT_COUNTRY
    country = r.raw.get("country")
    return all(_read(text, country, default) == e164 for text, e164 in r.truth_phones if e164)


def drop_some_hints(bd: Builder, records: list[Rec]) -> None:
    """Some uploads carry no country: the tenant's default (SA) applies. Only where the record
    still reads as its own numbers (a Saudi business, a record with its country, international
    spellings), since an agent uploads under its tenant's country."""
    for r in records:
        lucky = bd.rng.random() < 0.15
        if lucky and "same_local_digits_two_countries" not in r.cases and _reads_back(r, None):
            r.hint = None
            r.cases.add("no_country_hint")


def check(records: list[Rec]) -> None:
    """The builder's own spelling: every phone spelling reads back as its number; every
    joined cell splits into its spellings; every own website has the business's domain."""
    for r in records:
        assert _reads_back(r, r.hint), (r.biz.key, r.truth_phones, r.hint, r.raw.get("country"))
        phones = r.raw.get("phones")
        if isinstance(phones, str) and all(e for _, e in r.truth_phones):
            assert split_phones(phones) == [t for t, _ in r.truth_phones], phones
        website = r.raw.get("website")
        if website and not is_shared_host(website):
            assert identity_domain(website) == r.biz.domain, (r.biz.key, website)


def build(seed: int = SEED) -> list[dict[str, Any]]:
    bd = Builder(seed)
    scenarios(bd)
    records = bd.records
    describe(records)
    drop_some_hints(bd, records)
    check(records)
    bd.rng.shuffle(records)
    return [
        {
            "record": f"rec-{i:04d}",
            "business": r.biz.key,
            "type": r.type,
            "country": r.hint,
            "cases": sorted(r.cases),
            "rawData": r.raw,
        }
        for i, r in enumerate(records, 1)
    ]


def render(rows: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)


def main() -> None:
    rows = build()
    OUT.write_text(render(rows), encoding="utf-8")
    businesses = {row["business"] for row in rows}
    sys.stdout.write(f"{OUT}: {len(rows)} records of {len(businesses)} businesses\n")


if __name__ == "__main__":
    main()
