"""Users, memberships, passwords and password logins.

Every function takes the caller's session and flushes; the edge (request, CLI) commits.
Who may call what is decided by `identity.policy`; these functions only keep the data
consistent.
"""

from __future__ import annotations

import asyncio
import enum
import math
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from citywitness.access.levels import Classification, Role
from citywitness.identity.errors import (
    AccountLocked,
    InvalidUsername,
    LoginFailed,
    UnknownDepartment,
    UsernameTaken,
    WeakPassword,
)
from citywitness.identity.models import ApiToken, ConsoleSession, Membership, User
from citywitness.identity.passwords import hash_password, needs_rehash, verify_password
from citywitness.kit.clock import utcnow
from citywitness.settings import AuthSettings

USERNAME_PATTERN = re.compile(r"^[a-z0-9._-]{3,80}$")
DEFAULT_PASSWORD_MIN_LENGTH: int = AuthSettings.model_fields["password_min_length"].default
PASSWORD_MAX_LENGTH = 1024


def normalize_username(username: str) -> str:
    """The stored form of a username: stripped, lowercase; `InvalidUsername` if malformed."""
    name = username.strip().lower()
    if not USERNAME_PATTERN.fullmatch(name):
        raise InvalidUsername(fields={"username": InvalidUsername.__doc__})
    return name


def check_password(password: str, min_length: int) -> None:
    if len(password) < min_length:
        raise WeakPassword(
            f"the password must have at least {min_length} characters",
            fields={"password": f"at least {min_length} characters"},
        )
    if len(password) > PASSWORD_MAX_LENGTH:
        raise WeakPassword(fields={"password": f"at most {PASSWORD_MAX_LENGTH} characters"})


async def _hash(password: str) -> str:
    # Argon2 takes tens of milliseconds of CPU; keep the event loop free meanwhile.
    return await asyncio.to_thread(hash_password, password)


async def create_user(
    session: AsyncSession,
    *,
    username: str,
    display_name: str,
    password: str | None,
    clearance: Classification,
    email: str | None = None,
    min_length: int = DEFAULT_PASSWORD_MIN_LENGTH,
) -> User:
    """A new, active user with no memberships; `password=None` for OIDC-only accounts."""
    name = normalize_username(username)
    if password is not None:
        check_password(password, min_length)
    taken = await session.scalar(select(User.id).where(User.username == name))
    if taken is not None:
        raise UsernameTaken(fields={"username": "already in use"})
    now = utcnow()
    user = User(
        id=uuid.uuid4(),
        username=name,
        display_name=display_name.strip(),
        email=email,
        password_hash=await _hash(password) if password is not None else None,
        is_active=True,
        clearance=int(clearance),
        failed_logins=0,
        password_changed_at=now if password is not None else None,
    )
    try:
        async with session.begin_nested():
            session.add(user)
            await session.flush()
    except IntegrityError as exc:  # a concurrent create won the race
        raise UsernameTaken(fields={"username": "already in use"}) from exc
    return user


async def get_user(session: AsyncSession, user_id: uuid.UUID) -> User | None:
    return await session.get(User, user_id)


async def get_user_by_username(session: AsyncSession, username: str) -> User | None:
    return await session.scalar(select(User).where(User.username == username.strip().lower()))


async def memberships_of(session: AsyncSession, user_id: uuid.UUID) -> list[Membership]:
    rows = await session.scalars(
        select(Membership)
        .where(Membership.user_id == user_id)
        .order_by(Membership.department_id, Membership.role)
    )
    return list(rows)


async def add_membership(
    session: AsyncSession, *, user_id: uuid.UUID, department_id: uuid.UUID, role: Role
) -> Membership:
    """Give the user `role` in the department; the existing membership if already held."""
    existing = await _find_membership(session, user_id, department_id, role)
    if existing is not None:
        return existing
    membership = Membership(
        id=uuid.uuid4(), user_id=user_id, department_id=department_id, role=role.value
    )
    try:
        async with session.begin_nested():
            session.add(membership)
            await session.flush()
    except IntegrityError as exc:
        again = await _find_membership(session, user_id, department_id, role)
        if again is not None:  # added concurrently: still idempotent
            return again
        raise UnknownDepartment(fields={"department_id": "no such department"}) from exc
    return membership


async def _find_membership(
    session: AsyncSession, user_id: uuid.UUID, department_id: uuid.UUID, role: Role
) -> Membership | None:
    return await session.scalar(
        select(Membership).where(
            Membership.user_id == user_id,
            Membership.department_id == department_id,
            Membership.role == role.value,
        )
    )


async def remove_membership(session: AsyncSession, *, membership: Membership) -> None:
    await session.delete(membership)
    await session.flush()


async def set_password(
    session: AsyncSession,
    *,
    user: User,
    password: str,
    min_length: int = DEFAULT_PASSWORD_MIN_LENGTH,
    now: datetime | None = None,
) -> None:
    """Replace the password, clear any lockout and end the user's console sessions."""
    check_password(password, min_length)
    moment = now or utcnow()
    user.password_hash = await _hash(password)
    user.password_changed_at = moment
    user.failed_logins = 0
    user.locked_until = None
    await revoke_sessions(session, user_id=user.id, now=moment)
    await session.flush()


async def disable_user(session: AsyncSession, *, user: User, now: datetime | None = None) -> None:
    """Disable the account and revoke all its console sessions and API tokens."""
    moment = now or utcnow()
    user.is_active = False
    await revoke_sessions(session, user_id=user.id, now=moment)
    await session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=moment)
    )
    await session.flush()


