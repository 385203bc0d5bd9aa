"""From a file's column names to lead fields, and cells that hold several values. Pure.

`suggest` proposes a mapping {column: field} from Arabic and English headers; the person
importing confirms or changes it. `split_multi` cuts a phones or e-mails cell into its values.
The tables are written down in docs/imports.md.
"""

from __future__ import annotations

import re

from leedz.leads.fields import FIELDS
from leedz.leads.normalize import normalize_text, split_phones

NOTES_FIELD = "customFields.notes"
"""Where a `Notes` column goes: leads have no notes field, custom fields take any key."""

# Per field, header spellings from the strongest to the weakest claim (a `Company` column is
# the business's name before a `Name` column is). Compared in `header_key` form, so case,
# spaces, underscores, dashes, hamza and alef forms, taa marbuta and the ال article do not
# matter.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "name": (
        "business name", "company name", "company", "organization", "organisation",
        "business", "store name", "shop name", "place name",
        "اسم النشاط", "اسم النشاط التجاري", "النشاط التجاري", "الاسم التجاري", "اسم الشركة",
        "الشركة", "اسم المنشأة", "المنشأة", "اسم المؤسسة", "اسم المحل", "اسم المتجر",
        "name", "full name", "الاسم", "اسم", "الاسم الكامل",
    ),
    "contactName": (
        "contact name", "contact person", "contact", "person", "representative",
        "اسم جهة الاتصال", "جهة الاتصال", "الشخص المسؤول", "اسم الشخص", "اسم العميل", "العميل",
    ),
    "phones": (
        "phone", "phones", "phone number", "phone numbers", "phone no", "mobile",
        "mobile number", "mobile no", "mobile phone", "cell", "cell phone", "cellphone", "tel",
        "telephone", "telephone number", "contact number", "whatsapp", "whatsapp number",
        "رقم الهاتف", "الهاتف", "هاتف", "أرقام الهاتف", "أرقام الهواتف", "الهواتف", "الجوال",
        "جوال", "رقم الجوال", "الموبايل", "موبايل", "رقم الموبايل", "المحمول", "رقم المحمول",
        "تلفون", "التلفون", "رقم التلفون", "رقم التواصل", "رقم الاتصال", "واتساب", "واتس اب",
        "رقم الواتساب", "الرقم",
    ),
    "emails": (
        "email", "emails", "email address", "email addresses", "mail", "e mail address",
        "البريد الإلكتروني", "البريد الالكتروني", "البريد", "الإيميل", "ايميل", "الايميل",
        "عنوان البريد الإلكتروني",
    ),
    "website": (
        "website", "web site", "websites", "url", "site", "web", "homepage", "home page",
        "web address", "الموقع الإلكتروني", "الموقع الالكتروني", "الموقع", "موقع", "الرابط",
        "موقع الويب",
    ),
    "address": (
        "address", "street", "street address", "full address", "location", "العنوان", "عنوان",
        "العنوان الكامل", "الحي",
    ),
    "city": ("city", "town", "المدينة", "مدينة"),
    "country": ("country", "country code", "الدولة", "البلد", "دولة"),
    "category": (
        "category", "categories", "industry", "sector", "business type", "type",
        "التصنيف", "الفئة", "القطاع", "نوع النشاط", "النشاط", "المجال",
    ),
    "lat": ("lat", "latitude", "خط العرض"),
    "lng": ("lng", "lon", "long", "longitude", "خط الطول"),
    "rating": ("rating", "stars", "average rating", "التقييم"),
    "reviewsCount": (
        "reviews", "reviews count", "review count", "number of reviews", "عدد المراجعات",
        "المراجعات", "عدد التقييمات",
    ),
    "externalIds.googleMaps": (
        "google maps id", "place id", "google place id", "معرف خرائط google",
    ),
    "status": ("status", "lead status", "الحالة", "حالة العميل"),
    "tags": ("tags", "tag", "labels", "label", "الوسوم", "وسوم", "الوسم", "التصنيفات"),
    "doNotContact": ("do not contact", "dnc", "عدم التواصل", "عدم الاتصال"),
    NOTES_FIELD: ("notes", "note", "comments", "comment", "ملاحظات", "الملاحظات", "ملاحظة"),
}  # fmt: skip

