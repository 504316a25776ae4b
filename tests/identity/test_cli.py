"""`citywitness users ...` against a committed database of the test's own."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from click.testing import Result
from typer.testing import CliRunner

from citywitness.cli import app
from citywitness.identity.passwords import verify_password

Invoke = Callable[..., Result]


@pytest.fixture
def cli(fresh_database_url: str, tmp_path: Path) -> Invoke:
    runner = CliRunner()
    env = {
        "CW_DATABASE__URL": fresh_database_url,
        "CW_DATA_DIR": str(tmp_path / "data"),
        "COLUMNS": "160",  # rich tables: room for every column
    }

    def invoke(*args: str, stdin: str | None = None) -> Result:
        return runner.invoke(app, ["users", *args], input=stdin, env=env)

    return invoke


def _query(url: str, sql: str, *params: object) -> list[tuple[object, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql, params).fetchall()  # type: ignore[arg-type]


def test_create_with_roles_list_and_audit(cli: Invoke, fresh_database_url: str) -> None:
    created = cli(
        "create",
        "--username", "Chen.Jie",
        "--display-name", "Chen Jie",
        "--department", "public-security", "--role", "department_admin",
        "--department", "traffic-police", "--role", "officer",
        "--clearance", "sensitive",
        "--password-stdin",
        stdin="a long enough password\n",
    )  # fmt: skip
    assert created.exit_code == 0, created.output
    assert created.stdout.startswith("created user chen.jie (")
    [(user_id, password_hash, clearance)] = _query(
        fresh_database_url,
        "SELECT id, password_hash, clearance FROM users WHERE username = %s",
        "chen.jie",
    )
    assert isinstance(password_hash, str) and password_hash.startswith("$argon2id$")
    assert verify_password(password_hash, "a long enough password")
    assert clearance == 2
    roles = _query(
        fresh_database_url,
        "SELECT d.code, m.role FROM memberships m JOIN departments d ON d.id = m.department_id "
        "WHERE m.user_id = %s ORDER BY d.code",
        user_id,
    )
    assert roles == [("public-security", "department_admin"), ("traffic-police", "officer")]
    [(actor_kind, details)] = _query(
        fresh_database_url,
        "SELECT actor_kind, details FROM audit_events WHERE action = 'users.create'",
    )
    assert actor_kind == "cli"
    assert details == {
        "via": "cli",
        "username": "chen.jie",
        "clearance": "sensitive",
        "memberships": [
            {"department": "public-security", "role": "department_admin"},
            {"department": "traffic-police", "role": "officer"},
        ],
        "password_set": True,
    }

    listed = cli("list")
    assert listed.exit_code == 0, listed.output
    assert "chen.jie" in listed.stdout
    assert "public-security:department_admin" in listed.stdout
    assert "sensitive" in listed.stdout
    filtered = cli("list", "--department", "urban-management")
    assert filtered.exit_code == 0
    assert "chen.jie" not in filtered.stdout


def test_create_prompts_for_the_password_twice(cli: Invoke, fresh_database_url: str) -> None:
    result = cli(
        "create", "--username", "prompted", "--display-name", "P",
        stdin="a long enough password\na long enough password\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    [(password_hash,)] = _query(
        fresh_database_url, "SELECT password_hash FROM users WHERE username = 'prompted'"
    )
    assert verify_password(str(password_hash), "a long enough password")


def test_create_refusals(cli: Invoke, fresh_database_url: str) -> None:
    unpaired = cli(
        "create", "--username", "user-1", "--display-name", "U",
        "--department", "public-security", "--no-password",
    )  # fmt: skip
    assert unpaired.exit_code == 2
    unknown = cli(
        "create", "--username", "user-2", "--display-name", "U",
        "--department", "fire-brigade", "--role", "officer", "--no-password",
    )  # fmt: skip
    assert unknown.exit_code == 1
    assert "unknown department 'fire-brigade'" in unknown.stderr
    weak = cli(
        "create", "--username", "user-3", "--display-name", "U", "--password-stdin", stdin="short\n"
    )  # fmt: skip
    assert weak.exit_code == 1
    assert weak.stderr == (
        "error: the password must have at least 12 characters; password: at least 12 characters\n"
    )
    level = cli("create", "--username", "user-4", "--display-name", "U", "--clearance", "top")
    assert level.exit_code == 2
    assert _query(fresh_database_url, "SELECT count(*) FROM users") == [(0,)]


def test_disable_revokes_and_reset_password_prints_one(
    cli: Invoke, fresh_database_url: str
) -> None:
    assert (
        cli("create", "--username", "li.na", "--display-name", "Li Na", "--no-password").exit_code
        == 0
    )
    [(user_id,)] = _query(fresh_database_url, "SELECT id FROM users WHERE username = 'li.na'")
    with psycopg.connect(fresh_database_url) as conn:
        conn.execute(
            "INSERT INTO api_tokens (id, user_id, name, prefix, token_hash, scopes, expires_at) "
            "VALUES (gen_random_uuid(), %s, 't', 'abcd1234', repeat('0', 64), '{}', "
            "now() + interval '1 day')",
            (user_id,),
        )
        conn.execute(
            "INSERT INTO console_sessions (id, token_hash, csrf_hash, user_id, expires_at, "
            "last_seen_at, auth_method) VALUES (gen_random_uuid(), repeat('1', 64), "
            "repeat('2', 64), %s, now() + interval '1 hour', now(), 'password')",
            (user_id,),
        )
    disabled = cli("disable", "li.na")
    assert disabled.exit_code == 0, disabled.output
    assert _query(
        fresh_database_url,
        "SELECT u.is_active, t.revoked_at IS NOT NULL, s.revoked_at IS NOT NULL FROM users u "
        "JOIN api_tokens t ON t.user_id = u.id JOIN console_sessions s ON s.user_id = u.id",
    ) == [(False, True, True)]
    assert cli("disable", "nobody").exit_code == 1

    reset = cli("reset-password", "li.na")
    assert reset.exit_code == 0, reset.output
    password = reset.stdout.strip()
    assert len(password) == 16
    assert "one-time password for li.na" in reset.stderr
    [(password_hash,)] = _query(
        fresh_database_url, "SELECT password_hash FROM users WHERE username = 'li.na'"
    )
    assert verify_password(str(password_hash), password)
    chosen = cli("reset-password", "li.na", "--password-stdin", stdin="my chosen password\n")
    assert chosen.exit_code == 0
    assert chosen.stdout == ""
    assert cli("enable", "li.na").exit_code == 0
    actions = _query(
        fresh_database_url,
        "SELECT action, details->>'generated' FROM audit_events "
        "WHERE action LIKE 'users.%%' ORDER BY id",
    )
    assert actions == [
        ("users.create", None),
        ("users.disable", None),
        ("users.password.reset", "true"),
        ("users.password.reset", "false"),
        ("users.enable", None),
    ]
