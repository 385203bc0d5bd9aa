"""Every model, imported once so that `Base.metadata` knows the whole schema."""

from leedz.agents.models import Agent
from leedz.audit.models import AuditLog
from leedz.evidence.models import Evidence
from leedz.files.models import StoredFile
from leedz.imports.models import ImportRow
from leedz.invites.models import Invite
from leedz.jobs.models import Job
from leedz.kit.models import Base
from leedz.leads.models import (
    Lead,
    LeadActivity,
    LeadEvidence,
    LeadKey,
    LeadList,
    LeadMerge,
    ListMember,
)
from leedz.members.models import Membership
from leedz.plans.models import Plan, UsageCounter
from leedz.tenants.models import Tenant
from leedz.users.models import AccountToken, RefreshToken, User

__all__ = [
    "AccountToken",
    "Agent",
    "AuditLog",
    "Base",
    "Evidence",
    "ImportRow",
    "Invite",
    "Job",
    "Lead",
    "LeadActivity",
    "LeadEvidence",
    "LeadKey",
    "LeadList",
    "LeadMerge",
    "ListMember",
    "Membership",
    "Plan",
    "RefreshToken",
    "StoredFile",
    "Tenant",
    "UsageCounter",
    "User",
]
