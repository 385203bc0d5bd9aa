"""The fields of a lead, for screens that map, filter and sort (GET /v1/leads/fields).

Static: the lead's shape is the code's. `importable` names what a CSV column may be mapped to
(the import issue reads this list); `queryParams` the GET /v1/leads parameters that filter or
sort on the field.
"""

from __future__ import annotations

import re

from leedz.evidence.models import Confidence
from leedz.leads.models import LeadSource, LeadStatus
from leedz.leads.schemas import FieldLabel, FieldOut, FieldsOut, FieldType

T = FieldType


def _field(
    key: str,
    kind: FieldType,
    ar: str,
    en: str,
    *,
    importable: bool = False,
    params: tuple[str, ...] = (),
    sortable: bool = False,
    values: list[str] | None = None,
    pattern: bool = False,
) -> FieldOut:
    return FieldOut(
        key=key,
        type=kind,
        label=FieldLabel(ar=ar, en=en),
        values=values,
        importable=importable,
        filterable=any(not p.lstrip("-").startswith("sort") for p in params),
        sortable=sortable,
        pattern=pattern,
        query_params=list(params),
    )


def _sort(name: str) -> tuple[str, str]:
    return f"sort={name}", f"sort=-{name}"


FIELDS = FieldsOut(
    items=[
        _field("id", T.STRING, "المعرّف", "ID"),
        _field("name", T.STRING, "الاسم", "Name", importable=True,
               params=("q", *_sort("name")), sortable=True),
        _field("contactName", T.STRING, "اسم جهة الاتصال", "Contact name", importable=True,
               params=("q",)),
        _field("category", T.STRING, "التصنيف", "Category", importable=True,
               params=("category",)),
        _field("phones", T.PHONE_LIST, "أرقام الهاتف", "Phones", importable=True,
               params=("q", "hasPhone")),
        _field("emails", T.EMAIL_LIST, "البريد الإلكتروني", "Emails", importable=True,
               params=("q", "hasEmail")),
        _field("website", T.URL, "الموقع الإلكتروني", "Website", importable=True),
        _field("domain", T.STRING, "النطاق", "Domain", params=("q",)),
        _field("socialProfiles", T.OBJECT, "حسابات التواصل الاجتماعي", "Social profiles"),
        _field("address", T.STRING, "العنوان", "Address", importable=True),
        _field("city", T.STRING, "المدينة", "City", importable=True, params=("city",)),
        _field("country", T.STRING, "الدولة", "Country", importable=True, params=("country",)),
        _field("location", T.OBJECT, "الموقع الجغرافي", "Location"),
        _field("lat", T.NUMBER, "خط العرض", "Latitude", importable=True),
        _field("lng", T.NUMBER, "خط الطول", "Longitude", importable=True),
        _field("rating", T.NUMBER, "التقييم", "Rating", importable=True,
               params=_sort("rating"), sortable=True),
        _field("reviewsCount", T.INTEGER, "عدد المراجعات", "Reviews", importable=True),
        _field("externalIds", T.OBJECT, "المعرّفات الخارجية", "External IDs"),
        _field("externalIds.googleMaps", T.STRING, "معرّف خرائط Google", "Google Maps ID",
               importable=True),
        _field("status", T.ENUM, "الحالة", "Status", importable=True, params=("status",),
               values=[s.value for s in LeadStatus]),
        _field("ownerId", T.STRING, "المسؤول", "Owner", params=("ownerId", "unassigned")),
        _field("tags", T.STRING_LIST, "الوسوم", "Tags", importable=True, params=("tag",)),
        _field("doNotContact", T.BOOLEAN, "عدم التواصل", "Do not contact", importable=True,
               params=("doNotContact",)),
        _field("customFields", T.OBJECT, "الحقول المخصصة", "Custom fields"),
        _field("customFields.<key>", T.STRING, "حقل مخصص", "Custom field", importable=True,
               pattern=True),
        _field("confidence", T.ENUM, "الثقة", "Confidence",
               values=[c.value for c in Confidence]),
        _field("source.type", T.ENUM, "المصدر", "Source", params=("source",),
               values=[s.value for s in LeadSource]),
        _field("source.jobId", T.STRING, "مهمة البحث", "Search job"),
        _field("version", T.INTEGER, "الإصدار", "Version"),
        _field("createdAt", T.DATE_TIME, "تاريخ الإضافة", "Created", sortable=True,
               params=("createdFrom", "createdTo", *_sort("createdAt"))),
        _field("updatedAt", T.DATE_TIME, "آخر تعديل", "Updated", sortable=True,
               params=_sort("updatedAt")),
        _field("lastActivityAt", T.DATE_TIME, "آخر نشاط", "Last activity", sortable=True,
               params=_sort("lastActivityAt")),
        _field("deletedAt", T.DATE_TIME, "تاريخ الحذف", "Deleted", params=("deleted",)),
    ]
)  # fmt: skip


def fields() -> FieldsOut:
    return FIELDS


OBJECT_FIELDS = ("customFields", "externalIds", "socialProfiles")
"""Object fields an export spreads over a column per key (`customFields.<key>`)."""
_OBJECT_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,39}$")  # leads/schemas.py's keys
_EXPORTABLE = frozenset(f.key for f in FIELDS.items if not f.pattern)


_IMPORTABLE = frozenset(f.key for f in FIELDS.items if f.importable and not f.pattern)


def importable(key: str) -> bool:
    """Whether an import may map a column to `key`: an importable field above, or one custom
    field (`customFields.<key>`); jobs/schemas.py checks an IMPORT's `mapping` with it."""
    if key in _IMPORTABLE:
        return True
    family, dot, inner = key.partition(".")
    return bool(dot) and family == "customFields" and bool(_OBJECT_KEY.match(inner))


def exportable(key: str) -> bool:
    """Whether an export can hold the column `key`: a field above (but a pattern), or one key
    of an object field (`customFields.industry`, `socialProfiles.instagram`); exports/columns.py
    turns it into SQL, jobs/schemas.py checks an EXPORT's `columns` with it."""
    if key in _EXPORTABLE:
        return True
    family, dot, inner = key.partition(".")
    return bool(dot) and family in OBJECT_FIELDS and bool(_OBJECT_KEY.match(inner))
