"""The columns an export may hold, their headers in both languages, and reading a header back
to its field (what a re-import maps)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from leedz.exports.columns import (
    DEFAULT_COLUMNS,
    FAMILIES,
    UnknownExportColumn,
    field_of_header,
    plan,
)
from leedz.jobs.schemas import ExportInput
from leedz.leads.fields import FIELDS, exportable


class TestPlan:
    def test_every_non_pattern_field_is_exportable(self) -> None:
        keys = [f.key for f in FIELDS.items if not f.pattern]
        columns = plan(keys).expand({})
        expanded = {c.key for c in columns}
        for key in keys:
            if key == "location":
                assert {"lat", "lng"} <= expanded
            elif key in FAMILIES:
                continue  # a family: a column per key in use
            else:
                assert key in expanded

    def test_families_expand_to_the_keys_in_use_sorted(self) -> None:
        wanted = plan(["name", "customFields", "customFields.industry", "socialProfiles"])
        assert wanted.families == ("customFields", "socialProfiles")
        columns = wanted.expand(
            {"customFields": ["zone", "industry", "branches"], "socialProfiles": ["x"]}
        )
        assert [c.key for c in columns] == [
            "name", "customFields.branches", "customFields.industry", "customFields.zone",
            "socialProfiles.x",
        ]  # fmt: skip

    def test_the_default_columns(self) -> None:
        columns = plan(None).expand({"externalIds": ["googleMaps"], "customFields": ["a"]})
        keys = [c.key for c in columns]
        assert keys[:3] == ["id", "name", "contactName"]
        assert "externalIds.googleMaps" in keys
        assert "customFields.a" in keys
        assert len(DEFAULT_COLUMNS) == len(set(DEFAULT_COLUMNS))

    @pytest.mark.parametrize(
        "key",
        [
            "password",
            "tenant_id",
            "search_text",
            "customFields.",
            "customFields.1abc",
            "customFields.a b",
            "customFields.x'; DROP TABLE leads; --",
            "externalIds.googleMaps.extra",
            "customFields.<key>",
            "NAME",
        ],
    )
    def test_anything_else_is_refused_by_name(self, key: str) -> None:
        with pytest.raises(UnknownExportColumn) as raised:
            plan(["name", key])
        assert raised.value.code == "export_column_unknown"
        assert raised.value.status == 422
        assert raised.value.extra == {"field": "columns", "columns": [key]}


class TestHeaders:
    def test_every_header_reads_back_to_its_field_in_both_languages(self) -> None:
        wanted = plan([*DEFAULT_COLUMNS, "domain", "version", "deletedAt", "source.jobId"])
        columns = wanted.expand(
            {
                "customFields": ["industry", "name"],
                "externalIds": ["googleMaps", "yelp"],
                "socialProfiles": ["instagram", "linkedin"],
            }
        )
        for column in columns:
            assert field_of_header(column.header("ar")) == column.key, column.header("ar")
            assert field_of_header(column.header("en")) == column.key, column.header("en")
        headers = [c.header("ar") for c in columns]
        assert len(set(headers)) == len(headers)

    def test_the_headers_chosen(self) -> None:
        columns = {c.key: c for c in plan(None).expand({"customFields": ["industry"]})}
        assert columns["phones"].header("ar") == "أرقام الهاتف"
        assert columns["phones"].header("en") == "Phones"
        assert columns["customFields.industry"].header("en") == "Custom field: industry"
        assert columns["customFields.industry"].header("ar") == "حقل مخصص: industry"
        # A custom field named like a field stays a custom field.
        assert field_of_header("Custom field: name") == "customFields.name"
        assert field_of_header("  الاسم ") == "name"
        assert field_of_header("NAME") == "name"  # headers compare case-insensitively

    @pytest.mark.parametrize("header", ["", "Phone number", "Custom field:", "Unknown: x", "حقل"])
    def test_a_header_no_export_writes_is_none(self, header: str) -> None:
        assert field_of_header(header) is None


KEYS = [
    *(f.key for f in FIELDS.items),
    "customFields.industry", "externalIds.yelp", "socialProfiles.instagram", "location",
    "password", "tenant_id", "customFields.", "customFields.1abc", "customFields.a b",
    "externalIds.googleMaps.extra", "NAME", "source", "source.other", "phones.0",
]  # fmt: skip


class TestCheckedAtCreation:
    @pytest.mark.parametrize("key", KEYS)
    def test_the_input_schema_and_the_plan_agree(self, key: str) -> None:
        try:
            plan([key])
        except UnknownExportColumn:
            planned = False
        else:
            planned = True
        assert exportable(key) is planned
        if planned:
            assert ExportInput.model_validate({"columns": [key]}).columns == [key]
        else:
            with pytest.raises(ValidationError) as raised:
                ExportInput.model_validate({"columns": ["name", key]})
            (error,) = raised.value.errors()
            assert error["loc"] == ("columns", 1)
            assert "not an exportable column" in error["msg"]
