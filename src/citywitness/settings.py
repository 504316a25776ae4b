"""Typed settings: one section per concern, `CW_` prefix, `__` nesting, optional YAML file.

Every field is typed and described; unknown keys (in YAML or in `CW_*` variables) are an
error that names the key.  Secrets are `SecretStr` and are masked by `masked_dump`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

ENV_PREFIX = "CW_"
ENV_NESTING = "__"


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


class OidcProviderSettings(Section):
    name: str = Field(description="Short name used in URLs (/api/v1/auth/oidc/<name>/login).")
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


class Settings(BaseSettings):
    """Root settings: `CW_DATA_DIR`, `CW_DATABASE__URL`, ... or a YAML file via `--config`."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter=ENV_NESTING,
        extra="forbid",
        validate_default=True,
    )

    city: str = Field(
        default="demo",
        pattern=r"^[a-z0-9-]{1,40}$",
        description="Short city name (used in key names).",
    )
    data_dir: Path = Field(
        default=Path("var"), description="Directory holding the embedded database and local state."
    )
    database: DatabaseSettings = Field(default_factory=DatabaseSettings, description="PostgreSQL.")
    server: ServerSettings = Field(default_factory=ServerSettings, description="HTTP API.")
    jobs: JobsSettings = Field(default_factory=JobsSettings, description="Background jobs.")
    auth: AuthSettings = Field(default_factory=AuthSettings, description="Logins and sessions.")
    logging: LoggingSettings = Field(default_factory=LoggingSettings, description="Logs.")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,  # noqa: ARG003 - not offered
        file_secret_settings: PydanticBaseSettingsSource,  # noqa: ARG003 - not offered
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = _CONFIG_FILE.get("path")
        if config_file is not None:
            sources.append(YamlConfigSettingsSource(settings_cls, yaml_file=config_file))
        return tuple(sources)


_CONFIG_FILE: dict[str, Path | None] = {"path": None}


class SettingsError(Exception):
    """Settings could not be loaded; the message names the offending key."""


def _unknown_env_keys(environ: dict[str, str]) -> list[str]:
    unknown = []
    for name in environ:
        if not name.startswith(ENV_PREFIX):
            continue
        model: type[BaseModel] = Settings
        for part in name[len(ENV_PREFIX) :].lower().split(ENV_NESTING):
            field = model.model_fields.get(part)
            if field is None:
                unknown.append(name)
                break
            annotation = field.annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                model = annotation
            else:
                break
    return unknown


def load_settings(config: Path | None = None) -> Settings:
    """Load settings from the environment and an optional YAML file; raise `SettingsError`."""
    unknown = _unknown_env_keys(dict(os.environ))
    if unknown:
        raise SettingsError(f"unknown setting {unknown[0]}")
    if config is not None:
        if not config.is_file():
            raise SettingsError(f"config file {config} does not exist")
        try:
            loaded = yaml.safe_load(config.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise SettingsError(f"config file {config} is not valid YAML: {exc}") from exc
        if loaded is not None and not isinstance(loaded, dict):
            raise SettingsError(f"config file {config} must hold a mapping")
    _CONFIG_FILE["path"] = config
    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"])
        raise SettingsError(f"setting {key}: {first['msg']}") from exc
    finally:
        _CONFIG_FILE["path"] = None


def masked_dump(settings: Settings) -> dict[str, Any]:
    """The effective settings as plain data with every secret replaced by '**********'."""
    return settings.model_dump(mode="json")
