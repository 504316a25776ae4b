"""The offline verifier over packages built from the pure modules: a good package verifies;
each kind of tampering fails with the check that names it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from citywitness.ledger.verify_package import verify_package
from citywitness.ledger.verify_trust import Report, Trust
from tests.ledger.export_samples import (
    SampleKeys,
    build_package,
    edit_manifest,
    make_keys,
    read_member,
    rewrite,
)


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SampleKeys]:
    made = make_keys(tmp_path_factory.mktemp("keys"))
    yield made
    made.tsa.stop()


@pytest.fixture(scope="module")
def package(keys: SampleKeys, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    path = tmp_path_factory.mktemp("package") / "package.zip"
    built = build_package(keys, path)
    built["path"] = path
    return built


@pytest.fixture(scope="module")
def trust(keys: SampleKeys, tmp_path_factory: pytest.TempPathFactory) -> Trust:
    return Trust.from_files(keys.trust_files(tmp_path_factory.mktemp("trust")))


def failed(report: Report) -> set[tuple[str, str]]:
    return {(check.check, check.subject) for check in report.failures()}


def test_a_good_package_verifies_with_anchored_trust(package: dict[str, Any], trust: Trust) -> None:
    report = verify_package(package["path"], trust)
    assert report.failures() == []
    assert report.ok
    assert [c for c in report.checks if c.status == "warn"] == []
    assert report.anchored == {"log": True, "witnesses": True, "certificates": True}
    by_check = {c.check for c in report.checks}
    assert by_check >= {
        "manifest",
        "manifest signature",
        "file hash",
        "checkpoint",
        "checkpoint signature",
        "cosignature",
        "leaf",
        "inclusion proof",
        "custody",
        "original hash",
        "c2pa",
        "timestamp",
        "consistency proof",
    }
    item = package["item"]
    c2pa = {c.subject: c.detail for c in report.checks if c.check == "c2pa"}
    assert c2pa == {
        f"files/{item}/original.mp4": "sidecar, Trusted",
        f"files/{item}/proxy.mp4": "embedded, Trusted",
    }
    assert read_member(package["path"], f"files/{item}/original.mp4") == package["original"]


def test_without_trust_the_package_keys_are_used_and_that_is_said(
    package: dict[str, Any],
) -> None:
    report = verify_package(package["path"])
    assert report.ok
    warnings = {(c.check, c.subject) for c in report.checks if c.status == "warn"}
    assert warnings == {("trust", "log"), ("trust", "witnesses"), ("trust", "certificates")}


def test_a_flipped_byte_in_an_original_fails_its_hash_and_c2pa(
    package: dict[str, Any], trust: Trust, tmp_path: Path
) -> None:
    name = f"files/{package['item']}/original.mp4"
    data = bytearray(package["original"])
    data[len(data) // 2] ^= 0x01
    rewrite(package["path"], tmp_path / "t.zip", name, bytes(data))
    report = verify_package(tmp_path / "t.zip", trust)
    assert failed(report) == {("file hash", name), ("c2pa", name)}
    assert not report.ok


def test_an_edited_manifest_entry_fails_the_manifest_signature(
    package: dict[str, Any], trust: Trust, tmp_path: Path
) -> None:
    def change(manifest: dict[str, Any]) -> None:
        manifest["items"][0]["metadata"]["recorder_serial"] = "BWC-2"

    edit_manifest(package["path"], tmp_path / "t.zip", change)
    assert failed(verify_package(tmp_path / "t.zip", trust)) == {
        ("manifest signature", "manifest.sig")
    }


def test_a_removed_custody_entry_is_detected(
    package: dict[str, Any], trust: Trust, tmp_path: Path
) -> None:
    def change(manifest: dict[str, Any]) -> None:
        del manifest["items"][0]["custody"][0]  # the ingest entry

    edit_manifest(package["path"], tmp_path / "t.zip", change)
    item = package["item"]
    assert failed(verify_package(tmp_path / "t.zip", trust)) == {
        ("manifest signature", "manifest.sig"),
        ("custody", f"item {item}"),
    }


def test_a_wrong_checkpoint_signature_fails(
    package: dict[str, Any], trust: Trust, tmp_path: Path
) -> None:
    note = read_member(package["path"], "checkpoint.txt").decode()
    body, block = note.split("\n\n", 1)
    first, rest = block.split("\n", 1)
    dash, name, blob = first.split(" ")
    forged = blob[:10] + ("A" if blob[10] != "A" else "B") + blob[11:]
    rewrite(
        package["path"],
        tmp_path / "t.zip",
        "checkpoint.txt",
        f"{body}\n\n{dash} {name} {forged}\n{rest}".encode(),
    )
    assert failed(verify_package(tmp_path / "t.zip", trust)) == {
        ("file hash", "checkpoint.txt"),
        ("checkpoint signature", "checkpoint.txt"),
    }


def test_a_truncated_proof_fails_inclusion(
    package: dict[str, Any], trust: Trust, tmp_path: Path
) -> None:
    def change(manifest: dict[str, Any]) -> None:
        manifest["items"][0]["custody"][1]["proof"].pop()

    edit_manifest(package["path"], tmp_path / "t.zip", change)
    manifest = json.loads(read_member(package["path"], "manifest.json"))
    index = manifest["items"][0]["custody"][1]["index"]
    assert failed(verify_package(tmp_path / "t.zip", trust)) == {
        ("manifest signature", "manifest.sig"),
        ("inclusion proof", f"item {package['item']} entry {index}"),
    }


def test_a_tampered_timestamp_token_fails(
    package: dict[str, Any], trust: Trust, tmp_path: Path
) -> None:
    name = "timestamps/3.tsr"
    token = bytearray(read_member(package["path"], name))
    token[-10] ^= 0x01
    rewrite(package["path"], tmp_path / "t.zip", name, bytes(token))
    assert failed(verify_package(tmp_path / "t.zip", trust)) == {
        ("file hash", name),
        ("timestamp", name),
    }


def test_a_file_that_is_not_a_package_fails_cleanly(tmp_path: Path) -> None:
    (tmp_path / "x.zip").write_bytes(b"not a zip")
    report = verify_package(tmp_path / "x.zip")
    assert not report.ok
    assert failed(report) == {("package", "x.zip")}
