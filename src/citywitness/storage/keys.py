"""Key-encryption keys: the `KeyWrapper` protocol and the local key-file implementation.

A wrapper turns a 32-byte data key into an opaque wrapped blob bound to a context (the
object it belongs to) and back.  Production can plug a KMS or HSM behind the same
protocol (a KMS "encryption context" is exactly the `context` argument).
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import stat
from pathlib import Path
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from citywitness.storage.errors import KekFileUnsafe, KeyUnavailable

_FILE_TAG = "citywitness-kek v1 "
_WRAP_VERSION = b"\x01"
_NONCE_BYTES = 12


class KeyWrapper(Protocol):
    """Wraps and unwraps data keys under a key-encryption key (KEK)."""

    @property
    def kek_id(self) -> str:
        """Id of the KEK new keys are wrapped under (stored next to each wrapped key)."""
        ...

    def wrap(self, data_key: bytes, context: bytes) -> bytes:
        """The data key encrypted and bound to `context`."""
        ...

    def unwrap(self, wrapped: bytes, kek_id: str, context: bytes) -> bytes:
        """The data key; `KeyUnavailable` for an unknown KEK, a wrong context or tampering."""
        ...


def _wrap_aad(kek_id: str, context: bytes) -> bytes:
    return b"citywitness/dek/v1|" + kek_id.encode() + b"|" + context


class AesGcmKeyWrapper:
    """AES-256-GCM key wrapping with a random nonce; the context is authenticated data."""

    def __init__(self, kek: bytes) -> None:
        if len(kek) != 32:
            raise ValueError("a key-encryption key is 32 bytes")
        self._aead = AESGCM(kek)
        digest = hashlib.sha256(b"citywitness/kek-id/v1" + kek).hexdigest()
        self._kek_id = f"local:{digest[:16]}"

    @property
    def kek_id(self) -> str:
        return self._kek_id

    def wrap(self, data_key: bytes, context: bytes) -> bytes:
        nonce = secrets.token_bytes(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, data_key, _wrap_aad(self._kek_id, context))
        return _WRAP_VERSION + nonce + sealed

    def unwrap(self, wrapped: bytes, kek_id: str, context: bytes) -> bytes:
        if kek_id != self._kek_id:
            raise KeyUnavailable(f"data key is wrapped under {kek_id}, not {self._kek_id}")
        if wrapped[:1] != _WRAP_VERSION:
            raise KeyUnavailable("wrapped data key has an unknown format")
        nonce, sealed = wrapped[1 : 1 + _NONCE_BYTES], wrapped[1 + _NONCE_BYTES :]
        try:
            return self._aead.decrypt(nonce, sealed, _wrap_aad(kek_id, context))
        except InvalidTag:
            raise KeyUnavailable("wrapped data key failed authentication") from None


def _check_private(path: Path, *, directory: bool) -> None:
    info = path.lstat()
    kind_ok = stat.S_ISDIR(info.st_mode) if directory else stat.S_ISREG(info.st_mode)
    if not kind_ok:
        raise KekFileUnsafe(f"{path} is not a {'directory' if directory else 'regular file'}")
    if info.st_uid != os.geteuid():
        raise KekFileUnsafe(f"{path} is owned by uid {info.st_uid}, not by this process")
    loose = 0o022 if directory else 0o077
    if info.st_mode & loose:
        mode = oct(stat.S_IMODE(info.st_mode))
        raise KekFileUnsafe(f"{path} has mode {mode}; group and world must have no access")


def _create_key_file(path: Path) -> None:
    kek = secrets.token_bytes(32)
    line = (_FILE_TAG + base64.b64encode(kek).decode() + "\n").encode()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError:
        return  # another process created it first; use theirs
    try:
        os.write(fd, line)
        os.fsync(fd)
    finally:
        os.close(fd)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _read_key_file(path: Path) -> bytes:
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as handle:
        text = handle.read(4096).decode("ascii", errors="replace").strip()
    if not text.startswith(_FILE_TAG):
        raise KekFileUnsafe(f"{path} is not a CityWitness key file")
    try:
        kek = base64.b64decode(text[len(_FILE_TAG) :], validate=True)
    except ValueError:
        raise KekFileUnsafe(f"{path} holds a malformed key") from None
    if len(kek) != 32:
        raise KekFileUnsafe(f"{path} holds a key of the wrong length")
    return kek


def load_key_file(path: Path, *, create: bool = True) -> AesGcmKeyWrapper:
    """The wrapper for the KEK in `path`, created (0600, directory 0700) on first use.

    Refuses (`KekFileUnsafe`) a file group or world can access, a directory they can
    write to, a symlink, or a file owned by another user.
    """
    path = path.absolute()
    if not path.parent.exists():
        path.parent.mkdir(parents=True, mode=0o700)
        path.parent.chmod(0o700)  # mkdir's mode is filtered by the umask
    _check_private(path.parent, directory=True)
    if not path.exists() and not path.is_symlink():
        if not create:
            raise KekFileUnsafe(f"{path} does not exist")
        _create_key_file(path)
    _check_private(path, directory=False)
    return AesGcmKeyWrapper(_read_key_file(path))
