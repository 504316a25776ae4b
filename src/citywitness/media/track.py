"""Where a live session was recorded: the recorder's positions during the session become
the sealed item's GPS track (a GeoJSON LineString, or a Point for one fix) and bounding box,
so place search and the console's map find live recordings like uploads that carry a track.

Positions are the ones the recorder reported (`device_positions`) from the session's start
to its end, in time order; a long session is thinned evenly to `geo.MAX_POINTS`.  A session
without positions keeps no track.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from citywitness.devices.models import DevicePosition
from citywitness.evidence import geo
from citywitness.evidence.models import EvidenceItem
from citywitness.media.models import LiveSession


def thinned(points: list[list[float]], limit: int = geo.MAX_POINTS) -> list[list[float]]:
    """At most `limit` points, evenly spaced, always keeping the first and the last."""
    if len(points) <= limit:
        return points
    step = (len(points) - 1) / (limit - 1)
    return [points[round(i * step)] for i in range(limit)]


async def session_track(
    session: AsyncSession, live: LiveSession, end: datetime
) -> geo.Track | None:
    rows = await session.execute(
        select(DevicePosition.lon, DevicePosition.lat)
        .where(
            DevicePosition.recorder_id == live.recorder_id,
            DevicePosition.at >= live.started_at,
            DevicePosition.at <= end,
        )
        .order_by(DevicePosition.at, DevicePosition.seq)
    )
    points = [[float(lon), float(lat)] for lon, lat in rows]
    if not points:
        return None
    if len(points) == 1:
        return geo.parse_track({"type": "Point", "coordinates": points[0]})
    return geo.parse_track({"type": "LineString", "coordinates": thinned(points)})


async def place(session: AsyncSession, live: LiveSession, item: EvidenceItem) -> None:
    """Give the item the track of its session, unless it already has one."""
    if item.gps_track is not None:
        return
    end = item.captured_end or live.last_segment_at
    track = await session_track(session, live, end)
    box = geo.bounding_box(track)
    if track is None or box is None:
        return
    item.gps_track = track
    item.min_lat, item.max_lat = box.min_lat, box.max_lat
    item.min_lon, item.max_lon = box.min_lon, box.max_lon
