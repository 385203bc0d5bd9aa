"""`leedz leads renormalize` (leads/renormalize.py): leads stored under earlier rules are
brought to the current ones — fields, derived columns and keys — and meet new records again;
a lead whose new key another holds, or whose stored value no longer passes, is left as it is
and reported; a dry run writes nothing; another workspace is never read.

"Stored under earlier rules" is made here as an earlier version wrote it: the owner's
connection sets the columns and keys directly (an e-mail in punycode, a name wrapped in
direction marks, stale search text)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from leedz.kit.db import Database
from leedz.leads import renormalize, service
from leedz.leads.renormalize import renormalize_tenant
from tests.factories.accounts import Account, signup
from tests.leads.test_search_index import found, make
from tests.support.live import clean_env, leedz

PUNYCODE = "info@xn--mgbh0fb.xn--mgberp4a5d4ar"
UNICODE = "info@مثال.السعودية"
WRAPPED = "\u200fمطعم الأمل\u200f "  # as copied from an Arabic page, before trim_text


async def _as_before(owner: asyncpg.Connection, lead_id: str, **columns: Any) -> None:
    """The lead's columns as an earlier version stored them; its e-mail keys to match."""
    sets = ", ".join(f"{name} = ${n + 2}" for n, name in enumerate(columns))
    await owner.execute(
        f"UPDATE leads SET {sets} WHERE id = $1", uuid.UUID(lead_id), *columns.values()
    )
    if "emails" in columns:
        await owner.execute(
            "DELETE FROM lead_keys WHERE lead_id = $1 AND kind = 'EMAIL'", uuid.UUID(lead_id)
        )
        await owner.execute(
            "INSERT INTO lead_keys (tenant_id, kind, value, lead_id)"
            " SELECT tenant_id, 'EMAIL', e, id FROM leads, unnest(emails) e WHERE id = $1",
            uuid.UUID(lead_id),
        )


async def _row(owner: asyncpg.Connection, lead_id: str) -> dict[str, Any]:
    row = await owner.fetchrow(
        "SELECT name, emails, search_text, name_key, version, updated_at, last_activity_at,"
        " (SELECT array_agg(kind || ':' || value ORDER BY kind, value) FROM lead_keys k"
        "  WHERE k.lead_id = leads.id) AS keys FROM leads WHERE id = $1",
        uuid.UUID(lead_id),
    )
    assert row is not None
    return dict(row)


def _tenant(account: Account) -> uuid.UUID:
    return uuid.UUID(account.tenant_id)


async def test_a_lead_stored_before_the_rules_meets_new_records_again(
    client: httpx.AsyncClient, owner: asyncpg.Connection, db: Database
) -> None:
    boss = await signup(client)
    lead = await make(client, boss, "مطعم الأمل", emails=[UNICODE], phones=["0501112233"])
    await _as_before(owner, lead["id"], emails=[PUNYCODE], name=WRAPPED, search_text="stale")
    before = await _row(owner, lead["id"])
    assert f"EMAIL:{PUNYCODE}" in before["keys"]
    # As stored, a record spelled the way the rules now spell it is not a duplicate by e-mail.
    assert await found(client, boss, "مثال") == set()

    done = await renormalize_tenant(db, _tenant(boss))
    assert (done.read, done.changed, done.duplicates, done.invalid) == (1, 1, [], [])
    assert {"emails", "name", "search_text", "keys"} <= done.fields.keys()

    after = await _row(owner, lead["id"])
    assert after["emails"] == [UNICODE]
    assert after["name"] == "مطعم الأمل"
    assert f"EMAIL:{UNICODE}" in after["keys"]
    assert f"EMAIL:{PUNYCODE}" not in after["keys"]
    assert "PHONE:+966501112233" in after["keys"]
    assert after["version"] == before["version"] + 1
    assert after["last_activity_at"] == before["last_activity_at"]  # no one's activity
    assert after["updated_at"] > before["updated_at"]
    assert await found(client, boss, "مثال") == {lead["id"]}
    assert await found(client, boss, "stale") == set()

    # The key meets the new spelling: either spelling of the address is now a 409.
    for spelling in (UNICODE, PUNYCODE):
        response = await client.post(
            "/v1/leads", json={"name": "Other", "emails": [spelling]}, headers=boss.headers
        )
        assert response.status_code == 409, response.text
        assert [d["id"] for d in response.json()["duplicates"]] == [lead["id"]]

    entries = (await client.get(f"/v1/leads/{lead['id']}/activities", headers=boss.headers)).json()[
        "items"
    ]
    changed = [e for e in entries if e["type"] == "FIELD_CHANGED"]
    assert len(changed) == 1
    assert (changed[0]["actorUserId"], changed[0]["actorAgentId"]) == (None, None)
    assert changed[0]["details"]["renormalized"] is True
    assert changed[0]["details"]["fields"]["emails"] == {"from": [PUNYCODE], "to": [UNICODE]}
    assert set(changed[0]["details"]["fields"]) == {"emails", "name"}  # not the derived ones
    audited = await owner.fetchval(
        "SELECT details FROM audit_logs WHERE tenant_id = $1 AND event_type = 'lead.renormalized'",
        _tenant(boss),
    )
    assert json.loads(audited) == {"count": 1, "leadIds": [lead["id"]]}

    again = await renormalize_tenant(db, _tenant(boss))
    assert (again.read, again.changed, again.fields) == (1, 0, {})
    assert (await _row(owner, lead["id"]))["version"] == after["version"]


