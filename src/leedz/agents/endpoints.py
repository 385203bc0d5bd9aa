from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, status

from leedz.access.context import CurrentActor, Require, RequireVerifiedEmail, TenantTx
from leedz.access.permissions import Permission
from leedz.agents import service as agents
from leedz.agents.schemas import AgentCreate, AgentOut, AgentWithToken
from leedz.kit.pagination import Page

router = APIRouter(prefix="/agents", tags=["agents"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    dependencies=[Require(Permission.AGENTS_REGISTER), RequireVerifiedEmail()],
)
async def register_agent(body: AgentCreate, tx: TenantTx, actor: CurrentActor) -> AgentWithToken:
    """Register an extension install; its token is in this answer and nowhere else, ever."""
    return await agents.register(tx, actor, body)


@router.get("", dependencies=[Require(Permission.AGENTS_READ)])
async def list_agents(tx: TenantTx) -> Page[AgentOut]:
    return await agents.list_agents(tx)


@router.delete(
    "/{agent_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[Require(Permission.AGENTS_REVOKE)],
)
async def revoke_agent(agent_id: UUID, tx: TenantTx, actor: CurrentActor) -> None:
    await agents.revoke(tx, actor, agent_id)
