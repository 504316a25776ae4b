"""Every permission in the platform, and which roles carry which."""

from __future__ import annotations

import enum

from citywitness.access.levels import Role


class Permission(enum.StrEnum):
    """`<area>:<verb>`; an API token's scopes are a subset of these."""

    USERS_READ = "users:read"
    USERS_MANAGE = "users:manage"
    DEPARTMENTS_READ = "departments:read"
    DEPARTMENTS_MANAGE = "departments:manage"
    OFFICERS_READ = "officers:read"
    OFFICERS_MANAGE = "officers:manage"
    AUDIT_READ = "audit:read"
    GRANTS_MANAGE = "grants:manage"
    EVIDENCE_READ = "evidence:read"
    EVIDENCE_PLAY = "evidence:play"
    EVIDENCE_DOWNLOAD = "evidence:download"
    EVIDENCE_EXPORT = "evidence:export"
    EVIDENCE_UPLOAD = "evidence:upload"
    EVIDENCE_MANAGE = "evidence:manage"
    EVIDENCE_HOLD = "evidence:hold"
    EVIDENCE_DELETE = "evidence:delete"
    EVIDENCE_APPROVE_DELETION = "evidence:approve_deletion"
    STORAGE_READ = "storage:read"
    STORAGE_MANAGE = "storage:manage"
    STORAGE_CHECK = "storage:check"
    DEVICES_READ = "devices:read"
    DEVICES_MANAGE = "devices:manage"
    DEVICES_COMMAND = "devices:command"
    DEVICES_BIND = "devices:bind"
    DEVICES_TRACK = "devices:track"
    MEDIA_LIVE = "media:live"
    ALERTS_READ = "alerts:read"
    ALERTS_ACT = "alerts:act"
    ALERTS_MANAGE = "alerts:manage"
    JOBS_READ = "jobs:read"
    LEDGER_READ = "ledger:read"
    LEDGER_READ_ALL = "ledger:read_all"
    LEDGER_ADMIN = "ledger:admin"
    ANALYSIS_READ = "analysis:read"  # findings, transcripts, analysis runs on visible evidence
    ANALYSIS_RUN = "analysis:run"  # start or cancel analysis runs
    WATCHLISTS_READ = "watchlists:read"
    WATCHLISTS_MANAGE = "watchlists:manage"  # add, change, expire watch-list entries
    FACES_MATCH = "faces:match"  # see face-match candidates and confirm or reject them
    REDACTION_REVIEW = "redaction:review"  # make, review and adjust redacted derivatives
    REDACTION_PUBLISH = "redaction:publish"  # approve a redacted derivative for release


P = Permission

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.OFFICER: frozenset(
        {P.DEPARTMENTS_READ, P.OFFICERS_READ, P.EVIDENCE_READ, P.EVIDENCE_PLAY, P.EVIDENCE_UPLOAD}
    ),
    Role.OPERATOR: frozenset(
        {
            P.DEPARTMENTS_READ,
            P.OFFICERS_READ,
            P.EVIDENCE_READ,
            P.EVIDENCE_PLAY,
            P.DEVICES_READ,
            P.DEVICES_COMMAND,
            P.DEVICES_BIND,
            P.DEVICES_TRACK,
            P.MEDIA_LIVE,
            P.ALERTS_READ,
            P.ALERTS_ACT,
            P.ALERTS_MANAGE,
            P.ANALYSIS_READ,
            P.WATCHLISTS_READ,
            P.FACES_MATCH,
        }
    ),
    Role.INVESTIGATOR: frozenset(
        {
            P.DEPARTMENTS_READ,
            P.OFFICERS_READ,
            P.EVIDENCE_READ,
            P.EVIDENCE_PLAY,
            P.EVIDENCE_DOWNLOAD,
            P.EVIDENCE_EXPORT,
            P.EVIDENCE_UPLOAD,
            P.EVIDENCE_MANAGE,
            P.EVIDENCE_HOLD,
            P.EVIDENCE_DELETE,
            P.DEVICES_READ,
            P.DEVICES_TRACK,
            P.MEDIA_LIVE,
            P.ALERTS_READ,
            P.LEDGER_READ,
            P.ANALYSIS_READ,
            P.ANALYSIS_RUN,
            P.WATCHLISTS_READ,
            P.WATCHLISTS_MANAGE,
            P.FACES_MATCH,
            P.REDACTION_REVIEW,
        }
    ),
    Role.DEPARTMENT_ADMIN: frozenset(
        {
            P.USERS_READ,
            P.USERS_MANAGE,
            P.DEPARTMENTS_READ,
            P.OFFICERS_READ,
            P.OFFICERS_MANAGE,
            P.GRANTS_MANAGE,
            P.EVIDENCE_READ,
            P.EVIDENCE_APPROVE_DELETION,
            P.STORAGE_READ,
            P.DEVICES_READ,
            P.DEVICES_MANAGE,
            P.DEVICES_BIND,
            P.ALERTS_READ,
            P.ALERTS_MANAGE,
            P.JOBS_READ,
            P.LEDGER_READ,
            P.ANALYSIS_READ,
            P.WATCHLISTS_READ,
            P.WATCHLISTS_MANAGE,
            P.REDACTION_REVIEW,
            P.REDACTION_PUBLISH,
        }
    ),
    Role.AUDITOR: frozenset(
        {
            P.AUDIT_READ,
            P.DEPARTMENTS_READ,
            P.OFFICERS_READ,
            P.USERS_READ,
            P.EVIDENCE_READ,
            P.LEDGER_READ,
        }
    ),
    Role.PLATFORM_ADMIN: frozenset(Permission),
}


def permissions_for(role: Role) -> frozenset[Permission]:
    return ROLE_PERMISSIONS[role]
