"""The custody ledger: checkpoints, time stamps, anchors."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator

from citywitness.settings.sections.base import Section


class LedgerTimestampSettings(Section):
    """RFC 3161 time stamps on checkpoints (off while `tsa_url` is unset)."""

    tsa_url: str | None = Field(
        default=None,
        description=(
            "URL of the RFC 3161 time-stamp authority (HTTP POST, application/timestamp-query). "
            "Unset: no time stamps, and /readyz says so without failing."
        ),
    )
    trust_roots_file: Path | None = Field(
        default=None,
        description=(
            "PEM file with the TSA's root certificate(s); every token is verified against it "
            "before it is stored. Required with tsa_url; relative paths are under data_dir."
        ),
    )
    interval_minutes: int = Field(
        default=10,
        ge=1,
        le=24 * 60,
        description="Stamp the latest checkpoint at most this often (when it is newer).",
    )
    timeout_seconds: float = Field(
        default=10.0, gt=0, le=300, description="Time allowed for one TSA request."
    )
    stale_after_minutes: int = Field(
        default=60,
        ge=1,
        description=(
            "While stamping fails, /readyz reports it as degraded (still ready); once the "
            "last success (or the first failure) is this old, the check fails."
        ),
    )

    @model_validator(mode="after")
    def _url_needs_roots(self) -> LedgerTimestampSettings:
        if self.tsa_url and self.trust_roots_file is None:
            raise ValueError("trust_roots_file is required when tsa_url is set")
        return self


class HttpAnchorSettings(Section):
    """A generic deposit service over HTTP (POST a checkpoint hash, get a transaction)."""

    kind: Literal["http"] = Field(description="Adapter: `http` (JSON deposit service).")
    name: str = Field(
        pattern=r"^[a-z0-9-]{1,40}$",
        description="Short name of this anchor (stored with receipts).",
    )
    url: str = Field(description="Deposit endpoint; receipts are checked at <url>/<transaction>.")
    token: SecretStr | None = Field(
        default=None, description="Bearer token sent to the service, if it needs one."
    )
    timeout_seconds: float = Field(
        default=10.0, gt=0, le=300, description="Time allowed for one request."
    )


class LedgerAnchorSettings(Section):
    """External anchors of checkpoints (off while `adapters` is empty)."""

    adapters: list[HttpAnchorSettings] = Field(
        default_factory=list,
        description="Anchors to deposit checkpoint hashes with, each chosen by its `kind`.",
    )
    interval_minutes: int = Field(
        default=60,
        ge=1,
        le=7 * 24 * 60,
        description="Anchor the latest checkpoint at most this often (when it is newer).",
    )
    stale_after_minutes: int = Field(
        default=180,
        ge=1,
        description=(
            "While anchoring fails, /readyz reports it as degraded (still ready); once the "
            "last success (or the first failure) is this old, the check fails."
        ),
    )

    @model_validator(mode="after")
    def _names_unique(self) -> LedgerAnchorSettings:
        names = [adapter.name for adapter in self.adapters]
        if len(names) != len(set(names)):
            raise ValueError("anchor names must be unique")
        return self


class LedgerSettings(Section):
    """The custody ledger: a Merkle log with signed checkpoints (issue 4, docs/ledger.md)."""

    origin: str | None = Field(
        default=None,
        pattern=r"^[a-z0-9][a-z0-9.-]*(/[a-z0-9.-]+)*$",
        description=(
            "The log's origin line and key name in checkpoints; unset: "
            "`<city>.citywitness/log`. Changing it starts a different log for verifiers."
        ),
    )
    key_file: Path = Field(
        default=Path("keys/ledger-log.pem"),
        description=(
            "Ed25519 checkpoint signing key, PKCS#8 PEM (created 0600 in a 0700 directory on "
            "first use; refused if group or world can read it); relative paths are under data_dir."
        ),
    )
    checkpoint_interval_seconds: float = Field(
        default=1.0,
        gt=0,
        le=3600,
        description=(
            "The sequencer gives new entries their indexes and signs a checkpoint at most "
            "this often (and only when there are new entries)."
        ),
    )
    sequence_batch_size: int = Field(
        default=50_000,
        ge=1,
        le=1_000_000,
        description="Most entries one sequencing run takes (the rest wait for the next run).",
    )
    timestamps: LedgerTimestampSettings = Field(
        default_factory=LedgerTimestampSettings,
        description="RFC 3161 time stamps on checkpoints (off until a TSA URL is set).",
    )
    anchors: LedgerAnchorSettings = Field(
        default_factory=LedgerAnchorSettings,
        description="External anchors of checkpoint hashes (off until one is configured).",
    )