async def test_a_lead_whose_new_key_is_another_leads_is_left_and_reported(
    client: httpx.AsyncClient, owner: asyncpg.Connection, db: Database
) -> None:
    """Two leads that are one business, which the old spelling kept apart: the pass does not
    merge them (a person decides) nor break the key's uniqueness; it names both."""
    boss = await signup(client)
    holder = await make(client, boss, "مطعم الأمل", emails=[UNICODE])
    old = await make(client, boss, "Al Amal Restaurant", emails=["old@example.com"])
    await _as_before(owner, old["id"], emails=[PUNYCODE, "old@example.com"])
    before = await _row(owner, old["id"])

    for dry_run in (True, False):
        done = await renormalize_tenant(db, _tenant(boss), dry_run=dry_run)
        assert (done.read, done.changed, done.invalid) == (2, 0, [])
        assert [d["leadId"] for d in done.duplicates] == [old["id"]]
        held_by = done.duplicates[0]["heldBy"]
        assert [(h["id"], h["reasons"]) for h in held_by] == [(holder["id"], [f"email:{UNICODE}"])]
    assert await _row(owner, old["id"]) == before  # as it was, keys and all


async def test_a_dry_run_writes_nothing(
    client: httpx.AsyncClient, owner: asyncpg.Connection, db: Database
) -> None:
    boss = await signup(client)
    lead = await make(client, boss, "Cafe Royal", emails=[UNICODE])
    await _as_before(owner, lead["id"], emails=[PUNYCODE])
    before = await _row(owner, lead["id"])
    done = await renormalize_tenant(db, _tenant(boss), dry_run=True)
    assert (done.read, done.changed) == (1, 1)
    assert set(done.fields) == {"emails", "keys"}
    assert await _row(owner, lead["id"]) == before
    assert done.as_report()["dryRun"] is True
    count = "SELECT count(*) FROM audit_logs WHERE event_type = 'lead.renormalized'"
    assert await owner.fetchval(count) == 0


