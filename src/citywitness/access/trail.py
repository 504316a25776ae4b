"""The audit trail as lower layers see it.

`access` and `agencies` sit below `audit` in the layer order, so their services cannot import
`audit.service.Auditor`.  They take an `AuditTrail` instead; the API passes the request's
`Auditor`, which satisfies this protocol.  Denials are recorded by the API's error handler,
so services only record what they did.
"""

from __future__ import annotations

import uuid
from typing import Any, Protocol


class AuditTrail(Protocol):
    async def record(
        self,
        action: str,
        *,
        object_type: str | None = None,
        object_id: uuid.UUID | str | None = None,
        department_id: uuid.UUID | None = None,
        reason: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        """Record one successful action in the caller's transaction."""
