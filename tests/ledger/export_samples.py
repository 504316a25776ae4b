"""Export packages built from the pure ledger modules (no database): a small log with custody
leaves, a signed and cosigned checkpoint, an RFC 3161 token from the local TSA over an older
checkpoint, and real MP4 files.  Also helpers to tamper with a package member."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import shutil
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from rfc3161_client import HashAlgorithm, TimestampRequestBuilder

from citywitness.ledger.c2pa_identity import C2paIdentity, load_or_create_identity
from citywitness.ledger.canonical import canonical_json
from citywitness.ledger.export_writer import (
    CustodyEntry,
    ExportFile,
    ExportInfo,
    ExportItem,
    LogEvidence,
    StampEvidence,
    write_package,
)
from citywitness.ledger.merkle import (
    consistency_proof_from_leaves,
    inclusion_proof_from_leaves,
    leaf_hash,
    root_from_leaves,
)
from citywitness.ledger.note import Checkpoint, CosignatureSigner, NoteSigner, SignedNote
from citywitness.ledger.report_pdf import custody_report
from tests.evidence.core.samples import make_mp4
from tests.ledger.tsa import LocalTsa

ORIGIN = "test.citywitness/log"
DEPARTMENT = "00000000-0000-4000-8000-000000000001"


@dataclass
class SampleKeys:
    log: NoteSigner
    witness: CosignatureSigner
    identity: C2paIdentity
    tsa: LocalTsa

    def trust_files(self, directory: Path) -> list[Path]:
        files = {
            "log.vkey": self.log.verifier_key() + "\n",
            "witness.vkey": self.witness.verifier_key() + "\n",
        }
        paths = []
        for name, text in files.items():
            (directory / name).write_text(text)
            paths.append(directory / name)
        (directory / "c2pa-root.pem").write_bytes(self.identity.anchor_pem)
        paths += [directory / "c2pa-root.pem", self.tsa.roots_file]
        return paths


def make_keys(directory: Path) -> SampleKeys:
    tsa = LocalTsa(directory / "tsa")
    (directory / "tsa").mkdir(parents=True)
    tsa.start()
    return SampleKeys(
        log=NoteSigner(ORIGIN, Ed25519PrivateKey.generate()),
        witness=CosignatureSigner("witness.example/w1", Ed25519PrivateKey.generate()),
        identity=load_or_create_identity(directory / "c2pa", "Test City"),
        tsa=tsa,
    )


def leaf(kind: str, item_id: str, minute: int, **details: Any) -> bytes:
    return canonical_json(
        {
            "v": 1,
            "kind": kind,
            "object": {"type": "evidence", "id": item_id},
            "department": DEPARTMENT,
            "actor": {"kind": "user", "id": "00000000-0000-4000-8000-00000000000a"},
            "at": f"2026-01-02T03:{minute:02d}:00Z",
            "details": details,
        }
    )


def _stamp(keys: SampleKeys, note: bytes) -> bytes:
    body = SignedNote.decode(note).body
    request = (
        TimestampRequestBuilder()
        .data(body)
        .hash_algorithm(HashAlgorithm.SHA256)
        .nonce(nonce=True)
        .cert_request(cert_request=True)
        .build()
    )
    return keys.tsa.reply(request.as_bytes())


def _signed(keys: SampleKeys, leaves: list[bytes], *, cosign: bool) -> bytes:
    hashes = [leaf_hash(data) for data in leaves]
    body = Checkpoint(ORIGIN, len(hashes), root_from_leaves(hashes)).body()
    note = SignedNote(body, (keys.log.sign(body),))
    if cosign:
        note = note.with_signature(keys.witness.cosign(body, 1_760_000_000))
    return note.encode()


def build_package(
    keys: SampleKeys,
    path: Path,
    *,
    notes: str = "夜间巡逻 night patrol",
    derivative: bool = True,
) -> dict[str, Any]:
    """A package of one item (original + proxy derivative); returns what went into it."""
    item_id = str(uuid.uuid4())
    original = make_mp4(1.0, width=64, height=48, audio=False, nonce=item_id)
    proxy = make_mp4(0.5, width=32, height=24, audio=False, nonce="proxy" + item_id)
    sha = hashlib.sha256(original).hexdigest()
    other = str(uuid.uuid4())
    leaves = [
        leaf("evidence.ingested", other, 0, sha256="0" * 64, size=1),
        leaf("evidence.ingested", item_id, 1, sha256=sha, size=len(original)),
        leaf("evidence.played", other, 2, reason="review"),
        leaf("evidence.played", item_id, 3, reason="复核 review"),
    ]
    stamped_note = _signed(keys, leaves[:3], cosign=False)
    leaves.append(leaf("evidence.exported", item_id, 4, reason="court"))
    hashes = [leaf_hash(data) for data in leaves]
    custody = tuple(
        CustodyEntry(i, leaves[i], tuple(inclusion_proof_from_leaves(hashes, i))) for i in (1, 3, 4)
    )
    files = [
        ExportFile(
            "original",
            "original",
            "video/mp4",
            sha,
            len(original),
            "mp4",
            lambda: io.BytesIO(original),
        ),
    ]
    if derivative:
        files.append(
            ExportFile(
                "derivative",
                "proxy",
                "video/mp4",
                hashlib.sha256(proxy).hexdigest(),
                len(proxy),
                "mp4",
                lambda: io.BytesIO(proxy),
            )
        )
    metadata = {
        "sha256": sha,
        "size_bytes": len(original),
        "notes": notes,
        "original_filename": "clip.mp4",
        "media_type": "video/mp4",
        "recorder_serial": "BWC-1",
        "officer_id": None,
        "department_id": DEPARTMENT,
        "ingested_at": "2026-01-02T03:01:00Z",
    }
    log = LogEvidence(
        checkpoint_note=_signed(keys, leaves, cosign=True),
        log_vkey=keys.log.verifier_key(),
        witness_vkeys=(keys.witness.verifier_key(),),
        timestamps=(
            StampEvidence(
                _stamp(keys, stamped_note),
                stamped_note,
                tuple(consistency_proof_from_leaves(hashes, 3)),
            ),
        ),
        tsa_roots=(keys.tsa.roots_file.read_bytes(),),
    )
    info = ExportInfo(
        dt.datetime(2026, 1, 2, 4, 0, tzinfo=dt.UTC),
        "CityWitness test",
        "00000000-0000-4000-8000-00000000000a",
        "investigator",
        "court request",
    )
    summary = write_package(
        path,
        items=[ExportItem(item_id, metadata, tuple(files), custody)],
        log=log,
        identity=keys.identity,
        info=info,
        report=custody_report,
    )
    return {"item": item_id, "original": original, "summary": summary}


def rewrite(source: Path, target: Path, name: str, data: bytes) -> None:
    """Copy a package replacing one member's bytes (same compression)."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w", allowZip64=True) as new:
        for info in old.infolist():
            content = data if info.filename == name else old.read(info)
            new.writestr(info, content, compress_type=info.compress_type)


def read_member(path: Path, name: str) -> bytes:
    with zipfile.ZipFile(path) as archive:
        return archive.read(name)


def edit_manifest(source: Path, target: Path, change: Any) -> None:
    """Apply `change(manifest)` and write it back in canonical form (signature left as is)."""
    manifest = json.loads(read_member(source, "manifest.json"))
    change(manifest)
    rewrite(source, target, "manifest.json", canonical_json(manifest))


def copy(source: Path, target: Path) -> Path:
    shutil.copyfile(source, target)
    return target
