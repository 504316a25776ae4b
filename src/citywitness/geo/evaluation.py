"""Geofence evaluation: every accepted position against the zones that apply to it.

Input: the `devices.positions` events (one per stored telemetry message while any zone is
active, recorded by a trigger of the alerts migration on `device_positions`: recorder and
positions), consumed durably by the `geofences` consumer (`kit.events`).  For each
(zone, recorder) the last known side is kept in `geofence_presence`, so a crossing is an
edge (outside -> inside is `enter`, inside -> outside is `exit`), never a level.  A
recorder first seen by a zone starts on the side that keeps the rule (outside a restricted
area, inside a patrol area), so a first position that breaches the rule is a crossing.
Positions older than the last one evaluated for the pair (a backfilled message) are
skipped.  Each crossing is a `geofence_crossings` row and a `geo.crossing` event; the
alerts domain raises an alert for those that breach the rule.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import any_, literal, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from citywitness.devices.models import Recorder
from citywitness.devices.presence import officer_at
from citywitness.geo.models import Geofence, GeofenceCrossing, GeofencePresence, GeofenceRule
from citywitness.geo.shapes import Zone
from citywitness.kit import events
from citywitness.kit.events import Consumer, Event

CONSUMER = "geofences"
POSITIONS = "devices.positions"
CROSSING = "geo.crossing"


@dataclass(frozen=True)
class Fix:
    lat: float
    lon: float
    at: datetime


def fixes(payload: dict[str, Any]) -> list[Fix]:
    """The positions of a `devices.positions` event, oldest first."""
    found = [
        Fix(lat=float(p["lat"]), lon=float(p["lon"]), at=datetime.fromisoformat(str(p["at"])))
        for p in payload.get("positions") or []
    ]
    return sorted(found, key=lambda f: f.at)


def breaches(rule: str, inside: bool) -> bool:
    return inside if rule == GeofenceRule.RESTRICTED else not inside


async def _zones(session: AsyncSession, recorder: Recorder) -> list[tuple[Geofence, Zone]]:
    rows = (
        await session.execute(
            select(Geofence).where(
                Geofence.department_id == recorder.department_id,
                Geofence.active.is_(True),
                or_(
                    Geofence.recorder_ids.is_(None),
                    literal(recorder.id) == any_(Geofence.recorder_ids),
                ),
            )
        )
    ).scalars()
    return [(g, Zone.from_geojson(g.geometry)) for g in rows]


async def _presence(
    session: AsyncSession, recorder_id: uuid.UUID, zone_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, GeofencePresence]:
    rows = (
        await session.execute(
            select(GeofencePresence)
            .where(
                GeofencePresence.recorder_id == recorder_id,
                GeofencePresence.geofence_id.in_(list(zone_ids)),
            )
            .with_for_update()
        )
    ).scalars()
    return {p.geofence_id: p for p in rows}


async def _cross(
    session: AsyncSession, zone: Geofence, recorder: Recorder, fix: Fix, inside: bool
) -> None:
    crossing = GeofenceCrossing(
        id=uuid.uuid4(),
        geofence_id=zone.id,
        recorder_id=recorder.id,
        department_id=recorder.department_id,
        officer_id=(await session.scalar(select(officer_at(recorder.id, fix.at)))),
        direction="enter" if inside else "exit",
        breach=breaches(zone.rule, inside),
        at=fix.at,
        lat=fix.lat,
        lon=fix.lon,
    )
    session.add(crossing)
    await session.flush()
    await events.record(
        session,
        CROSSING,
        str(crossing.id),
        {
            "crossing_id": str(crossing.id),
            "geofence_id": str(zone.id),
            "geofence_name": zone.name,
            "rule": zone.rule,
            "severity": zone.severity,
            "recorder_id": str(recorder.id),
            "department_id": str(recorder.department_id),
            "officer_id": str(crossing.officer_id) if crossing.officer_id else None,
            "direction": crossing.direction,
            "breach": crossing.breach,
            "at": fix.at.isoformat(),
            "lat": fix.lat,
            "lon": fix.lon,
        },
    )


async def evaluate(session: AsyncSession, recorder_id: uuid.UUID, track: list[Fix]) -> int:
    """Run `track` (oldest first) through the recorder's zones; how many crossings."""
    recorder = await session.get(Recorder, recorder_id)
    if recorder is None or not track:
        return 0
    zones = await _zones(session, recorder)
    if not zones:
        return 0
    known = await _presence(session, recorder.id, [g.id for g, _ in zones])
    crossings = 0
    for zone, shape in zones:
        presence = known.get(zone.id)
        side = presence.inside if presence else zone.rule == GeofenceRule.STAY_INSIDE
        last_at = presence.position_at if presence else None
        changed_at = presence.changed_at if presence else None
        for fix in track:
            if last_at is not None and fix.at <= last_at:
                continue
            inside = shape.contains(fix.lon, fix.lat)
            if inside != side:
                await _cross(session, zone, recorder, fix, inside)
                crossings += 1
                side, changed_at = inside, fix.at
            last_at = fix.at
        if last_at is None:
            continue
        values = {"inside": side, "position_at": last_at, "changed_at": changed_at}
        await session.execute(
            insert(GeofencePresence)
            .values(geofence_id=zone.id, recorder_id=recorder.id, **values)
            .on_conflict_do_update(index_elements=["geofence_id", "recorder_id"], set_=values)
        )
    return crossings


async def handle(session: AsyncSession, batch: list[Event]) -> None:
    for event in batch:
        recorder_id = event.payload.get("recorder_id")
        if recorder_id:
            await evaluate(session, uuid.UUID(str(recorder_id)), fixes(event.payload))


def consumer(batch_size: int = 100) -> Consumer:
    return Consumer(name=CONSUMER, topics=(POSITIONS,), handle=handle, batch_size=batch_size)
