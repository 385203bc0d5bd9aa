from __future__ import annotations

from typing import Any


def without_request_id(body: dict[str, Any]) -> dict[str, Any]:
    """A problem body minus the per-request id: two refusals compare equal when alike."""
    return {key: value for key, value in body.items() if key != "requestId"}
