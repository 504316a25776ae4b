"""Writing a court export package (format: `export_format`, docs/ledger.md).

`write_package` is synchronous (run it in a worker thread): it streams every file into the
zip in pieces, never holding a whole file in memory, and checks each original's SHA-256
against the one recorded at ingest while copying it; a mismatch aborts the export
(`ExportIntegrityError`) and the partial archive is removed.  Media are stored uncompressed
(they do not compress, and the verifier can seek in them); JSON, notes and the report are
deflated.
"""

from __future__ import annotations

import hashlib
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from citywitness.ledger import export_format as fmt
from citywitness.ledger.c2pa_identity import C2paIdentity
from citywitness.ledger.c2pa_sign import sign_embedded, sign_sidecar, supported
from citywitness.ledger.canonical import canonical_json
from citywitness.ledger.note import Checkpoint, SignedNote

COPY_BYTES = 4 * 1024 * 1024


class ExportIntegrityError(RuntimeError):
    """Stored bytes did not hash to the SHA-256 recorded at ingest: nothing is exported."""


@dataclass(frozen=True)
class CustodyEntry:
    index: int
    leaf: bytes  # the canonical JSON bytes of the leaf
    proof: tuple[bytes, ...]  # inclusion proof into the package's checkpoint


@dataclass(frozen=True)
class ExportFile:
    role: str  # "original" | "derivative"
    kind: str  # "original", "proxy", "redacted", ...
    media_type: str
    sha256: str
    size: int
    extension: str
    open: Callable[[], IO[bytes]]  # a new seekable reader of the plaintext bytes


@dataclass(frozen=True)
class ExportItem:
    id: str
    metadata: dict[str, Any]  # JSON values only; includes "sha256" of the original
    files: tuple[ExportFile, ...]
    custody: tuple[CustodyEntry, ...]


@dataclass(frozen=True)
class StampEvidence:
    token: bytes  # RFC 3161 TimeStampResp (DER) over the stamped checkpoint's body
    note: bytes  # the stamped checkpoint as a signed note
    consistency: tuple[bytes, ...]  # proof from the stamped size to the package's size


@dataclass(frozen=True)
class LogEvidence:
    checkpoint_note: bytes  # signed note with cosignatures
    log_vkey: str
    witness_vkeys: tuple[str, ...] = ()
    timestamps: tuple[StampEvidence, ...] = ()
    tsa_roots: tuple[bytes, ...] = ()  # PEM


@dataclass(frozen=True)
class ExportInfo:
    created_at: datetime
    software: str
    user_id: str
    username: str
    reason: str


@dataclass
class PackageSummary:
    path: Path
    sha256: str
    size: int
    files: dict[str, dict[str, Any]] = field(default_factory=dict)


ReportMaker = Callable[[dict[str, Any]], bytes]


class _Zip:
    def __init__(self, path: Path) -> None:
        self.zip = zipfile.ZipFile(path, "w", allowZip64=True)
        self.files: dict[str, dict[str, Any]] = {}

    def add_bytes(self, name: str, data: bytes, *, listed: bool = True) -> None:
        self.zip.writestr(name, data, compress_type=zipfile.ZIP_DEFLATED)
        if listed:
            self.files[name] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}

    def add_stream(self, name: str, source: IO[bytes]) -> tuple[str, int]:
        digest, size = hashlib.sha256(), 0
        info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_STORED
        with self.zip.open(info, "w", force_zip64=True) as out:
            while chunk := source.read(COPY_BYTES):
                digest.update(chunk)
                out.write(chunk)
                size += len(chunk)
        self.files[name] = {"sha256": digest.hexdigest(), "size": size}
        return digest.hexdigest(), size


def _evidence_assertion(item: ExportItem, file: ExportFile) -> dict[str, Any]:
    meta = item.metadata
    assertion = {
        "item": item.id,
        "sha256": file.sha256,
        "recorder": meta.get("recorder_serial"),
        "officer_id": meta.get("officer_id"),
        "department": meta.get("department_id"),
        "ingested_at": meta.get("ingested_at"),
    }
    if file.role != "original":
        assertion["original_sha256"] = meta.get("sha256")
    return assertion


class _Writer:
    def __init__(self, out: _Zip, identity: C2paIdentity, scratch: Path) -> None:
        self.out, self.identity, self.scratch = out, identity, scratch

    def original(self, item: ExportItem, file: ExportFile, path: str) -> dict[str, Any]:
        entry: dict[str, Any] = {"c2pa": None}
        with file.open() as source:
            if supported(file.media_type):
                evidence = _evidence_assertion(item, file)
                title = f"{item.id}.{file.extension}"
                sidecar = sign_sidecar(
                    self.identity,
                    media_type=file.media_type,
                    source=source,
                    title=title,
                    evidence=evidence,
                )
                source.seek(0)
                self.out.add_bytes(path + fmt.SIDECAR_SUFFIX, sidecar)
                entry["c2pa"] = {"mode": "sidecar", "path": path + fmt.SIDECAR_SUFFIX}
            digest, size = self.out.add_stream(path, source)
        if digest != file.sha256 or size != file.size:
            raise ExportIntegrityError(f"item {item.id}: stored bytes do not match the ingest hash")
        return entry | {"sha256": digest, "size": size}

    def derivative(self, item: ExportItem, file: ExportFile, path: str) -> dict[str, Any]:
        if not supported(file.media_type):
            with file.open() as source:
                digest, size = self.out.add_stream(path, source)
            return {"sha256": digest, "size": size, "c2pa": None, "source_sha256": file.sha256}
        signed = self.scratch / f"{item.id}-{file.kind}.{file.extension}"
        with file.open() as source, signed.open("w+b") as dest:
            sign_embedded(
                self.identity,
                media_type=file.media_type,
                source=source,
                dest=dest,
                title=f"{item.id}-{file.kind}.{file.extension}",
                action="c2pa.transcoded",
                evidence=_evidence_assertion(item, file),
            )
            dest.seek(0)
            digest, size = self.out.add_stream(path, dest)
        signed.unlink()
        return {
            "sha256": digest,
            "size": size,
            "c2pa": {"mode": "embedded"},
            "source_sha256": file.sha256,
        }

    def item(self, item: ExportItem) -> dict[str, Any]:
        files = []
        for file in item.files:
            path = f"{fmt.FILES_DIR}{item.id}/{file.kind}.{file.extension}"
            write = self.original if file.role == "original" else self.derivative
            entry = write(item, file, path)
            files.append(
                {"role": file.role, "kind": file.kind, "path": path, "media_type": file.media_type}
                | entry
            )
        custody = [
            {
                "index": e.index,
                "leaf": e.leaf.decode("utf-8"),
                "proof": [fmt.b64(p) for p in e.proof],
            }
            for e in item.custody
        ]
        return {"id": item.id, "metadata": item.metadata, "files": files, "custody": custody}


