"""Setting up the fleet through the public API, as a department admin would.

With an API token holding `SCOPES` (a department admin's, or a platform admin's), for
each virtual recorder: register it (or find it from an earlier run: serials are
`SIM<seed>-<n>`), create its officer (badge `SIM<seed>-<n>`), issue a one-time enrollment
code, enroll with that code as the recorder itself would (no credentials, only the code),
and bind the officer for the shift.  Enrolling again replaces an earlier run's credential.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx

API = "/api/v1"
SCOPES = (
    "departments:read",
    "officers:read",
    "officers:manage",
    "devices:read",
    "devices:manage",
    "devices:bind",
)


class ProvisionError(RuntimeError):
    """The platform refused a set-up call; the message names it and the answer."""


@dataclass(frozen=True)
class Credential:
    """What enrollment gave one virtual recorder."""

    index: int
    serial: str
    recorder_id: str
    department_code: str
    department_id: str
    officer_id: str
    secret: str

    @property
    def http_authorization(self) -> str:
        return f"Device {self.serial}:{self.secret}"


def serial_for(seed: int, index: int) -> str:
    return f"SIM{seed}-{index + 1:05d}"


def _check(response: httpx.Response, what: str, *ok: int) -> dict[str, Any]:
    if response.status_code not in ok:
        raise ProvisionError(f"{what}: HTTP {response.status_code} {response.text[:300]}")
    body: dict[str, Any] = response.json() if response.content else {}
    return body


async def _all_pages(client: httpx.AsyncClient, path: str, params: dict[str, Any]) -> list[Any]:
    items: list[Any] = []
    cursor = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        body = _check(await client.get(path, params=query), f"GET {path}", 200)
        items += body["items"]
        cursor = body.get("next_cursor")
        if not cursor:
            return items


class Provisioner:
    """Registers, enrolls and binds virtual recorders; `client` carries the admin token."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        device_client: httpx.AsyncClient,
        *,
        seed: int,
        concurrency: int = 8,
    ) -> None:
        self.client = client
        self.device_client = device_client  # no credentials: enrollment needs only the code
        self.seed = seed
        self.limit = asyncio.Semaphore(concurrency)
        self.recorders: dict[str, str] = {}
        self.officers: dict[str, str] = {}

    async def departments(self, codes: Sequence[str] | None) -> list[tuple[str, str]]:
        """(code, id) of the departments to use: those named, or every one."""
        body = _check(await self.client.get(f"{API}/departments"), "GET departments", 200)
        found = [(d["code"], d["id"]) for d in body["items"]]
        if codes:
            known = dict(found)
            missing = [c for c in codes if c not in known]
            if missing:
                raise ProvisionError(f"unknown department(s): {', '.join(missing)}")
            return [(c, known[c]) for c in codes]
        if not found:
            raise ProvisionError("the platform has no department")
        return sorted(found)

    async def _known(self) -> None:
        prefix = f"SIM{self.seed}-"
        for r in await _all_pages(self.client, f"{API}/devices", {"q": prefix, "limit": 500}):
            self.recorders[r["serial"]] = r["id"]
        for o in await _all_pages(self.client, f"{API}/officers", {"q": prefix, "limit": 200}):
            self.officers[o["badge_number"]] = o["id"]

    async def provision(self, count: int, departments: list[tuple[str, str]]) -> list[Credential]:
        await self._known()
        tasks = [
            self._one(index, departments[index % len(departments)][1]) for index in range(count)
        ]
        return list(await asyncio.gather(*tasks))

    async def _one(self, index: int, department_id: str) -> Credential:
        async with self.limit:
            serial = serial_for(self.seed, index)
            recorder_id = self.recorders.get(serial) or await self._register(
                serial, department_id, index
            )
            officer_id = self.officers.get(serial) or await self._officer(
                serial, department_id, index
            )
            code = _check(
                await self.client.post(f"{API}/devices/{recorder_id}/enrollment-code"),
                f"enrollment code for {serial}",
                201,
            )["code"]
            enrolled = _check(
                await self.device_client.post(
                    f"{API}/devices/enroll", json={"serial": serial, "code": code}
                ),
                f"enroll {serial}",
                200,
            )
            bound = await self.client.post(
                f"{API}/devices/{recorder_id}/binding", json={"officer_id": officer_id}
            )
            if bound.status_code != 409:  # already bound from an earlier run: fine
                _check(bound, f"bind {serial}", 201)
            return Credential(
                index=index,
                serial=serial,
                recorder_id=recorder_id,
                department_code=enrolled["department_code"],
                department_id=department_id,
                officer_id=officer_id,
                secret=enrolled["secret"],
            )

    async def _register(self, serial: str, department_id: str, index: int) -> str:
        body = {
            "serial": serial,
            "department_id": department_id,
            "model": "CityWitness virtual recorder",
            "firmware": "sim-1.0",
            "imei": f"86{self.seed % 1000:03d}{index:010d}"[:15].ljust(15, "0"),
            "notes": "created by `citywitness simulate`",
        }
        created = _check(
            await self.client.post(f"{API}/devices", json=body), f"register {serial}", 201
        )
        return str(created["id"])

    async def _officer(self, badge: str, department_id: str, index: int) -> str:
        body = {
            "badge_number": badge,
            "display_name": f"Virtual officer {index + 1}",
            "department_id": department_id,
        }
        created = _check(
            await self.client.post(f"{API}/officers", json=body), f"officer {badge}", 201
        )
        return str(created["id"])
