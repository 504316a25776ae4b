"""The on-disk object format (version 1); docs/storage.md describes it byte by byte.

An object is a 72-byte header followed by chunk frames:

    header  magic "CWSOBJ" | version u8 | cipher u8 | chunk_size u32 | object_id 16B
            | nonce salt 4B | plaintext length u64 | HMAC-SHA256 of the 40 bytes before
    frame i epoch u32 | AES-256-GCM ciphertext of plaintext chunk i | 16-byte tag

Every chunk holds `chunk_size` plaintext bytes except the last, which holds 1..chunk_size
(0 only for the empty object, which has exactly one, empty, frame).  The GCM nonce of
frame i is salt | epoch | i; its additional data is the first 32 header bytes | i | a
final-chunk flag, so frames cannot be reordered, dropped, appended or moved to another
object.  The data key is never used directly: HKDF-SHA256 derives one key per purpose.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from citywitness.storage.errors import IntegrityFailure

MAGIC = b"CWSOBJ"
VERSION = 1
CIPHER_AES256_GCM = 1
DATA_KEY_BYTES = 32
OBJECT_ID_BYTES = 16
SALT_BYTES = 4
TAG_BYTES = 16
MAC_BYTES = 32

_FIELDS = struct.Struct(">6sBBI16s4sQ")
_U32 = struct.Struct(">I")
AAD_PREFIX_BYTES = 32
HEADER_BYTES = _FIELDS.size + MAC_BYTES
FRAME_OVERHEAD = _U32.size + TAG_BYTES
MAX_INDEX = 0xFFFF_FFFE
MAX_EPOCH = 0xFFFF_FFFE
MIN_CHUNK = 4096
MAX_CHUNK = 64 * 1024 * 1024


def chunk_count(length: int, chunk_size: int) -> int:
    """Frames in an object of `length` plaintext bytes (the empty object has one)."""
    return max(1, -(-length // chunk_size))


def stored_size(length: int, chunk_size: int) -> int:
    """Bytes at rest for `length` plaintext bytes."""
    return HEADER_BYTES + length + FRAME_OVERHEAD * chunk_count(length, chunk_size)


def frame_offset(index: int, chunk_size: int) -> int:
    return HEADER_BYTES + index * (chunk_size + FRAME_OVERHEAD)


def plain_len(index: int, length: int, chunk_size: int) -> int:
    """Plaintext bytes in chunk `index` of an object of `length` bytes."""
    return max(0, min(chunk_size, length - index * chunk_size))


@dataclass(frozen=True)
class Header:
    """The fields of an object header (the MAC is checked by `ObjectCipher`)."""

    chunk_size: int
    object_id: bytes
    salt: bytes
    length: int

    def prefix(self) -> bytes:
        """The header bytes every chunk binds: all but the length and the MAC."""
        return self.fields()[:AAD_PREFIX_BYTES]

    def fields(self) -> bytes:
        return _FIELDS.pack(
            MAGIC,
            VERSION,
            CIPHER_AES256_GCM,
            self.chunk_size,
            self.object_id,
            self.salt,
            self.length,
        )

    @classmethod
    def new(cls, chunk_size: int) -> Header:
        if not MIN_CHUNK <= chunk_size <= MAX_CHUNK:
            raise ValueError(f"chunk size must be {MIN_CHUNK}..{MAX_CHUNK} bytes")
        object_id, salt = secrets.token_bytes(OBJECT_ID_BYTES), secrets.token_bytes(SALT_BYTES)
        return cls(chunk_size, object_id, salt, 0)

    @classmethod
    def parse(cls, raw: bytes) -> Header:
        """Parse (not yet authenticate) a header; refuse anything not version 1."""
        if len(raw) < HEADER_BYTES:
            raise IntegrityFailure("object header is truncated")
        magic, version, cipher, chunk_size, object_id, salt, length = _FIELDS.unpack_from(raw)
        if magic != MAGIC or version != VERSION or cipher != CIPHER_AES256_GCM:
            raise IntegrityFailure("object header has a wrong magic, version or cipher")
        if not MIN_CHUNK <= chunk_size <= MAX_CHUNK:
            raise IntegrityFailure("object header has an impossible chunk size")
        return cls(chunk_size, object_id, salt, length)


def _derive(data_key: bytes, purpose: bytes, object_id: bytes) -> bytes:
    info = b"citywitness/storage/v1/" + purpose + b"/" + object_id
    return HKDF(algorithm=SHA256(), length=32, salt=None, info=info).derive(data_key)


class ObjectCipher:
    """Seals and opens the frames, header and checkpoint tail of one object."""

    def __init__(self, data_key: bytes, header: Header) -> None:
        if len(data_key) != DATA_KEY_BYTES:
            raise ValueError("a data key is 32 bytes")
        self.header = header
        self._prefix = header.prefix()
        self._chunks = AESGCM(_derive(data_key, b"chunk", header.object_id))
        self._tail = AESGCM(_derive(data_key, b"tail", header.object_id))
        self._mac_key = _derive(data_key, b"header", header.object_id)

    def _nonce_aad(self, index: int, epoch: int, final: bool) -> tuple[bytes, bytes]:
        if not (0 <= index <= MAX_INDEX and 0 <= epoch <= MAX_EPOCH):
            raise ValueError("chunk index or epoch out of range")
        nonce = self.header.salt + _U32.pack(epoch) + _U32.pack(index)
        return nonce, self._prefix + _U32.pack(index) + (b"\x01" if final else b"\x00")

    def seal_chunk(
        self, index: int, epoch: int, plaintext: bytes | memoryview, *, final: bool
    ) -> bytearray:
        """The frame of chunk `index`: epoch | ciphertext | tag."""
        nonce, aad = self._nonce_aad(index, epoch, final)
        frame = bytearray(_U32.size + len(plaintext) + TAG_BYTES)
        frame[: _U32.size] = _U32.pack(epoch)
        self._chunks.encrypt_into(nonce, plaintext, aad, memoryview(frame)[_U32.size :])
        return frame

    def open_chunk(self, index: int, frame: bytes | memoryview, *, final: bool) -> bytes:
        """The plaintext of a frame; `IntegrityFailure` if it was changed, moved or cut."""
        if len(frame) < FRAME_OVERHEAD:
            raise IntegrityFailure(f"chunk {index} is truncated")
        (epoch,) = _U32.unpack_from(frame)
        if epoch > MAX_EPOCH:
            raise IntegrityFailure(f"chunk {index} failed authentication")
        nonce, aad = self._nonce_aad(index, epoch, final)
        try:
            return self._chunks.decrypt(nonce, bytes(frame[_U32.size :]), aad)
        except InvalidTag:
            raise IntegrityFailure(f"chunk {index} failed authentication") from None

    def header_bytes(self, length: int) -> bytes:
        fields = Header(self.header.chunk_size, self.header.object_id, self.header.salt, length)
        raw = fields.fields()
        return raw + hmac.new(self._mac_key, raw, hashlib.sha256).digest()

    def verify_header(self, raw: bytes) -> Header:
        """Parse and authenticate a header written by `header_bytes`."""
        header = Header.parse(raw)
        if header.prefix() != self._prefix:
            raise IntegrityFailure("object header belongs to another object")
        mac = hmac.new(self._mac_key, raw[: _FIELDS.size], hashlib.sha256).digest()
        if not hmac.compare_digest(mac, raw[_FIELDS.size : HEADER_BYTES]):
            raise IntegrityFailure("object header failed authentication")
        return header

    def seal_tail(self, plaintext: bytes, offset: int) -> bytes:
        """Encrypt the not-yet-full last chunk of a partial upload (fresh random nonce)."""
        nonce = secrets.token_bytes(12)
        return nonce + self._tail.encrypt(nonce, plaintext, self._prefix + offset.to_bytes(8))

    def open_tail(self, sealed: bytes, offset: int) -> bytes:
        try:
            return self._tail.decrypt(sealed[:12], sealed[12:], self._prefix + offset.to_bytes(8))
        except InvalidTag:
            raise IntegrityFailure("partial upload tail failed authentication") from None


def new_data_key() -> bytes:
    return secrets.token_bytes(DATA_KEY_BYTES)
