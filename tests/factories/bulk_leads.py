"""Many leads at once, written as the owner with SQL (plan tests need thousands, not an API
call each). Their columns look like what record.py stores: normalized names, E.164 digits."""

from __future__ import annotations

import uuid

import asyncpg

NAMES = ["مطعم", "مؤسسه", "شركه", "مقهي", "صالون", "مخبز", "cafe", "salon", "clinic", "store"]
PLACES = ["الامل", "النور", "السلام", "الرياض", "الخليج", "royal", "golden", "palm"]


async def tenant(conn: asyncpg.Connection, label: str) -> uuid.UUID:
    tenant_id = uuid.uuid4()
    await conn.execute(
        "INSERT INTO tenants (id, name, slug) VALUES ($1, $2, $3)",
        tenant_id,
        label,
        f"bulk-{label.lower()}-{tenant_id.hex[:8]}",
    )
    return tenant_id


async def leads(conn: asyncpg.Connection, tenant_id: uuid.UUID, count: int) -> None:
    """`count` leads, one a minute back from now; a third unrated, names from two word lists
    (so a word of NAMES is in one lead of ten), a unique phone each."""
    await conn.execute(
        """
        INSERT INTO leads (tenant_id, name, source_type, phones, rating, search_text, name_sort,
                           name_key, created_at, updated_at, last_activity_at)
        SELECT $1, n, 'MANUAL', ARRAY['+9665' || lpad(g::text, 8, '0')],
               CASE WHEN g % 3 = 0 THEN NULL ELSE (g % 50) / 10.0 END,
               n || ' | 9665' || lpad(g::text, 8, '0'), n, n, t, t, t
        FROM (SELECT g, now() - g * interval '1 minute' AS t,
                     ($2::text[])[1 + g % cardinality($2::text[])] || ' '
                     || ($3::text[])[1 + (g / 10) % cardinality($3::text[])] || ' ' || g AS n
              FROM generate_series(1, $4::int) AS g) AS s
        """,
        tenant_id,
        NAMES,
        PLACES,
        count,
    )
