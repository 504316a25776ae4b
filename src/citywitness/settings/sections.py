"""The settings sections: one typed, self-documenting model per concern.

Every section refuses unknown keys and describes every field; `Settings` (in
`citywitness.settings`) composes them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator


class Section(BaseModel):
    """Base of every settings section: unknown keys are refused."""

    model_config = ConfigDict(extra="forbid", validate_default=True)


class DatabaseSettings(Section):
    url: SecretStr | None = Field(
        default=None,
        description=(
            "PostgreSQL URL (postgresql://user:pass@host:port/db). Unset: an embedded "
            "PostgreSQL server is started inside the data directory."
        ),
    )
    pool_size: int = Field(default=10, ge=1, le=200, description="Connections kept in the pool.")
    max_overflow: int = Field(
        default=10, ge=0, le=200, description="Extra connections beyond the pool."
    )
    embedded_database: str = Field(
        default="citywitness", description="Database name used inside the embedded server."
    )


class ServerSettings(Section):
    host: str = Field(default="127.0.0.1", description="Address the HTTP API listens on.")
    port: int = Field(default=8000, ge=1, le=65535, description="Port the HTTP API listens on.")
    public_url: str = Field(
        default="http://127.0.0.1:8000",
        description="URL users reach the platform at (used for OIDC redirects and links).",
    )
    max_body_bytes: int = Field(
        default=1_048_576,
        ge=1024,
        description="Largest JSON request body accepted, in bytes; larger bodies get 413.",
    )
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="Addresses of reverse proxies whose X-Forwarded-For is trusted.",
    )
    audit_export_max_rows: int = Field(
        default=100_000,
        ge=1,
        le=10_000_000,
        description="Most rows one CSV export of the audit trail returns (its max_rows cap).",
    )


class JobsSettings(Section):
    in_process_worker: bool = Field(
        default=True, description="Run one job worker inside `serve` (off when workers run apart)."
    )
    concurrency: int = Field(default=2, ge=1, le=64, description="Jobs one worker runs at once.")
    queues: list[str] = Field(
        default_factory=lambda: ["default", "cpu", "analysis", "maintenance"],
        description="Queues the in-process worker listens on.",
    )
    stalled_after_seconds: int = Field(
        default=60,
        ge=5,
        description="A running job whose worker sent no heartbeat for this long is retried.",
    )
    heartbeat_seconds: float = Field(
        default=10.0,
        gt=0,
        description=(
            "How often a worker records that it is alive; at most a third of "
            "stalled_after_seconds, so a live worker is never taken for a dead one."
        ),
    )
    stalled_retry_limit: int = Field(
        default=5,
        ge=1,
        description=(
            "A stalled job that has already been tried this many times is marked failed "
            "instead of retried (a job that keeps killing its worker must not loop)."
        ),
    )
    shutdown_timeout_seconds: float = Field(
        default=30.0,
        ge=0,
        description=(
            "On SIGINT/SIGTERM a worker takes no new jobs and waits this long for running "
            "ones; jobs still running are then aborted, and retried if their task has a "
            "retry strategy."
        ),
    )
    periodic: bool = Field(
        default=True,
        description=(
            "Defer the periodic jobs declared in code (sweeps, stalled-job recovery) from "
            "this process; every tick is deferred once however many workers do it."
        ),
    )
    task_modules: list[str] = Field(
        default_factory=list,
        description=(
            "Extra modules (dotted paths) whose module-level `blueprint` the worker "
            "registers, for plug-ins and tests; the platform's own tasks need no entry."
        ),
    )

    @model_validator(mode="after")
    def _heartbeat_fits_stall_timeout(self) -> JobsSettings:
        if self.heartbeat_seconds * 3 > self.stalled_after_seconds:
            raise ValueError("heartbeat_seconds must be at most a third of stalled_after_seconds")
        return self


class OidcProviderSettings(Section):
    name: str = Field(
        pattern=r"^[a-z0-9-]{1,30}$",
        description="Short name used in URLs (/api/v1/auth/oidc/<name>/login).",
    )
    label: str = Field(default="", description="Name shown on the login page.")
    issuer: str = Field(description="Issuer URL; its /.well-known/openid-configuration is read.")
    client_id: str = Field(description="Client id registered at the provider.")
    client_secret: SecretStr = Field(description="Client secret registered at the provider.")
    scopes: list[str] = Field(
        default_factory=lambda: ["openid", "profile", "email"],
        description="Scopes requested at login.",
    )
    username_claim: str = Field(
        default="preferred_username", description="ID-token claim used as the username."
    )
    auto_create_users: bool = Field(
        default=False,
        description="Create unknown users on first login (with no roles) instead of refusing them.",
    )


class AuthSettings(Section):
    session_ttl_seconds: int = Field(
        default=8 * 3600, ge=60, description="Console session lifetime (a working shift)."
    )
    session_idle_seconds: int = Field(
        default=30 * 60, ge=60, description="A console session idle this long expires."
    )
    cookie_secure: bool = Field(
        default=True,
        description="Mark cookies Secure (browsers still send them to http://localhost).",
    )
    lockout_threshold: int = Field(
        default=5, ge=1, description="Failed logins in a row before an account is locked."
    )
    lockout_base_seconds: int = Field(
        default=30, ge=1, description="First lockout; each further failure doubles it."
    )
    lockout_max_seconds: int = Field(default=3600, ge=1, description="Longest lockout.")
    token_max_days: int = Field(default=365, ge=1, description="Longest API token lifetime.")
    password_min_length: int = Field(default=12, ge=8, description="Shortest password accepted.")
    oidc_providers: list[OidcProviderSettings] = Field(
        default_factory=list, description="OpenID Connect identity providers offered at login."
    )


class LoggingSettings(Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="Lowest level written."
    )
    json_output: bool = Field(default=True, description="Write JSON lines (else human-readable).")


class S3StorageSettings(Section):
    endpoint_url: str | None = Field(
        default=None,
        description="S3 endpoint (MinIO, Ceph RGW, ...); unset: the AWS endpoint of `region`.",
    )
    bucket: str = Field(default="", max_length=63, description="Bucket holding the objects.")
    region: str = Field(default="us-east-1", description="Region of the bucket.")
    access_key_id: str | None = Field(
        default=None, description="Access key id; unset: the usual AWS credential chain."
    )
    secret_access_key: SecretStr | None = Field(
        default=None, description="Secret access key paired with `access_key_id`."
    )
    prefix: str = Field(
        default="", max_length=200, description="Key prefix inside the bucket (e.g. 'cw/')."
    )
    multipart_part_bytes: int = Field(
        default=64 * 1024 * 1024,
        ge=5 * 1024 * 1024,
        description="Objects larger than this are uploaded in parts of this size.",
    )


class StorageSettings(Section):
    backend: Literal["local", "s3"] = Field(
        default="local", description="Where encrypted evidence bytes live."
    )
    local_root: Path = Field(
        default=Path("objects"),
        description="Object directory of the local backend; relative paths are under data_dir.",
    )
    staging_dir: Path = Field(
        default=Path("staging"),
        description=(
            "Encrypted partial uploads (resumable); relative paths are under data_dir. "
            "Keep it on the same filesystem as local_root so finishing an upload is a rename."
        ),
    )
    kek_file: Path = Field(
        default=Path("keys/kek.key"),
        description=(
            "Key-encryption key file (created 0600 in a 0700 directory on first use; refused "
            "if group or world can read it); relative paths are under data_dir."
        ),
    )
    chunk_size: int = Field(
        default=1024 * 1024,
        ge=64 * 1024,
        le=64 * 1024 * 1024,
        multiple_of=4096,
        description="Plaintext bytes per encrypted chunk (the unit a ranged read decrypts).",
    )
    min_free_bytes: int = Field(
        default=1024 * 1024 * 1024,
        ge=0,
        description="Free space kept on local disks; a write that would eat into it gets 507.",
    )
    max_bytes: int | None = Field(
        default=None, ge=0, description="Cap on all stored bytes (any backend); unset: no cap."
    )
    s3: S3StorageSettings = Field(
        default_factory=S3StorageSettings, description="S3-compatible backend."
    )

    @model_validator(mode="after")
    def _s3_needs_bucket(self) -> StorageSettings:
        if self.backend == "s3" and not self.s3.bucket:
            raise ValueError("storage.s3.bucket is required when storage.backend is s3")
        return self


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


class DeviceCommandsSettings(Section):
    """Commands to recorders: delivery retries, timeouts, the live-view consent default."""

    retry_seconds: float = Field(
        default=5.0,
        ge=0.5,
        le=600,
        description="A command not yet acknowledged is published again over MQTT this often.",
    )
    timeout_seconds: int = Field(
        default=30,
        ge=5,
        le=3600,
        description="Default timeout of start_recording, stop_recording and locate_now.",
    )
    live_view_timeout_seconds: int = Field(
        default=90,
        ge=5,
        le=3600,
        description="Default timeout of request_live_view (time for the wearer to answer).",
    )
    text_message_timeout_seconds: int = Field(
        default=300,
        ge=5,
        le=86_400,
        description="Default timeout of text_message (the officer reads it).",
    )
    live_view_consent: Literal["always", "never", "when_not_recording"] = Field(
        default="always",
        description=(
            "Live-view consent policy of a department that has not set its own: whether "
            "the wearer must accept a live view request."
        ),
    )
    locate_max_age_seconds: int = Field(
        default=10,
        ge=0,
        le=600,
        description=(
            "locate_now succeeds with a position received after the command was issued "
            "and taken (device clock) at most this long before it."
        ),
    )
    max_open_per_recorder: int = Field(
        default=20,
        ge=1,
        le=1000,
        description="Most unfinished commands one recorder may have; more get 409.",
    )


class DevicesSettings(Section):
    """Recorders: enrollment, presence, telemetry limits and position retention."""

    commands: DeviceCommandsSettings = Field(
        default_factory=DeviceCommandsSettings,
        description="Commands to recorders (delivery, timeouts, live-view consent).",
    )

    enrollment_code_ttl_minutes: int = Field(
        default=1440,
        ge=1,
        le=10_080,
        description="How long a one-time enrollment code stays valid, in minutes.",
    )
    enrollment_max_attempts: int = Field(
        default=5,
        ge=1,
        le=100,
        description="Wrong codes tried against a recorder before its pending code is burned.",
    )
    offline_after_seconds: int = Field(
        default=120,
        ge=10,
        le=86_400,
        description="A recorder not heard from (any message) for this long is marked offline.",
    )
    state_write_interval_seconds: float = Field(
        default=1.0,
        ge=0,
        le=60,
        description=(
            "Least time between two writes of a recorder's hot state (device_state) when "
            "nothing material changed; also the console push rate limit."
        ),
    )
    max_clock_skew_seconds: int = Field(
        default=300,
        ge=0,
        le=86_400,
        description="How far in the future (device clock vs arrival) a time may be; beyond: 422.",
    )
    max_backfill_days: int = Field(
        default=7,
        ge=1,
        le=366,
        description=(
            "Oldest position or event accepted (days before arrival); also how long message "
            "ids are kept for de-duplication (this plus one day)."
        ),
    )
    partitions_ahead_days: int = Field(
        default=7,
        ge=1,
        le=90,
        description="Daily position partitions the maintenance job creates ahead of today.",
    )
    positions_retention_days: int = Field(
        default=90,
        ge=0,
        le=36_600,
        description=(
            "Position partitions older than this many days are dropped by the maintenance "
            "job; 0 keeps positions forever."
        ),
    )

    @model_validator(mode="after")
    def _keep_what_may_still_arrive(self) -> DevicesSettings:
        if 0 < self.positions_retention_days <= self.max_backfill_days:
            raise ValueError("positions_retention_days must exceed max_backfill_days (or be 0)")
        return self


class MediaSettings(Section):
    """Live recording sessions: segment ingest, sealing, live HLS view (docs/media.md)."""

    max_segment_bytes: int = Field(
        default=16 * 1024 * 1024,
        ge=1024,
        le=1024 * 1024 * 1024,
        description="Largest live segment accepted, in bytes; larger ones get 413.",
    )
    max_init_bytes: int = Field(
        default=256 * 1024,
        ge=256,
        le=4 * 1024 * 1024,
        description="Largest fMP4 init segment (sent base64 when a session opens), in bytes.",
    )
    max_segment_seconds: float = Field(
        default=10.0,
        gt=0,
        le=60,
        description="Longest live segment accepted, in seconds of media; longer ones get 422.",
    )
    session_idle_seconds: int = Field(
        default=300,
        ge=10,
        le=86_400,
        description="A live session without a new segment for this long is ended and sealed.",
    )
    view_token_ttl_seconds: int = Field(
        default=120,
        ge=10,
        le=3600,
        description="Life of the signed view token in live playlist URLs (segment fetches).",
    )
    view_idle_seconds: int = Field(
        default=300,
        ge=10,
        le=86_400,
        description=(
            "A viewer's live view lasts while the playlist is reloaded; after this long "
            "without a reload the next request starts (and audits) a new view."
        ),
    )
    view_key_file: Path = Field(
        default=Path("keys/media-view.key"),
        description=(
            "HMAC key signing view tokens (created 0600 on first use; share it between API "
            "replicas); relative paths are under data_dir."
        ),
    )
    playlist_window_segments: int = Field(
        default=0,
        ge=0,
        le=100_000,
        description=(
            "0: the live playlist is an EVENT playlist of the whole session; N: a sliding "
            "window of the last N segments."
        ),
    )


class MqttSettings(Section):
    """MQTT transport of recorders: embedded broker or an external one, and the bridge."""

    enabled: bool = Field(
        default=True,
        description=(
            "Run MQTT inside `serve`: the embedded broker (unless `url` is set) and the bridge "
            "that stores what recorders publish."
        ),
    )
    url: str | None = Field(
        default=None,
        pattern=r"^mqtts?://[^/?#@]+:[0-9]{1,5}/?$",
        description=(
            "External broker (mqtt://host:port or mqtts://host:port, e.g. Mosquitto or EMQX; "
            "credentials go in username/password, not in the URL). "
            "Unset: the embedded broker listens on listen_host:listen_port."
        ),
    )
    username: str | None = Field(
        default=None,
        max_length=200,
        description="User name of the bridge on the external broker (unset: anonymous).",
    )
    password: SecretStr | None = Field(
        default=None, description="Password of the bridge on the external broker."
    )
    listen_host: str = Field(
        default="127.0.0.1",
        description="Address the embedded broker listens on (0.0.0.0: reachable from the network).",
    )
    listen_port: int = Field(
        default=1884,
        ge=1,
        le=65535,
        description=(
            "Port of the embedded broker (not 1883, where a system Mosquitto often runs); "
            "`serve` stops with a clear message when it is taken."
        ),
    )
    bridge_client_id: str = Field(
        default="citywitness-bridge",
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$",
        description=(
            "MQTT client id of the bridge; its persistent session keeps unacknowledged "
            "messages at the broker while the bridge is away. One bridge per id."
        ),
    )
    bridge_batch_size: int = Field(
        default=200,
        ge=1,
        le=5000,
        description="Most messages the bridge stores in one transaction (acknowledged after it).",
    )
    keepalive_seconds: int = Field(
        default=30, ge=5, le=3600, description="MQTT keep-alive of the bridge's connection."
    )


class AlertsSettings(Section):
    """Alerts: the event consumers that raise them, and delivery to recorders."""

    consumers_enabled: bool = Field(
        default=True,
        description=(
            "Run the event consumers (alerts, geofences) and the recorder delivery inside "
            "`serve`; several processes may run them (one handles a batch at a time)."
        ),
    )
    poll_seconds: float = Field(
        default=2.0,
        gt=0,
        le=60,
        description="How often consumers look for events when no NOTIFY woke them (fallback).",
    )
    batch_size: int = Field(
        default=100, ge=1, le=5000, description="Most events a consumer handles per transaction."
    )
    recorder_retry_seconds: float = Field(
        default=10.0,
        gt=0,
        le=3600,
        description="Time between two sends of an alert to a recorder that has not acknowledged.",
    )
    recorder_timeout_seconds: float = Field(
        default=120.0,
        gt=0,
        le=86_400,
        description="An alert a recorder has not acknowledged after this long is `expired`.",
    )
