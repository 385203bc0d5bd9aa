"""lead_write: POST /v1/leads into a tenant of 1,000,000 leads, against a bare insert.

Subject: `leedz serve`: the body's validation, the tenant's settings and plan (ENTERPRISE: no
quota) read together, normalization (phones in people's spellings — `050 123 4567`, `+966 50…`,
`00966…`, Arabic-Indic digits — to E.164, emails to their compared form, the website to its
registrable domain), then one statement that inserts the lead, claims its keys in `lead_keys`,
writes the timeline entry and the audit row and finds the look-alikes; the answer. Every
request carries phones, emails and a domain no other lead has, so every answer is a 201.

Ceiling: bench/ceiling_leads.py, which receives the row already normalized (computed here
with the app's own functions before the round) and runs the same first statement, the app's
`Leads.insert` and `LeadKeys.claim` statements in one transaction, and answers the row.

Once per run, beside it: the same POST into a tenant on a limited plan (PRO's quotas, its lead
limit raised out of the way) holding 20,000 leads, where every creation takes the tenant's
advisory lock and counts its leads under it (leedz_quota_leads) — reported as a note, against the unlimited
tenant's figure measured in the same run.

Load: 8 keep-alive connections, 3 rounds of 5 s per side, interleaved. Target: subject
requests/s >= 0.5 x ceiling requests/s.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import statistics
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import asyncpg
from tests.support.scratch import asyncpg_dsn

from bench.harness import Result, Sample
from bench.http_load import load_varied, request_bytes
from bench.leads_data import (
    Business,
    Dataset,
    Datasets,
    Generator,
    Owner,
    TenantLoad,
    bench_size,
    load,
    signup,
    spelling,
)
from bench.leads_servers import Servers, servers
from leedz.leads.normalize import normalize_email
from leedz.leads.record import derived_columns, identity_keys, phones_e164, website_and_domain

CONCURRENCY = 8
ROUNDS = 3
SECONDS = 5.0
LIMITED_LEADS = 20_000
# Requests prepared per round and side: more than a round can send.
BATCH = 12_000


def _subject_body(b: Business, pick: int) -> dict[str, Any]:
    """The business as a person types it."""
    website = None
    if b.website and b.domain and not b.domain.startswith("xn--"):
        website = (
            f"www.{b.domain}",
            f"https://{b.domain}/contact",
            f"http://www.{b.domain.upper()}",
            b.domain,
        )[pick % 4]
    elif b.website:
        website = b.website
    body: dict[str, Any] = {
        "name": b.name,
        "contactName": b.contact_name,
        "category": b.category,
        "phones": [spelling(p, b.country, pick + i) for i, p in enumerate(b.phones)],
        "emails": [e.title() if (pick + i) % 3 == 0 else e for i, e in enumerate(b.emails)],
        "website": website,
        "address": b.address,
        "city": b.city,
        "country": b.country,
        "rating": b.rating,
        "reviewsCount": b.reviews_count,
        "externalIds": b.external_ids,
        "tags": b.tags,
    }
    if b.lat is not None and b.lng is not None:
        body["location"] = {"lat": b.lat, "lng": b.lng}
    return body


def _ceiling_body(body: dict[str, Any], expected_phones: list[str], user_id: str) -> dict[str, Any]:
    """The same lead as the app stores it, computed with the app's functions."""
    phones = phones_e164(body["phones"], country=body["country"], default_country="SA")
    if phones != expected_phones:
        raise AssertionError(f"{body['phones']} normalize to {phones}, not {expected_phones}")
    emails = list(dict.fromkeys(normalize_email(e) for e in body["emails"]))
    website, domain = website_and_domain(body["website"])
    location = body.get("location")
    columns: dict[str, Any] = {
        "name": body["name"],
        "contact_name": body["contactName"],
        "category": body["category"],
        "phones": phones,
        "emails": emails,
        "website": website,
        "domain": domain,
        "social_profiles": {},
        "address": body["address"],
        "city": body["city"],
        "country": body["country"],
        "lat": location["lat"] if location else None,
        "lng": location["lng"] if location else None,
        "rating": body["rating"],
        "reviews_count": body["reviewsCount"],
        "external_ids": body["externalIds"],
        "status": "NEW",
        "owner_id": None,
        "tags": body["tags"],
        "do_not_contact": False,
        "custom_fields": {},
        "confidence": "HIGH",
        "source_type": "MANUAL",
        "created_by_id": user_id,
        "edited_fields": sorted(
            {"name", "contact_name", "category", "phones", "emails", "website", "address"}
            | {"city", "country", "rating", "reviews_count", "external_ids", "tags"}
            | ({"location"} if location else set())
        ),
    }
    columns |= derived_columns(columns)
    keys = identity_keys(phones, emails, body["externalIds"])
    return columns | {"keys": [[k.kind.value, k.value] for k in keys]}


