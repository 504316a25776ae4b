"""The whole schema: importing this module registers every domain's tables on Base.metadata."""

from citywitness.access import models as access_models
from citywitness.agencies import models as agencies_models
from citywitness.audit import models as audit_models
from citywitness.evidence import derivative_models as evidence_derivative_models
from citywitness.evidence import models as evidence_models
from citywitness.identity import models as identity_models
from citywitness.kit.db import Base
from citywitness.storage import models as storage_models

metadata = Base.metadata

__all__ = [
    "access_models",
    "agencies_models",
    "audit_models",
    "evidence_derivative_models",
    "evidence_models",
    "identity_models",
    "metadata",
    "storage_models",
]