async def test_batches_go_on_past_a_value_the_rules_refuse_and_past_the_trash(
    client: httpx.AsyncClient, owner: asyncpg.Connection, db: Database
) -> None:
    """Five leads in batches of two: one stored with an address the rules refuse now (left,
    reported with where), one in the trash (renormalized: it holds its keys until purged), one
    folded into another (not read: its keys went to the lead it was merged into)."""
    boss = await signup(client)
    leads = [
        await make(client, boss, f"Shop {n}", emails=[f"shop{n}@example.com"]) for n in range(5)
    ]
    ids = [lead["id"] for lead in leads]
    await _as_before(owner, ids[0], emails=["not an address"])
    await _as_before(owner, ids[1], name="  Shop 1\u200f")
    await _as_before(owner, ids[2], name="Shop 2 ")
    assert (await client.delete(f"/v1/leads/{ids[2]}", headers=boss.headers)).status_code == 204
    await owner.execute(
        "UPDATE leads SET merged_into_id = $2 WHERE id = $1", uuid.UUID(ids[3]), uuid.UUID(ids[4])
    )
    await owner.execute("UPDATE leads SET search_text = 'stale' WHERE id = $1", uuid.UUID(ids[4]))
    await owner.execute("DELETE FROM lead_keys WHERE lead_id = $1", uuid.UUID(ids[4]))  # lost
    invalid_before = await _row(owner, ids[0])

    done = await renormalize_tenant(db, _tenant(boss), batch=2)
    assert done.read == 4  # not the folded one
    # The refused address stays as stored, reported with where; the lead's search text is
    # made again from what is stored (it named the address before).
    assert [i["leadId"] for i in done.invalid] == [ids[0]]
    assert done.invalid[0]["errors"][0]["loc"] == ["emails", 0]
    refused = await _row(owner, ids[0])
    assert refused["emails"] == invalid_before["emails"] == ["not an address"]
    assert refused["keys"] == invalid_before["keys"]
    assert "not an address" in refused["search_text"]
    assert done.changed == 4
    assert (await _row(owner, ids[1]))["name"] == "Shop 1"
    assert (await _row(owner, ids[2]))["name"] == "Shop 2"
    last = await _row(owner, ids[4])
    assert "shop4@example.com" in last["search_text"]
    assert last["keys"] == ["EMAIL:shop4@example.com"]
    assert done.fields["keys"] == 1
    # Only the stale search text changed on the last: nothing for the timeline.
    entries = (await client.get(f"/v1/leads/{ids[4]}/activities", headers=boss.headers)).json()
    assert [e for e in entries["items"] if e["type"] == "FIELD_CHANGED"] == []


async def test_another_workspace_is_never_read(
    client: httpx.AsyncClient, owner: asyncpg.Connection, db: Database
) -> None:
    """The pass runs as the request role in the workspace's context: a foreign lead stored
    the old way is neither read nor changed, even named by id in the same table."""
    ours, theirs = (
        await signup(client, tenant_name="Ours"),
        await signup(client, tenant_name="Theirs"),
    )
    mine = await make(client, ours, "Mine", emails=["a@example.com"])
    foreign = await make(client, theirs, "Foreign", emails=[UNICODE])
    await _as_before(owner, mine["id"], search_text="stale")
    await _as_before(owner, foreign["id"], emails=[PUNYCODE], search_text="stale")
    before = await _row(owner, foreign["id"])
    done = await renormalize_tenant(db, _tenant(ours))
    assert (done.read, done.changed) == (1, 1)
    assert await _row(owner, foreign["id"]) == before


async def test_the_cli_reports_each_workspace_as_json(
    client: httpx.AsyncClient, owner: asyncpg.Connection, database_url: str, tmp_path: Path
) -> None:
    boss = await signup(client)
    lead = await make(client, boss, "Cafe Royal", emails=[UNICODE])
    await _as_before(owner, lead["id"], emails=[PUNYCODE])
    env = {**clean_env(tmp_path), "DATABASE_URL": database_url}

    dry = json.loads(
        await leedz("leads", "renormalize", "--tenant", boss.tenant_id, "--dry-run", env=env)
    )
    assert (dry["tenantId"], dry["dryRun"], dry["read"], dry["changed"]) == (
        boss.tenant_id,
        True,
        1,
        1,
    )
    assert (await _row(owner, lead["id"]))["emails"] == [PUNYCODE]
    # Every workspace the role sees (the owner's URL sees them all): one line each.
    other = await signup(client, tenant_name="Other")
    lines = (await leedz("leads", "renormalize", env=env)).splitlines()
    reports = {r["tenantId"]: r for r in map(json.loads, lines)}
    assert set(reports) == {boss.tenant_id, other.tenant_id}
    assert reports[boss.tenant_id]["changed"] == 1
    assert (await _row(owner, lead["id"]))["emails"] == [UNICODE]


