"""The platform chassis: database, HTTP server, jobs, authentication, logs."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, model_validator

from citywitness.settings.sections.base import Section


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