def _keys(out: _Zip, log: LogEvidence, identity: C2paIdentity) -> dict[str, Any]:
    out.add_bytes(fmt.LOG_VKEY, log.log_vkey.encode() + b"\n")
    witnesses = []
    for vkey in log.witness_vkeys:
        name = f"{fmt.WITNESS_DIR}{vkey.split('+', 1)[0].replace('/', '_')}.vkey"
        out.add_bytes(name, vkey.encode() + b"\n")
        witnesses.append(name)
    out.add_bytes(fmt.C2PA_SIGNER, identity.chain_pem)
    out.add_bytes(fmt.C2PA_ROOT, identity.anchor_pem)
    tsa = []
    for number, pem in enumerate(log.tsa_roots, start=1):
        out.add_bytes(f"{fmt.TSA_DIR}{number}.pem", pem)
        tsa.append(f"{fmt.TSA_DIR}{number}.pem")
    return {
        "log": fmt.LOG_VKEY,
        "witnesses": witnesses,
        "c2pa_signer": fmt.C2PA_SIGNER,
        "c2pa_root": fmt.C2PA_ROOT,
        "tsa": tsa,
    }


def _timestamps(out: _Zip, log: LogEvidence) -> list[dict[str, Any]]:
    stamps = []
    for stamp in log.timestamps:
        size = Checkpoint.parse(SignedNote.decode(stamp.note).body).size
        token, note = f"{fmt.TIMESTAMP_DIR}{size}.tsr", f"{fmt.TIMESTAMP_DIR}{size}.checkpoint"
        out.add_bytes(token, stamp.token)
        out.add_bytes(note, stamp.note)
        stamps.append(
            {
                "token": token,
                "checkpoint": note,
                "size": size,
                "consistency": [fmt.b64(p) for p in stamp.consistency],
            }
        )
    return stamps


def _sign(identity: C2paIdentity, data: bytes) -> bytes:
    key = serialization.load_pem_private_key(identity.key_pem, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise TypeError("the C2PA signing key is not an EC key")
    return key.sign(data, ec.ECDSA(hashes.SHA256()))


def write_package(
    path: Path,
    *,
    items: list[ExportItem],
    log: LogEvidence,
    identity: C2paIdentity,
    info: ExportInfo,
    report: ReportMaker | None = None,
) -> PackageSummary:
    """Write the package to `path` (replaced if it exists); its hash and file list."""
    checkpoint = Checkpoint.parse(SignedNote.decode(log.checkpoint_note).body)
    out = _Zip(path)
    try:
        with tempfile.TemporaryDirectory(dir=path.parent, prefix=".export-") as scratch:
            writer = _Writer(out, identity, Path(scratch))
            keys = _keys(out, log, identity)
            out.add_bytes(fmt.CHECKPOINT, log.checkpoint_note)
            manifest: dict[str, Any] = {
                "format": fmt.FORMAT,
                "version": fmt.VERSION,
                "created_at": info.created_at.isoformat().replace("+00:00", "Z"),
                "exporter": {
                    "software": info.software,
                    "reason": info.reason,
                    "user": {"id": info.user_id, "username": info.username},
                },
                "log": {
                    "origin": checkpoint.origin,
                    "size": checkpoint.size,
                    "root": fmt.b64(checkpoint.root),
                    "checkpoint": fmt.CHECKPOINT,
                },
                "keys": keys,
                "timestamps": _timestamps(out, log),
                "items": [writer.item(item) for item in items],
            }
            if report is not None:
                out.add_bytes(fmt.REPORT, report(manifest))
            manifest["files"] = dict(sorted(out.files.items()))
            body = canonical_json(manifest)
            out.add_bytes(fmt.MANIFEST, body, listed=False)
            out.add_bytes(fmt.MANIFEST_SIG, _sign(identity, body), listed=False)
        out.zip.close()
    except BaseException:
        out.zip.close()
        path.unlink(missing_ok=True)
        raise
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(COPY_BYTES):
            digest.update(chunk)
    return PackageSummary(path, digest.hexdigest(), path.stat().st_size, dict(out.files))


__all__ = [
    "CustodyEntry",
    "ExportFile",
    "ExportInfo",
    "ExportIntegrityError",
    "ExportItem",
    "LogEvidence",
    "PackageSummary",
    "StampEvidence",
    "write_package",
]