@pytest.mark.parametrize("tenant", ["not-a-uuid", ""])
async def test_the_cli_refuses_a_workspace_that_is_not_an_id(
    database_url: str, tmp_path: Path, tenant: str
) -> None:
    env = {**clean_env(tmp_path), "DATABASE_URL": database_url}
    with pytest.raises(AssertionError, match="not a workspace id"):
        await leedz("leads", "renormalize", "--tenant", tenant, env=env)


async def test_the_keys_a_merge_gave_the_survivor_stay(
    client: httpx.AsyncClient, owner: asyncpg.Connection, db: Database
) -> None:
    """A merge moves the merged lead's keys to the survivor, whose own external id wins the
    column: the survivor holds a key its columns do not show, and keeps it (it is what stops
    the merged lead's next listing from making a lead again)."""
    boss = await signup(client)
    survivor = await make(
        client, boss, "Cafe Royal", externalIds={"crm": "1"}, phones=["0501112233"]
    )
    merged = await make(
        client, boss, "Cafe Royal Riyadh", externalIds={"crm": "2"}, phones=["0502223344"]
    )
    response = await client.post(
        f"/v1/leads/{survivor['id']}/merge", json={"leadIds": [merged["id"]]}, headers=boss.headers
    )
    assert response.status_code == 200, response.text
    before = await _row(owner, survivor["id"])
    assert "EXTERNAL:crm:2" in before["keys"]
    done = await renormalize_tenant(db, _tenant(boss))
    assert (done.changed, done.duplicates, done.invalid) == (0, [], [])
    assert await _row(owner, survivor["id"]) == before


async def test_a_merged_lead_longer_than_a_patch_may_send_is_renormalized_all_the_same(
    client: httpx.AsyncClient, owner: asyncpg.Connection, db: Database
) -> None:
    """A merge joins two leads' phones without a cap: 24 phones, more than a PATCH may send.
    Each is held to the rules, the count is not; its e-mail in punycode is mended."""
    boss = await signup(client)
    lead = await make(client, boss, "Big Group", emails=[UNICODE])
    phones = [f"+9665011122{n:02d}" for n in range(24)]
    await _as_before(owner, lead["id"], emails=[PUNYCODE], phones=phones)
    done = await renormalize_tenant(db, _tenant(boss))
    assert (done.changed, done.invalid) == (1, [])
    after = await _row(owner, lead["id"])
    assert after["emails"] == [UNICODE]
    assert (await client.get(f"/v1/leads/{lead['id']}", headers=boss.headers)).json()[
        "phones"
    ] == phones


async def test_a_dry_run_reports_the_duplicates_the_real_run_meets(
    client: httpx.AsyncClient, owner: asyncpg.Connection, db: Database
) -> None:
    """Two leads whose old spellings both become one address: the first to come claims it,
    the second is reported, in the dry run as in the real one."""
    boss = await signup(client)
    first = await make(client, boss, "Shop A", emails=["a@example.com"])
    second = await make(client, boss, "Shop B", emails=["b@example.com"])
    await _as_before(owner, first["id"], emails=[PUNYCODE])
    await _as_before(owner, second["id"], emails=["INFO@xn--mgbh0fb.xn--mgberp4a5d4ar"])
    lower, upper = sorted([first["id"], second["id"]])
    reports = [await renormalize_tenant(db, _tenant(boss), dry_run=d) for d in (True, False)]
    for done in reports:
        assert done.changed == 1
        assert [d["leadId"] for d in done.duplicates] == [upper]
        assert [h["id"] for h in done.duplicates[0]["heldBy"]] == [lower]
        assert done.duplicates[0]["heldBy"][0]["reasons"] == [f"email:{UNICODE}"]


