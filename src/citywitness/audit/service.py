"""Writing the audit trail.  Every read, play, download, export and change of protected data,
every login and failure, and every denied access goes through `Auditor.record`."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from citywitness.access.principal import Principal
from citywitness.audit.models import AuditEvent


class Outcome(enum.StrEnum):
    SUCCESS = "success"
    FAILURE = "failure"
    DENIED = "denied"


@dataclass(frozen=True)
class Auditor:
    """Records audit events inside the caller's transaction, with the request's context."""

    session: AsyncSession
    actor: Principal | None
    client_address: str | None = None
    request_id: str | None = None
    actor_kind: str = "user"

    def as_actor(self, actor: Principal | None) -> Auditor:
        return Auditor(self.session, actor, self.client_address, self.request_id, self.actor_kind)

    async def record(
        self,
        action: str,
        *,
        outcome: Outcome = Outcome.SUCCESS,
        object_type: str | None = None,
        object_id: uuid.UUID | str | None = None,
        department_id: uuid.UUID | None = None,
        reason: str | None = None,
        details: dict[str, Any] | None = None,
        actor_user_id: uuid.UUID | None = None,
    ) -> None:
        actor_id = actor_user_id or (self.actor.user_id if self.actor else None)
        self.session.add(
            AuditEvent(
                actor_user_id=actor_id,
                actor_kind=self.actor_kind
                if actor_id or self.actor_kind != "user"
                else "anonymous",
                department_id=department_id,
                action=action,
                object_type=object_type,
                object_id=str(object_id) if object_id is not None else None,
                outcome=outcome.value,
                client_address=self.client_address,
                request_id=self.request_id,
                reason=reason,
                details=details or {},
            )
        )
        await self.session.flush()
