"""The `sales_visibility` policy in raw SQL as the request role, without a line of app code.

With the tenant's `sales_see_all_leads` off, a SALES member's transaction sees and writes only
the leads they own and the unassigned ones; with it on, as a MANAGER, or with no user set (an
agent's transactions), the tenant's every lead. The membership check runs once per statement.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import asyncpg
import pytest

from tests.factories.rows import TenantRows, create_tenant_with_rows
from tests.support.databases import APP_ROLE


@asynccontextmanager
async def as_member(
    conn: asyncpg.Connection, tenant_id: uuid.UUID, user_id: uuid.UUID | None
) -> AsyncIterator[asyncpg.Connection]:
    """A transaction as the request role with the tenant and the user set, rolled back after."""
    tx = conn.transaction()
    await tx.start()
    try:
        await conn.execute(f"SET LOCAL ROLE {APP_ROLE}")
        await conn.execute(
            "SELECT set_config('app.current_tenant_id', $1, true),"
            " set_config('app.current_user_id', $2, true)",
            str(tenant_id),
            str(user_id) if user_id else "",
        )
        yield conn
    finally:
        await tx.rollback()


@dataclass
class Team:
    tenant: TenantRows
    manager: uuid.UUID
    rep: uuid.UUID
    other_rep: uuid.UUID
    leads: dict[str, uuid.UUID]  # whose → lead id

    @property
    def tenant_id(self) -> uuid.UUID:
        return self.tenant.tenant_id


async def add_member(owner: asyncpg.Connection, tenant_id: uuid.UUID, role: str) -> uuid.UUID:
    user_id = uuid.uuid4()
    await owner.execute(
        "INSERT INTO users (id, email, password_hash, name) VALUES ($1, $2, 'x', $3)",
        user_id,
        f"{role.lower()}-{user_id.hex[:8]}@example.com",
        role,
    )
    await owner.execute(
        "INSERT INTO memberships (tenant_id, user_id, role) VALUES ($1, $2, $3)",
        tenant_id,
        user_id,
        role,
    )
    return user_id


async def add_lead(
    owner: asyncpg.Connection, tenant_id: uuid.UUID, owner_id: uuid.UUID | None, name: str
) -> uuid.UUID:
    lead_id: uuid.UUID = await owner.fetchval(
        "INSERT INTO leads (tenant_id, name, source_type, owner_id)"
        " VALUES ($1, $2, 'MANUAL', $3) RETURNING id",
        tenant_id,
        name,
        owner_id,
    )
    return lead_id


@pytest.fixture
async def team(owner: asyncpg.Connection) -> Team:
    tenant = await create_tenant_with_rows(owner, "sales")  # its lead is unassigned
    t = tenant.tenant_id
    manager = await add_member(owner, t, "MANAGER")
    rep = await add_member(owner, t, "SALES")
    other_rep = await add_member(owner, t, "SALES")
    leads = {
        "unassigned": tenant.ids["leads"],
        "rep": await add_lead(owner, t, rep, "Rep's"),
        "other_rep": await add_lead(owner, t, other_rep, "Other rep's"),
        "manager": await add_lead(owner, t, manager, "Manager's"),
        "owner": await add_lead(owner, t, tenant.user_id, "Owner's"),
    }
    await owner.execute("UPDATE tenants SET sales_see_all_leads = false WHERE id = $1", t)
    return Team(tenant, manager, rep, other_rep, leads)


async def visible(conn: asyncpg.Connection) -> set[uuid.UUID]:
    return {r["id"] for r in await conn.fetch("SELECT id FROM leads")}


class TestSalesOwnOnly:
    async def test_select_sees_only_own_and_unassigned(
        self, owner: asyncpg.Connection, team: Team
    ) -> None:
        async with as_member(owner, team.tenant_id, team.rep) as conn:
            seen = await visible(conn)
            others = await conn.fetchval(
                "SELECT count(*) FROM leads WHERE owner_id <> $1", team.rep
            )
            by_id = await conn.fetchval(
                "SELECT count(*) FROM leads WHERE id = $1", team.leads["other_rep"]
            )
        assert seen == {team.leads["rep"], team.leads["unassigned"]}
        assert others == 0
        assert by_id == 0

    @pytest.mark.parametrize("whose", ["other_rep", "manager", "owner"])
    async def test_update_and_delete_of_anothers_lead_touch_nothing(
        self, owner: asyncpg.Connection, team: Team, whose: str
    ) -> None:
        lead = team.leads[whose]
        async with as_member(owner, team.tenant_id, team.rep) as conn:
            updated = await conn.execute("UPDATE leads SET name = 'Mine now' WHERE id = $1", lead)
            taken = await conn.execute(
                "UPDATE leads SET owner_id = $2 WHERE id = $1", lead, team.rep
            )
            deleted = await conn.execute("DELETE FROM leads WHERE id = $1", lead)
            everything = await conn.execute("DELETE FROM leads WHERE owner_id IS NOT NULL")
        assert (updated, taken, deleted) == ("UPDATE 0", "UPDATE 0", "DELETE 0")
        assert everything == "DELETE 1"  # its own only (rolled back)
        assert await owner.fetchval("SELECT name FROM leads WHERE id = $1", lead) != "Mine now"

    async def test_inserting_a_lead_for_another_rep_fails_the_check(
        self, owner: asyncpg.Connection, team: Team
    ) -> None:
        async with as_member(owner, team.tenant_id, team.rep) as conn:
            with pytest.raises(asyncpg.InsufficientPrivilegeError, match="row-level security"):
                await conn.execute(
                    "INSERT INTO leads (tenant_id, name, source_type, owner_id)"
                    " VALUES ($1, 'Gift', 'MANUAL', $2)",
                    team.tenant_id,
                    team.other_rep,
                )

    @pytest.mark.parametrize("whose", ["rep", "unassigned"])
    async def test_giving_a_visible_lead_to_another_fails_the_check(
        self, owner: asyncpg.Connection, team: Team, whose: str
    ) -> None:
        async with as_member(owner, team.tenant_id, team.rep) as conn:
            with pytest.raises(asyncpg.InsufficientPrivilegeError, match="row-level security"):
                await conn.execute(
                    "UPDATE leads SET owner_id = $2 WHERE id = $1",
                    team.leads[whose],
                    team.other_rep,
                )

    async def test_own_and_unassigned_are_writable(
        self, owner: asyncpg.Connection, team: Team
    ) -> None:
        async with as_member(owner, team.tenant_id, team.rep) as conn:
            taken = await conn.execute(
                "UPDATE leads SET owner_id = $2 WHERE id = $1", team.leads["unassigned"], team.rep
            )
            released = await conn.execute(
                "UPDATE leads SET owner_id = NULL WHERE id = $1", team.leads["rep"]
            )
            created = await conn.execute(
                "INSERT INTO leads (tenant_id, name, source_type, owner_id)"
                " VALUES ($1, 'Mine', 'MANUAL', $2)",
                team.tenant_id,
                team.rep,
            )
        assert (taken, released, created) == ("UPDATE 1", "UPDATE 1", "INSERT 0 1")


class TestEverythingVisible:
    async def test_with_sales_see_all_leads_on(self, owner: asyncpg.Connection, team: Team) -> None:
        await owner.execute(
            "UPDATE tenants SET sales_see_all_leads = true WHERE id = $1", team.tenant_id
        )
        async with as_member(owner, team.tenant_id, team.rep) as conn:
            assert await visible(conn) == set(team.leads.values())
            moved = await conn.execute(
                "UPDATE leads SET owner_id = $2 WHERE id = $1", team.leads["rep"], team.other_rep
            )
        assert moved == "UPDATE 1"

    @pytest.mark.parametrize("who", ["manager", "owner"])
    async def test_as_a_manager_or_owner(
        self, owner: asyncpg.Connection, team: Team, who: str
    ) -> None:
        user = team.manager if who == "manager" else team.tenant.user_id
        async with as_member(owner, team.tenant_id, user) as conn:
            assert await visible(conn) == set(team.leads.values())
            assert (
                await conn.execute(
                    "UPDATE leads SET owner_id = $2 WHERE id = $1",
                    team.leads["rep"],
                    team.other_rep,
                )
                == "UPDATE 1"
            )

    async def test_with_no_user_set(self, owner: asyncpg.Connection, team: Team) -> None:
        """An agent's transactions set the tenant and no user."""
        async with as_member(owner, team.tenant_id, None) as conn:
            assert await visible(conn) == set(team.leads.values())


