"""The local key-encryption-key file and AES-GCM key wrapping."""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

import pytest

from citywitness.storage.errors import KekFileUnsafe, KeyUnavailable
from citywitness.storage.keys import AesGcmKeyWrapper, load_key_file


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_key_file_is_created_private_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "data" / "keys" / "kek.key"
    wrapper = load_key_file(path)
    assert (mode(path.parent), mode(path)) == (0o700, 0o600)
    assert path.read_text().startswith("citywitness-kek v1 ")
    again = load_key_file(path)
    assert again.kek_id == wrapper.kek_id
    assert wrapper.kek_id.startswith("local:") and len(wrapper.kek_id) == 22
    wrapped = wrapper.wrap(b"k" * 32, b"ctx")
    assert again.unwrap(wrapped, wrapper.kek_id, b"ctx") == b"k" * 32


@pytest.mark.parametrize("loose", [0o640, 0o604, 0o644, 0o660, 0o610])
def test_readable_key_file_is_refused(tmp_path: Path, loose: int) -> None:
    path = tmp_path / "keys" / "kek.key"
    load_key_file(path)
    path.chmod(loose)
    with pytest.raises(KekFileUnsafe, match="group and world must have no access"):
        load_key_file(path)


def test_writable_key_directory_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "kek.key"
    load_key_file(path)
    path.parent.chmod(0o770)
    with pytest.raises(KekFileUnsafe, match="mode 0o770"):
        load_key_file(path)


def test_symlinked_or_malformed_key_file_is_refused(tmp_path: Path) -> None:
    real = tmp_path / "keys" / "real.key"
    load_key_file(real)
    link = real.parent / "kek.key"
    link.symlink_to(real)
    with pytest.raises(KekFileUnsafe, match="not a regular file"):
        load_key_file(link)
    bad = real.parent / "bad.key"
    fd = os.open(bad, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, b"citywitness-kek v1 not-base64!!\n")
    os.close(fd)
    with pytest.raises(KekFileUnsafe, match="malformed"):
        load_key_file(bad)
    with pytest.raises(KekFileUnsafe, match="does not exist"):
        load_key_file(real.parent / "absent.key", create=False)


def test_unwrap_refuses_other_kek_other_context_and_tampering() -> None:
    wrapper = AesGcmKeyWrapper(secrets.token_bytes(32))
    other = AesGcmKeyWrapper(secrets.token_bytes(32))
    data_key = secrets.token_bytes(32)
    wrapped = wrapper.wrap(data_key, b"object-a")
    assert len(wrapped) == 1 + 12 + 32 + 16
    assert wrapped != wrapper.wrap(data_key, b"object-a")  # fresh nonce each time
    cases = [
        (wrapper, wrapped, wrapper.kek_id, b"object-b"),
        (other, wrapped, wrapper.kek_id, b"object-a"),
        (other, wrapped, other.kek_id, b"object-a"),
        (wrapper, wrapped[:-1] + bytes([wrapped[-1] ^ 1]), wrapper.kek_id, b"object-a"),
        (wrapper, b"\x02" + wrapped[1:], wrapper.kek_id, b"object-a"),
    ]
    for unwrapper, blob, kek_id, context in cases:
        with pytest.raises(KeyUnavailable):
            unwrapper.unwrap(blob, kek_id, context)
    assert wrapper.unwrap(wrapped, wrapper.kek_id, b"object-a") == data_key
