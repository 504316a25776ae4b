"""RFC 3161 time stamps on checkpoints: request, fetch from a TSA, verify.

The message stamped is a checkpoint's note body (C2SP tlog-checkpoint, without its
signature lines); the TSA signs its SHA-256.  What we keep is the TSA's whole
`TimeStampResp` (DER, the `.tsr` file `openssl ts -verify` reads), so anyone can verify
it later against the TSA's root certificate without us.

Parsing and verification are done by rfc3161-client (no network I/O of its own);
the HTTP exchange is ours (httpx, `application/timestamp-query`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx
from cryptography import x509
from rfc3161_client import (
    HashAlgorithm,
    TimeStampRequest,
    TimestampRequestBuilder,
    TimeStampResponse,
    VerificationError,
    VerifierBuilder,
    decode_timestamp_response,
)

QUERY_TYPE = "application/timestamp-query"
REPLY_TYPE = "application/timestamp-reply"
MAX_REPLY_BYTES = 64 * 1024  # a token with its certificate is about 1-2 KB


class TimestampError(RuntimeError):
    """The TSA could not be reached, refused, or sent a token that does not verify."""


@dataclass(frozen=True)
class StampedToken:
    """A verified time stamp: the TSA's reply as sent, and what it says."""

    response: bytes
    gen_time: datetime
    serial_number: int
    policy: str
    nonce: int | None


def load_trust_roots(path: Path) -> list[x509.Certificate]:
    """The TSA root certificates in a PEM file (one or more); raise if there are none."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise TimestampError(f"TSA trust roots file {path} cannot be read: {exc}") from exc
    try:
        roots = x509.load_pem_x509_certificates(data)
    except ValueError as exc:
        raise TimestampError(f"TSA trust roots file {path} holds no PEM certificate") from exc
    return roots


def build_request(message: bytes) -> TimeStampRequest:
    """A request over SHA-256(`message`) with a random nonce, asking for the TSA certificate."""
    return (
        TimestampRequestBuilder()
        .data(message)
        .hash_algorithm(HashAlgorithm.SHA256)
        .nonce(nonce=True)
        .cert_request(cert_request=True)
        .build()
    )


def _summary(response: TimeStampResponse, der: bytes) -> StampedToken:
    info = response.tst_info
    return StampedToken(
        response=der,
        gen_time=info.gen_time,
        serial_number=info.serial_number,
        policy=info.policy.dotted_string,
        nonce=info.nonce,
    )


def verify_token(
    response_der: bytes,
    message: bytes,
    roots: list[x509.Certificate],
    *,
    request: TimeStampRequest | None = None,
) -> StampedToken:
    """Check a `TimeStampResp` over `message`: status granted, signature and certificate
    chain up to one of `roots` (valid at the stamp's time), EKU timeStamping (critical),
    the message imprint, and (given the request) the nonce and policy.  Raise
    `TimestampError` naming what failed."""
    try:
        response = decode_timestamp_response(response_der)
    except ValueError as exc:
        raise TimestampError(f"not an RFC 3161 time-stamp response: {exc}") from exc
    builder = VerifierBuilder.from_request(request) if request is not None else VerifierBuilder()
    for root in roots:
        builder = builder.add_root_certificate(root)
    try:
        builder.build().verify_message(response, message)
    except (VerificationError, ValueError) as exc:
        raise TimestampError(f"time stamp does not verify: {exc}") from exc
    return _summary(response, response_der)


async def request_timestamp(
    client: httpx.AsyncClient,
    url: str,
    message: bytes,
    roots: list[x509.Certificate],
) -> StampedToken:
    """Ask the TSA at `url` to stamp `message`, and verify the reply before returning it."""
    request = build_request(message)
    try:
        reply = await client.post(
            url, content=request.as_bytes(), headers={"Content-Type": QUERY_TYPE}
        )
    except httpx.HTTPError as exc:
        raise TimestampError(f"TSA unreachable: {type(exc).__name__}") from exc
    if reply.status_code != 200:
        raise TimestampError(f"TSA answered HTTP {reply.status_code}")
    content_type = reply.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != REPLY_TYPE:
        raise TimestampError(f"TSA answered {content_type or 'no content type'}, not {REPLY_TYPE}")
    if len(reply.content) > MAX_REPLY_BYTES:
        raise TimestampError(f"TSA reply larger than {MAX_REPLY_BYTES} bytes")
    return verify_token(reply.content, message, roots, request=request)
