"""Eight agents, eight OS processes, one server: the same leads as one agent uploading alone.

A real `leedz serve` and eight agent processes (tests/resolution/agent_process.py), each
holding its own SEARCH job. Every record of 40 businesses goes to two agents; each agent
shuffles what it got and uploads it in batches of 10, all at once, so that batches touch the
same identities (phones in four spellings, e-mail addresses, place ids) in different orders.
Then one agent of a fresh tenant uploads the same items one by one.

The two tenants must end with the same leads: the same identity keys, and the same fields as
resolution compares them. Names compare by name key and websites by domain: a spelling that
compares equal confirms the lead's and keeps it (docs/resolution.md, field policy), so which of
two equal spellings stays depends on which came first. Phones, e-mail addresses and tags
compare as sets (a union keeps the lead's first). No 500, no deadlock (every process ends), no
lead twice, every evidence item linked.
"""

from __future__ import annotations

import asyncio
import json
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from tests.factories.accounts import Account, on_plan, signup
from tests.factories.agents import AgentHandle, claim, create_job, register_agent
from tests.resolution.support import at
from tests.support.live import clean_env, server_process

AGENTS = 8
BUSINESSES = 40
BATCH = 10
ROOT = Path(__file__).resolve().parents[2]
CLIENT = [sys.executable, "-m", "tests.resolution.agent_process"]

ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
# (country, city in Arabic, city in English, national mobile prefix, country code)
PLACES = (
    ("SA", "الرياض", "Riyadh", "050", "966"),
    ("AE", "دبي", "Dubai", "050", "971"),
    ("EG", "القاهرة", "Cairo", "010", "20"),
    ("KW", "الكويت", "Kuwait City", "50", "965"),
)
WORDS = ("الأمل", "النور", "السلام", "الريان", "الواحة", "الهدى", "البركة", "الفجر", "الندى",
         "الصفا")  # fmt: skip
LATIN = ("Al Amal", "Al Noor", "Al Salam", "Al Rayan", "Al Waha", "Al Huda", "Al Baraka",
         "Al Fajr", "Al Nada", "Al Safa")  # fmt: skip
KINDS = ("مؤسسة", "مطعم", "مكتبة", "صيدلية")
KINDS_LATIN = ("Est.", "Restaurant", "Bookstore", "Pharmacy")


