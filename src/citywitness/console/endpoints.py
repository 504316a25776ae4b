"""Console API: what the console needs beyond the domain APIs (map set-up, base map)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from citywitness import __version__
from citywitness.api.deps import CurrentPrincipal, SettingsDep
from citywitness.kit.errors import NotFound
from citywitness.kit.web import error_responses

router = APIRouter(prefix="/console", tags=["console"])

BASEMAP_PATH = "/api/v1/console/basemap"


class BasemapNotConfigured(NotFound):
    code = "basemap_not_available"
    detail = "No vector base map is configured, or its file does not exist yet."


class Basemap(BaseModel):
    kind: Literal["geojson", "tiles", "none"] = Field(
        description="geojson: vector streets from `url`; tiles: a raster tile template; "
        "none: no base map (positions on a blank grid)."
    )
    url: str | None = Field(description="GeoJSON URL or tile template with {z}, {x}, {y}.")
    attribution: str


class ConsoleConfig(BaseModel):
    version: str
    languages: list[str] = Field(description="UI languages, BCP 47.")
    center: tuple[float, float] = Field(description="Initial map centre, [lat, lon].")
    zoom: int
    basemap: Basemap


@router.get(
    "/config",
    summary="The console's map set-up and languages.",
    description="Any signed-in caller. The base map is the city's tile server when "
    "console.tile_url is set, else the configured GeoJSON streets, else none.",
    response_model=ConsoleConfig,
    responses=error_responses(401),
)
async def get_config(settings: SettingsDep, principal: CurrentPrincipal) -> ConsoleConfig:
    del principal  # signed in is enough
    console = settings.console
    if console.tile_url is not None:
        basemap = Basemap(kind="tiles", url=console.tile_url, attribution=console.tile_attribution)
    elif console.basemap_geojson is not None:
        basemap = Basemap(kind="geojson", url=BASEMAP_PATH, attribution="CityWitness")
    else:
        basemap = Basemap(kind="none", url=None, attribution="")
    return ConsoleConfig(
        version=__version__,
        languages=["en", "zh-CN"],
        center=(console.center_lat, console.center_lon),
        zoom=console.zoom,
        basemap=basemap,
    )


@router.get(
    "/basemap",
    summary="The offline vector base map (GeoJSON streets and districts).",
    description="Any signed-in caller. 404 basemap_not_available when none is configured or "
    "its file is not written yet (the demo's simulator writes it when the fleet starts).",
    response_class=FileResponse,
    responses={
        200: {"content": {"application/geo+json": {}}, "description": "GeoJSON."},
        **error_responses(401, 404),
    },
)
async def get_basemap(settings: SettingsDep, principal: CurrentPrincipal) -> FileResponse:
    del principal
    path = settings.console.basemap_geojson
    if path is None or not path.is_file():
        raise BasemapNotConfigured
    return FileResponse(
        path, media_type="application/geo+json", headers={"Cache-Control": "private, max-age=300"}
    )
