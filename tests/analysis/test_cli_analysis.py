"""`citywitness analyze KIND FILE... [--watchlist] [--json]` on generated media with the real
analyzers: one result per file, watch-list matches with their alert, a bad file is an error
entry (exit 1), never a traceback; bad arguments exit 2."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from typer.testing import CliRunner

from citywitness.analysis import plate_ocr, plate_synth
from citywitness.cli import app
from tests.analysis.test_speech import espeak

pytestmark = pytest.mark.models


def _invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["analyze", *args], env={"COLUMNS": "200"})
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def plate_png(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, plate_synth.SynthPlate]:
    rng = random.Random(7)  # noqa: S311 - reproducible test media
    plate = plate_synth.random_plate(rng, "gb")
    image, _ = plate_synth.scene(plate, rng, angle=0, blur=0, noise=0)
    path = tmp_path_factory.mktemp("plates") / "car.png"
    Image.fromarray(image).save(path)
    return path, plate


def _plate_entry(result: dict[str, Any]) -> dict[str, Any]:
    assert list(result) == ["file", "findings"]
    (finding,) = result["findings"]
    return finding  # type: ignore[no-any-return]


def test_plates_with_watch_list_and_bad_files(
    plate_png: tuple[Path, plate_synth.SynthPlate], tmp_path: Path
) -> None:
    png, plate = plate_png
    assert plate.text == "LE60CVD"
    watch = tmp_path / "lists.csv"
    watch.write_text("plate,list,kind,reason\nLE60 CVD,Hot list,stolen,stolen 2026-11-01\n")
    garbage = tmp_path / "broken.mp4"
    garbage.write_bytes(b"not a video at all" * 10)
    missing = tmp_path / "nowhere.mp4"

    code, out, _ = _invoke(
        "plates", str(png), str(garbage), str(missing), "--watchlist", str(watch), "--json"
    )
    assert code == 1
    first, second, third = json.loads(out)
    finding = _plate_entry(first)
    assert first["file"] == str(png)
    assert finding["analyzer"] == "plates"
    assert finding["label"] == "plate"
    assert finding["offset_s"] == 0.0
    assert finding["model"] == plate_ocr.PPOCR_REC.ref().as_dict()
    assert finding["attributes"]["text"] == "LE60CVD"
    assert finding["attributes"]["country"] == "GB"
    assert finding["attributes"]["watchlist"] == {
        "list": "Hot list",
        "list_kind": "stolen",
        "entry_id": "lists.csv:2",
        "reason": "stolen 2026-11-01",
        "plate": "LE60CVD",
        "exact": True,
    }
    assert finding["alert"] == {
        "kind": "watchlist_plate",
        "severity": "high",
        "title": "Plate LE60 CVD on watch list Hot list",
    }
    assert second["file"] == str(garbage)
    assert second["error"]["code"] == "media_unreadable"
    assert second["error"]["detail"].startswith("broken.mp4: cannot open media")
    assert third == {
        "file": str(missing),
        "error": {"code": "file_not_found", "detail": "no such file"},
    }


def test_plates_without_watch_list_human_output(
    plate_png: tuple[Path, plate_synth.SynthPlate],
) -> None:
    png, _ = plate_png
    code, out, _ = _invoke("plates", str(png))
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == f"{png}: 1 findings"
    assert lines[1].split() == ["0.00s", "plate", "'LE60CVD'", lines[1].split()[-1]]
    assert "ALERT" not in out


def test_speech_on_an_espeak_clip(tmp_path: Path) -> None:
    clip = espeak(tmp_path, "Help me.")
    code, out, _ = _invoke("speech", str(clip), "--json")
    assert code == 0
    (result,) = json.loads(out)
    labels = [f["label"] for f in result["findings"]]
    assert labels[0] == "speech"
    assert result["findings"][0]["attributes"]["text"].strip().lower().startswith("help me")
    assert all("vector" not in f for f in result["findings"])


def test_bad_arguments_exit_2(tmp_path: Path, plate_png: tuple[Path, Any]) -> None:
    png, _ = plate_png
    code, _, err = _invoke("colours", str(png))
    assert code == 2
    assert "use one of behaviour, faces, plates, speech" in err

    code, _, err = _invoke("speech", str(png), "--watchlist", str(tmp_path))
    assert code == 2
    assert "speech takes no watch list" in err

    bad = tmp_path / "bad.csv"
    bad.write_text("plate,list\nAB12CDE,x\n")
    code, out, err = _invoke("plates", str(png), "--watchlist", str(bad))
    assert code == 2
    assert out == ""
    assert "missing columns: reason" in err