def _records(n: int) -> tuple[list[dict[str, Any]], str]:
    """Four records of business `n`: a maps listing, a contact page, a social profile and a
    website, each with the business's one mobile in another spelling; and that mobile."""
    country, city_ar, city_en, prefix, code = PLACES[n % 4]
    word, latin = WORDS[n % 10], LATIN[n % 10]
    kind, kind_latin = KINDS[(n // 10) % 4], KINDS_LATIN[(n // 10) % 4]
    digits = f"{n:02d}{n * 37 % 1000:03d}{n % 7:02d}"  # seven digits, unique per n
    if country == "EG":
        digits += str(n % 10)  # Egyptian mobiles have eight digits after 01x
    if country == "KW":
        digits = digits[1:]  # Kuwaiti ones, eight in all
    national = f"{prefix}{digits}"
    e164 = f"+{code}{national.lstrip('0')}"
    spellings = [
        f"{national[:3]} {national[3:6]} {national[6:]}",
        f"+{code} {national.lstrip('0')}",
        f"00{code}{national.lstrip('0')}",
        national.translate(ARABIC_INDIC),
    ]
    arabic = f"{kind} {word} {n}".replace("أ", "ا") if n % 2 else f"{kind} {word} {n}"
    domain = f"biz{n}-{latin.lower().replace(' ', '')}.com"
    base: dict[str, Any] = {"country": country}
    records: list[dict[str, Any]] = [
        base | {"name": f"{kind} {word} {n}", "phone": spellings[0], "city": city_ar,
                "placeId": f"ChIJ-{n}", "rating": round(3 + (n % 20) / 10, 1),
                "reviewsCount": 10 * n + 3, "category": kind, "lat": 24.0 + n / 100,
                "lng": 46.0 + n / 100},
        base | {"name": f"{latin} {kind_latin} {n}", "phones": [spellings[1]],
                "email": f"info@{domain}", "website": f"https://www.{domain}/contact",
                "city": city_en, "address": f"{n} King Road"},
        base | {"name": arabic.replace("ة", "ه"), "phone": spellings[2],
                "socialProfiles": {"instagram": f"biz{n}"}, "tags": ["social", f"t{n % 3}"]},
        base | {"name": f"{kind} {word} {n}", "phones": f"{spellings[3]}",
                "emails": [f"Sales@{domain.upper()}"], "website": domain.upper(),
                "tags": [f"T{n % 3}", "web"], "address": f"{n} طريق الملك"},
    ]  # fmt: skip
    return records, e164


KINDS_OF_RECORD = (
    ("GOOGLE_MAPS_LISTING", "HIGH"),
    ("CONTACT_INFO", "MEDIUM"),
    ("SOCIAL_PROFILE", "LOW"),
    ("WEBSITE_CONTENT", "MEDIUM"),
)


def dataset() -> tuple[list[list[dict[str, Any]]], list[str]]:
    """Per agent, its items; and each business's phone in E.164."""
    rng = random.Random(14)
    per_agent: list[list[dict[str, Any]]] = [[] for _ in range(AGENTS)]
    phones = []
    record_number = 0
    for n in range(BUSINESSES):
        records, e164 = _records(n)
        phones.append(e164)
        for raw, (kind, confidence) in zip(records, KINDS_OF_RECORD, strict=True):
            # Distinct times: "the same confidence, the newer wins" never ties.
            collected = rng.uniform(0, 86_400)
            first = record_number % AGENTS
            second = (first + 1 + record_number % (AGENTS - 1)) % AGENTS
            for agent in (first, second):
                per_agent[agent].append(
                    {
                        "type": kind,
                        "title": f"agent {agent}: record {record_number}",
                        "source": "test",
                        "snippet": "",
                        "confidence": confidence,
                        "rawData": raw,
                        "collectedAt": at(collected),
                    }
                )
            record_number += 1
    for items in per_agent:
        rng.shuffle(items)
    return per_agent, phones


async def _held_jobs(
    http: httpx.AsyncClient, account: Account, agents: list[AgentHandle]
) -> list[tuple[AgentHandle, str, str]]:
    """One SEARCH job per agent, claimed by it."""
    held = []
    for agent in agents:
        created = await create_job(http, account, "SEARCH", {"query": "q", "maxResults": 20})
        claimed = await claim(http, agent, ["SEARCH"])
        assert claimed is not None
        assert claimed["job"]["id"] == created["id"]
        held.append((agent, created["id"], claimed["leaseId"]))
    return held


def _run_agents(
    base: str,
    held: list[tuple[AgentHandle, str, str]],
    batches: list[list[list[dict[str, Any]]]],
    tmp: Path,
) -> list[dict[str, Any]]:
    """The agent processes, released together; their results once all have ended."""
    processes = []
    for n, ((agent, job_id, lease), agent_batches) in enumerate(zip(held, batches, strict=True)):
        config = tmp / f"agent-{n}.json"
        config.write_text(json.dumps({"base": base, "token": agent.token, "jobId": job_id,
                                      "leaseId": lease, "batches": agent_batches},
                                     ensure_ascii=False))  # fmt: skip
        processes.append(
            subprocess.Popen(
                [*CLIENT, str(config), str(tmp / f"result-{n}.json")],
                cwd=ROOT,
                env=clean_env(tmp),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
            )
        )
    try:
        for process in processes:
            assert process.stdout is not None
            assert process.stdout.readline().strip() == b"ready"
        for process in processes:
            assert process.stdin is not None
            process.stdin.write(b"go\n")
            process.stdin.flush()
        for process in processes:
            assert process.wait(timeout=90) == 0  # a deadlock would never end
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
    return [json.loads((tmp / f"result-{n}.json").read_text()) for n in range(len(processes))]


LEADS = """
SELECT l.id, l.name_key, lower(l.city) AS city, l.domain, l.category, l.address, l.country,
       l.rating, l.reviews_count, l.external_ids, l.social_profiles, l.confidence::text,
       l.lat, l.lng, l.phones, l.emails, l.tags,
       (SELECT array_agg(k.kind::text || ' ' || k.value ORDER BY k.kind, k.value)
        FROM lead_keys k WHERE k.tenant_id = l.tenant_id AND k.lead_id = l.id) AS keys,
       (SELECT count(*) FROM lead_evidence e
        WHERE e.tenant_id = l.tenant_id AND e.lead_id = l.id) AS evidence
FROM leads l WHERE l.tenant_id = $1::uuid AND l.merged_into_id IS NULL AND l.deleted_at IS NULL
"""


async def leads_of(owner: asyncpg.Connection, account: Account) -> list[tuple[Any, ...]]:
    """The tenant's live leads, as resolution compares them, sorted."""
    rows = await owner.fetch(LEADS, account.tenant_id)
    return sorted(
        (
            tuple(r["keys"]), r["name_key"], r["city"], r["domain"], r["category"], r["address"],
            r["country"], r["rating"], r["reviews_count"], r["external_ids"],
            r["social_profiles"], r["confidence"], r["lat"], r["lng"], tuple(sorted(r["phones"])),
            tuple(sorted(r["emails"])), tuple(sorted(t.lower() for t in r["tags"])),
            r["evidence"],
        )
        for r in rows
    )  # fmt: skip


async def _unlinked(owner: asyncpg.Connection, account: Account) -> int:
    count: int = await owner.fetchval(
        "SELECT count(*) FROM evidence v WHERE v.tenant_id = $1::uuid AND NOT EXISTS"
        " (SELECT 1 FROM lead_evidence e WHERE e.tenant_id = v.tenant_id"
        " AND e.evidence_id = v.id)",
        account.tenant_id,
    )
    return count


async def test_eight_agent_processes_make_the_leads_one_agent_makes(
    database_url: str, tmp_path: Path, owner: asyncpg.Connection
) -> None:
    per_agent, phones = dataset()
    batches = [[items[i : i + BATCH] for i in range(0, len(items), BATCH)] for items in per_agent]
    with server_process(
        database_url,
        tmp_path,
        LEEDZ_DB_POOL_SIZE=str(AGENTS + 4),
        LEEDZ_DB_MAX_OVERFLOW="0",
        LEEDZ_LEASE_SECONDS="600",
    ) as (_, base):
        # The connection sits idle while the agents run; uvicorn closes an idle one after 5 s,
        # and reusing it as it closes is a ReadError (seen once in a full run): forget idle
        # connections after 1 s instead.
        limits = httpx.Limits(keepalive_expiry=1)
        async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as http:
            crowd, alone = await signup(http), await signup(http)
            for account in (crowd, alone):
                await on_plan(owner, account, "ENTERPRISE")
            agents = [
                await register_agent(http, crowd, capabilities=["SEARCH"], maxConcurrency=1)
                for _ in range(AGENTS)
            ]
            held = await _held_jobs(http, crowd, agents)
            results = await asyncio.to_thread(_run_agents, base, held, batches, tmp_path)

            # One agent, one job, the same items one by one.
            solo = await register_agent(http, alone, capabilities=["SEARCH"], maxConcurrency=1)
            ((_, job_id, lease),) = await _held_jobs(http, alone, [solo])
            every = [item for items in per_agent for item in items]
            random.Random(41).shuffle(every)
            for item in every:
                response = await http.post(
                    f"/v1/agent/jobs/{job_id}/evidence",
                    json={"leaseId": lease, "items": [item]},
                    headers=solo.headers,
                )
                assert response.status_code == 200, response.text
                assert response.json()["leads"][0]["action"] in {"created", "joined"}

    answers = [a for result in results for a in result["answers"]]
    assert [a["status"] for a in answers] == [200] * sum(len(b) for b in batches), [
        a for a in answers if a["status"] != 200
    ]
    actions = [entry["action"] for a in answers for entry in a["body"]["leads"]]
    assert len(actions) == len(every)
    assert set(actions) <= {"created", "joined"}, actions
    assert actions.count("created") == BUSINESSES

    crowd_leads, alone_leads = await leads_of(owner, crowd), await leads_of(owner, alone)
    assert len(crowd_leads) == BUSINESSES
    assert crowd_leads == alone_leads
    # One lead per business: its phone, its four spellings' only key of that kind.
    assert sorted(p for lead in crowd_leads for p in lead[14]) == sorted(phones)
    assert sum(lead[-1] for lead in crowd_leads) == len(every)
    assert await _unlinked(owner, crowd) == await _unlinked(owner, alone) == 0
