"""Every API router, in one list: app.py mounts them under /api/v1."""

from __future__ import annotations

from fastapi import APIRouter

from citywitness.access.endpoints import router as grants_router
from citywitness.agencies.endpoints import departments_router, officers_router
from citywitness.alerts.endpoints import ROUTERS as ALERTS_ROUTERS
from citywitness.analysis.endpoints import router as analysis_router
from citywitness.analysis.endpoints_faces import router as face_watchlist_router
from citywitness.analysis.endpoints_plates import router as plate_watchlist_router
from citywitness.analysis.endpoints_redaction import router as redaction_router
from citywitness.analysis.endpoints_speech import router as transcript_router
from citywitness.audit.endpoints import router as audit_router
from citywitness.console.endpoints import router as console_router
from citywitness.devices.endpoints import ROUTERS as DEVICES_ROUTERS
from citywitness.evidence.endpoints import router as evidence_router
from citywitness.evidence.endpoints_exports import router as exports_router
from citywitness.evidence.endpoints_lifecycle import ROUTERS as LIFECYCLE_ROUTERS
from citywitness.evidence.endpoints_playback import router as playback_router
from citywitness.evidence.endpoints_tus import router as tus_router
from citywitness.geo.endpoints import router as geofences_router
from citywitness.identity.endpoints import ROUTERS as IDENTITY_ROUTERS
from citywitness.ledger.endpoints import custody_router as ledger_custody_router
from citywitness.ledger.endpoints import router as ledger_router
from citywitness.ledger.witness_endpoints import router as ledger_witness_router
from citywitness.media.endpoints import ROUTERS as MEDIA_ROUTERS

ROUTERS: list[APIRouter] = []
ROUTERS += [departments_router, officers_router, grants_router, audit_router]
ROUTERS += IDENTITY_ROUTERS
ROUTERS += LIFECYCLE_ROUTERS  # before evidence_router: /evidence/deletions is no item id
ROUTERS += [evidence_router, playback_router]
ROUTERS += [exports_router]
ROUTERS += [tus_router]
ROUTERS += [ledger_router, ledger_custody_router]
ROUTERS += [ledger_witness_router]
ROUTERS += DEVICES_ROUTERS
ROUTERS += ALERTS_ROUTERS
ROUTERS += [geofences_router]
ROUTERS += MEDIA_ROUTERS
ROUTERS += [face_watchlist_router]
ROUTERS += [plate_watchlist_router]
ROUTERS += [transcript_router]
ROUTERS += [analysis_router]
ROUTERS += [redaction_router]
ROUTERS += [console_router]
