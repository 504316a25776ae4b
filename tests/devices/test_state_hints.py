"""The in-process "last written" hint of the hot state is kept only for committed writes:
a write whose transaction rolls back must not make the next, identical write look done."""

from __future__ import annotations

from datetime import timedelta

import pytest

from citywitness.devices import state
from citywitness.kit.clock import utcnow
from citywitness.kit.db import Database
from tests.devices.helpers import make_enrolled
from tests.factories import PUBLIC_SECURITY


class Rollback(Exception):
    pass


async def test_a_rolled_back_write_leaves_no_hint(db: Database) -> None:
    device = await make_enrolled(db)
    upd = state.StateUpdate(seen_at=utcnow(), transport="https", recording=True)

    async def apply() -> state.StateWrite:
        async with db.transaction() as session:
            return await state.apply_state(
                session,
                recorder_id=device.identity.device_id,
                department_id=PUBLIC_SECURITY,
                serial=device.identity.serial,
                upd=upd,
                min_interval=timedelta(seconds=60),
            )

    with pytest.raises(Rollback):
        async with db.transaction() as session:
            await state.apply_state(
                session,
                recorder_id=device.identity.device_id,
                department_id=PUBLIC_SECURITY,
                serial=device.identity.serial,
                upd=upd,
                min_interval=timedelta(seconds=60),
            )
            raise Rollback
    assert device.identity.device_id not in state._last_written
    first = await apply()  # the same update again: it was never stored, so it is written
    assert first.written is True
    assert device.identity.device_id in state._last_written
    again = await apply()  # now committed: the hint skips the database
    assert again.written is False
