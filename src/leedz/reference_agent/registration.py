"""Signing in and registering a new agent over the public API, for `leedz agent --email …`."""

from __future__ import annotations

from typing import Any

import httpx


class RegistrationFailed(Exception):
    pass


def _problem(response: httpx.Response) -> str:
    try:
        body: Any = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    if isinstance(body, dict):
        return f"{body.get('code', response.status_code)}: {body.get('detail', '')}"
    return f"HTTP {response.status_code}"


def register(
    url: str,
    *,
    email: str,
    password: str,
    name: str,
    capabilities: list[str] | None = None,
    max_concurrency: int | None = None,
) -> dict[str, Any]:
    """Sign in as a user and register an agent in their current tenant: `{agent, token}`."""
    with httpx.Client(base_url=url, timeout=30) as http:
        login = http.post("/v1/auth/login", json={"email": email, "password": password})
        if login.status_code != 200:
            raise RegistrationFailed(f"sign-in failed: {_problem(login)}")
        body: dict[str, Any] = {"name": name, "version": "reference"}
        if capabilities:
            body["capabilities"] = capabilities
        if max_concurrency is not None:
            body["maxConcurrency"] = max_concurrency
        created = http.post(
            "/v1/agents",
            json=body,
            headers={"authorization": f"Bearer {login.json()['accessToken']}"},
        )
        if created.status_code != 201:
            raise RegistrationFailed(f"registering the agent failed: {_problem(created)}")
        registered: dict[str, Any] = created.json()
        return registered
