"""C2SP signed notes, checkpoints and cosignatures with Ed25519.

Formats (https://c2sp.org/signed-note, /tlog-checkpoint, /tlog-cosignature):

- A checkpoint body is "<origin>\\n<size>\\n<base64 root>\\n" followed by optional extension lines.
- A signed note is the body, a blank line, then one line per signature:
  "\u2014 <name> <base64(key id (4 bytes) || signature)>\\n".
- An Ed25519 log key's id is SHA-256(name || 0x0A || 0x01 || public key)[:4]; its verifier key
  ("vkey") is "<name>+<hex key id>+<base64(0x01 || public key)>".
- A cosignature/v1 key uses the type byte 0x04 instead; it signs
  "cosignature/v1\\ntime <unix seconds>\\n" + body, and its signature bytes are the timestamp
  (8 bytes big-endian) followed by the Ed25519 signature.

Parsing is strict: anything that is not exactly the canonical form raises `NoteError`, so two
different byte strings never parse to the same checkpoint.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import stat
import struct
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

_DASH = "\u2014"
_ALG_ED25519 = 0x01
_ALG_COSIGNATURE_V1 = 0x04
_ROOT_SIZE = 32
_ED25519_SIG_SIZE = 64
_MAX_SIGNATURES = 100


class NoteError(ValueError):
    """A note, checkpoint or verifier key is malformed."""


class KeyFileError(ValueError):
    """A signing key file is unsafe (permissions, ownership, symlink) or unreadable."""


def _b64decode(text: str, what: str) -> bytes:
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise NoteError(f"{what} is not valid base64") from None
    if base64.b64encode(raw).decode("ascii") != text:
        raise NoteError(f"{what} is not canonical base64")
    return raw


def _check_name(name: str) -> None:
    if not name or "+" in name or any(c.isspace() for c in name) or not name.isprintable():
        raise NoteError(f"invalid key name {name!r}")


def _check_text(text: str) -> None:
    if any((ord(c) < 0x20 and c != "\n") or ord(c) == 0x7F for c in text):
        raise NoteError("note text contains control characters")


@dataclass(frozen=True)
class Checkpoint:
    """A C2SP tlog-checkpoint body: the log's origin, its size and its root hash."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def body(self) -> bytes:
        lines = [self.origin, str(self.size), base64.b64encode(self.root).decode("ascii")]
        return "".join(f"{line}\n" for line in (*lines, *self.extensions)).encode("utf-8")

    @classmethod
    def parse(cls, body: bytes) -> Checkpoint:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise NoteError("checkpoint is not UTF-8") from None
        _check_text(text)
        if not text.endswith("\n"):
            raise NoteError("checkpoint does not end with a newline")
        lines = text[:-1].split("\n")
        if len(lines) < 3:
            raise NoteError("checkpoint has fewer than three lines")
        origin, size_text, root_text, *extensions = lines
        if not origin:
            raise NoteError("checkpoint origin is empty")
        if not (size_text.isascii() and size_text.isdigit()) or (
            len(size_text) > 1 and size_text[0] == "0"
        ):
            raise NoteError("checkpoint size is not a canonical decimal number")
        root = _b64decode(root_text, "checkpoint root")
        if len(root) != _ROOT_SIZE:
            raise NoteError("checkpoint root is not 32 bytes")
        if any(not line for line in extensions):
            raise NoteError("checkpoint has an empty extension line")
        checkpoint = cls(origin, int(size_text), root, tuple(extensions))
        if checkpoint.body() != body:
            raise NoteError("checkpoint is not in canonical form")
        return checkpoint


@dataclass(frozen=True)
class NoteSignature:
    """One signature line: the signer's name, its 4-byte key id and the signature bytes."""

    name: str
    key_id: bytes
    signature: bytes

    def line(self) -> str:
        blob = base64.b64encode(self.key_id + self.signature).decode("ascii")
        return f"{_DASH} {self.name} {blob}\n"


