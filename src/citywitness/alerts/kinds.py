"""Alert kinds, severities and the lifecycle (pure).

Kinds are a registry, not an enum in the database: issue 6 adds `watchlist_plate`,
`watchlist_face` and `behaviour_cue` with `register_kind` (the column is a string).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Severity(enum.StrEnum):
    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


SEVERITY_RANK = {s: i for i, s in enumerate(Severity)}


def at_least(severity: str, floor: str) -> bool:
    return SEVERITY_RANK[Severity(severity)] >= SEVERITY_RANK[Severity(floor)]


class AlertState(enum.StrEnum):
    NEW = "new"
    ACKNOWLEDGED = "acknowledged"
    DISPATCHED = "dispatched"
    RESOLVED = "resolved"
    FALSE = "false"  # a false alarm


class Action(enum.StrEnum):
    """What a person does to an alert (the transition endpoints)."""

    ACKNOWLEDGE = "acknowledge"
    DISPATCH = "dispatch"
    RESOLVE = "resolve"
    FALSE_ALARM = "false_alarm"


S = AlertState
TRANSITIONS: dict[Action, tuple[frozenset[AlertState], AlertState]] = {
    Action.ACKNOWLEDGE: (frozenset({S.NEW}), S.ACKNOWLEDGED),
    Action.DISPATCH: (frozenset({S.NEW, S.ACKNOWLEDGED}), S.DISPATCHED),
    Action.RESOLVE: (frozenset({S.NEW, S.ACKNOWLEDGED, S.DISPATCHED}), S.RESOLVED),
    Action.FALSE_ALARM: (frozenset({S.NEW, S.ACKNOWLEDGED, S.DISPATCHED}), S.FALSE),
}
OPEN = frozenset({S.NEW, S.ACKNOWLEDGED, S.DISPATCHED})


def next_state(current: AlertState, action: Action) -> AlertState | None:
    """The state `action` leads to from `current`; None when it is not allowed."""
    sources, target = TRANSITIONS[action]
    return target if current in sources else None


@dataclass(frozen=True)
class KindSpec:
    """What the platform knows about a kind of alert."""

    name: str
    severity: Severity
    title: str
    notify_recorder: bool = False
    """Send it to the source recorder as an MQTT command (acknowledged by the recorder)."""


KINDS: dict[str, KindSpec] = {}


def register_kind(spec: KindSpec) -> KindSpec:
    if spec.name in KINDS and KINDS[spec.name] != spec:
        raise ValueError(f"alert kind {spec.name!r} registered twice")
    KINDS[spec.name] = spec
    return spec


for _spec in (
    KindSpec("sos", Severity.CRITICAL, "SOS pressed", notify_recorder=True),
    KindSpec("tamper", Severity.HIGH, "Recorder tampered with"),
    KindSpec("low_battery", Severity.LOW, "Recorder battery low"),
    KindSpec("device_offline_on_shift", Severity.MEDIUM, "Recorder offline during a shift"),
    KindSpec("geofence_enter", Severity.HIGH, "Entered a restricted area", notify_recorder=True),
    KindSpec("geofence_exit", Severity.MEDIUM, "Left the patrol area", notify_recorder=True),
    KindSpec("ledger_fork", Severity.CRITICAL, "Custody ledger fork detected"),
    KindSpec("watchlist_plate", Severity.HIGH, "Watch-listed vehicle seen", notify_recorder=True),
    KindSpec("watchlist_face", Severity.HIGH, "Possible face match", notify_recorder=True),
    KindSpec("behaviour_cue", Severity.MEDIUM, "Behaviour cue", notify_recorder=True),
    KindSpec("keyword", Severity.HIGH, "Alert phrase heard", notify_recorder=True),
):
    register_kind(_spec)
