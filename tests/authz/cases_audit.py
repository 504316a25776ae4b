"""Authorization cases for the audit trail API (see matrix.py)."""

from __future__ import annotations

from citywitness.access.permissions import Permission
from tests.authz.matrix import Case, department_case

NOTE = "auditors of another department read their own scope of the trail (200)"

CASES: list[Case] = [
    department_case("GET", "/api/v1/audit/events", Permission.AUDIT_READ, other=200, note=NOTE),
    department_case("GET", "/api/v1/audit/events.csv", Permission.AUDIT_READ, other=200, note=NOTE),
]
