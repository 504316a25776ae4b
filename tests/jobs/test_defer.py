"""A job is queued in the transaction of the change it follows: both or neither."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest
from procrastinate.exceptions import AlreadyEnqueued

from citywitness.identity import tasks as identity_tasks
from citywitness.identity.models import ConsoleSession, OidcLoginState
from citywitness.kit.clock import utcnow
from citywitness.kit.db import Database
from citywitness.kit.jobs import DeferOptions, defer, task_name
from tests.factories import make_user
from tests.jobs import tasks as test_tasks
from tests.jobs.conftest import RunOnce
from tests.jobs.helpers import rows

PURGE = "identity:purge_expired_logins"
DAYS_40 = timedelta(days=40)


class Boom(Exception):
    pass


def _login_state(state: str, expires_at: datetime) -> OidcLoginState:
    return OidcLoginState(
        state=state, provider="keycloak", nonce="n", code_verifier="v", expires_at=expires_at
    )


def _session(user_id: uuid.UUID, **times: datetime | None) -> ConsoleSession:
    now = utcnow()
    values: dict[str, object] = {"expires_at": now, "last_seen_at": now, "revoked_at": None}
    values.update(times)
    return ConsoleSession(
        token_hash=uuid.uuid4().hex * 2, csrf_hash="c" * 64, user_id=user_id, **values
    )


def test_task_names_carry_their_namespace() -> None:
    assert task_name(identity_tasks.purge_expired_logins) == PURGE
    assert task_name(test_tasks.flaky) == "tests:flaky"


async def test_rolled_back_change_queues_no_job(jobs_db: Database, run_once: RunOnce) -> None:
    with pytest.raises(Boom):
        async with jobs_db.transaction() as session:
            session.add(_login_state("gone", utcnow() - timedelta(minutes=1)))
            job_id = await defer(session, identity_tasks.purge_expired_logins)
            assert job_id > 0
            raise Boom

    await run_once(("maintenance",))

    assert await rows(jobs_db, "SELECT id FROM procrastinate_jobs") == []
    assert await rows(jobs_db, "SELECT id FROM procrastinate_events") == []
    assert await rows(jobs_db, "SELECT state FROM oidc_login_states") == []


async def test_committed_change_runs_its_job_once(jobs_db: Database, run_once: RunOnce) -> None:
    now = utcnow()
    async with jobs_db.transaction() as session:
        user = await make_user(session)
        session.add_all(
            [
                _login_state("expired", now - timedelta(seconds=1)),
                _login_state("live", now + timedelta(minutes=10)),
                _session(user.id, expires_at=now - timedelta(days=31)),
                _session(user.id, expires_at=now - timedelta(days=29)),
                _session(user.id, expires_at=now + timedelta(hours=1)),
                _session(user.id, expires_at=now + timedelta(hours=1), revoked_at=now - DAYS_40),
            ]
        )
        await session.flush()
        job_id = await defer(session, identity_tasks.purge_expired_logins)

    queued = (
        "SELECT id, task_name, queue_name, status::text, attempts, args FROM procrastinate_jobs"
    )
    assert await rows(jobs_db, queued) == [(job_id, PURGE, "maintenance", "todo", 0, {})]

    await run_once(("maintenance",))

    assert await rows(jobs_db, queued) == [(job_id, PURGE, "maintenance", "succeeded", 1, {})]
    events = "SELECT type::text FROM procrastinate_events WHERE job_id = :id ORDER BY id"
    assert await rows(jobs_db, events, id=job_id) == [("deferred",), ("started",), ("succeeded",)]
    assert await rows(jobs_db, "SELECT state FROM oidc_login_states") == [("live",)]
    left = "SELECT expires_at < now(), revoked_at IS NULL FROM console_sessions ORDER BY expires_at"
    assert await rows(jobs_db, left) == [(True, True), (False, True)]


async def test_job_arguments_and_options_are_stored(jobs_db: Database) -> None:
    async with jobs_db.transaction() as session:
        before = utcnow()
        job_id = await defer(
            session,
            test_tasks.record,
            options=DeferOptions(
                queue="cpu", priority=5, lock="evidence-1", delay=timedelta(minutes=5)
            ),
            key="k1",
        )
    stored = await rows(
        jobs_db,
        "SELECT task_name, queue_name, priority, lock, args, scheduled_at"
        " FROM procrastinate_jobs WHERE id = :id",
        id=job_id,
    )
    assert stored[0][:5] == ("tests:record", "cpu", 5, "evidence-1", {"key": "k1"})
    assert before + timedelta(minutes=5) <= stored[0][5] <= utcnow() + timedelta(minutes=5)


async def test_queueing_lock_refuses_a_second_waiting_job(jobs_db: Database) -> None:
    once = DeferOptions(queueing_lock="record:k1")
    async with jobs_db.transaction() as session:
        first = await defer(session, test_tasks.record, options=once, key="k1")
        with pytest.raises(AlreadyEnqueued):
            await defer(session, test_tasks.record, options=once, key="k1")
        # the savepoint kept the transaction usable: this change still commits
        session.add(_login_state("kept", utcnow()))

    assert await rows(jobs_db, "SELECT id FROM procrastinate_jobs") == [(first,)]
    assert await rows(jobs_db, "SELECT state FROM oidc_login_states") == [("kept",)]


async def test_defer_joins_the_rolled_back_test_transaction(db: Database) -> None:
    """Inside the suite's rolled-back `db` fixture a job is visible, then gone with it."""
    async with db.transaction() as session:
        job_id = await defer(session, test_tasks.record, key="k2")
    query = "SELECT task_name, args FROM procrastinate_jobs WHERE id = :id"
    found = await rows(db, query, id=job_id)
    assert found == [("tests:record", {"key": "k2"})]
