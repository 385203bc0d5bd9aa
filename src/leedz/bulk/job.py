"""The worker's handlers of the bulk job types (jobs/work.py's `Handler`): BULK_STATUS_UPDATE
is `update_status`, BULK_DELETE is `delete`; batches of `LEEDZ_BULK_BATCH_SIZE` leads."""

from __future__ import annotations

from typing import Any

from leedz.bulk import service as bulk
from leedz.config import get_settings
from leedz.jobs.work import Cancelled, WorkUnit


async def update_status(unit: WorkUnit) -> dict[str, Any] | Cancelled:
    """BULK_STATUS_UPDATE `{status, filter?, listId?, leadIds?}` → `{matched, changed}`."""
    return await bulk.update_status(unit, batch_size=get_settings().bulk_batch_size)


async def delete(unit: WorkUnit) -> dict[str, Any] | Cancelled:
    """BULK_DELETE `{filter?, listId?, leadIds?}` → `{matched, changed}`."""
    return await bulk.delete(unit, batch_size=get_settings().bulk_batch_size)
