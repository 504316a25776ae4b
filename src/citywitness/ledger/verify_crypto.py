"""Signature checks of the offline verifier: the manifest's ES256 signature with its
certificate chain, RFC 3161 tokens, C2PA manifests.  Each returns None when the check holds,
else a short reason."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from dataclasses import dataclass, field
from typing import IO, Any

import c2pa
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from rfc3161_client import VerificationError, VerifierBuilder, decode_timestamp_response

EVIDENCE_ASSERTION = "org.citywitness.evidence"


def load_certificates(pem: bytes) -> list[x509.Certificate]:
    try:
        return x509.load_pem_x509_certificates(pem)
    except ValueError:
        return []


def _signed_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    if cert.issuer != issuer.subject:
        return False
    key = issuer.public_key()
    algorithm = cert.signature_hash_algorithm
    try:
        if isinstance(key, ec.EllipticCurvePublicKey) and algorithm is not None:
            key.verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(algorithm))
        elif isinstance(key, rsa.RSAPublicKey) and algorithm is not None:
            key.verify(cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(), algorithm)
        else:
            return False
    except InvalidSignature:
        return False
    return True


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def chain_problem(
    chain: list[x509.Certificate], anchors: list[x509.Certificate], at: dt.datetime
) -> str | None:
    """Why `chain` (end entity first) does not lead to one of `anchors`, or None."""
    if not chain:
        return "no certificate"
    for cert in chain:
        if not cert.not_valid_before_utc <= at <= cert.not_valid_after_utc:
            return f"certificate {cert.subject.rfc4514_string()} not valid at {at.isoformat()}"
    for child, parent in itertools.pairwise(chain):
        if not (_is_ca(parent) and _signed_by(child, parent)):
            return "certificate chain is broken"
    top = chain[-1]
    for anchor in anchors:
        if top == anchor or (_is_ca(anchor) and _signed_by(top, anchor)):
            return None
    return "certificate chain does not lead to a trusted anchor"


def manifest_signature_problem(
    manifest: bytes, signature: bytes, chain_pem: bytes, anchors: list[x509.Certificate]
) -> str | None:
    chain = load_certificates(chain_pem)
    if not chain:
        return "no signer certificate"
    key = chain[0].public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey):
        return "signer key is not an EC key"
    try:
        key.verify(signature, manifest, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return "signature does not verify"
    return chain_problem(chain, anchors, dt.datetime.now(dt.UTC))


@dataclass(frozen=True)
class StampResult:
    problem: str | None
    gen_time: dt.datetime | None = None


def timestamp_problem(token: bytes, message: bytes, roots: list[x509.Certificate]) -> StampResult:
    """Verify an RFC 3161 TimeStampResp over `message` against TSA `roots`."""
    if not roots:
        return StampResult("no TSA root certificate to verify against")
    try:
        response = decode_timestamp_response(token)
    except ValueError as exc:
        return StampResult(f"not a time-stamp response: {exc}")
    builder = VerifierBuilder()
    for root in roots:
        builder = builder.add_root_certificate(root)
    try:
        builder.build().verify_message(response, message)
    except (VerificationError, ValueError) as exc:
        return StampResult(f"token does not verify: {exc}")
    return StampResult(None, response.tst_info.gen_time)


@dataclass(frozen=True)
class C2paResult:
    problem: str | None
    state: str | None = None
    evidence: dict[str, Any] = field(default_factory=dict)


def _context(anchors_pem: str | None) -> c2pa.Context:
    if anchors_pem:
        return c2pa.Context.from_dict(
            {"verify": {"verify_trust": True}, "trust": {"trust_anchors": anchors_pem}}
        )
    return c2pa.Context.from_dict({"verify": {"verify_trust": False}})


def c2pa_check(
    media_type: str, asset: IO[bytes], manifest: bytes | None, anchors_pem: str | None
) -> C2paResult:
    """Validate a C2PA manifest (detached `manifest`, or embedded when None) over `asset`.

    With anchors the state must be `Trusted`; without, `Valid` is enough (trust not anchored).
    """
    try:
        with (
            _context(anchors_pem) as context,
            c2pa.Reader(media_type, asset, manifest, context=context) as reader,
        ):
            state = reader.get_validation_state()
            results = reader.get_validation_results() or {}
            active = reader.get_active_manifest() or {}
    except c2pa.C2paError as exc:
        return C2paResult(f"no valid C2PA manifest: {exc}")
    wanted = {"Trusted"} if anchors_pem else {"Trusted", "Valid"}
    failures = [f.get("code", "?") for f in results.get("activeManifest", {}).get("failure", [])]
    evidence: dict[str, Any] = {}
    for assertion in active.get("assertions", []):
        if assertion.get("label") == EVIDENCE_ASSERTION and isinstance(assertion.get("data"), dict):
            evidence = assertion["data"]
    if state not in wanted:
        detail = ", ".join(failures) or json.dumps(results)[:200]
        return C2paResult(f"state {state}: {detail}", state, evidence)
    return C2paResult(None, state, evidence)
