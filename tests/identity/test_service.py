"""Identity services: users, memberships, passwords, lockout, sessions, tokens."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from citywitness.access.errors import ObjectNotVisible
from citywitness.access.levels import Classification, Role
from citywitness.access.permissions import Permission
from citywitness.identity import service
from citywitness.identity.errors import (
    AccountLocked,
    InvalidUsername,
    LoginFailed,
    TokenLifetimeTooLong,
    UnknownDepartment,
    UsernameTaken,
    WeakPassword,
)
from citywitness.identity.models import ApiToken, ConsoleSession, Membership, User
from citywitness.identity.passwords import verify_password
from citywitness.identity.principals import load_principal
from citywitness.identity.service import LoginFailure, lockout_seconds
from citywitness.identity.sessions import end_session, start_session
from citywitness.identity.tokens import create_token, revoke_token
from citywitness.kit.db import Database
from citywitness.kit.hashing import sha256_hex
from citywitness.settings import AuthSettings
from tests.factories import PASSWORD, PUBLIC_SECURITY, TRAFFIC_POLICE, make_user

T0 = datetime(2026, 11, 24, 8, 0, 0, tzinfo=UTC)
LOCKOUT = AuthSettings(lockout_threshold=3, lockout_base_seconds=30, lockout_max_seconds=100)


async def test_create_user_hashes_with_argon2id_and_normalizes(db: Database) -> None:
    async with db.transaction() as session:
        user = await service.create_user(
            session,
            username="  Li.Wei_01 ",
            display_name=" Li Wei ",
            password="a long enough password",
            clearance=Classification.SENSITIVE,
            email="li.wei@example.org",
        )
        row = await session.get(User, user.id)
    assert row is not None
    assert row.username == "li.wei_01"
    assert row.display_name == "Li Wei"
    assert row.clearance == 2
    assert row.is_active is True
    assert row.failed_logins == 0
    assert row.email == "li.wei@example.org"
    assert row.password_hash is not None
    assert row.password_hash.startswith("$argon2id$")
    assert verify_password(row.password_hash, "a long enough password") is True
    assert row.password_changed_at is not None


@pytest.mark.parametrize("username", ["ab", "has space", "ünïcode", "x" * 81, "semi;colon", ""])
async def test_invalid_usernames_are_refused(db: Database, username: str) -> None:
    async with db.transaction() as session:
        with pytest.raises(InvalidUsername):
            await service.create_user(
                session,
                username=username,
                display_name="X",
                password=None,
                clearance=Classification.PUBLIC,
            )


async def test_username_taken_and_weak_password(db: Database) -> None:
    async with db.transaction() as session:
        await service.create_user(
            session,
            username="taken",
            display_name="T",
            password=None,
            clearance=Classification.PUBLIC,
        )
    async with db.transaction() as session:
        with pytest.raises(UsernameTaken):
            await service.create_user(
                session,
                username="TAKEN",
                display_name="T",
                password=None,
                clearance=Classification.PUBLIC,
            )
    async with db.transaction() as session:
        with pytest.raises(WeakPassword) as raised:
            await service.create_user(
                session,
                username="weak",
                display_name="W",
                password="x" * 11,
                clearance=Classification.PUBLIC,
            )
    assert raised.value.fields == {"password": "at least 12 characters"}


async def test_oidc_only_user_has_no_password(db: Database) -> None:
    async with db.transaction() as session:
        user = await service.create_user(
            session,
            username="sso.only",
            display_name="S",
            password=None,
            clearance=Classification.PUBLIC,
        )
    assert user.password_hash is None
    assert user.password_changed_at is None


async def test_add_membership_is_idempotent_and_checks_the_department(db: Database) -> None:
    async with db.transaction() as session:
        user = await make_user(session)
        first = await service.add_membership(
            session, user_id=user.id, department_id=PUBLIC_SECURITY, role=Role.OFFICER
        )
        again = await service.add_membership(
            session, user_id=user.id, department_id=PUBLIC_SECURITY, role=Role.OFFICER
        )
        assert again.id == first.id
        count = await session.scalar(
            select(func.count()).select_from(Membership).where(Membership.user_id == user.id)
        )
        assert count == 1
        with pytest.raises(UnknownDepartment):
            await service.add_membership(
                session, user_id=user.id, department_id=uuid.uuid4(), role=Role.OFFICER
            )
        await service.remove_membership(session, membership=first)
        assert await service.memberships_of(session, user.id) == []


@pytest.mark.parametrize(
    ("failures", "seconds"),
    [(1, 0), (2, 0), (3, 30), (4, 60), (5, 100), (6, 100), (200, 100)],
)
def test_lockout_doubles_from_the_threshold_up_to_the_cap(failures: int, seconds: int) -> None:
    assert lockout_seconds(failures, LOCKOUT) == seconds


async def _attempt(
    db: Database, username: str, password: str, now: datetime
) -> service.LoginAttempt:
    async with db.transaction() as session:
        return await service.attempt_login(
            session, username=username, password=password, auth=LOCKOUT, now=now
        )


async def _state(db: Database, user_id: uuid.UUID) -> tuple[int, datetime | None]:
    async with db.transaction() as session:
        user = await session.get(User, user_id, populate_existing=True)
        assert user is not None
        return user.failed_logins, user.locked_until


async def test_lockout_back_off_and_reset(db: Database) -> None:
    async with db.transaction() as session:
        user = await make_user(session)
    name = user.username
    for expected in (1, 2):
        attempt = await _attempt(db, name, "wrong password!", T0)
        assert (attempt.failure, attempt.failed_logins, attempt.locked_now) == (
            LoginFailure.WRONG_PASSWORD,
            expected,
            False,
        )
        assert await _state(db, user.id) == (expected, None)
    third = await _attempt(db, name, "wrong password!", T0)
    assert (third.failed_logins, third.locked_now) == (3, True)
    assert await _state(db, user.id) == (3, T0 + timedelta(seconds=30))

    locked = await _attempt(db, name, PASSWORD, T0 + timedelta(seconds=10))
    assert locked.failure is LoginFailure.ACCOUNT_LOCKED
    assert locked.retry_after(T0 + timedelta(seconds=10)) == 20
    with pytest.raises(AccountLocked) as raised:
        locked.user_or_raise(T0 + timedelta(seconds=10))
    assert raised.value.status == 429
    assert raised.value.headers == {"Retry-After": "20"}
    assert await _state(db, user.id) == (3, T0 + timedelta(seconds=30))  # not counted

    t1 = T0 + timedelta(seconds=31)
    fourth = await _attempt(db, name, "wrong password!", t1)
    assert fourth.locked_now is True
    assert await _state(db, user.id) == (4, t1 + timedelta(seconds=60))
    t2 = t1 + timedelta(seconds=61)
    await _attempt(db, name, "wrong password!", t2)
    assert await _state(db, user.id) == (5, t2 + timedelta(seconds=100))

    t3 = t2 + timedelta(seconds=101)
    success = await _attempt(db, name, PASSWORD, t3)
    assert success.failure is None
    assert success.user_or_raise(t3).id == user.id
    assert await _state(db, user.id) == (0, None)
    async with db.transaction() as session:
        fresh = await session.get(User, user.id, populate_existing=True)
        assert fresh is not None
        assert fresh.last_login_at == t3


async def test_unknown_and_disabled_users_fail_like_a_wrong_password(db: Database) -> None:
    async with db.transaction() as session:
        user = await make_user(session)
        await service.disable_user(session, user=user)
    unknown = await _attempt(db, "nobody-here", PASSWORD, T0)
    assert (unknown.failure, unknown.user) == (LoginFailure.UNKNOWN_USER, None)
    disabled = await _attempt(db, user.username, PASSWORD, T0)
    assert disabled.failure is LoginFailure.ACCOUNT_DISABLED
    assert await _state(db, user.id) == (0, None)
    for attempt in (unknown, disabled):
        with pytest.raises(LoginFailed):
            attempt.user_or_raise(T0)
    wrong = await _attempt(db, user.username, "not the password", T0)
    assert wrong.failure is LoginFailure.WRONG_PASSWORD
    async with db.transaction() as session:
        with pytest.raises(LoginFailed):
            await service.authenticate(
                session, username="nobody-here", password=PASSWORD, auth=LOCKOUT, now=T0
            )


async def test_sessions_store_only_hashes_and_end(db: Database) -> None:
    auth = AuthSettings(session_ttl_seconds=3600)
    async with db.transaction() as session:
        user = await make_user(session)
        console, token, csrf = await start_session(
            session,
            user=user,
            auth_method="password",
            client_address="198.51.100.4",
            settings=auth,
            now=T0,
        )
    assert (console.token_hash, console.csrf_hash) == (sha256_hex(token), sha256_hex(csrf))
    assert token != csrf
    assert console.expires_at == T0 + timedelta(seconds=3600)
    assert console.last_seen_at == T0
    assert console.client_address == "198.51.100.4"
    async with db.transaction() as session:
        await end_session(session, console_session_id=console.id, now=T0 + timedelta(minutes=5))
        row = await session.get(ConsoleSession, console.id, populate_existing=True)
    assert row is not None
    assert row.revoked_at == T0 + timedelta(minutes=5)


async def test_disable_revokes_sessions_and_tokens_and_enable_restores(db: Database) -> None:
    async with db.transaction() as session:
        user = await make_user(session, roles={PUBLIC_SECURITY: [Role.OFFICER]})
        principal = await load_principal(session, user)
        await start_session(
            session, user=user, auth_method="password", client_address=None, settings=LOCKOUT
        )
        await create_token(
            session, principal, name="t", scopes=["evidence:read"], expires_in_days=1, max_days=5
        )
        user.failed_logins, user.locked_until = 4, T0
        await service.disable_user(session, user=user, now=T0)
        sessions = list(
            await session.scalars(
                select(ConsoleSession.revoked_at).where(ConsoleSession.user_id == user.id)
            )
        )
        tokens = list(
            await session.scalars(select(ApiToken.revoked_at).where(ApiToken.user_id == user.id))
        )
        assert (user.is_active, sessions, tokens) == (False, [T0], [T0])
        await service.enable_user(session, user=user)
        assert (user.is_active, user.failed_logins, user.locked_until) == (True, 0, None)


async def test_set_password_replaces_hash_and_ends_sessions(db: Database) -> None:
    async with db.transaction() as session:
        user = await make_user(session)
        user.failed_logins, user.locked_until = 3, T0
        console, _, _ = await start_session(
            session, user=user, auth_method="password", client_address=None, settings=LOCKOUT
        )
        with pytest.raises(WeakPassword):
            await service.set_password(session, user=user, password="short", min_length=12)
        await service.set_password(
            session, user=user, password="a brand new password", min_length=12, now=T0
        )
        assert user.password_hash is not None
        assert verify_password(user.password_hash, "a brand new password") is True
        assert verify_password(user.password_hash, PASSWORD) is False
        assert (user.failed_logins, user.locked_until, user.password_changed_at) == (0, None, T0)
        await session.refresh(console)
        assert console.revoked_at == T0


async def test_tokens_lifetime_and_who_may_revoke(db: Database) -> None:
    async with db.transaction() as session:
        owner = await make_user(session, roles={PUBLIC_SECURITY: [Role.OFFICER]})
        stranger = await make_user(session, roles={TRAFFIC_POLICE: [Role.DEPARTMENT_ADMIN]})
        admin = await make_user(session, roles={PUBLIC_SECURITY: [Role.DEPARTMENT_ADMIN]})
        as_owner = await load_principal(session, owner)
        with pytest.raises(TokenLifetimeTooLong):
            await create_token(
                session, as_owner, name="t", scopes=["evidence:read"], expires_in_days=6, max_days=5
            )
        issued = await create_token(
            session,
            as_owner,
            name="t",
            scopes=["evidence:read"],
            expires_in_days=5,
            max_days=5,
            now=T0,
        )
        assert issued.token.expires_at == T0 + timedelta(days=5)
        assert issued.token.token_hash == sha256_hex(issued.secret)
        with pytest.raises(ObjectNotVisible):
            await revoke_token(
                session, await load_principal(session, stranger), token_id=issued.token.id
            )
        with pytest.raises(ObjectNotVisible):
            await revoke_token(session, as_owner, token_id=uuid.uuid4())
        revoked = await revoke_token(
            session, await load_principal(session, admin), token_id=issued.token.id, now=T0
        )
        assert revoked.revoked_at == T0
        again = await revoke_token(session, as_owner, token_id=issued.token.id)
        assert again.revoked_at == T0
        own = await create_token(
            session,
            as_owner,
            name="mine",
            scopes=[Permission.EVIDENCE_READ.value],
            expires_in_days=1,
            max_days=5,
        )
        assert (await revoke_token(session, as_owner, token_id=own.token.id)).revoked_at is not None
