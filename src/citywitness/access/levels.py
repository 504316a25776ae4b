"""Data classification levels and the roles a membership can carry."""

from __future__ import annotations

import enum


class Classification(enum.IntEnum):
    """How protected an object is; a user sees it only with at least this clearance."""

    PUBLIC = 0
    INTERNAL = 1
    SENSITIVE = 2
    SECRET = 3

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, value: str) -> Classification:
        return cls[value.upper()]


class Role(enum.StrEnum):
    """Roles a user holds in a department."""

    OFFICER = "officer"
    OPERATOR = "operator"
    INVESTIGATOR = "investigator"
    DEPARTMENT_ADMIN = "department_admin"
    AUDITOR = "auditor"
    PLATFORM_ADMIN = "platform_admin"
