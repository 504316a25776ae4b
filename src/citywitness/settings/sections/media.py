"""Live recording sessions and live view."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from citywitness.settings.sections.base import Section


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