async def test_the_membership_check_runs_once_per_statement(
    owner: asyncpg.Connection, team: Team
) -> None:
    await owner.execute(
        "INSERT INTO leads (tenant_id, name, source_type, owner_id)"
        " SELECT $1, 'Bulk ' || i, 'MANUAL', CASE WHEN i % 2 = 0 THEN $2::uuid ELSE $3::uuid END"
        " FROM generate_series(1, 500) AS i",
        team.tenant_id,
        team.rep,
        team.other_rep,
    )
    async with as_member(owner, team.tenant_id, team.rep) as conn:
        plan = "\n".join(
            r[0]
            for r in await conn.fetch(
                "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT id FROM leads"
            )
        )
        seen = await conn.fetchval("SELECT count(*) FROM leads")
    assert seen == 250 + 2  # the rep's half, its lead, the unassigned one
    # The filter uses the InitPlan's result (`$0`), computed once for the whole scan, instead of
    # calling the function on each of the 500-odd rows it looks at.
    # One InitPlan node; PostgreSQL 17+ also names it in the filter (`(InitPlan 1).col1`).
    nodes = [line for line in plan.splitlines() if line.strip().startswith("InitPlan")]
    assert len(nodes) == 1, plan
    filter_line = next(line for line in plan.splitlines() if "Filter:" in line)
    assert "leedz_sales_own_leads_only" not in filter_line, plan
    init_plan = plan.split(nodes[0], 1)[1].splitlines()
    assert "loops=1" in init_plan[1], plan
    removed = next(line for line in plan.splitlines() if "Rows Removed by Filter" in line)
    assert int(removed.rsplit(" ", 1)[1]) == 253, plan  # the other rep's, the manager's, …
