"""Settings: `CW_` variables nested with `__`, a YAML file, unknown keys refused by name,
secrets masked by `citywitness config show`, every field described."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from pydantic import BaseModel
from typer.testing import CliRunner

from citywitness.cli import app
from citywitness.cli.docs import CONFIG_REFERENCE_PATH, settings_reference
from citywitness.settings import (
    MASK,
    Settings,
    SettingsError,
    load_settings,
    masked_dump,
    masked_url,
)

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No `CW_` setting of the machine running the tests leaks in (the harness's stay)."""
    for name in list(os.environ):
        if name.startswith("CW_") and not name.startswith("CW_TEST_"):
            monkeypatch.delenv(name)


def write_yaml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "citywitness.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults() -> None:
    settings = load_settings()
    assert settings.data_dir == Path("var")
    assert settings.database.url is None
    assert settings.server.port == 8000
    assert settings.server.public_url == "http://127.0.0.1:8000"
    assert settings.jobs.in_process_worker is True


def test_environment_nests_sections_with_double_underscore(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CW_SERVER__PORT", "9001")
    monkeypatch.setenv("CW_JOBS__QUEUES", '["cpu", "analysis"]')
    monkeypatch.setenv("CW_AUTH__LOCKOUT_THRESHOLD", "7")
    monkeypatch.setenv("CW_DATA_DIR", "/srv/cw")
    settings = load_settings()
    assert settings.server.port == 9001
    assert settings.jobs.queues == ["cpu", "analysis"]
    assert settings.auth.lockout_threshold == 7
    assert settings.data_dir == Path("/srv/cw")


def test_yaml_file_sets_nested_values(tmp_path: Path) -> None:
    config = write_yaml(
        tmp_path,
        "server:\n  port: 9002\nlogging:\n  level: DEBUG\nauth:\n  oidc_providers:\n"
        "    - name: keycloak\n      issuer: https://idp.example\n      client_id: cw\n"
        "      client_secret: s3cr3t-value\n",
    )
    settings = load_settings(config)
    assert settings.server.port == 9002
    assert settings.logging.level == "DEBUG"
    (provider,) = settings.auth.oidc_providers
    assert provider.name == "keycloak"
    assert provider.client_secret.get_secret_value() == "s3cr3t-value"
    assert provider.scopes == ["openid", "profile", "email"]


def test_environment_wins_over_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = write_yaml(tmp_path, "server:\n  port: 9002\n  host: 10.0.0.5\n")
    monkeypatch.setenv("CW_SERVER__PORT", "9003")
    settings = load_settings(config)
    assert settings.server.port == 9003
    assert settings.server.host == "10.0.0.5"


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        ("server:\n  bogus: 1\n", "setting server.bogus: Extra inputs are not permitted"),
        ("bogus: 1\n", "setting bogus: Extra inputs are not permitted"),
        (
            "auth:\n  oidc_providers:\n    - name: a\n      issuer: https://i\n"
            "      client_id: c\n      client_secret: s\n      colour: red\n",
            "setting auth.oidc_providers.0.colour: Extra inputs are not permitted",
        ),
        (
            "server:\n  port: eighty\n",
            "setting server.port: Input should be a valid integer, unable to parse string as an "
            "integer",
        ),
        ("- a\n- b\n", "must hold a mapping"),
        ("server: [\n", "is not valid YAML"),
    ],
)
def test_bad_yaml_is_an_error_naming_the_key(tmp_path: Path, yaml_text: str, message: str) -> None:
    config = write_yaml(tmp_path, yaml_text)
    with pytest.raises(SettingsError) as caught:
        load_settings(config)
    assert message in str(caught.value)


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(tmp_path / "nope.yaml")
    assert str(caught.value) == f"config file {tmp_path / 'nope.yaml'} does not exist"


