"""The offline verifier of court export packages (`citywitness verify`).

Needs no server and no database: it reads the zip and checks, in this order, the manifest
(canonical JSON, its ES256 signature to a trusted root), every file's SHA-256 and length, the
checkpoint (log signature, cosignatures), every custody leaf and its inclusion proof into the
checkpoint, the RFC 3161 tokens (and the consistency of the stamped checkpoint with the
package's), and the C2PA manifests (sidecar for originals, embedded for derivatives).  Every
check lands in the `Report`, named, with the file or entry it is about.

The SHA-256 of every file and the C2PA hard bindings each read the originals once: the file
hashes run on a second thread while the rest is checked (both hash in native code that
releases the GIL), and their results are merged back in the report's usual order.

Imports: only the pure ledger modules (merkle, note, canonical, export_format, verify_*),
cryptography, rfc3161-client and c2pa.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from cryptography import x509

from citywitness.ledger import export_format as fmt
from citywitness.ledger import verify_trust as names
from citywitness.ledger.canonical import canonical_json
from citywitness.ledger.note import (
    Checkpoint,
    CosignatureVerifier,
    NoteError,
    NoteVerifier,
    SignedNote,
)
from citywitness.ledger.verify_crypto import load_certificates, manifest_signature_problem
from citywitness.ledger.verify_items import ItemChecker, verify_timestamps
from citywitness.ledger.verify_trust import Report, Trust
from citywitness.ledger.verify_zip import PackageError, PackageReader


class _Stop(Exception):
    """A failure after which nothing else can be checked meaningfully."""


_Anchors = tuple[list[NoteVerifier], list[CosignatureVerifier], list[x509.Certificate]]


class _Verification:
    def __init__(self, reader: PackageReader, trust: Trust, report: Report) -> None:
        self.reader, self.trust, self.report = reader, trust, report
        self.manifest: dict[str, Any] = {}

    # -- manifest and keys -----------------------------------------------------------

    def load_manifest(self) -> None:
        try:
            raw = self.reader.read_small(fmt.MANIFEST)
            manifest = json.loads(raw)
        except (PackageError, ValueError) as exc:
            self.report.add(names.MANIFEST, fmt.MANIFEST, f"unreadable: {exc}")
            raise _Stop from None
        problem = None
        if not isinstance(manifest, dict):
            problem = "not a JSON object"
        elif manifest.get("format") != fmt.FORMAT or manifest.get("version") != fmt.VERSION:
            problem = f"not a {fmt.FORMAT} version {fmt.VERSION} manifest"
        elif canonical_json(manifest) != raw:
            problem = "not in canonical form (RFC 8785)"
        self.report.add(names.MANIFEST, fmt.MANIFEST, problem)
        if problem is not None:
            raise _Stop
        self.manifest = manifest

    def package_certs(self) -> list[x509.Certificate]:
        certs: list[x509.Certificate] = []
        for name in self.reader.members:
            if name == fmt.C2PA_ROOT or (name.startswith(fmt.TSA_DIR) and name.endswith(".pem")):
                certs.extend(load_certificates(self.reader.read_small(name)))
        return certs

    def anchors(self) -> _Anchors:
        report, trust = self.report, self.trust
        log_keys, witness_keys, certs = trust.log_keys, trust.witness_keys, trust.certificates
        report.anchored = {"log": bool(log_keys), "witnesses": bool(witness_keys)}
        report.anchored["certificates"] = bool(certs)
        if not log_keys and self.reader.has(fmt.LOG_VKEY):
            fallback = Trust()
            fallback.add(self.reader.read_small(fmt.LOG_VKEY), fmt.LOG_VKEY)
            log_keys = fallback.log_keys
        if not witness_keys:
            fallback = Trust()
            for name in self.reader.members:
                if name.startswith(fmt.WITNESS_DIR):
                    fallback.add(self.reader.read_small(name), name)
            witness_keys = fallback.witness_keys
        if not certs:
            certs = self.package_certs()
        for kind, anchored in report.anchored.items():
            if not anchored:
                report.warn(names.TRUST, kind, "not anchored: using the keys inside the package")
        return log_keys, witness_keys, certs

    def manifest_signature(self, certs: list[x509.Certificate]) -> None:
        try:
            problem = manifest_signature_problem(
                self.reader.read_small(fmt.MANIFEST),
                self.reader.read_small(fmt.MANIFEST_SIG),
                self.reader.read_small(fmt.C2PA_SIGNER),
                certs,
            )
        except PackageError as exc:
            problem = str(exc)
        self.report.add(names.MANIFEST_SIGNATURE, fmt.MANIFEST_SIG, problem)

    # -- files ----------------------------------------------------------------------

    def file_hashes(self, report: Report) -> None:
        """Every listed file's hash and size, and no unlisted file (into `report`: this
        runs on a thread of its own)."""
        files = self.manifest.get("files")
        if not isinstance(files, dict):
            report.add(names.FILE_HASH, fmt.MANIFEST, "no file list")
            return
        for path, entry in sorted(files.items()):
            report.add(names.FILE_HASH, path, self._file_problem(path, entry))
        for name in sorted(self.reader.members):
            if name not in files and name not in (fmt.MANIFEST, fmt.MANIFEST_SIG):
                report.add(names.UNLISTED, name, "in the archive but not in the manifest")

    def _file_problem(self, path: str, entry: Any) -> str | None:
        if not isinstance(entry, dict) or not self.reader.has(path):
            return "missing from the package"
        try:
            digest, size = self.reader.sha256(path)
        except PackageError as exc:
            return str(exc)
        if size != entry.get("size"):
            return f"size {size}, manifest says {entry.get('size')}"
        if digest != entry.get("sha256"):
            return f"sha256 {digest}, manifest says {entry.get('sha256')}"
        return None

    # -- checkpoint -------------------------------------------------------------------

    def checkpoint(
        self,
        log_keys: list[NoteVerifier],
        witness_keys: list[CosignatureVerifier],
        report: Report,
    ) -> tuple[SignedNote, Checkpoint]:
        try:
            note = SignedNote.decode(self.reader.read_small(fmt.CHECKPOINT))
            checkpoint = Checkpoint.parse(note.body)
        except (PackageError, NoteError) as exc:
            report.add(names.CHECKPOINT, fmt.CHECKPOINT, f"malformed: {exc}")
            raise _Stop from None
        log = self.manifest.get("log") or {}
        stated = (log.get("origin"), log.get("size"), log.get("root"))
        actual = (checkpoint.origin, checkpoint.size, fmt.b64(checkpoint.root))
        report.add(
            names.CHECKPOINT,
            fmt.CHECKPOINT,
            None if stated == actual else "differs from the manifest's log section",
            f"{checkpoint.origin} size {checkpoint.size}",
        )
        signed = any(key.verify(note) for key in log_keys)
        report.add(
            names.CHECKPOINT_SIGNATURE,
            fmt.CHECKPOINT,
            None if signed else "no valid signature by the log key",
            ", ".join(key.name for key in log_keys),
        )
        if not witness_keys:
            report.warn(names.COSIGNATURE, fmt.CHECKPOINT, "no witness keys: not cosigned")
        for witness in witness_keys:
            when = witness.verify(note)
            report.add(
                names.COSIGNATURE,
                f"{fmt.CHECKPOINT} ({witness.name})",
                None if when is not None else "no valid cosignature by this witness",
                f"cosigned at unix time {when}",
            )
        return note, checkpoint


def _log_and_items(run: _Verification, keys: _Anchors, report: Report) -> None:
    """The checkpoint, time stamps, custody, proofs and C2PA manifests, into `report`."""
    log_keys, witness_keys, certs = keys
    _, checkpoint = run.checkpoint(log_keys, witness_keys, report)
    verify_timestamps(
        run.reader,
        manifest=run.manifest,
        checkpoint=checkpoint,
        log_keys=log_keys,
        certs=certs,
        report=report,
    )
    items = ItemChecker(run.reader, checkpoint, certs, report)
    for item in run.manifest.get("items") or []:
        items.check(item)
    if not run.manifest.get("items"):
        report.add(names.CUSTODY, fmt.MANIFEST, "the package lists no items")


def verify_package(path: Path, trust: Trust | None = None) -> Report:
    """Check everything in the package at `path`; the report says what held and what failed."""
    report = Report(package=str(path))
    try:
        reader = PackageReader(path)
    except PackageError as exc:
        report.add(names.PACKAGE, path.name, str(exc))
        return report
    with reader:
        run = _Verification(reader, trust or Trust(), report)
        try:
            run.load_manifest()
            keys = run.anchors()
            run.manifest_signature(keys[2])
        except _Stop:
            return report
        hashed, rest = Report(package=str(path)), Report(package=str(path))
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="verify-hash") as pool:
            hashing = pool.submit(run.file_hashes, hashed)
            try:
                _log_and_items(run, keys, rest)
            except _Stop:
                pass
            finally:
                hashing.result()
        report.checks.extend(hashed.checks + rest.checks)
    return report
