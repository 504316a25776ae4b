"""Device messages: strict parsing, field errors, and no crash on any input."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from citywitness.devices.errors import InvalidDeviceMessage
from citywitness.devices.messages import (
    MAX_PAYLOAD_BYTES,
    EventMessage,
    StatusMessage,
    TelemetryMessage,
    parse_message,
)
from tests.devices.helpers import payload, position, telemetry_body

AT = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)


def test_telemetry_parses_with_health() -> None:
    body = telemetry_body("m-1", count=2, at=AT, battery_pct=80, signal_dbm=-85, recording=True)
    message = parse_message("telemetry", payload(body))
    assert isinstance(message, TelemetryMessage)
    assert message.msg_id == "m-1"
    assert [p.at for p in message.positions] == [
        datetime(2026, 11, 24, 7, 59, 59, tzinfo=UTC),
        AT,
    ]
    assert (message.battery_pct, message.signal_dbm, message.recording) == (80, -85, True)


def test_event_and_status_parse() -> None:
    event = parse_message(
        "event",
        payload(
            {
                "msg_id": "e-1",
                "kind": "sos",
                "at": AT.isoformat(),
                "position": position(AT),
                "details": {"button": "long"},
            }
        ),
    )
    assert isinstance(event, EventMessage)
    assert (event.kind, event.details) == ("sos", {"button": "long"})
    status = parse_message("status", payload({"msg_id": "s-1", "state": "offline"}))
    assert isinstance(status, StatusMessage)
    assert (status.state, status.at) == ("offline", None)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"lat": 91}, "positions.0.lat"),
        ({"lon": -180.5}, "positions.0.lon"),
        ({"fix": "compass"}, "positions.0.fix"),
        ({"heading_deg": 360}, "positions.0.heading_deg"),
        ({"speed_mps": -1}, "positions.0.speed_mps"),
        ({"at": "2026-11-24T08:00:00"}, "positions.0.at"),
        ({"altitude": 3}, "positions.0.altitude"),
    ],
)
def test_absurd_positions_are_refused_with_the_field(change: dict[str, object], field: str) -> None:
    body = telemetry_body("m", count=1, at=AT)
    body["positions"][0].update(change)
    with pytest.raises(InvalidDeviceMessage) as caught:
        parse_message("telemetry", payload(body))
    assert caught.value.status == 422
    assert caught.value.code == "invalid_device_message"
    assert list(caught.value.fields or {}) == [field]


def test_message_level_errors() -> None:
    cases = {
        b"not json": {"body": "not a JSON object"},
        payload({"msg_id": "m", "positions": []}): "positions",
        payload({"msg_id": "bad id!", "positions": [position(AT)]}): "msg_id",
        payload(telemetry_body("m", count=101, at=AT)): "positions",
        payload(telemetry_body("m", count=1, at=AT, battery_pct=101)): "battery_pct",
    }
    for raw, expected in cases.items():
        with pytest.raises(InvalidDeviceMessage) as caught:
            parse_message("telemetry", raw)
        fields = caught.value.fields or {}
        if isinstance(expected, dict):
            assert fields == expected
        else:
            assert list(fields) == [expected], raw


def test_unknown_kind_and_oversized_payload() -> None:
    with pytest.raises(InvalidDeviceMessage) as caught:
        parse_message("command", b"{}")
    assert caught.value.fields == {"kind": "telemetry, event or status"}
    with pytest.raises(InvalidDeviceMessage) as caught:
        parse_message("status", b" " * (MAX_PAYLOAD_BYTES + 1))
    assert caught.value.fields == {"body": f"at most {MAX_PAYLOAD_BYTES} bytes"}


def test_event_details_are_bounded() -> None:
    body = {
        "msg_id": "e",
        "kind": "tamper",
        "at": AT.isoformat(),
        "details": {f"k{i}": i for i in range(33)},
    }
    with pytest.raises(InvalidDeviceMessage) as caught:
        parse_message("event", payload(body))
    assert list(caught.value.fields or {}) == ["details"]


@given(st.binary(max_size=512))
def test_any_bytes_either_parse_or_raise_invalid(raw: bytes) -> None:
    for kind in ("telemetry", "event", "status"):
        with contextlib.suppress(InvalidDeviceMessage):
            parse_message(kind, raw)


@given(
    st.dictionaries(
        st.sampled_from(["msg_id", "positions", "kind", "at", "state", "battery_pct", "details"]),
        st.recursive(
            st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=20),
            lambda inner: (
                st.lists(inner, max_size=3)
                | st.dictionaries(st.text(max_size=5), inner, max_size=3)
            ),
            max_leaves=10,
        ),
    )
)
def test_any_json_object_either_parses_or_raises_invalid(body: dict[str, object]) -> None:
    raw = json.dumps(body).encode()
    for kind in ("telemetry", "event", "status"):
        try:
            parse_message(kind, raw)
        except InvalidDeviceMessage as exc:
            assert exc.fields