class Requests:
    """Fresh leads, each asked once: the subject's body in people's spellings, the ceiling's
    already normalized; prepared before a round, so the round spends nothing on them."""

    def __init__(self, seed: int) -> None:
        self.generator = Generator(seed, fresh=True)
        self.picks = itertools.count()

    def body(self, *, ceiling_for: str | None) -> dict[str, Any]:
        """The next lead: the subject's body, or with `ceiling_for` (the user creating it) the
        ceiling's."""
        b = self.generator.business()
        body = _subject_body(b, next(self.picks))
        return body if ceiling_for is None else _ceiling_body(body, b.phones, ceiling_for)

    def batch(
        self, headers: dict[str, str], *, ceiling_for: str | None, count: int = BATCH
    ) -> Callable[[], tuple[str, bytes]]:
        payloads: list[bytes] = []
        for _ in range(count):
            body = self.body(ceiling_for=ceiling_for)
            encoded = json.dumps(body, ensure_ascii=False).encode()
            payloads.append(
                request_bytes(
                    "POST",
                    "/v1/leads",
                    {**headers, "Content-Type": "application/json"},
                    encoded,
                )
            )
        items: Iterator[bytes] = iter(payloads)
        return lambda: ("create", next(items))


async def _round(port: int, next_request: Callable[[], tuple[str, bytes]]) -> Sample:
    sample, _ = await load_varied(
        port, next_request, concurrency=CONCURRENCY, seconds=SECONDS, expect=201
    )
    return sample


async def _limited_tenant(url: str) -> Owner:
    """A tenant on a limited plan with LIMITED_LEADS leads: PRO's quotas, its lead limit raised
    so that the round never reaches it (the count under the lock is what is measured)."""
    (owner,) = await signup(asyncpg_dsn(url), [f"owner-{uuid.uuid4().hex[:6]}@limited.example"])
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await conn.execute(
            "INSERT INTO plans (name, display_name, price, max_users, max_leads, max_searches,"
            " max_messages, features) SELECT 'BENCH_LIMITED', 'Pro (bench)', price, max_users,"
            " 10000000, max_searches, max_messages, features FROM plans WHERE name = 'PRO'"
            " ON CONFLICT (name) DO NOTHING"
        )
        await conn.execute(
            "UPDATE tenants SET plan_id = (SELECT id FROM plans WHERE name = 'BENCH_LIMITED')"
            " WHERE id = $1",
            owner.tenant_id,
        )
    finally:
        await conn.close()
    await load(
        asyncpg_dsn(url), [TenantLoad(owner.tenant_id, owner.user_id, LIMITED_LEADS, seed=7)]
    )
    return owner


async def _measure(dataset: Dataset, live: Servers, result: Result) -> None:
    owner = dataset.owners[0]
    headers = live.sign_in(owner)
    requests = Requests(seed=101)
    user = str(owner.user_id)
    for port, ceiling in ((live.subject, None), (live.ceiling, user)):  # warm-up
        await load_varied(
            port,
            requests.batch(headers, ceiling_for=ceiling),
            concurrency=CONCURRENCY,
            seconds=1.0,
            expect=201,
        )
    for _ in range(ROUNDS):
        result.subject_samples.append(
            await _round(live.subject, requests.batch(headers, ceiling_for=None))
        )
        result.ceiling_samples.append(
            await _round(live.ceiling, requests.batch(headers, ceiling_for=user))
        )

    # The limited plan, once: the same POST on both tenants, interleaved.
    limited = await _limited_tenant(dataset.url)
    limited_headers = live.sign_in(limited)
    await _round(live.subject, requests.batch(limited_headers, ceiling_for=None))  # warm-up
    on_limited, on_unlimited = [], []
    for _ in range(2):
        on_limited.append(
            await _round(live.subject, requests.batch(limited_headers, ceiling_for=None))
        )
        on_unlimited.append(await _round(live.subject, requests.batch(headers, ceiling_for=None)))
    limited_ops = statistics.median(s.ops_per_second for s in on_limited)
    unlimited_ops = statistics.median(s.ops_per_second for s in on_unlimited)
    result.notes.append(
        f"limited plan ({LIMITED_LEADS:,} leads, count under the advisory lock):"
        f" {limited_ops:,.0f} req/s, p50 {statistics.median(s.p50_ms for s in on_limited):.2f} ms,"
        f" p99 {statistics.median(s.p99_ms for s in on_limited):.2f} ms; unlimited tenant in"
        f" the same rounds {unlimited_ops:,.0f} req/s: {limited_ops / unlimited_ops:.2f}x"
    )


def main(datasets: Datasets) -> Result:
    dataset = datasets.get(bench_size())
    result = Result(
        name="lead_write",
        subject=f"POST /v1/leads via leedz serve, tenant of {dataset.leads:,} leads",
        ceiling="bare Starlette + asyncpg: same first statement + app's INSERTs",
        target_ratio=0.5,
    )
    with servers(dataset.url, "lead-write") as live:
        asyncio.run(_measure(dataset, live, result))
        result.notes.append(f"server logs in {live.logs}")
    return result
