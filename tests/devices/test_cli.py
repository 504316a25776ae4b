"""`citywitness devices ...` against a committed database of the test's own."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from click.testing import Result
from typer.testing import CliRunner

from citywitness.cli import app

Invoke = Callable[..., Result]


@pytest.fixture
def cli(fresh_database_url: str, tmp_path: Path) -> Invoke:
    runner = CliRunner()
    env = {
        "CW_DATABASE__URL": fresh_database_url,
        "CW_DATA_DIR": str(tmp_path / "data"),
        "COLUMNS": "160",
    }

    def invoke(*args: str) -> Result:
        return runner.invoke(app, ["devices", *args], env=env)

    return invoke


def _query(url: str, sql: str, *params: object) -> list[tuple[object, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql, params).fetchall()  # type: ignore[arg-type]


def test_add_list_code_revoke_maintain(cli: Invoke, fresh_database_url: str) -> None:
    added = cli("add", "--serial", "CLI-0001", "--department", "traffic-police", "--model", "X9")
    assert added.exit_code == 0, added.output
    assert added.output.startswith("registered recorder CLI-0001 (")
    again = cli("add", "--serial", "CLI-0001", "--department", "traffic-police")
    assert (again.exit_code, again.output.strip()) == (
        1,
        "error: A recorder with this serial number already exists.; serial: already in use",
    )
    bad = cli("add", "--serial", "CLI-0002", "--department", "nowhere")
    assert (bad.exit_code, bad.output.strip()) == (1, "error: unknown department 'nowhere'")

    listed = cli("list", "--department", "traffic-police")
    assert listed.exit_code == 0
    assert "CLI-0001" in listed.output and "offline" in listed.output

    code = cli("enrollment-code", "CLI-0001")
    assert code.exit_code == 0, code.output
    assert code.output[5] == "-" and "(expires " in code.output
    assert _query(
        fresh_database_url,
        "SELECT count(*) FROM device_enrollment_codes c JOIN recorders r "
        "ON r.id = c.recorder_id WHERE r.serial = %s",
        "CLI-0001",
    ) == [(1,)]

    revoked = cli("revoke", "CLI-0001")
    assert revoked.output.strip() == "revoked 0 credential(s) of CLI-0001"
    missing = cli("revoke", "NOPE")
    assert (missing.exit_code, missing.output.strip()) == (
        1,
        "error: no recorder with serial 'NOPE'",
    )

    maintained = cli("maintain")
    assert maintained.output.strip() == "created: 9, dropped: 0, message_ids_purged: 0"
    assert cli("maintain").output.strip() == "created: 0, dropped: 0, message_ids_purged: 0"
    actions = _query(
        fresh_database_url,
        "SELECT action, actor_kind FROM audit_events WHERE action LIKE 'devices.%%' ORDER BY id",
    )
    assert actions == [
        ("devices.create", "cli"),
        ("devices.enrollment_code", "cli"),
        ("devices.credentials_revoke", "cli"),
    ]
