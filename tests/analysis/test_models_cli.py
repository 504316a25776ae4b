"""`citywitness models list|verify`: every declared model with its provenance and status;
verify fails (exit 1) and names the model when a file is missing or altered."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from citywitness.analysis import modelzoo, pipeline
from citywitness.analysis.modelzoo import ModelSpec
from citywitness.cli import app

pytestmark = pytest.mark.models

MISSING = ModelSpec(
    name="test-missing",
    package="citywitness-no-such-package",
    module="citywitness_no_such_module",
    path="model.onnx",
    sha256="0" * 64,
    license="MIT",
    task="test",
)
ALTERED = ModelSpec(
    name="test-altered",
    package="citywitness",
    module="citywitness",
    path="py.typed",
    sha256="1" * 64,
    license="Apache-2.0",
    task="test",
)


def _invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["models", *args], env={"COLUMNS": "200"})
    return result.exit_code, result.stdout, result.stderr


def test_list_json_names_every_installed_model_with_provenance() -> None:
    pipeline.load_analyzers()
    code, out, _ = _invoke("list", "--json")
    assert code == 0
    rows = json.loads(out)
    assert [r["name"] for r in rows] == [s.name for s in modelzoo.catalog()]
    by_name = {r["name"]: r for r in rows}
    assert {"ppocr-v6-det-small", "ppocr-v6-rec-small", "centerface"} <= set(by_name)
    for spec in modelzoo.catalog():
        assert by_name[spec.name] == {
            "name": spec.name,
            "task": spec.task,
            "package": spec.package,
            "version": spec.version,
            "license": spec.license,
            "sha256": spec.sha256,
            "status": "ok",
        }
    assert by_name["ppocr-v6-rec-small"]["package"] == "rapidocr"


def test_verify_passes_when_every_model_is_intact() -> None:
    code, out, _ = _invoke("verify")
    assert code == 0
    assert out.strip() == f"{len(modelzoo.catalog())} models verified"


def test_missing_and_altered_models_fail_verify(monkeypatch: pytest.MonkeyPatch) -> None:
    pipeline.load_analyzers()
    monkeypatch.setitem(modelzoo._CATALOG, MISSING.name, MISSING)
    monkeypatch.setitem(modelzoo._CATALOG, ALTERED.name, ALTERED)
    code, out, _ = _invoke("list", "--json")
    assert code == 0
    status = {r["name"]: r["status"] for r in json.loads(out)}
    assert status["test-missing"] == "missing"
    assert status["test-altered"] == "altered"
    assert {s for n, s in status.items() if not n.startswith("test-")} == {"ok"}
    versions = {r["name"]: r["version"] for r in json.loads(out)}
    assert versions["test-missing"] == ""  # not installed

    code, out, err = _invoke("verify")
    assert code == 1
    assert out == ""
    assert err.splitlines() == [
        "altered: test-altered (citywitness)",
        "missing: test-missing (citywitness-no-such-package)",
    ]


def test_table_lists_status_per_model() -> None:
    code, out, _ = _invoke("list")
    assert code == 0
    lines = [line for line in out.splitlines() if "ppocr-v6-rec-small" in line]
    assert len(lines) == 1
    assert "rapidocr" in lines[0]
    assert lines[0].rstrip(" │|").endswith("ok")