_ARTICLE = "ال"
_TRAILING_NUMBER = re.compile(r"\s*\d+$")


def header_key(header: str) -> str:
    """The form two headers are compared in: `normalize_text` (case, hamza and alef forms,
    taa marbuta, punctuation, digits), the article ال dropped from the start of each word
    (as often as it repeats, leaving three letters at least), the spaces removed (`E-mail`,
    `e_mail`, `EMAIL` are `email`)."""
    return "".join(_without_article(word) for word in normalize_text(header).split())


def _without_article(word: str) -> str:
    # As often as it repeats: once hamza is gone, `الإلكتروني` reads `الالكتروني`, and its
    # `إل` is as much an article as the first `ال` (`بريد إلكتروني` = `البريد الإلكتروني`).
    while word.startswith(_ARTICLE) and len(word) > 3:
        word = word[len(_ARTICLE) :]
    return word


def _importable() -> frozenset[str]:
    keys = {f.key for f in FIELDS.items if f.importable and not f.pattern}
    return frozenset(keys | {NOTES_FIELD})


IMPORTABLE = _importable()
"""The field keys a column may be mapped to (leads/fields.py), and custom fields."""


def _table() -> dict[str, tuple[str, int]]:
    table: dict[str, tuple[str, int]] = {}
    for field_key, spellings in SYNONYMS.items():
        if field_key not in IMPORTABLE:
            raise ValueError(f"{field_key} is not an importable lead field")
        for rank, spelling in enumerate(spellings):
            table.setdefault(header_key(spelling), (field_key, rank))
    return table


_TABLE = _table()


def _claim(header: str) -> tuple[str, int] | None:
    """The field a header names, and how strongly (lower is stronger); a trailing number
    (`Phone 2`) is a weaker claim on the same field."""
    found = _TABLE.get(header_key(header))
    if found is not None:
        return found
    without_number = _TRAILING_NUMBER.sub("", normalize_text(header))
    if without_number != normalize_text(header):
        found = _TABLE.get(header_key(without_number))
        if found is not None:
            return found[0], found[1] + 1_000
    return None


def suggest(header: list[str]) -> dict[str, str]:
    """{column: field} for the columns whose name says which lead field they hold. Each field
    is given to one column at most: the strongest claim wins (a `Company` column over a
    `Name` column for `name`), then the leftmost. Unknown columns are left out."""
    best: dict[str, tuple[int, int, str]] = {}  # field → (rank, column index, column)
    for index, column in enumerate(header):
        claim = _claim(column)
        if claim is None:
            continue
        field_key, rank = claim
        if field_key not in best or (rank, index) < best[field_key][:2]:
            best[field_key] = (rank, index, column)
    chosen = sorted(best.items(), key=lambda item: item[1][1])
    return {column: field_key for field_key, (_, _, column) in chosen}


_EMAIL_SLASH = re.compile(r"\s*[/\uff0f]\s*")


def split_multi(cell: str) -> list[str]:
    """The values in one phones or e-mails cell, in order, trimmed, empty ones dropped.

    Values are separated by `;` `,` `|` a line break (and the Arabic `،` `؛`), as
    `normalize.split_phones` reads a phones cell: a `/` separates two numbers only when both
    sides are whole numbers (`02/2345 6789` is one number, `0501234567/8` two), and the
    spaces, dashes, dots and brackets that group one number never split it. A piece holding
    an `@` is split on `/` as well (`a@x.sa / b@y.sa`)."""
    values: list[str] = []
    for piece in split_phones(cell):
        if "@" in piece:
            values.extend(v for v in _EMAIL_SLASH.split(piece) if v.strip())
        else:
            values.append(piece)
    return values