@pytest.mark.parametrize(
    "name", ["CW_BOGUS", "CW_SERVER__BOGUS", "CW_SERVER__PORT__DEEPER", "CW_STORAGE__S3__NOPE"]
)
def test_unknown_environment_variable_is_an_error_naming_it(
    monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    monkeypatch.setenv(name, "1")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert str(caught.value) == f"unknown setting {name}"


def test_a_whole_section_may_be_given_as_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CW_SERVER", '{"port": 9005}')
    assert load_settings().server.port == 9005


def test_reserved_variables_are_not_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CW_TEST_DB", "external")
    monkeypatch.setenv("CW_TEST_DATABASE_URL", "postgresql://x@y/z")
    assert load_settings().server.port == 8000


def test_invalid_environment_value_names_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CW_LOGGING__LEVEL", "LOUD")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert str(caught.value) == (
        "setting logging.level: Input should be 'DEBUG', 'INFO', 'WARNING' or 'ERROR'"
    )


def test_cli_refuses_unknown_yaml_key_with_exit_2(tmp_path: Path) -> None:
    config = write_yaml(tmp_path, "server:\n  bogus: 1\n")
    result = CliRunner().invoke(app, ["--config", str(config), "config", "show"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.strip() == (
        "configuration error: setting server.bogus: Extra inputs are not permitted"
    )


def test_cli_refuses_unknown_variable_with_exit_2(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CW_SERVER__COLOUR", "red")
    result = CliRunner().invoke(app, ["config", "show"])
    assert result.exit_code == 2
    assert result.stderr.strip() == "configuration error: unknown setting CW_SERVER__COLOUR"


def test_config_file_from_environment_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CW_CONFIG_FILE", str(write_yaml(tmp_path, "server:\n  port: 9004\n")))
    result = CliRunner().invoke(app, ["config", "show"])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["server"]["port"] == 9004


def test_config_show_masks_secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CW_DATABASE__URL", "postgresql://cw:hunter2-db@db.example:5432/cw")
    monkeypatch.setenv("CW_STORAGE__S3__SECRET_ACCESS_KEY", "hunter2-s3")
    config = write_yaml(
        tmp_path,
        "auth:\n  oidc_providers:\n    - name: keycloak\n      issuer: https://idp.example\n"
        "      client_id: cw\n      client_secret: hunter2-oidc\n",
    )
    result = CliRunner().invoke(app, ["--config", str(config), "config", "show"])
    assert result.exit_code == 0, result.stderr
    assert "hunter2" not in result.stdout
    shown = json.loads(result.stdout)
    assert shown["database"]["url"] == f"postgresql://cw:{MASK}@db.example:5432/cw"
    assert shown["auth"]["oidc_providers"][0]["client_secret"] == MASK
    assert shown["auth"]["oidc_providers"][0]["client_id"] == "cw"
    assert shown["storage"]["s3"]["secret_access_key"] == MASK
    assert shown["server"]["port"] == 8000


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("postgresql://u:p@h/db", f"postgresql://u:{MASK}@h/db"),
        ("postgresql://u@h:5433/db", "postgresql://u@h:5433/db"),
        ("postgresql:///db?host=/run/pg", "postgresql:///db?host=/run/pg"),
        (
            "postgresql://h/db?user=u&password=p&sslmode=require",
            f"postgresql://h/db?user=u&password={MASK}&sslmode=require",
        ),
        ("not a url at all", MASK),
    ],
)
def test_masked_url(url: str, masked: str) -> None:
    assert masked_url(url) == masked


def test_masked_dump_without_database_url() -> None:
    assert masked_dump(Settings())["database"]["url"] is None


def _undescribed(model: type[BaseModel], prefix: str = "") -> list[str]:
    missing = []
    for name, field in model.model_fields.items():
        if not field.description:
            missing.append(prefix + name)
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            missing.extend(_undescribed(annotation, f"{prefix}{name}."))
    return missing


def test_every_setting_is_described() -> None:
    from citywitness.settings import OidcProviderSettings

    assert _undescribed(Settings) == []
    assert _undescribed(OidcProviderSettings, "auth.oidc_providers[].") == []


def test_configuration_reference_is_current() -> None:
    committed = (ROOT / CONFIG_REFERENCE_PATH).read_text(encoding="utf-8")
    assert committed == settings_reference(), (
        f"{CONFIG_REFERENCE_PATH} is out of date with the Settings model: run `make docs`"
    )
