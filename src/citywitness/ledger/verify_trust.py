"""What the offline verifier trusts, and the report it writes.

Trust comes from files the user names (`--trust`): verifier keys (one per line; a log key has
type 0x01, a witness's cosignature key type 0x04) and PEM certificates (the C2PA root and
the TSA roots).  For a kind of key the user did not give, the verifier falls back to the
package's own `keys/` and says that trust for it was not anchored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from citywitness.ledger.note import CosignatureVerifier, NoteError, NoteVerifier

Status = Literal["ok", "fail", "warn"]

# Names of the checks (stable: scripts and the docs refer to them).
PACKAGE = "package"
MANIFEST = "manifest"
MANIFEST_SIGNATURE = "manifest signature"
FILE_HASH = "file hash"
UNLISTED = "unlisted file"
CHECKPOINT = "checkpoint"
CHECKPOINT_SIGNATURE = "checkpoint signature"
COSIGNATURE = "cosignature"
LEAF = "leaf"
INCLUSION = "inclusion proof"
CUSTODY = "custody"
ORIGINAL = "original hash"
C2PA = "c2pa"
TIMESTAMP = "timestamp"
CONSISTENCY = "consistency proof"
TRUST = "trust"


class TrustFileError(ValueError):
    """A --trust file holds neither verifier keys nor PEM certificates."""


@dataclass
class Trust:
    log_keys: list[NoteVerifier] = field(default_factory=list)
    witness_keys: list[CosignatureVerifier] = field(default_factory=list)
    certificates: list[x509.Certificate] = field(default_factory=list)

    @classmethod
    def from_files(cls, paths: list[Path]) -> Trust:
        trust = cls()
        for path in paths:
            trust.add(path.read_bytes(), str(path))
        return trust

    def add(self, data: bytes, source: str) -> None:
        if b"-----BEGIN CERTIFICATE-----" in data:
            try:
                self.certificates.extend(x509.load_pem_x509_certificates(data))
            except ValueError:
                raise TrustFileError(f"{source}: unreadable PEM certificate") from None
            return
        lines = [line.strip() for line in data.decode("utf-8", "replace").splitlines()]
        keys = [line for line in lines if line and not line.startswith("#")]
        if not keys:
            raise TrustFileError(f"{source}: no verifier key or certificate")
        for vkey in keys:
            self.add_vkey(vkey, source)

    def add_vkey(self, vkey: str, source: str) -> None:
        try:
            self.log_keys.append(NoteVerifier.from_vkey(vkey))
            return
        except NoteError:
            pass
        try:
            self.witness_keys.append(CosignatureVerifier.from_vkey(vkey))
        except NoteError as exc:
            raise TrustFileError(f"{source}: not a verifier key ({exc})") from None

    def certificates_pem(self) -> str:
        pem = serialization.Encoding.PEM
        return b"".join(cert.public_bytes(pem) for cert in self.certificates).decode("ascii")


@dataclass(frozen=True)
class Check:
    check: str
    subject: str
    status: Status
    detail: str = ""


@dataclass
class Report:
    package: str
    checks: list[Check] = field(default_factory=list)
    anchored: dict[str, bool] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(check.status != "fail" for check in self.checks)

    def add(self, check: str, subject: str, problem: str | None, ok_detail: str = "") -> bool:
        status: Status = "ok" if problem is None else "fail"
        self.checks.append(Check(check, subject, status, problem or ok_detail))
        return problem is None

    def warn(self, check: str, subject: str, detail: str) -> None:
        self.checks.append(Check(check, subject, "warn", detail))

    def failures(self) -> list[Check]:
        return [check for check in self.checks if check.status == "fail"]

    def as_json(self) -> dict[str, Any]:
        return {
            "package": self.package,
            "ok": self.ok,
            "trust_anchored": self.anchored,
            "checks": [
                {"check": c.check, "subject": c.subject, "status": c.status, "detail": c.detail}
                for c in self.checks
            ],
        }
