from __future__ import annotations

from typing import Any

import asyncpg


def without_request_id(body: dict[str, Any]) -> dict[str, Any]:
    """A problem body minus the per-request id: two refusals compare equal when alike."""
    return {key: value for key, value in body.items() if key != "requestId"}


# What a database call may raise, and what a client is told about it (REST and sockets alike):
# (exception, HTTP status, code). Built per use: an exception object carries its traceback.
DATABASE_FAILURES: dict[str, tuple[type[Exception], tuple[str, ...], int, str]] = {
    "refused": (ConnectionRefusedError, ("Connect call failed",), 503, "database_unavailable"),
    "pool_wait": (TimeoutError, (), 503, "database_unavailable"),
    "dropped": (
        asyncpg.ConnectionDoesNotExistError,
        ("connection was closed in the middle of operation",),
        503,
        "database_unavailable",
    ),
    "starting": (
        asyncpg.CannotConnectNowError,
        ("the database system is starting up",),
        503,
        "database_unavailable",
    ),
    "shut_down": (
        asyncpg.AdminShutdownError,
        ("terminating connection due to administrator command",),
        503,
        "database_unavailable",
    ),
    "crashed": (
        asyncpg.CrashShutdownError,
        ("terminating connection because of crash of another server process",),
        503,
        "database_unavailable",
    ),
    "statement_timeout": (
        asyncpg.QueryCanceledError,
        ("canceling statement due to statement timeout",),
        503,
        "database_timeout",
    ),
    "duplicate": (asyncpg.UniqueViolationError, ("duplicate key",), 409, "conflict"),
    "out_of_range": (asyncpg.DataError, ("value out of range",), 422, "validation_error"),
    "deadlock": (asyncpg.DeadlockDetectedError, ("deadlock detected",), 409, "concurrent_update"),
    "serialization": (
        asyncpg.SerializationError,
        ("could not serialize access",),
        409,
        "concurrent_update",
    ),
    # Misuse of asyncpg's API is a bug, not an outage.
    "misuse": (
        asyncpg.InterfaceError,
        ("cannot perform operation: another operation is in progress",),
        500,
        "internal_error",
    ),
}


def database_failure(kind: str) -> Exception:
    exception, args, _, _ = DATABASE_FAILURES[kind]
    return exception(*args)
