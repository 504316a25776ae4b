"""Evidence storage engine: encrypted, content-addressed, chunked objects (domain-free).

See docs/storage.md for the object format, the key hierarchy and the crash-safety contract.
"""

from citywitness.storage.backend import BlobBackend, BlobInfo, LocalBackend
from citywitness.storage.errors import (
    HashMismatch,
    InsufficientStorage,
    IntegrityFailure,
    KeyDestroyed,
    KeyUnavailable,
    ObjectDestroyed,
    ObjectNotFound,
    RangeNotSatisfiable,
)
from citywitness.storage.keys import AesGcmKeyWrapper, KeyWrapper, load_key_file
from citywitness.storage.keystore import KeyRecord, KeyStore, PostgresKeyStore, lock_live_key
from citywitness.storage.reading import ObjectMissing
from citywitness.storage.staging import PartialUpload
from citywitness.storage.store import ContentStore, ObjectWriter, StoredObject

__all__ = [
    "AesGcmKeyWrapper",
    "BlobBackend",
    "BlobInfo",
    "ContentStore",
    "HashMismatch",
    "InsufficientStorage",
    "IntegrityFailure",
    "KeyDestroyed",
    "KeyRecord",
    "KeyStore",
    "KeyUnavailable",
    "KeyWrapper",
    "LocalBackend",
    "ObjectDestroyed",
    "ObjectMissing",
    "ObjectNotFound",
    "ObjectWriter",
    "PartialUpload",
    "PostgresKeyStore",
    "RangeNotSatisfiable",
    "StoredObject",
    "load_key_file",
    "lock_live_key",
]
