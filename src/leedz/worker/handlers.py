"""The handlers of server-run job types: what a worker runs (`leedz serve`, `leedz worker`).

Each feature that runs a server-run job type adds its line here (jobs/work.py's contract). A
type without a handler is never claimed: its jobs wait for a worker that has one.
"""

from __future__ import annotations

from leedz.bulk import job as bulk
from leedz.exports import job as exports
from leedz.imports import job as imports
from leedz.jobs.models import JobType
from leedz.jobs.work import Handler

HANDLERS: dict[JobType, Handler] = {
    JobType.BULK_STATUS_UPDATE: bulk.update_status,
    JobType.BULK_DELETE: bulk.delete,
    JobType.IMPORT: imports.run,
    JobType.EXPORT: exports.run,
}
