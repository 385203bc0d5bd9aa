"""Password hashing: argon2id at OWASP's parameters, off the event loop, upgraded on login.

Each hash costs 19 MiB and a long burst of CPU, so hashing runs in a dedicated thread pool as wide
as the machine has CPUs (argon2 releases the GIL): a login flood queues there instead of
exhausting memory. On Linux those threads run under SCHED_IDLE: they get every cycle nothing else
wants, and yield a core to the event loop, PostgreSQL or anything else that wakes up, so a flood
of logins queues instead of starving other requests (the event loop still slows under it:
docs/benchmarks.md, healthz during the login flood).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

# OWASP Password Storage Cheat Sheet: argon2id, m=19 MiB, t=2, p=1.
HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


def _lower_priority() -> None:
    # Linux schedules threads as tasks: this changes only the calling (hashing) thread. Where
    # SCHED_IDLE is unavailable, fall back to the lowest nice value.
    thread = threading.get_native_id()
    try:
        os.sched_setscheduler(thread, os.SCHED_IDLE, os.sched_param(0))
    except (AttributeError, OSError):
        with contextlib.suppress(AttributeError, OSError):
            os.setpriority(os.PRIO_PROCESS, thread, 19)


_POOL = ThreadPoolExecutor(
    max_workers=os.cpu_count() or 1, thread_name_prefix="argon2", initializer=_lower_priority
)
# Verified against when the user does not exist, so that unknown emails cost the same time.
_DUMMY_HASH = HASHER.hash("leedz-timing-equaliser")


async def hash_password(password: str) -> str:
    return await asyncio.get_running_loop().run_in_executor(_POOL, HASHER.hash, password)


def _verify(password_hash: str, password: str) -> tuple[bool, bool]:
    try:
        HASHER.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False, False
    return True, HASHER.check_needs_rehash(password_hash)


async def verify_password(password_hash: str | None, password: str) -> tuple[bool, bool]:
    """(matches, needs_rehash). A missing hash is verified against a dummy, and never matches."""
    matches, rehash = await asyncio.get_running_loop().run_in_executor(
        _POOL, _verify, password_hash or _DUMMY_HASH, password
    )
    return (matches and password_hash is not None), rehash