@dataclass(frozen=True)
class SignedNote:
    """A note body (ending in a newline) and its signatures."""

    body: bytes
    signatures: tuple[NoteSignature, ...]

    def encode(self) -> bytes:
        lines = "".join(signature.line() for signature in self.signatures)
        return self.body + b"\n" + lines.encode("utf-8")

    @classmethod
    def decode(cls, data: bytes) -> SignedNote:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise NoteError("note is not UTF-8") from None
        _check_text(text)
        split = text.rfind("\n\n")
        if split < 0:
            raise NoteError("note has no signature block")
        body, block = text[: split + 1], text[split + 2 :]
        if not block.endswith("\n"):
            raise NoteError("note does not end with a newline")
        signatures = tuple(_parse_signature(line) for line in block[:-1].split("\n"))
        if len(signatures) > _MAX_SIGNATURES:
            raise NoteError("note has too many signatures")
        return cls(body.encode("utf-8"), signatures)

    def with_signature(self, signature: NoteSignature) -> SignedNote:
        return SignedNote(self.body, (*self.signatures, signature))


def _parse_signature(line: str) -> NoteSignature:
    parts = line.split(" ")
    if len(parts) != 3 or parts[0] != _DASH:
        raise NoteError("malformed signature line")
    _check_name(parts[1])
    blob = _b64decode(parts[2], "signature")
    if len(blob) < 5:
        raise NoteError("signature is too short")
    return NoteSignature(parts[1], blob[:4], blob[4:])


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _key_id(name: str, alg: int, public: bytes) -> bytes:
    return hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([alg]) + public).digest()[:4]


def _vkey(name: str, key_id: bytes, alg: int, public: bytes) -> str:
    return f"{name}+{key_id.hex()}+{base64.b64encode(bytes([alg]) + public).decode('ascii')}"


def _parse_vkey(vkey: str, alg: int) -> tuple[str, bytes, Ed25519PublicKey]:
    parts = vkey.strip().split("+", 2)  # base64 may itself contain "+"
    if len(parts) != 3:
        raise NoteError("verifier key is not <name>+<key id>+<key>")
    name, hex_id, blob_text = parts
    _check_name(name)
    try:
        key_id = bytes.fromhex(hex_id)
    except ValueError:
        raise NoteError("verifier key id is not hex") from None
    blob = _b64decode(blob_text, "verifier key")
    if len(key_id) != 4 or hex_id != key_id.hex():
        raise NoteError("verifier key id is not 8 lowercase hex digits")
    if len(blob) != 33 or blob[0] != alg:
        raise NoteError(f"verifier key is not an Ed25519 key of type 0x{alg:02x}")
    if _key_id(name, alg, blob[1:]) != key_id:
        raise NoteError("verifier key id does not match its name and key")
    return name, key_id, Ed25519PublicKey.from_public_bytes(blob[1:])


class NoteSigner:
    """Signs notes (checkpoints) as the log, with an Ed25519 key."""

    def __init__(self, name: str, key: Ed25519PrivateKey) -> None:
        _check_name(name)
        self.name = name
        self._key = key
        self._public = _raw_public(key.public_key())
        self.key_id = _key_id(name, _ALG_ED25519, self._public)

    def sign(self, body: bytes) -> NoteSignature:
        return NoteSignature(self.name, self.key_id, self._key.sign(body))

    def verifier_key(self) -> str:
        return _vkey(self.name, self.key_id, _ALG_ED25519, self._public)


class NoteVerifier:
    """Checks a log's Ed25519 signature on a note, given its verifier key."""

    def __init__(self, name: str, key_id: bytes, key: Ed25519PublicKey) -> None:
        self.name, self.key_id, self._key = name, key_id, key

    @classmethod
    def from_vkey(cls, vkey: str) -> NoteVerifier:
        return cls(*_parse_vkey(vkey, _ALG_ED25519))

    def verify(self, note: SignedNote) -> bool:
        for signature in note.signatures:
            if signature.name != self.name or signature.key_id != self.key_id:
                continue
            if len(signature.signature) != _ED25519_SIG_SIZE:
                continue
            try:
                self._key.verify(signature.signature, note.body)
            except InvalidSignature:
                continue
            return True
        return False


