"""Request and response bodies of the departments, units and officers API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, ClassVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from citywitness.agencies.models import DepartmentKind

Code = Annotated[
    str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$", description="Lower-case slug, e.g. north.")
]
Name = Annotated[str, Field(min_length=1, max_length=200)]
Badge = Annotated[
    str,
    Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$", description="Badge number, e.g. PS-0042."),
]


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Patch(Request):
    """A partial update: only the fields sent change; `NOT_NULL` fields refuse null."""

    NOT_NULL: ClassVar[tuple[str, ...]] = ()

    @model_validator(mode="after")
    def _refuse_null(self) -> Patch:
        nulls = [
            f for f in self.NOT_NULL if f in self.model_fields_set and getattr(self, f) is None
        ]
        if nulls:
            raise ValueError(f"{', '.join(nulls)} cannot be null")
        return self

    def changes(self) -> dict[str, object]:
        return {f: getattr(self, f) for f in self.model_fields_set}


class DepartmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    code: str
    name: str
    name_zh: str | None
    kind: DepartmentKind
    reason_required_for_playback: bool = Field(
        description="Playing this department's evidence asks for a written reason."
    )
    created_at: datetime


class DepartmentList(BaseModel):
    items: list[DepartmentOut]


class DepartmentCreate(Request):
    code: Code
    name: Name
    name_zh: Name | None = None
    kind: DepartmentKind
    reason_required_for_playback: bool = False


class DepartmentUpdate(Patch):
    NOT_NULL = ("name", "kind", "reason_required_for_playback")

    name: Name | None = None
    name_zh: Name | None = None
    kind: DepartmentKind | None = None
    reason_required_for_playback: bool | None = None


class UnitOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    department_id: uuid.UUID
    parent_id: uuid.UUID | None
    code: str
    name: str
    created_at: datetime


class UnitList(BaseModel):
    items: list[UnitOut]


class UnitCreate(Request):
    code: Code
    name: Name
    parent_id: uuid.UUID | None = Field(default=None, description="A unit of the same department.")


class UnitUpdate(Patch):
    NOT_NULL = ("name",)

    name: Name | None = None
    parent_id: uuid.UUID | None = Field(default=None, description="null: a top-level unit.")


class OfficerOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    badge_number: str
    display_name: str
    department_id: uuid.UUID
    unit_id: uuid.UUID | None
    user_id: uuid.UUID | None
    active: bool
    created_at: datetime


class OfficerPage(BaseModel):
    items: list[OfficerOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null: done.")


class OfficerCreate(Request):
    badge_number: Badge
    display_name: Name
    department_id: uuid.UUID
    unit_id: uuid.UUID | None = Field(default=None, description="A unit of that department.")
    user_id: uuid.UUID | None = Field(default=None, description="The officer's user account.")
    active: bool = True


class OfficerUpdate(Patch):
    NOT_NULL = ("badge_number", "display_name", "department_id", "active")

    badge_number: Badge | None = None
    display_name: Name | None = None
    department_id: uuid.UUID | None = Field(
        default=None, description="Moving needs officers:manage in both departments."
    )
    unit_id: uuid.UUID | None = None
    user_id: uuid.UUID | None = None
    active: bool | None = None
