"""The court export package, version 1: names and small pure helpers shared by the exporter
and the offline verifier (docs/ledger.md, "Export packages", is the specification).

A package is a zip archive:

    manifest.json                  canonical JSON (RFC 8785), described below
    manifest.sig                   ES256 (DER) signature over manifest.json by the C2PA signer
    checkpoint.txt                 the C2SP signed note all inclusion proofs lead to, with the
                                   witnesses' cosignatures
    keys/log.vkey                  the log's verifier key
    keys/witnesses/<name>.vkey     each witness's cosignature verifier key
    keys/c2pa-signer.pem           the C2PA signer's certificate chain (end entity first)
    keys/c2pa-root.pem             the C2PA trust anchor (the platform's root)
    keys/tsa/<n>.pem               TSA root certificate(s)
    timestamps/<size>.tsr          RFC 3161 TimeStampResp over the body of checkpoint <size>
    timestamps/<size>.checkpoint   that checkpoint as a signed note
    files/<item>/original.<ext>    the original, byte for byte as ingested
    files/<item>/original.<ext>.c2pa   its detached C2PA manifest store
    files/<item>/<kind>.<ext>      derivatives (e.g. proxy.mp4) with embedded C2PA manifests
    custody-report.pdf             the human-readable custody report

Only this module and `ledger.verify*` define how a package is read; they import nothing that
needs a server or a database.
"""

from __future__ import annotations

import base64
import re
from typing import Any

FORMAT = "citywitness-export"
VERSION = 1
MANIFEST = "manifest.json"
MANIFEST_SIG = "manifest.sig"
CHECKPOINT = "checkpoint.txt"
LOG_VKEY = "keys/log.vkey"
WITNESS_DIR = "keys/witnesses/"
C2PA_SIGNER = "keys/c2pa-signer.pem"
C2PA_ROOT = "keys/c2pa-root.pem"
TSA_DIR = "keys/tsa/"
TIMESTAMP_DIR = "timestamps/"
FILES_DIR = "files/"
REPORT = "custody-report.pdf"
SIDECAR_SUFFIX = ".c2pa"

_SAFE_PATH = re.compile(r"^(?!/)(?!.*(^|/)\.\.?(/|$))[A-Za-z0-9._\-/+]{1,240}$")
_EXTENSION = re.compile(r"^[a-z0-9]{1,10}$")


def safe_path(path: str) -> bool:
    """A member name that is relative, has no `.`/`..` segments and only plain characters."""
    return bool(_SAFE_PATH.match(path)) and "//" not in path


def extension_of(filename: str, media_type: str) -> str:
    """A short, safe file extension for an exported file (from its name, else its type)."""
    suffix = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if _EXTENSION.match(suffix):
        return suffix
    subtype = media_type.rsplit("/", maxsplit=1)[-1].split(";", maxsplit=1)[0].strip().lower()
    return subtype if _EXTENSION.match(subtype) else "bin"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: Any) -> bytes:
    """Strict standard base64 (raises ValueError on anything else)."""
    if not isinstance(text, str):
        raise ValueError("expected a base64 string")
    raw = base64.b64decode(text.encode("ascii"), validate=True)
    if b64(raw) != text:
        raise ValueError("not canonical base64")
    return raw
