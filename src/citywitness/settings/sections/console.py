"""The command-centre web console: where its build lives and what its maps draw."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator

from citywitness.settings.sections.base import Section


class ConsoleSettings(Section):
    """The web console (web/, docs/console.md), served by the API at `/`."""

    enabled: bool = Field(
        default=True, description="Serve the built console at `/` (the API stays at /api/v1)."
    )
    static_dir: Path | None = Field(
        default=None,
        description=(
            "Directory of the built console (index.html and assets/). Default: web/dist of "
            "the source checkout the package runs from."
        ),
    )
    tile_url: str | None = Field(
        default=None,
        max_length=500,
        description=(
            "Raster tile server for the base map, as a template with {z}, {x} and {y} "
            "(a city's own server; nothing is fetched unless this is set)."
        ),
    )
    tile_attribution: str = Field(
        default="", max_length=300, description="Attribution shown for `tile_url`'s tiles."
    )
    basemap_geojson: Path | None = Field(
        default=None,
        description=(
            "GeoJSON of streets (LineStrings) and districts (Polygons) drawn as an offline "
            "vector base map. `citywitness demo` points it at the simulated city."
        ),
    )
    center_lat: float = Field(default=31.23, ge=-90, le=90, description="Map centre, latitude.")
    center_lon: float = Field(default=121.47, ge=-180, le=180, description="Map centre, longitude.")
    zoom: int = Field(default=14, ge=1, le=20, description="Initial map zoom level.")

    @field_validator("tile_url")
    @classmethod
    def _template(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("https://", "http://", "/")):
            raise ValueError("must be an http(s) URL or a path on this server")
        if not all(part in value for part in ("{z}", "{x}", "{y}")):
            raise ValueError("must contain {z}, {x} and {y}")
        return value
