"""C2PA manifests for exported evidence, signed offline with the platform's identity.

- An original keeps its bytes: its manifest is a *sidecar* (`set_no_embed`), a `.c2pa` file
  next to it whose hard binding (e.g. `c2pa.hash.bmff` for MP4) covers the original's bytes.
- A derivative (a proxy, a redacted copy) gets the manifest *embedded*: the signed file is a
  new file with its own SHA-256.

Every manifest carries `c2pa.actions` (`c2pa.created`, then for a derivative `c2pa.transcoded`
or `c2pa.redacted`) and the custom assertion `org.citywitness.evidence` with the
item's id, SHA-256, recorder, officer, department and ingest time.  No time-stamp authority is
contacted (`ta_url` None): the time anchoring of the package is the RFC 3161 token on the
ledger checkpoint.  The c2pa library works on seekable streams and releases the GIL in its
native code; callers run these functions in a worker thread.
"""

from __future__ import annotations

import io
from typing import IO, Any

import c2pa

from citywitness import __version__
from citywitness.ledger.c2pa_identity import C2paIdentity

EVIDENCE_ASSERTION = "org.citywitness.evidence"
DIGITAL_CAPTURE = "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture"
_CREATED = {"action": "c2pa.created", "digitalSourceType": DIGITAL_CAPTURE}
_SUPPORTED: frozenset[str] | None = None


def supported(media_type: str) -> bool:
    """Whether the c2pa library can bind a manifest to files of `media_type`."""
    global _SUPPORTED  # noqa: PLW0603 - computed once, from the native library
    if _SUPPORTED is None:
        _SUPPORTED = frozenset(c2pa.Builder.get_supported_mime_types())
    return "/" in media_type and media_type.lower() in _SUPPORTED


class _Discard(io.RawIOBase):
    """A writable, seekable sink: a sidecar signing copies the asset to `dest`; we drop it."""

    def __init__(self) -> None:
        self._position = 0
        self._size = 0

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        n = len(memoryview(data))
        self._position += n
        self._size = max(self._size, self._position)
        return n

    def read(self, size: int = -1) -> bytes:  # noqa: ARG002 - nothing to read back
        return b""

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}[whence]
        self._position = base + offset
        return self._position

    def tell(self) -> int:
        return self._position


def _signer(identity: C2paIdentity) -> c2pa.Signer:
    info = c2pa.C2paSignerInfo(
        c2pa.C2paSigningAlg.ES256, identity.chain_pem, identity.key_pem, None
    )
    return c2pa.Signer.from_info(info)


def _manifest(
    title: str, actions: list[dict[str, Any]], evidence: dict[str, Any]
) -> dict[str, Any]:
    return {
        "claim_generator_info": [{"name": "CityWitness", "version": __version__}],
        "title": title,
        "assertions": [
            {"label": "c2pa.actions", "data": {"actions": actions}},
            {"label": EVIDENCE_ASSERTION, "data": evidence},
        ],
    }


def sign_sidecar(
    identity: C2paIdentity,
    *,
    media_type: str,
    source: IO[bytes],
    title: str,
    evidence: dict[str, Any],
) -> bytes:
    """The detached manifest store (`.c2pa` bytes) of an original; `source` is not changed."""
    signer = _signer(identity)
    try:
        with c2pa.Builder(_manifest(title, [_CREATED], evidence)) as builder:
            builder.set_no_embed()
            return bytes(builder.sign(signer, media_type, source, _Discard()))
    finally:
        signer.close()


def sign_embedded(
    identity: C2paIdentity,
    *,
    media_type: str,
    source: IO[bytes],
    dest: IO[bytes],
    title: str,
    action: str,
    evidence: dict[str, Any],
) -> None:
    """Write `source` with a manifest embedded into `dest` (a derivative; `action` says how it
    was made from the original, e.g. `c2pa.transcoded`)."""
    signer = _signer(identity)
    # C2PA wants `c2pa.created` (or `c2pa.opened` with the parent as an ingredient archive)
    # first; the original is named by its SHA-256 in the step and the evidence assertion.
    step = {"action": action, "parameters": {"original_sha256": evidence.get("original_sha256")}}
    try:
        with c2pa.Builder(_manifest(title, [_CREATED, step], evidence)) as builder:
            builder.sign(signer, media_type, source, dest)
    finally:
        signer.close()