async def enable_user(session: AsyncSession, *, user: User) -> None:
    """Enable the account again, with a clean failed-login record."""
    user.is_active = True
    user.failed_logins = 0
    user.locked_until = None
    await session.flush()


async def revoke_sessions(session: AsyncSession, *, user_id: uuid.UUID, now: datetime) -> None:
    await session.execute(
        update(ConsoleSession)
        .where(ConsoleSession.user_id == user_id, ConsoleSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )


class LoginFailure(enum.StrEnum):
    """Why a password login failed (audited; the caller only ever sees login_failed)."""

    UNKNOWN_USER = "unknown_user"
    WRONG_PASSWORD = "wrong_password"  # noqa: S105 - a reason code, not a password
    ACCOUNT_DISABLED = "account_disabled"
    ACCOUNT_LOCKED = "account_locked"


@dataclass(frozen=True)
class LoginAttempt:
    """The outcome of one password login, with the bookkeeping already flushed."""

    username: str
    user: User | None
    failure: LoginFailure | None
    failed_logins: int = 0
    locked_until: datetime | None = None
    locked_now: bool = False
    """This attempt crossed the threshold and (re)locked the account."""

    def retry_after(self, now: datetime) -> int:
        if self.locked_until is None:
            return 0
        return max(1, math.ceil((self.locked_until - now).total_seconds()))

    def user_or_raise(self, now: datetime) -> User:
        """The user on success; `AccountLocked` (429) or `LoginFailed` (401) otherwise."""
        if self.failure is LoginFailure.ACCOUNT_LOCKED:
            seconds = self.retry_after(now)
            raise AccountLocked(
                f"too many failed logins; try again in {seconds} seconds",
                headers={"Retry-After": str(seconds)},
            )
        if self.failure is not None or self.user is None:
            raise LoginFailed
        return self.user


def lockout_seconds(failures: int, auth: AuthSettings) -> int:
    """How long the account is locked after `failures` failures in a row (0: not locked)."""
    if failures < auth.lockout_threshold:
        return 0
    doublings = failures - auth.lockout_threshold
    if doublings >= 32:  # base << 32 exceeds any sane cap
        return auth.lockout_max_seconds
    return min(auth.lockout_base_seconds << doublings, auth.lockout_max_seconds)


async def attempt_login(
    session: AsyncSession, *, username: str, password: str, auth: AuthSettings, now: datetime
) -> LoginAttempt:
    """Check a password login and record its outcome on the user; never raises for it.

    While an account is locked even the right password is refused (and not counted).
    Unknown usernames spend the same Argon2 time as known ones.  Commit the session before
    acting on a failure, so the failure counter survives (see `user_or_raise`).
    """
    name = username.strip().lower()
    user = await session.scalar(select(User).where(User.username == name))
    if user is not None and user.locked_until is not None and user.locked_until > now:
        return LoginAttempt(
            name, user, LoginFailure.ACCOUNT_LOCKED, user.failed_logins, user.locked_until
        )
    stored = user.password_hash if user is not None else None
    matches = await asyncio.to_thread(verify_password, stored, password)
    if user is None:
        return LoginAttempt(name, None, LoginFailure.UNKNOWN_USER)
    await session.refresh(user, with_for_update=True)  # count concurrent failures exactly
    if not matches:
        return await _record_failure(session, user, auth, now)
    if not user.is_active:
        return LoginAttempt(name, user, LoginFailure.ACCOUNT_DISABLED, user.failed_logins)
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    if stored is not None and needs_rehash(stored):
        user.password_hash = await _hash(password)
    await session.flush()
    return LoginAttempt(name, user, None)


async def _record_failure(
    session: AsyncSession, user: User, auth: AuthSettings, now: datetime
) -> LoginAttempt:
    user.failed_logins += 1
    seconds = lockout_seconds(user.failed_logins, auth)
    if seconds:
        user.locked_until = now + timedelta(seconds=seconds)
    await session.flush()
    return LoginAttempt(
        user.username,
        user,
        LoginFailure.WRONG_PASSWORD,
        user.failed_logins,
        user.locked_until if seconds else None,
        locked_now=bool(seconds),
    )


async def authenticate(
    session: AsyncSession, *, username: str, password: str, auth: AuthSettings, now: datetime
) -> User:
    """`attempt_login`, raising `LoginFailed` / `AccountLocked` on failure.

    The failure bookkeeping is flushed before the raise; it lasts only if the caller
    commits anyway (the login endpoints use `attempt_login` and raise after commit).
    """
    attempt = await attempt_login(session, username=username, password=password, auth=auth, now=now)
    return attempt.user_or_raise(now)


async def users_with_memberships(
    session: AsyncSession, *, department_id: uuid.UUID | None = None
) -> list[tuple[User, list[Membership]]]:
    """Every user (or a department's members) by username, with all their memberships.

    Unscoped: for operators at the command line, never for API callers (see `policy`).
    """
    query = select(User).order_by(User.username)
    if department_id is not None:
        members = select(Membership.user_id).where(Membership.department_id == department_id)
        query = query.where(User.id.in_(members))
    users = list(await session.scalars(query))
    by_user: dict[uuid.UUID, list[Membership]] = {u.id: [] for u in users}
    if users:
        rows = await session.scalars(
            select(Membership)
            .where(Membership.user_id.in_(list(by_user)))
            .order_by(Membership.department_id, Membership.role)
        )
        for membership in rows:
            by_user[membership.user_id].append(membership)
    return [(u, by_user[u.id]) for u in users]
