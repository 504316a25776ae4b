"""The evidence vault: ingest limits, derivatives, retention, export packages."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator

from citywitness.settings.sections.base import Section


class EvidenceSettings(Section):
    """The evidence vault: records, search, playback and derivatives (issue 3)."""

    search_max_limit: int = Field(
        default=200, ge=1, le=1000, description="Largest page `GET /evidence` returns."
    )
    playback_max_range_bytes: int = Field(
        default=16 * 1024 * 1024,
        ge=64 * 1024,
        description=(
            "Longest byte range one ranged playback response streams; an open-ended "
            "`Range: bytes=a-` gets at most this much (a 206 the client continues from)."
        ),
    )
    thumbnail_width: int = Field(
        default=320, ge=32, le=1920, description="Width in pixels of video thumbnails (JPEG)."
    )
    proxy_height: int = Field(
        default=360, ge=64, le=1080, description="Height in pixels of the low-bitrate proxy."
    )
    proxy_video_bitrate: int = Field(
        default=500_000, ge=50_000, le=10_000_000, description="Proxy video bits per second."
    )
    proxy_audio_bitrate: int = Field(
        default=64_000, ge=16_000, le=320_000, description="Proxy audio bits per second."
    )
    proxy_max_seconds: float = Field(
        default=4 * 3600.0,
        gt=0,
        description="Recordings longer than this get no proxy (thumbnail only).",
    )
    upload_max_bytes: int = Field(
        default=256 * 1024**3,
        ge=1,
        description="Largest tus upload accepted (Tus-Max-Size), in bytes.",
    )
    upload_expiry_seconds: int = Field(
        default=3 * 24 * 3600,
        ge=60,
        description=(
            "An unfinished tus upload expires this long after its last PATCH (Upload-Expires); "
            "a periodic job then deletes its partial bytes."
        ),
    )
    upload_checkpoint_bytes: int = Field(
        default=64 * 1024 * 1024,
        ge=1024 * 1024,
        description=(
            "During a long PATCH without Upload-Checksum, received bytes are made durable "
            "every this many bytes, so an interrupted request keeps what arrived."
        ),
    )
    deletion_review_days: int = Field(
        default=7,
        ge=0,
        le=365,
        description=(
            "Review window: days an item waits in the deletion queue (after its retention "
            "expired, or after a manual deletion was approved) before it is destroyed."
        ),
    )


class ExportSettings(Section):
    """Court export packages and their C2PA signing identity (issue 4, docs/ledger.md)."""

    c2pa_dir: Path = Field(
        default=Path("keys/c2pa"),
        description=(
            "Where the platform's private C2PA CA and signing certificate are created on "
            "first use (0700 directory, 0600 keys); relative paths are under data_dir. "
            "Ignored when c2pa_cert_chain_file is set."
        ),
    )
    c2pa_cert_chain_file: Path | None = Field(
        default=None,
        description="PEM chain of a configured C2PA signing certificate (end entity first).",
    )
    c2pa_key_file: Path | None = Field(
        default=None, description="PKCS#8 PEM P-256 key of that certificate (mode 0600)."
    )
    c2pa_trust_anchor_file: Path | None = Field(
        default=None, description="PEM root certificate the configured chain leads to."
    )
    organization: str = Field(
        default="CityWitness",
        max_length=64,
        description="Organization named in the certificates created on first use.",
    )
    build_dir: Path = Field(
        default=Path("exports/building"),
        description=(
            "Where an export job writes its package before storing it encrypted (one 0700 "
            "directory per export, removed when the job ends, fails, or is retried); "
            "relative paths are under data_dir.  Needs room for the largest package."
        ),
    )
    package_ttl_hours: int = Field(
        default=72,
        ge=1,
        le=24 * 90,
        description=(
            "How long a finished API export package stays downloadable; then the cleanup "
            "job crypto-shreds it and the export reads `expired`."
        ),
    )
    max_items: int = Field(
        default=500,
        ge=1,
        le=100_000,
        description="Most items one export may hold (an item list or a search query).",
    )

    @model_validator(mode="after")
    def _chain_needs_key(self) -> ExportSettings:
        configured = (self.c2pa_cert_chain_file, self.c2pa_key_file, self.c2pa_trust_anchor_file)
        if any(configured) and not all(configured):
            raise ValueError(
                "c2pa_cert_chain_file, c2pa_key_file and c2pa_trust_anchor_file go together"
            )
        return self
