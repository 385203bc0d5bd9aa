"""Requests find their route by Starlette's own rules: an unknown path, a wrong method and a
trailing slash get what they always did."""

from __future__ import annotations

import httpx


async def test_not_found_wrong_method_and_trailing_slash_behave_as_before(
    client: httpx.AsyncClient,
) -> None:
    missing = await client.get("/v1/members-and-more")
    assert missing.status_code == 404
    assert missing.json()["code"] == "not_found"
    wrong = await client.put("/v1/members")
    assert wrong.status_code == 405
    assert wrong.json()["code"] == "method_not_allowed"
    slash = await client.get("/v1/members/", follow_redirects=False)
    assert slash.status_code == 307  # Starlette's redirect
    assert slash.headers["location"].endswith("/v1/members")
