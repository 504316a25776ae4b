"""Webhooks end to end: a real HTTP receiver checks the signature; failures are retried."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, text

from citywitness.access.levels import Role
from citywitness.alerts.models import AlertDelivery, DeliveryAttempt
from citywitness.alerts.signing import sign, verify
from citywitness.app import create_app
from citywitness.kit.db import Database
from citywitness.settings import Settings
from citywitness.worker import build_worker, open_jobs, run_worker
from tests.alerts.helpers import drain, send_event
from tests.devices.helpers import make_enrolled
from tests.factories import PUBLIC_SECURITY, make_actor


@dataclass
class Receiver:
    url: str
    statuses: list[int]
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver(url="", statuses=[500])

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            found.received.append((dict(self.headers.items()), body))
            self.send_response(found.statuses.pop(0) if found.statuses else 204)
            self.end_headers()

        def log_message(self, *_args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    found.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/cw"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield found
    server.shutdown()
    server.server_close()


def test_signature_round_trip_and_tampering() -> None:
    body = b'{"a":1}'
    header = sign("whsec_x", 1_700_000_000, body)
    assert verify("whsec_x", header, body, now=1_700_000_100)
    assert not verify("whsec_x", header, b'{"a":2}', now=1_700_000_100)
    assert not verify("whsec_y", header, body, now=1_700_000_100)
    assert not verify("whsec_x", header, body, now=1_700_001_000)  # replayed too late
    assert not verify("whsec_x", "v1=abc", body, now=1_700_000_000)


async def _run_jobs(settings: Settings, db: Database) -> None:
    worker = build_worker(settings, db, queues=["default"], wait=False)
    await asyncio.wait_for(run_worker(worker, settings, db), 60)


async def test_signed_delivery_retried_until_taken(
    committed_db: Database, receiver: Receiver, tmp_path: Path
) -> None:
    settings = Settings(
        data_dir=tmp_path / "data",
        database={"url": committed_db.url},  # type: ignore[arg-type]
        jobs={"in_process_worker": False, "periodic": False},  # type: ignore[arg-type]
    )
    admin = await make_actor(committed_db, roles={PUBLIC_SECURITY: [Role.DEPARTMENT_ADMIN]})
    app = create_app(settings, committed_db)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        made = await client.post(
            "/api/v1/alert-webhooks",
            json={
                "name": "dispatch",
                "url": receiver.url,
                "department_id": str(PUBLIC_SECURITY),
                "min_severity": "high",
            },
            headers=admin.headers,
        )
    assert made.status_code == 201
    secret = made.json()["secret"]
    device = await make_enrolled(committed_db)
    await send_event(committed_db, device, "low_battery")  # below min_severity: not sent
    await send_event(committed_db, device, "sos")
    await drain(committed_db)
    async with open_jobs(committed_db.url):
        await _run_jobs(settings, committed_db)  # the receiver answers 500
        async with committed_db.transaction() as session:
            await session.execute(text("UPDATE procrastinate_jobs SET scheduled_at = now()"))
        await _run_jobs(settings, committed_db)  # now 204
    assert len(receiver.received) == 2
    headers, body = receiver.received[-1]
    timestamp, _, mac = headers["CW-Signature"].partition(",v1=")
    timestamp = timestamp.removeprefix("t=")
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    assert hmac.compare_digest(mac, expected.hexdigest())
    assert abs(int(timestamp) - time.time()) < 120
    sent = json.loads(body)
    assert (sent["type"], sent["alert"]["kind"], sent["alert"]["severity"]) == (
        "alert.raised",
        "sos",
        "critical",
    )
    assert headers["CW-Event"] == "alert.raised"
    async with committed_db.transaction() as session:
        delivery = (
            await session.execute(select(AlertDelivery).where(AlertDelivery.channel == "webhook"))
        ).scalar_one()
        attempts = (
            await session.execute(
                select(DeliveryAttempt)
                .where(DeliveryAttempt.delivery_id == delivery.id)
                .order_by(DeliveryAttempt.attempt)
            )
        ).scalars()
        tries = [(a.attempt, a.ok, a.status_code) for a in attempts]
    assert (delivery.state, delivery.attempts, headers["CW-Delivery"]) == (
        "delivered",
        2,
        str(delivery.id),
    )
    assert tries == [(1, False, 500), (2, True, 204)]