async def test_a_batch_that_meets_a_deadlock_runs_again(
    client: httpx.AsyncClient,
    owner: asyncpg.Connection,
    db: Database,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Resolution and imports lock leads and keys too: a deadlock rolls the batch back and it
    runs again, counted once; one that keeps meeting it ends the workspace's pass."""
    boss = await signup(client)
    lead = await make(client, boss, "Cafe Royal", emails=[UNICODE])
    await _as_before(owner, lead["id"], emails=[PUNYCODE])
    apply = service.apply_renormalized
    failures = [asyncpg.DeadlockDetectedError("deadlock detected")] * 2

    async def deadlocking(*args: Any, **kwargs: Any) -> Any:
        written = await apply(*args, **kwargs)  # the lead written, then the deadlock
        if failures:
            raise failures.pop()
        return written

    monkeypatch.setattr(service, "apply_renormalized", deadlocking)
    done = await renormalize_tenant(db, _tenant(boss))
    assert (done.read, done.changed) == (1, 1)
    assert (await _row(owner, lead["id"]))["emails"] == [UNICODE]
    await _as_before(owner, lead["id"], emails=[PUNYCODE])
    failures += [asyncpg.DeadlockDetectedError("deadlock detected")] * renormalize.ATTEMPTS
    with pytest.raises(asyncpg.DeadlockDetectedError):
        await renormalize_tenant(db, _tenant(boss))
    assert (await _row(owner, lead["id"]))["emails"] == [PUNYCODE]  # each attempt rolled back


async def test_a_phone_or_website_refused_now_is_left_and_the_rest_goes_on(
    client: httpx.AsyncClient, owner: asyncpg.Connection, db: Database
) -> None:
    """Refused by the service's own rules (not a number; a URL with credentials), not only by
    the schema: that field stays, reported at its place, and the other leads are mended."""
    boss = await signup(client)
    phone = await make(client, boss, "Phone Shop ", phones=["0501112233"])
    site = await make(client, boss, "Site Shop", website="https://alamal.sa")
    other = await make(client, boss, "Other")
    await _as_before(
        owner, phone["id"], phones=["+966501112233", "+15555550100"], name=" Phone Shop\u200f"
    )
    await _as_before(owner, site["id"], website="https://user:pw@example.com")
    await _as_before(owner, other["id"], name=" Other ")
    done = await renormalize_tenant(db, _tenant(boss))
    refused = {i["leadId"]: [e["loc"] for e in i["errors"]] for i in done.invalid}
    assert refused == {phone["id"]: [["phones", 1]], site["id"]: [["website"]]}
    assert (await _row(owner, other["id"]))["name"] == "Other"
    mended = await client.get(f"/v1/leads/{phone['id']}", headers=boss.headers)
    assert mended.json()["name"] == "Phone Shop"
    assert mended.json()["phones"] == ["+966501112233", "+15555550100"]  # as stored


async def test_an_external_id_respelled_leaves_no_old_key_behind(
    client: httpx.AsyncClient, owner: asyncpg.Connection, db: Database
) -> None:
    boss = await signup(client)
    lead = await make(client, boss, "Cafe Royal", externalIds={"crm": "X"})
    await owner.execute(
        'UPDATE leads SET external_ids = \'{"crm": " X "}\' WHERE id = $1', uuid.UUID(lead["id"])
    )
    await owner.execute(
        "UPDATE lead_keys SET value = 'crm: X ' WHERE lead_id = $1", uuid.UUID(lead["id"])
    )
    done = await renormalize_tenant(db, _tenant(boss))
    assert done.changed == 1
    assert (await _row(owner, lead["id"]))["keys"] == ["EXTERNAL:crm:X"]


async def test_a_refused_element_of_a_merged_list_is_named_at_its_place(
    client: httpx.AsyncClient, owner: asyncpg.Connection, db: Database
) -> None:
    boss = await signup(client)
    lead = await make(client, boss, "Big Group")
    emails = [f"e{n}@example.com" for n in range(24)]
    emails[7] = "not an address"
    await _as_before(owner, lead["id"], emails=emails)
    done = await renormalize_tenant(db, _tenant(boss))
    assert [e["loc"] for e in done.invalid[0]["errors"]] == [["emails", 7]]
