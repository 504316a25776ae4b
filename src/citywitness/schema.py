"""The whole schema: importing this module registers every domain's tables on Base.metadata."""

from citywitness.access import models as access_models
from citywitness.agencies import models as agencies_models
from citywitness.alerts import models as alerts_models
from citywitness.analysis import face_watchlist_models as analysis_face_watchlist_models
from citywitness.analysis import models as analysis_models
from citywitness.analysis import plate_watchlist_models as analysis_plate_watchlist_models
from citywitness.analysis import redaction_models as analysis_redaction_models
from citywitness.audit import models as audit_models
from citywitness.devices import commands_models as devices_commands_models
from citywitness.devices import models as devices_models
from citywitness.evidence import derivative_models as evidence_derivative_models
from citywitness.evidence import export_models as evidence_export_models
from citywitness.evidence import models as evidence_models
from citywitness.geo import models as geo_models
from citywitness.identity import models as identity_models
from citywitness.kit import events as kit_events
from citywitness.kit.db import Base
from citywitness.ledger import anchors_models as ledger_anchors_models
from citywitness.ledger import models as ledger_models
from citywitness.ledger import witness_models as ledger_witness_models
from citywitness.media import models as media_models
from citywitness.storage import models as storage_models

metadata = Base.metadata

__all__ = [
    "access_models",
    "agencies_models",
    "alerts_models",
    "analysis_face_watchlist_models",
    "analysis_models",
    "analysis_plate_watchlist_models",
    "analysis_redaction_models",
    "audit_models",
    "devices_commands_models",
    "devices_models",
    "evidence_derivative_models",
    "evidence_export_models",
    "evidence_models",
    "geo_models",
    "identity_models",
    "kit_events",
    "ledger_anchors_models",
    "ledger_models",
    "ledger_witness_models",
    "media_models",
    "metadata",
    "storage_models",
]
