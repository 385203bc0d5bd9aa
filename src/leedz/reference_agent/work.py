"""The simulated work of each job type: its steps, its evidence and its output.

Everything is derived from the job's input alone, so a job run twice (after a crash) uploads the
same items and the server's content hashes keep them once.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote_plus

SOURCE = "reference-agent"
MAX_ITEMS = 3


@dataclass(frozen=True)
class Step:
    """A progress report: `deliveryStarted` is sent before anything irreversible happens."""

    progress: int
    message: str
    delivery_started: bool = False


def steps(job_type: str) -> list[Step]:
    if job_type.startswith("WHATSAPP_"):
        # Announced before sending: from here on the server never hands the job to another agent.
        return [
            Step(20, "opening WhatsApp Web"),
            Step(60, "sending", delivery_started=True),
        ]
    return [Step(20, "started"), Step(60, "collecting")]


def _digest(*parts: object) -> str:
    return hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()[:12]


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _item(kind: str, title: str, url: str, snippet: str, confidence: str) -> dict[str, Any]:
    return {
        "type": kind,
        "title": title,
        "source": SOURCE,
        "url": url,
        "snippet": snippet,
        "confidence": confidence,
        "collectedAt": _now(),
    }


def _search(data: dict[str, Any]) -> list[dict[str, Any]]:
    query = str(data.get("query", ""))
    location = str(data.get("location") or "")
    wanted = int(data.get("maxResults") or MAX_ITEMS)
    items = [
        _item(
            "SEARCH_RESULT",
            f"{query} — result",
            f"https://www.google.com/search?q={quote_plus(query)}",
            f"Top search result for {query!r} {location}".strip(),
            "MEDIUM",
        ),
        _item(
            "GOOGLE_MAPS_LISTING",
            f"{query} ({location or 'anywhere'})",
            f"https://www.google.com/maps/search/{quote_plus(f'{query} {location}'.strip())}",
            f"Listing {_digest(query, location)} near {location or 'the searched area'}",
            "HIGH",
        ),
        _item(
            "CONTACT_INFO",
            f"Contact for {query}",
            f"https://example.com/contacts/{_digest(query, location, 'contact')}",
            "Phone and address as shown on the listing",
            "LOW",
        ),
    ]
    return items[: max(1, min(wanted, MAX_ITEMS))]


def _survey(data: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        _item("WEBSITE_CONTENT", f"Page {url}", str(url), f"Content of {url}", "MEDIUM")
        for url in list(data.get("urls") or [])[:MAX_ITEMS]
    ]


def _whatsapp(data: dict[str, Any]) -> list[dict[str, Any]]:
    phones = data.get("phones") or [data.get("phone")]
    return [
        _item(
            "CONTACT_INFO",
            f"WhatsApp {phone}",
            f"https://wa.me/{str(phone).lstrip('+')}",
            f"Message delivered to {phone}",
            "HIGH",
        )
        for phone in [p for p in phones if p][:MAX_ITEMS]
    ]


def evidence(job: dict[str, Any]) -> list[dict[str, Any]]:
    """1 to 3 evidence items for `job`, built from its input."""
    data: dict[str, Any] = job.get("input") or {}
    job_type = str(job.get("type", ""))
    if job_type == "SEARCH":
        items = _search(data)
    elif job_type == "SURVEY":
        items = _survey(data)
    elif job_type.startswith("WHATSAPP_"):
        items = _whatsapp(data)
    else:
        items = []
    return items or [
        _item(
            "SEARCH_RESULT",
            f"{job_type} job",
            f"https://example.com/jobs/{_digest(job_type, data)}",
            "Nothing specific to report",
            "LOW",
        )
    ]


def output(job: dict[str, Any], items: list[dict[str, Any]]) -> dict[str, Any]:
    """The small result sent with `job:complete`."""
    return {"agent": SOURCE, "type": job.get("type"), "items": len(items)}
