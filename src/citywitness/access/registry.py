"""Object types that grants can name, and how to find the department that owns each.

A domain registers its object types once, at import of its service module:

    register_object_type("officer", find_officer_owner, read_permission=P.OFFICERS_READ,
                         grantable={P.OFFICERS_READ, P.OFFICERS_MANAGE})

`resolver(session, object_id)` returns the owner (department and classification), or None
when there is no such object.  The grants service uses it to decide who may grant access to
an object (grants:manage in the owning department) and who may see it at all.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from citywitness.access.levels import Classification
from citywitness.access.models import Grant
from citywitness.access.permissions import Permission
from citywitness.access.trail import AuditTrail


@dataclass(frozen=True)
class Owner:
    """Who owns an object: its department and its classification."""

    department_id: uuid.UUID
    classification: Classification = Classification.PUBLIC


Resolver = Callable[[AsyncSession, uuid.UUID], Awaitable[Owner | None]]


@dataclass(frozen=True)
class GrantChange:
    """A grant on a registered object was made (`granted`) or revoked (`revoked`)."""

    action: Literal["granted", "revoked"]
    grant: Grant
    owner: Owner


# Called by the grants service in the same transaction, after it recorded its own audit
# event: the owning domain records what a grant means for its object (e.g. evidence custody).
GrantHook = Callable[[AsyncSession, AuditTrail, GrantChange], Awaitable[None]]


@dataclass(frozen=True)
class ObjectType:
    name: str
    resolver: Resolver
    read_permission: Permission
    grantable: frozenset[Permission]
    on_grant: GrantHook | None = None


_REGISTRY: dict[str, ObjectType] = {}


def register_object_type(
    name: str,
    resolver: Resolver,
    *,
    read_permission: Permission,
    grantable: Iterable[Permission] | None = None,
    on_grant: GrantHook | None = None,
) -> ObjectType:
    """Make `name` grantable.  Registering the same name twice with another resolver is a bug."""
    entry = ObjectType(
        name=name,
        resolver=resolver,
        read_permission=read_permission,
        grantable=frozenset(grantable) if grantable is not None else frozenset({read_permission}),
        on_grant=on_grant,
    )
    existing = _REGISTRY.get(name)
    if existing is not None and existing != entry:
        raise ValueError(f"object type {name!r} is already registered differently")
    _REGISTRY[name] = entry
    return entry


def object_type(name: str) -> ObjectType | None:
    return _REGISTRY.get(name)


def object_type_names() -> list[str]:
    return sorted(_REGISTRY)
