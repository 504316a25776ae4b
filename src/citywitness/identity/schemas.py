"""Request and response bodies of the auth and users APIs."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from citywitness.access.levels import Classification, Role
from citywitness.access.permissions import Permission
from citywitness.identity.models import ApiToken, Membership, User

ClearanceLabel = Literal["public", "internal", "sensitive", "secret"]
Username = Annotated[str, Field(min_length=3, max_length=80, examples=["li.wei"])]
Password = Annotated[str, Field(min_length=1, max_length=1024)]


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


def clearance_label(value: int) -> ClearanceLabel:
    label: ClearanceLabel = Classification(value).label  # type: ignore[assignment]
    return label


class MembershipOut(BaseModel):
    id: uuid.UUID
    department_id: uuid.UUID
    role: Role

    @classmethod
    def of(cls, membership: Membership) -> MembershipOut:
        return cls(
            id=membership.id, department_id=membership.department_id, role=Role(membership.role)
        )


class UserOut(BaseModel):
    id: uuid.UUID
    username: str
    display_name: str
    email: str | None
    clearance: ClearanceLabel
    is_active: bool
    locked_until: datetime | None
    created_at: datetime
    last_login_at: datetime | None
    memberships: list[MembershipOut] = Field(
        description="Memberships in departments where the caller may read users."
    )

    @classmethod
    def of(cls, user: User, memberships: list[Membership]) -> UserOut:
        return cls(
            id=user.id,
            username=user.username,
            display_name=user.display_name,
            email=user.email,
            clearance=clearance_label(user.clearance),
            is_active=user.is_active,
            locked_until=user.locked_until,
            created_at=user.created_at,
            last_login_at=user.last_login_at,
            memberships=[MembershipOut.of(m) for m in memberships],
        )


class LoginIn(Input):
    username: str = Field(min_length=1, max_length=80)
    password: Password


class LoginOut(BaseModel):
    user: UserOut
    csrf_token: str = Field(description="Send it back in X-CSRF-Token on unsafe requests.")
    expires_at: datetime


class DepartmentAccess(BaseModel):
    department_id: uuid.UUID
    roles: list[Role]
    permissions: list[Permission]


class MeOut(BaseModel):
    user: UserOut
    auth_method: str = Field(description="password, oidc:<provider> or token.")
    permissions: list[Permission] = Field(description="Held in at least one department.")
    departments: list[DepartmentAccess]
    scopes: list[Permission] | None = Field(description="An API token's scopes; null otherwise.")
    platform_admin: bool


class TokenIn(Input):
    name: str = Field(min_length=1, max_length=120)
    scopes: list[Permission] = Field(min_length=1, max_length=len(Permission))
    expires_in_days: int = Field(ge=1, description="At most auth.token_max_days.")


class TokenOut(BaseModel):
    id: uuid.UUID
    name: str
    prefix: str
    scopes: list[str]
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None

    @classmethod
    def of(cls, token: ApiToken) -> TokenOut:
        return cls(
            id=token.id,
            name=token.name,
            prefix=token.prefix,
            scopes=list(token.scopes),
            created_at=token.created_at,
            expires_at=token.expires_at,
            revoked_at=token.revoked_at,
            last_used_at=token.last_used_at,
        )


class IssuedTokenOut(BaseModel):
    token: TokenOut
    secret: str = Field(description="The bearer token; shown this once, never again.")


class MembershipIn(Input):
    department_id: uuid.UUID
    role: Role


class UserCreateIn(Input):
    username: Username
    display_name: str = Field(min_length=1, max_length=200)
    email: str | None = Field(
        default=None, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$", examples=["li.wei@example.org"]
    )
    password: Password | None = Field(
        default=None, description="Unset: the user can only log in through OIDC."
    )
    clearance: ClearanceLabel = "internal"
    memberships: list[MembershipIn] = Field(min_length=1, max_length=50)


class PasswordIn(Input):
    password: Password


class UserPage(BaseModel):
    items: list[UserOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page.")


class ProviderOut(BaseModel):
    name: str
    label: str
