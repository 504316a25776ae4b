"""Recorders: telemetry limits, presence, commands, the MQTT broker and bridge."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, model_validator

from citywitness.settings.sections.base import Section


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
    bridge_concurrency: int = Field(
        default=2,
        ge=1,
        le=16,
        description=(
            "Batches the bridge stores at once (each on its own database connection); "
            "acknowledgements still go out in the order the messages came."
        ),
    )
    shared_group: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$",
        description=(
            "External broker only: subscribe through the MQTT 5 shared subscription "
            "`$share/<group>/...`, so several `serve` processes (each with its own "
            "bridge_client_id) split the recorders' messages between them. Unset: one bridge."
        ),
    )
    keepalive_seconds: int = Field(
        default=30, ge=5, le=3600, description="MQTT keep-alive of the bridge's connection."
    )
