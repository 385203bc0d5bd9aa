"""evidence_ingest: agents uploading evidence into a tenant of 1,000,000 leads, resolved into
leads, against the same upload with resolution switched off.

Subject: `leedz serve`, `POST /v1/agent/jobs/{id}/evidence` from 4 agents of the tenant, each
holding its own SEARCH job, batches of 25 items: 20 Google Maps listings of businesses nobody
uploaded before (names from the data set's pools, so their name keys meet the tenant's leads in
the same cities; phones in people's spellings; a place id, a website of their own) and 5 contact
pages of businesses of an earlier batch (another spelling of the phone, an e-mail address:
joins). Every item is stored, resolved (locks, candidate lookup through `lead_keys`, the
domain and the name key, the rules, the writes, the timeline, provenance, the audit row) in the
upload's transaction.

Ceiling: the same server with `LEEDZ_RESOLUTION=off` (docs/resolution.md): the same request,
authentication, lease check, validation and evidence insert; nothing resolved — what an upload
did before resolution existed. Same uvicorn flags, pools of the same size, the same database.

Beside it, the subject into a tenant of the same database with no leads at the start (it gains
the leads its rounds create): the figure at 1,000,000 leads must be at least 0.67 x that one.

Load: 4 keep-alive connections (the 4 agents' requests taken in turn), 3 rounds of 5 s per side,
interleaved. ops/s below are evidence items per second (25 per request). Targets: subject >= 0.5
x ceiling; subject at 1,000,000 leads >= 0.67 x subject at an empty tenant.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import statistics
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from tests.support.scratch import asyncpg_dsn

from bench.harness import Check, Result, Sample
from bench.http_load import PYTHON, free_port, load_varied, request_bytes, server_process
from bench.leads_data import Business, Datasets, Generator, bench_size, signup, spelling
from bench.leads_servers import SECRET, Servers

AGENTS = 4
BATCH = 25
NEW_PER_BATCH = 20
ROUNDS = 3
SECONDS = 5.0
# Requests prepared per round and side: more than a round sends (more are made if needed).
PREPARED = 400
EMPTY_TARGET = 0.67


@dataclass(frozen=True)
class Agent:
    """An agent of the tenant and the SEARCH job it holds."""

    token: str
    job_id: str
    lease: str


def _listing(b: Business, pick: int, collected: datetime) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "name": b.name,
        "phones": [spelling(p, b.country, pick) for p in b.phones],
        "city": b.city,
        "country": b.country,
        "category": b.category,
        "address": b.address,
        "placeId": f"ChIJ-bench-{uuid.uuid4().hex[:16]}",
        "rating": b.rating,
        "reviewsCount": b.reviews_count,
        "website": b.website,
    }
    if b.lat is not None and b.lng is not None:
        raw |= {"lat": b.lat, "lng": b.lng}
    return {
        "type": "GOOGLE_MAPS_LISTING",
        "title": b.name,
        "source": "google-maps",
        "snippet": "",
        "url": f"https://maps.google.com/?cid={pick}",
        "confidence": "HIGH",
        "rawData": raw,
        "collectedAt": collected.isoformat(),
    }


def _contact_page(b: Business, pick: int, collected: datetime) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "name": b.name,
        "phones": [spelling(p, b.country, pick + 1) for p in b.phones],
        "emails": b.emails or [f"info{pick}@contact.example"],
        "city": b.city,
        "country": b.country,
        "contactName": b.contact_name,
    }
    return {
        "type": "CONTACT_INFO",
        "title": f"contact: {b.name}",
        "source": "website",
        "snippet": "",
        "confidence": "MEDIUM",
        "rawData": raw,
        "collectedAt": collected.isoformat(),
    }


class Uploads:
    """Batches of evidence, each new: 20 businesses nobody uploaded, 5 contact pages of
    businesses with a phone seen in the batch before (from one fresh generator for the whole
    run, so no two batches repeat a phone)."""

    def __init__(self, seed: int) -> None:
        self.generator = Generator(seed, fresh=True)
        self.picks = itertools.count()
        self.clock = datetime(2026, 12, 1, tzinfo=UTC)
        self.previous: list[Business] = []

    def batch(self) -> bytes:
        items = []
        businesses = [self.generator.business() for _ in range(NEW_PER_BATCH)]
        for b in businesses:
            self.clock += timedelta(seconds=1)
            items.append(_listing(b, next(self.picks), self.clock))
        # Seen again: businesses with a phone, so that the page names the same lead for sure.
        seen = [b for b in self.previous or businesses if b.phones]
        for b in itertools.islice(itertools.cycle(seen), BATCH - NEW_PER_BATCH):
            self.clock += timedelta(seconds=1)
            items.append(_contact_page(b, next(self.picks), self.clock))
        self.previous = businesses
        return json.dumps(items, ensure_ascii=False).encode()

    def requests(
        self, agents: list[Agent], count: int = PREPARED
    ) -> Callable[[], tuple[str, bytes]]:
        """The next request: the agents in turn, each uploading into its own job."""
        turn = itertools.cycle(agents)

        def one() -> bytes:
            agent = next(turn)
            body = b'{"leaseId": "%s", "items": %s}' % (agent.lease.encode(), self.batch())
            return request_bytes(
                "POST",
                f"/v1/agent/jobs/{agent.job_id}/evidence",
                {"Authorization": f"Bearer {agent.token}", "Content-Type": "application/json"},
                body,
            )

        prepared: Iterator[bytes] = iter([one() for _ in range(count)])

        def next_request() -> tuple[str, bytes]:
            return "upload", next(prepared, None) or one()

        return next_request


def _agents(port: int, headers: dict[str, str]) -> list[Agent]:
    """Four agents of the tenant, each holding a SEARCH job of its own."""
    held = []
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as http:
        for n in range(AGENTS):
            made = http.post(
                "/v1/agents", json={"name": f"bench {n}", "capabilities": ["SEARCH"]},
                headers=headers,
            )  # fmt: skip
            made.raise_for_status()
            token = made.json()["token"]
            job = http.post(
                "/v1/jobs",
                json={"type": "SEARCH", "input": {"query": f"bench {n}", "maxResults": 100}},
                headers=headers,
            )
            job.raise_for_status()
            claimed = http.post(
                "/v1/agent/jobs/claim",
                json={"types": ["SEARCH"]},
                headers={"Authorization": f"Bearer {token}"},
            )
            claimed.raise_for_status()
            held.append(Agent(token, claimed.json()["job"]["id"], claimed.json()["leaseId"]))
    return held


@contextmanager
def _servers(url: str) -> Iterator[Servers]:
    """`leedz serve` twice on the data set: resolving (subject), and with resolution off."""
    subject_port, ceiling_port = free_port(), free_port()
    env = {
        "DATABASE_URL": url,
        "LEEDZ_JWT_SECRET": SECRET,
        "LEEDZ_ENV": "development",
        "LEEDZ_LOG_LEVEL": "WARNING",
        "LEEDZ_DB_POOL_SIZE": "10",
        "LEEDZ_DB_MAX_OVERFLOW": "0",
        "LEEDZ_LEASE_SECONDS": "3600",
    }
    logs = Path(tempfile.mkdtemp(prefix="leedz-bench-evidence-ingest-"))
    serve = [PYTHON, "-m", "leedz.cli", "serve"]
    with (
        server_process(
            [*serve, "--port", str(subject_port)],
            env={**env, "LEEDZ_PORT": str(subject_port)},
            port=subject_port,
            log=logs / "subject.log",
        ),
        server_process(
            [*serve, "--port", str(ceiling_port)],
            env={**env, "LEEDZ_PORT": str(ceiling_port), "LEEDZ_RESOLUTION": "off"},
            port=ceiling_port,
            log=logs / "ceiling.log",
        ),
    ):
        yield Servers(subject_port, ceiling_port, logs)


async def _round(port: int, next_request: Callable[[], tuple[str, bytes]]) -> Sample:
    sample, _ = await load_varied(
        port, next_request, concurrency=AGENTS, seconds=SECONDS, expect=200
    )
    return Sample(
        ops_per_second=sample.ops_per_second * BATCH, p50_ms=sample.p50_ms, p99_ms=sample.p99_ms
    )


async def _measure(
    live: Servers, large: list[Agent], empty: list[Agent], result: Result
) -> list[Sample]:
    uploads = Uploads(seed=202)
    for port in (live.subject, live.ceiling, live.subject):  # warm-up
        await load_varied(port, uploads.requests(large, 40), concurrency=AGENTS, seconds=1.0)
    await load_varied(live.subject, uploads.requests(empty, 40), concurrency=AGENTS, seconds=1.0)
    at_empty = []
    for _ in range(ROUNDS):
        result.subject_samples.append(await _round(live.subject, uploads.requests(large)))
        result.ceiling_samples.append(await _round(live.ceiling, uploads.requests(large)))
        at_empty.append(await _round(live.subject, uploads.requests(empty)))
    return at_empty


async def _what_resolution_did(
    url: str, tenants: list[uuid.UUID], since: datetime
) -> list[tuple[int, int, int]]:
    """Per tenant: leads created since the run began, evidence items linked, merges made."""
    conn = await asyncpg.connect(url)
    try:
        rows = []
        for tenant in tenants:
            rows.append(
                (
                    await conn.fetchval(
                        "SELECT count(*) FROM leads WHERE tenant_id = $1 AND created_at >= $2",
                        tenant,
                        since,
                    ),
                    await conn.fetchval(
                        "SELECT count(*) FROM lead_evidence WHERE tenant_id = $1"
                        " AND created_at >= $2",
                        tenant,
                        since,
                    ),
                    await conn.fetchval(
                        "SELECT count(*) FROM lead_merges WHERE tenant_id = $1"
                        " AND reason = 'resolution' AND created_at >= $2",
                        tenant,
                        since,
                    ),
                )
            )
        return rows
    finally:
        await conn.close()


def main(datasets: Datasets) -> Result:
    dataset = datasets.get(bench_size())
    result = Result(
        name="evidence_ingest",
        subject=f"evidence upload + resolution, tenant of {dataset.leads:,} leads (items/s)",
        ceiling="the same upload, LEEDZ_RESOLUTION=off (items/s)",
        target_ratio=0.5,
    )
    since = datetime.now(UTC)
    (fresh,) = asyncio.run(signup(dataset.url, [f"empty-{uuid.uuid4().hex[:6]}@bench.example"]))
    with _servers(dataset.url) as live:
        large = _agents(live.subject, live.sign_in(dataset.owners[0]))
        empty = _agents(live.subject, live.sign_in(fresh))
        at_empty = asyncio.run(_measure(live, large, empty, result))
        result.notes.append(f"server logs in {live.logs}")
    did = asyncio.run(
        _what_resolution_did(
            asyncpg_dsn(dataset.url), [dataset.owners[0].tenant_id, fresh.tenant_id], since
        )
    )
    for label, (created, linked, merged) in zip(
        (f"{dataset.leads:,}-lead", "empty"), did, strict=True
    ):
        result.notes.append(
            f"{label} tenant after the run: {created:,} leads created, {linked:,} items linked,"
            f" {merged:,} merges (records bridging leads that look alike by name and city)"
        )
    large_ops = statistics.median(s.ops_per_second for s in result.subject_samples)
    empty_ops = statistics.median(s.ops_per_second for s in at_empty)
    result.notes.append(
        f"the same upload into a tenant with no leads at the start: {empty_ops:,.0f} items/s,"
        f" p50 {statistics.median(s.p50_ms for s in at_empty):.1f} ms,"
        f" p99 {statistics.median(s.p99_ms for s in at_empty):.1f} ms per batch of {BATCH}"
    )
    result.checks.append(
        Check(
            name=f"items/s at {dataset.leads:,} leads / at an empty tenant",
            value=large_ops / empty_ops,
            limit=EMPTY_TARGET,
            unit="x",
            kind="min",
        )
    )
    return result