def cosignature_message(body: bytes, timestamp: int) -> bytes:
    """The bytes a cosignature/v1 signs: the header with the time, then the checkpoint body."""
    return b"cosignature/v1\ntime " + str(timestamp).encode("ascii") + b"\n" + body


class CosignatureSigner:
    """Cosigns checkpoints as a witness (C2SP tlog-cosignature, cosignature/v1)."""

    def __init__(self, name: str, key: Ed25519PrivateKey) -> None:
        _check_name(name)
        self.name = name
        self._key = key
        self._public = _raw_public(key.public_key())
        self.key_id = _key_id(name, _ALG_COSIGNATURE_V1, self._public)

    def cosign(self, body: bytes, timestamp: int) -> NoteSignature:
        if not 0 <= timestamp < 1 << 64:
            raise ValueError("cosignature timestamp out of range")
        signed = self._key.sign(cosignature_message(body, timestamp))
        return NoteSignature(self.name, self.key_id, struct.pack(">Q", timestamp) + signed)

    def verifier_key(self) -> str:
        return _vkey(self.name, self.key_id, _ALG_COSIGNATURE_V1, self._public)


class CosignatureVerifier:
    """Checks a witness's cosignature/v1 on a checkpoint, given the witness's verifier key."""

    def __init__(self, name: str, key_id: bytes, key: Ed25519PublicKey) -> None:
        self.name, self.key_id, self._key = name, key_id, key

    @classmethod
    def from_vkey(cls, vkey: str) -> CosignatureVerifier:
        return cls(*_parse_vkey(vkey, _ALG_COSIGNATURE_V1))

    def verify(self, note: SignedNote) -> int | None:
        """The timestamp of a valid cosignature by this witness on the note, else None."""
        for signature in note.signatures:
            if signature.name != self.name or signature.key_id != self.key_id:
                continue
            if len(signature.signature) != 8 + _ED25519_SIG_SIZE:
                continue
            (timestamp,) = struct.unpack(">Q", signature.signature[:8])
            message = cosignature_message(note.body, timestamp)
            try:
                self._key.verify(signature.signature[8:], message)
            except InvalidSignature:
                continue
            return int(timestamp)
        return None


def _check_private(path: Path, *, directory: bool) -> None:
    info = path.lstat()
    kind_ok = stat.S_ISDIR(info.st_mode) if directory else stat.S_ISREG(info.st_mode)
    if not kind_ok:
        raise KeyFileError(f"{path} is not a {'directory' if directory else 'regular file'}")
    if info.st_uid != os.geteuid():
        raise KeyFileError(f"{path} is owned by uid {info.st_uid}, not by this process")
    loose = 0o022 if directory else 0o077
    if info.st_mode & loose:
        mode = oct(stat.S_IMODE(info.st_mode))
        raise KeyFileError(f"{path} has mode {mode}; group and world must have no access")


def load_private_key(path: Path) -> Ed25519PrivateKey:
    """The Ed25519 key in a PKCS#8 PEM file that only this user can read (`KeyFileError`)."""
    path = path.absolute()
    if not path.exists() and not path.is_symlink():
        raise KeyFileError(f"{path} does not exist")
    _check_private(path, directory=False)
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as handle:
        pem = handle.read(64 * 1024)
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError):
        raise KeyFileError(f"{path} does not hold an unencrypted PKCS#8 PEM key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(f"{path} does not hold an Ed25519 key")
    return key


def load_or_create_key(path: Path) -> Ed25519PrivateKey:
    """The key in `path`, created first (file 0600, new directory 0700) if it is missing."""
    path = path.absolute()
    if not path.parent.exists():
        path.parent.mkdir(parents=True, mode=0o700)
        path.parent.chmod(0o700)  # mkdir's mode is filtered by the umask
    _check_private(path.parent, directory=True)
    if not path.exists() and not path.is_symlink():
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        except FileExistsError:
            return load_private_key(path)  # another process created it first; use theirs
        try:
            os.write(fd, pem)
            os.fsync(fd)
        finally:
            os.close(fd)
    return load_private_key(path)
