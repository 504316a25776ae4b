"""The settings sections: one typed, self-documenting model per concern.

Every section refuses unknown keys and describes every field; `Settings` (in
`citywitness.settings`) composes them.

One module per concern; everything is re-exported here."""

from __future__ import annotations

from citywitness.settings.sections.alerts import AlertsSettings
from citywitness.settings.sections.analysis import AnalysisSettings
from citywitness.settings.sections.base import Section
from citywitness.settings.sections.console import ConsoleSettings
from citywitness.settings.sections.devices import (
    DeviceCommandsSettings,
    DevicesSettings,
    MqttSettings,
)
from citywitness.settings.sections.evidence import EvidenceSettings, ExportSettings
from citywitness.settings.sections.ledger import (
    HttpAnchorSettings,
    LedgerAnchorSettings,
    LedgerSettings,
    LedgerTimestampSettings,
)
from citywitness.settings.sections.media import MediaSettings
from citywitness.settings.sections.platform import (
    AuthSettings,
    DatabaseSettings,
    JobsSettings,
    LoggingSettings,
    OidcProviderSettings,
    ServerSettings,
)
from citywitness.settings.sections.storage import S3StorageSettings, StorageSettings

__all__ = [
    "AlertsSettings",
    "AnalysisSettings",
    "AuthSettings",
    "ConsoleSettings",
    "DatabaseSettings",
    "DeviceCommandsSettings",
    "DevicesSettings",
    "EvidenceSettings",
    "ExportSettings",
    "HttpAnchorSettings",
    "JobsSettings",
    "LedgerAnchorSettings",
    "LedgerSettings",
    "LedgerTimestampSettings",
    "LoggingSettings",
    "MediaSettings",
    "MqttSettings",
    "OidcProviderSettings",
    "S3StorageSettings",
    "Section",
    "ServerSettings",
    "StorageSettings",
]
