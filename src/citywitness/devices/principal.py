"""Who a device is, once authenticated: what every transport hands to the telemetry service."""

from __future__ import annotations

import uuid
from dataclasses import dataclass


@dataclass(frozen=True)
class DeviceIdentity:
    """An authenticated recorder.  Identity is the credential, never the network address."""

    device_id: uuid.UUID
    serial: str
    department_code: str
    department_id: uuid.UUID
