"""Typed settings: one section per concern, `CW_` prefix, `__` nesting, optional YAML file.

Every field is typed and described; unknown keys (in YAML or in `CW_*` variables) are an
error that names the key.  Secrets are `SecretStr` and are masked by `masked_dump`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from pydantic import (
    BaseModel,
    Field,
    ValidationError,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from citywitness.settings.sections import (
    AlertsSettings,
    AnalysisSettings,
    AuthSettings,
    ConsoleSettings,
    DatabaseSettings,
    DevicesSettings,
    EvidenceSettings,
    ExportSettings,
    JobsSettings,
    LedgerSettings,
    LoggingSettings,
    MediaSettings,
    MqttSettings,
    OidcProviderSettings,
    S3StorageSettings,
    Section,
    ServerSettings,
    StorageSettings,
)

ENV_PREFIX = "CW_"
ENV_NESTING = "__"
# `CW_*` variables that are not settings: the CLI's config-file option and the test harness.
RESERVED_ENV = frozenset({"CW_CONFIG_FILE"})
RESERVED_ENV_PREFIXES = ("CW_TEST_",)
MASK = "**********"


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
    storage: StorageSettings = Field(
        default_factory=StorageSettings, description="Encrypted evidence storage."
    )
    evidence: EvidenceSettings = Field(
        default_factory=EvidenceSettings, description="Evidence records, search and playback."
    )
    ledger: LedgerSettings = Field(
        default_factory=LedgerSettings, description="Custody ledger and its checkpoints."
    )
    exports: ExportSettings = Field(
        default_factory=ExportSettings, description="Court export packages and C2PA signing."
    )
    devices: DevicesSettings = Field(
        default_factory=DevicesSettings, description="Recorders: enrollment, presence, telemetry."
    )
    mqtt: MqttSettings = Field(
        default_factory=MqttSettings, description="MQTT broker (embedded or external) and bridge."
    )
    media: MediaSettings = Field(
        default_factory=MediaSettings, description="Live sessions: segment ingest and live view."
    )
    alerts: AlertsSettings = Field(
        default_factory=AlertsSettings, description="Alerts: consumers and recorder delivery."
    )
    analysis: AnalysisSettings = Field(
        default_factory=AnalysisSettings, description="AI analysis: devices, analyzers, runs."
    )
    console: ConsoleSettings = Field(
        default_factory=ConsoleSettings, description="The command-centre web console."
    )

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
        if (
            not name.startswith(ENV_PREFIX)
            or name in RESERVED_ENV
            or name.startswith(RESERVED_ENV_PREFIXES)
        ):
            continue
        if not _names_a_setting(name[len(ENV_PREFIX) :].lower().split(ENV_NESTING)):
            unknown.append(name)
    return sorted(unknown)


def _names_a_setting(parts: list[str]) -> bool:
    """Whether `parts` (a variable's name split at `__`) is a path to a field."""
    model: type[BaseModel] = Settings
    for index, part in enumerate(parts):
        field = model.model_fields.get(part)
        if field is None:
            return False
        annotation = field.annotation
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return index == len(parts) - 1  # a plain field ends the path
        model = annotation
    return True


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
    """The effective settings as plain data with every secret replaced by '**********'.

    The database URL keeps its host, port, user and database so an operator can see where
    it points; only its password (and any password in the query string) is masked.
    """
    dumped = settings.model_dump(mode="json")
    if settings.database.url is not None:
        dumped["database"]["url"] = masked_url(settings.database.url.get_secret_value())
    return dumped


def masked_url(url: str) -> str:
    """`url` with its password (and password query parameters) replaced by the mask."""
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc + parts.path:
        return MASK
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hostport = netloc.rpartition("@")
        user, colon, _password = userinfo.partition(":")
        netloc = f"{user}:{MASK}@{hostport}" if colon else f"{user}@{hostport}"
    query = "&".join(
        f"{pair.partition('=')[0]}={MASK}" if "password" in pair.partition("=")[0].lower() else pair
        for pair in parts.query.split("&")
        if pair
    )
    masked = f"{parts.scheme}://{netloc}{parts.path}"
    return f"{masked}?{query}" if query else masked


__all__ = [
    "ENV_NESTING",
    "ENV_PREFIX",
    "AlertsSettings",
    "AuthSettings",
    "DatabaseSettings",
    "DevicesSettings",
    "EvidenceSettings",
    "ExportSettings",
    "JobsSettings",
    "LedgerSettings",
    "LoggingSettings",
    "MediaSettings",
    "MqttSettings",
    "OidcProviderSettings",
    "S3StorageSettings",
    "Section",
    "ServerSettings",
    "Settings",
    "SettingsError",
    "StorageSettings",
    "load_settings",
    "masked_dump",
    "masked_url",
]
