"""Searching the whole database for a value (a raw secret must be in no column)."""

from __future__ import annotations

import asyncpg

TEXT_TYPES = ("text", "character varying", "character", "json", "jsonb", "ARRAY", "USER-DEFINED")


async def columns_containing(owner: asyncpg.Connection, needle: str) -> list[str]:
    """`table.column` of every column, text-like or bytea, of the public schema in which
    `needle` occurs (as text, or as its UTF-8 bytes inside a bytea); also whole rows as text."""
    columns = await owner.fetch(
        "SELECT c.table_name, c.column_name, c.data_type FROM information_schema.columns c"
        " JOIN information_schema.tables t USING (table_schema, table_name)"
        " WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE'"
        " AND (c.data_type = 'bytea' OR c.data_type = ANY($1::text[]))",
        list(TEXT_TYPES),
    )
    found = []
    for column in columns:
        table, name = column["table_name"], column["column_name"]
        if column["data_type"] == "bytea":
            condition = f"position(convert_to($1, 'UTF8') in t.\"{name}\") > 0"
        else:
            condition = f'strpos(t."{name}"::text, $1) > 0'
        hits = await owner.fetchval(f'SELECT count(*) FROM "{table}" t WHERE {condition}', needle)
        if hits:
            found.append(f"{table}.{name}")
    tables = {c["table_name"] for c in columns}
    for table in sorted(tables):
        hits = await owner.fetchval(
            f'SELECT count(*) FROM "{table}" t WHERE strpos(t::text, $1) > 0', needle
        )
        if hits:
            found.append(f"{table} (a row as text)")
    return found
