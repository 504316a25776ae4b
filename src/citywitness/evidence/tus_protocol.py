"""The tus 1.0 resumable-upload protocol at the edge: headers, their parsing, its errors.

https://tus.io/protocols/resumable-upload - core protocol plus the creation,
creation-with-upload, termination, expiration and checksum (sha256) extensions.
Nothing here touches the database or the store; `tus.py` holds the rules.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime

from citywitness.kit.errors import AppError, BadRequest, Conflict, PayloadTooLarge

TUS_VERSION = "1.0.0"
TUS_EXTENSIONS = "creation,creation-with-upload,termination,expiration,checksum"
CHECKSUM_ALGORITHMS = "sha256"
OFFSET_CONTENT_TYPE = "application/offset+octet-stream"
MAX_METADATA_HEADER = 32 * 1024
MAX_LENGTH_DIGITS = 19  # an int64, as the Upload-Length and Upload-Offset columns hold

_KEY = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_DIGITS = re.compile(r"^[0-9]{1,19}$")


class TusVersionUnsupported(AppError):
    """Send `Tus-Resumable: 1.0.0` (the only version this server speaks)."""

    code = "tus_version_unsupported"
    status = 412


class InvalidTusHeader(BadRequest):
    """A tus header is missing or malformed (see `fields`)."""

    code = "invalid_tus_header"


class UploadMetadataTooLarge(PayloadTooLarge):
    """The Upload-Metadata header is too long."""

    code = "upload_metadata_too_large"


class UnsupportedChecksumAlgorithm(BadRequest):
    """Upload-Checksum must use sha256 (see Tus-Checksum-Algorithm)."""

    code = "checksum_algorithm_unsupported"


class WrongContentType(AppError):
    """A PATCH body must be sent as application/offset+octet-stream."""

    code = "tus_content_type"
    status = 415


class UploadOffsetMismatch(Conflict):
    """Upload-Offset differs from the bytes the server holds; ask with HEAD and resume there."""

    code = "upload_offset_mismatch"


class ChecksumMismatch(AppError):
    """The body of this PATCH does not match its Upload-Checksum; nothing of it was kept."""

    code = "checksum_mismatch"
    status = 460


class UploadTooLarge(PayloadTooLarge):
    """Upload-Length is over Tus-Max-Size, or the body runs past Upload-Length."""

    code = "upload_too_large"


class UploadExpired(AppError):
    """The upload expired before it was completed; its bytes are gone."""

    code = "upload_expired"
    status = 410


class UploadTerminated(AppError):
    """The upload was terminated (or refused when it completed); its bytes are gone."""

    code = "upload_terminated"
    status = 410


class UploadLost(AppError):
    """The upload's partial bytes are no longer on this server; start a new upload."""

    code = "upload_lost"
    status = 410


def tus_headers(**extra: str) -> dict[str, str]:
    """Headers every tus response carries, plus `extra` (e.g. Upload-Offset)."""
    return {"Tus-Resumable": TUS_VERSION, "Cache-Control": "no-store", **extra}


def require_version(value: str | None) -> None:
    if value != TUS_VERSION:
        raise TusVersionUnsupported(headers={"Tus-Version": TUS_VERSION, **tus_headers()})


def parse_int_header(name: str, value: str | None) -> int:
    """A non-negative integer header (Upload-Length, Upload-Offset), or 400."""
    if value is None or not _DIGITS.match(value.strip()):
        raise InvalidTusHeader(fields={name: "a non-negative integer"}, headers=tus_headers())
    number = int(value.strip())
    if number >= 2**63:
        raise InvalidTusHeader(fields={name: "too large"}, headers=tus_headers())
    return number


def parse_metadata(value: str | None) -> dict[str, str]:
    """`Upload-Metadata: key base64,key base64`: unique keys, UTF-8 values (key alone: "")."""
    if value is None or not value.strip():
        return {}
    if len(value) > MAX_METADATA_HEADER:
        raise UploadMetadataTooLarge(
            fields={"Upload-Metadata": f"at most {MAX_METADATA_HEADER} characters"},
            headers=tus_headers(),
        )
    pairs: dict[str, str] = {}
    for item in value.split(","):
        parts = item.strip().split(" ")
        key = parts[0]
        if not _KEY.match(key) or len(parts) > 2 or key in pairs:
            raise InvalidTusHeader(
                fields={"Upload-Metadata": f"bad or repeated key {key[:64]!r}"},
                headers=tus_headers(),
            )
        try:
            raw = base64.b64decode(parts[1], validate=True) if len(parts) == 2 else b""
            pairs[key] = raw.decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise InvalidTusHeader(
                fields={"Upload-Metadata": f"value of {key!r} is not base64 of UTF-8"},
                headers=tus_headers(),
            ) from None
    return pairs


def encode_metadata(pairs: dict[str, str]) -> str:
    """The inverse of `parse_metadata` (for clients and tests)."""
    return ",".join(
        f"{key} {base64.b64encode(value.encode()).decode()}" if value else key
        for key, value in pairs.items()
    )


@dataclass(frozen=True)
class Checksum:
    algorithm: str
    digest: bytes


def parse_checksum(value: str | None) -> Checksum | None:
    """`Upload-Checksum: sha256 <base64 digest>`; None when absent."""
    if value is None:
        return None
    algorithm, _, encoded = value.strip().partition(" ")
    if algorithm.lower() != "sha256":
        raise UnsupportedChecksumAlgorithm(
            headers=tus_headers(**{"Tus-Checksum-Algorithm": CHECKSUM_ALGORITHMS})
        )
    try:
        digest = base64.b64decode(encoded.strip(), validate=True)
    except binascii.Error:
        digest = b""
    if len(digest) != 32:
        raise InvalidTusHeader(
            fields={"Upload-Checksum": "sha256 and a base64 32-byte digest"},
            headers=tus_headers(),
        )
    return Checksum("sha256", digest)


def require_offset_content_type(value: str | None) -> None:
    if (value or "").split(";")[0].strip().lower() != OFFSET_CONTENT_TYPE:
        raise WrongContentType(headers=tus_headers())


def http_date(moment: datetime) -> str:
    """RFC 9110 date (`Upload-Expires`)."""
    return format_datetime(moment.astimezone(UTC), usegmt=True)
