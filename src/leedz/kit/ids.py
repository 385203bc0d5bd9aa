"""Ids of the rows a tenant makes by the thousand (leads, their timeline, evidence).

UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, then random bits, so ids made later sort
later. A B-tree index on such ids takes each new one at its right edge instead of on a random
page: a million-lead tenant's indexes on a lead's id (`leads`' keys, `lead_search`, the
foreign keys of `lead_keys`, `lead_activities`, `import_rows`) no longer read a cold page per
insert. The ids stay unguessable enough for what they are (rows behind the tenant's RLS, never
a credential: tokens, invites and files keep random UUIDv4). The database's defaults use
`leedz_uuid7()` (migration 20261202_1900), the same layout, for rows it creates itself.
"""

from __future__ import annotations

from uuid import UUID

from uuid_utils.compat import uuid7


def new_id() -> UUID:
    """A new UUIDv7: later than every id this process made before (`uuid_utils` keeps a
    counter within a millisecond)."""
    return uuid7()
