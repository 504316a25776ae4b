"""Shared pieces of the commands tests (no tests here): issuing, acknowledging, reading."""

from __future__ import annotations

from typing import Any

import httpx

from tests.devices.helpers import Enrolled
from tests.factories import Actor

API = "/api/v1/devices"


async def send(
    client: httpx.AsyncClient, actor: Actor, device: Enrolled, body: dict[str, Any]
) -> httpx.Response:
    return await client.post(
        f"{API}/{device.identity.device_id}/commands", json=body, headers=actor.headers
    )


async def issue(
    client: httpx.AsyncClient, actor: Actor, device: Enrolled, body: dict[str, Any]
) -> dict[str, Any]:
    response = await send(client, actor, device, body)
    assert response.status_code == 202, response.text
    found: dict[str, Any] = response.json()
    return found


async def ack(
    client: httpx.AsyncClient, device: Enrolled, command_id: str, status: str, **extra: Any
) -> httpx.Response:
    return await client.post(
        f"{API}/self/commands/{command_id}/ack",
        json={"status": status, **extra},
        headers=device.headers,
    )


async def read(client: httpx.AsyncClient, actor: Actor, command_id: str) -> dict[str, Any]:
    response = await client.get(f"{API}/commands/{command_id}", headers=actor.headers)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def transitions(command: dict[str, Any]) -> list[tuple[str | None, str, str, str | None]]:
    return [
        (e["from_state"], e["to_state"], e["source"], e["transport"]) for e in command["events"]
    ]
