"""SQL of exports: how many leads a selection holds, the object keys they use, and the leads
themselves through a server-side cursor, each as the row of cells its columns name."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg

from leedz.exports.cells import LEADING_BLANKS
from leedz.exports.columns import FAMILIES, CellKind, Column
from leedz.kit.repository import TenantRepository
from leedz.leads.repository import NULLABLE_SORT_COLUMNS, LeadQuerySpec, where_sql


@dataclass(frozen=True, slots=True)
class Selection:
    """The leads to export: `spec`'s (GET /v1/leads's filter as the creator sees it), in
    (`sort_column`, id) order, descending or not."""

    spec: LeadQuerySpec
    sort_column: str
    descending: bool


def _cell_sql(column: Column, p: _Params, *, typed: bool, tz: str) -> str:
    """The SQL of one cell: text for CSV; numbers, booleans and times typed for XLSX. A time is
    the wall-clock time in the tenant's zone, to the second."""
    sql = column.sql
    if column.family_key is not None:
        sql = sql.format(key=p(column.family_key, "text"))
    if column.kind is CellKind.DATE_TIME:
        local = f"({sql} AT TIME ZONE {tz})"
        return (
            f"date_trunc('second', {local})"
            if typed
            else f"to_char({local}, 'YYYY-MM-DD HH24:MI:SS')"
        )
    if not typed and column.kind is not CellKind.TEXT:
        return f"({sql})::text"
    return sql


SEPARATOR = "\x1f"  # a control character no lead text holds (leads/schemas.py refuses them)
SUSPECT_PATTERN = f"(^|\x1f)[{LEADING_BLANKS}]*[-=+@\t\r\uff1d\uff0b\uff0d\uff20]"
"""A text cell that starts with a formula trigger (cells.FORMULA_TRIGGERS), in a row's text
cells joined by SEPARATOR."""


def _suspect_sql(columns: Sequence[Column], p: _Params) -> str:
    """A CSV row's first cell: whether any of its text cells starts with a formula trigger.
    A pre-filter the database runs beside the row's other work, so that Python looks at the
    few rows that may need it: the writer calls `cells.defuse` on every text cell of a flagged
    row (a row flagged for nothing costs only the look) and on no other."""
    parts = [_cell_sql(c, p, typed=False, tz="") for c in columns if c.kind is CellKind.TEXT]
    if not parts:
        return "false"
    joined = f"concat_ws({p(SEPARATOR, 'text')}, {', '.join(parts)})"
    return f"({joined} ~ {p(SUSPECT_PATTERN, 'text')})"


class _Params:
    """Parameters numbered after the WHERE clause's."""

    def __init__(self, values: list[Any]) -> None:
        self.values = values

    def __call__(self, value: Any, cast: str) -> str:
        self.values.append(value)
        return f"${len(self.values) + 1}::{cast}"


@dataclass(frozen=True, slots=True)
class Survey:
    """What the selection holds, read before its rows: how many leads, and the keys of each
    object field (`customFields`…) that they use."""

    leads: int
    keys: dict[str, list[str]]


class ExportReads(TenantRepository):
    async def allow_long_statements(self, milliseconds: int) -> None:
        """For the rest of the transaction (a job's long read, not a request's)."""
        await self.tx.raw.execute(
            "SELECT set_config('statement_timeout', $1, true)", str(milliseconds)
        )

    async def survey(self, selection: Selection, families: Sequence[str]) -> Survey:
        """The selection's count and the keys in use of `families`, in one read of it: each
        lead gives a row of its own (family NULL: the count) and one per key it uses."""
        where, args = where_sql(selection.spec)
        parts = " UNION ALL ".join(
            [
                "SELECT NULL::text, NULL::text",
                *(
                    f"SELECT '{family}'::text, jsonb_object_keys(leads.{FAMILIES[family][0]})"
                    for family in families  # names from FAMILIES, never input
                ),
            ]
        )
        rows = await self.fetch(
            "SELECT f.family, f.key, count(*) AS leads FROM leads,"
            f" LATERAL ({parts}) AS f(family, key) WHERE {where} GROUP BY f.family, f.key",
            *args,
        )
        leads, keys = 0, dict[str, list[str]]()
        for row in rows:
            if row["family"] is None:
                leads = int(row["leads"])
            else:
                keys.setdefault(row["family"], []).append(row["key"])
        return Survey(leads=leads, keys={f: sorted(k) for f, k in keys.items()})

    async def rows(
        self,
        selection: Selection,
        columns: Sequence[Column],
        *,
        typed: bool,
        timezone: str,
        batch: int,
    ) -> AsyncIterator[list[asyncpg.Record]]:
        """The selected leads' cells, `batch` rows at a time, from a server-side cursor (the
        caller's transaction must stay open while it iterates)."""
        sql, args = rows_sql(selection, columns, typed=typed, timezone=timezone)
        cursor = await self.cursor(sql, *args)
        while rows := await cursor.fetch(batch):
            yield rows


def rows_sql(
    selection: Selection, columns: Sequence[Column], *, typed: bool, timezone: str
) -> tuple[str, list[Any]]:
    """The SELECT of the selected leads' cells, in the selection's order, and its parameters
    after the tenant's `$1` (typed: for XLSX; else every cell is text, for CSV)."""
    where, args = where_sql(selection.spec)
    p = _Params(args)
    dated = any(c.kind is CellKind.DATE_TIME for c in columns)
    tz = p(timezone, "text") if dated else ""
    cells = ", ".join(_cell_sql(c, p, typed=typed, tz=tz) for c in columns)
    if not typed:
        cells = f"{_suspect_sql(columns, p)}, {cells}"
    direction = "DESC" if selection.descending else "ASC"
    # NULLS LAST only where there are NULLs (rating): on the others it would keep the
    # planner from walking the (tenant_id, column, id) index.
    nulls = " NULLS LAST" if selection.sort_column in NULLABLE_SORT_COLUMNS else ""
    order = f"{selection.sort_column} {direction}{nulls}, id {direction}"
    return f"SELECT {cells} FROM leads WHERE {where} ORDER BY {order}", p.values
