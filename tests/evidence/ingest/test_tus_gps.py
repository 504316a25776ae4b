"""A tus upload may say where it was recorded (`gps_track` metadata): the item keeps the
track and its bounding box (place search and the console's map); a bad track is refused."""

from __future__ import annotations

import json
import uuid

from citywitness.evidence.models import EvidenceItem
from citywitness.evidence.tus_protocol import encode_metadata
from citywitness.kit.db import Database
from tests.evidence.ingest.conftest import OCTETS, Tus, pdf_bytes


async def test_a_gps_track_in_the_metadata_is_kept_with_its_box(tus: Tus, db: Database) -> None:
    data = pdf_bytes(2000, b"gps")
    track = [[121.47, 31.23], {"lat": 31.25, "lon": 121.5}]
    headers = tus.headers(**{"Upload-Length": str(len(data)), "Content-Type": OCTETS})
    headers["Upload-Metadata"] = encode_metadata(
        {"filename": "clip.pdf", "gps_track": json.dumps(track)}
    )
    response = await tus.client.post("/api/v1/uploads", headers=headers, content=data)
    assert response.status_code == 201, response.text
    async with db.transaction() as session:
        item = await session.get(EvidenceItem, uuid.UUID(response.headers["CW-Evidence-Id"]))
        assert item is not None
        assert item.gps_track == {
            "type": "LineString",
            "coordinates": [[121.47, 31.23], [121.5, 31.25]],
        }
        assert (item.min_lat, item.max_lat, item.min_lon, item.max_lon) == (
            31.23,
            31.25,
            121.47,
            121.5,
        )


async def test_a_bad_gps_track_is_refused_naming_the_field(tus: Tus) -> None:
    response = await tus.create(10, gps_track='{"type": "Point", "coordinates": [200, 10]}')
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "invalid_metadata"
    assert list(body["fields"]) == ["gps_track"]
