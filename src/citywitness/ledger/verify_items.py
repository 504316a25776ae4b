"""Per-item and time-stamp checks of the offline verifier (see `verify_package`)."""

from __future__ import annotations

import json
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from citywitness.ledger import export_format as fmt
from citywitness.ledger import verify_trust as names
from citywitness.ledger.canonical import canonical_json
from citywitness.ledger.merkle import leaf_hash, verify_consistency, verify_inclusion
from citywitness.ledger.note import Checkpoint, NoteError, NoteVerifier, SignedNote
from citywitness.ledger.verify_crypto import c2pa_check, timestamp_problem
from citywitness.ledger.verify_trust import Report
from citywitness.ledger.verify_zip import PackageError, PackageReader


def _proof(value: Any) -> list[bytes]:
    if not isinstance(value, list):
        raise ValueError("proof is not a list")
    return [fmt.unb64(node) for node in value]


class ItemChecker:
    """Custody, inclusion, original hash and C2PA checks for each item of a package."""

    def __init__(
        self,
        reader: PackageReader,
        checkpoint: Checkpoint,
        certs: list[x509.Certificate],
        report: Report,
    ) -> None:
        self.reader, self.checkpoint, self.report = reader, checkpoint, report
        pem = serialization.Encoding.PEM
        self.anchors_pem = b"".join(c.public_bytes(pem) for c in certs).decode() or None
        self.files: dict[str, Any] = {}

    def check(self, item: Any) -> None:
        if not isinstance(item, dict):
            self.report.add(names.MANIFEST, fmt.MANIFEST, "an item is not an object")
            return
        item_id = str(item.get("id"))
        leaves = self.custody(item_id, item.get("custody"))
        metadata = item.get("metadata") or {}
        for entry in item.get("files") or []:
            self.file(item_id, metadata, entry)
        sha = metadata.get("sha256")
        ingested = [leaf for leaf in leaves if leaf.get("kind") == "evidence.ingested"]
        problem = None
        if not ingested:
            problem = "no evidence.ingested entry for the item"
        elif (ingested[0].get("details") or {}).get("sha256") not in (None, sha):
            problem = "the ingest entry records a different SHA-256"
        self.report.add(names.CUSTODY, f"item {item_id}", problem, f"{len(leaves)} entries")

    def custody(self, item_id: str, entries: Any) -> list[dict[str, Any]]:
        """Check each custody entry's leaf and inclusion proof; the leaves that hold."""
        if not isinstance(entries, list) or not entries:
            self.report.add(names.CUSTODY, f"item {item_id}", "no custody entries")
            return []
        leaves: list[dict[str, Any]] = []
        last = -1
        for entry in entries:
            index = entry.get("index") if isinstance(entry, dict) else None
            subject = f"item {item_id} entry {index}"
            if not isinstance(index, int) or index <= last:
                self.report.add(names.CUSTODY, subject, "entries are not in log order")
                continue
            last = index
            leaf = self._leaf(item_id, subject, entry)
            if leaf is None:
                continue
            raw = entry["leaf"].encode("utf-8")
            try:
                proof = _proof(entry.get("proof"))
                holds = verify_inclusion(
                    leaf_hash(raw), index, self.checkpoint.size, proof, self.checkpoint.root
                )
            except ValueError as exc:
                holds, why = False, str(exc)
            else:
                why = "does not lead to the checkpoint root"
            if self.report.add(names.INCLUSION, subject, None if holds else why):
                leaves.append(leaf)
        return leaves

    def _leaf(self, item_id: str, subject: str, entry: dict[str, Any]) -> dict[str, Any] | None:
        text = entry.get("leaf")
        problem, leaf = None, None
        try:
            leaf = json.loads(text) if isinstance(text, str) else None
        except ValueError:
            leaf = None
        if not isinstance(leaf, dict):
            problem = "leaf is not a JSON object"
        elif canonical_json(leaf) != text.encode("utf-8"):  # type: ignore[union-attr]
            problem = "leaf is not canonical JSON"
        elif str((leaf.get("object") or {}).get("id")) != item_id:
            problem = "leaf is about another object"
        self.report.add(names.LEAF, subject, problem, str(leaf.get("kind")) if leaf else "")
        return leaf if problem is None else None

    def file(self, item_id: str, metadata: dict[str, Any], entry: Any) -> None:
        if not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
            self.report.add(names.MANIFEST, f"item {item_id}", "a file entry is malformed")
            return
        path = entry["path"]
        if entry.get("role") == "original":
            same = entry.get("sha256") == metadata.get("sha256")
            self.report.add(
                names.ORIGINAL, path, None if same else "differs from the item's ingest SHA-256"
            )
        c2pa = entry.get("c2pa")
        if not isinstance(c2pa, dict):
            self.report.warn(names.C2PA, path, "no C2PA manifest for this media type")
            return
        self.report.add(names.C2PA, path, *self._c2pa(path, entry, c2pa, item_id))

    def _c2pa(
        self, path: str, entry: dict[str, Any], c2pa: dict[str, Any], item_id: str
    ) -> tuple[str | None, str]:
        try:
            sidecar = None
            if c2pa.get("mode") == "sidecar":
                sidecar = self.reader.read_small(str(c2pa.get("path")))
            with self.reader.open(path) as asset:
                result = c2pa_check(str(entry.get("media_type")), asset, sidecar, self.anchors_pem)
        except PackageError as exc:
            return str(exc), ""
        if result.problem is not None:
            return result.problem, ""
        stated = result.evidence
        original_sha = entry.get("source_sha256") or entry.get("sha256")
        if stated.get("item") != item_id or stated.get("sha256") != original_sha:
            return "the manifest's evidence assertion names another item or hash", ""
        return None, f"{c2pa.get('mode')}, {result.state}"


def verify_timestamps(
    reader: PackageReader,
    *,
    manifest: dict[str, Any],
    checkpoint: Checkpoint,
    log_keys: list[NoteVerifier],
    certs: list[x509.Certificate],
    report: Report,
) -> None:
    stamps = manifest.get("timestamps") or []
    if not stamps:
        report.warn(names.TIMESTAMP, fmt.MANIFEST, "the package carries no RFC 3161 time stamp")
    for stamp in stamps:
        token_path = str(stamp.get("token")) if isinstance(stamp, dict) else "?"
        try:
            note = SignedNote.decode(reader.read_small(str(stamp["checkpoint"])))
            stamped = Checkpoint.parse(note.body)
            token = reader.read_small(token_path)
            proof = _proof(stamp.get("consistency"))
        except (PackageError, NoteError, ValueError, KeyError, TypeError) as exc:
            report.add(names.TIMESTAMP, token_path, f"unreadable: {exc}")
            continue
        problem = None if any(key.verify(note) for key in log_keys) else "stamped checkpoint "
        if problem is not None:
            problem += "is not signed by the log key"
        result = timestamp_problem(token, note.body, certs)
        problem = problem or result.problem
        report.add(
            names.TIMESTAMP,
            token_path,
            problem,
            f"checkpoint {stamped.size} at "
            f"{result.gen_time.isoformat() if result.gen_time else '?'}",
        )
        consistent = stamped.origin == checkpoint.origin and verify_consistency(
            stamped.size, checkpoint.size, proof, stamped.root, checkpoint.root
        )
        report.add(
            names.CONSISTENCY,
            token_path,
            None if consistent else "stamped checkpoint is not a prefix of the package's",
            f"{stamped.size} -> {checkpoint.size}",
        )
