"""Authorization cases for geofences (see matrix.py): reading needs alerts:read in the
zone's department (else 404), changing needs alerts:manage (403 for one who can see it)."""

from __future__ import annotations

import uuid

from citywitness.access.permissions import Permission
from citywitness.geo.models import Geofence
from citywitness.kit.db import Database
from tests.authz.matrix import HOME, Actor, Case, Prepared, department_case, object_case

P = Permission
AREA = {
    "type": "Polygon",
    "coordinates": [[[121.0, 31.0], [121.1, 31.0], [121.1, 31.1], [121.0, 31.0]]],
}


async def new_zone(_db: Database, _caller: Actor | None) -> Prepared:
    return Prepared(
        json={"name": "patrol", "department_id": str(HOME), "rule": "stay_inside", "geometry": AREA}
    )


async def home_zone(db: Database, _caller: Actor | None) -> Prepared:
    async with db.transaction() as session:
        zone = Geofence(
            id=uuid.uuid4(),
            name="patrol",
            department_id=HOME,
            rule="stay_inside",
            geometry=AREA,
            active=True,
        )
        session.add(zone)
    return Prepared(path={"geofence_id": str(zone.id)}, json={"name": "patrol 2"})


CASES: list[Case] = [
    department_case(
        "GET", "/api/v1/geofences", P.ALERTS_READ, other=200, note="only zones in scope"
    ),
    department_case("POST", "/api/v1/geofences", P.ALERTS_MANAGE, new_zone, success=201),
    object_case("GET", "/api/v1/geofences/{geofence_id}", P.ALERTS_READ, home_zone, without=404),
    object_case("PATCH", "/api/v1/geofences/{geofence_id}", P.ALERTS_MANAGE, home_zone),
]
