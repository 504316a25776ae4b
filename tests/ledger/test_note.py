"""C2SP signed notes, checkpoints and cosignatures: golden vectors, strict parsing, properties."""

from __future__ import annotations

import base64
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from citywitness.ledger.note import (
    Checkpoint,
    CosignatureSigner,
    CosignatureVerifier,
    KeyFileError,
    NoteError,
    NoteSignature,
    NoteSigner,
    NoteVerifier,
    SignedNote,
    cosignature_message,
    load_or_create_key,
    load_private_key,
)

# The example of golang.org/x/mod/sumdb/note, which C2SP signed-note formalises.
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_NOTE = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
    "\n"
    "\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngo"
    "tpRZb6KE6RyyBwJnAM=\n"
).encode()

ROOT = bytes(range(32))
FIXED_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(100, 132)))


def test_go_sumdb_note_example_verifies() -> None:
    verifier = NoteVerifier.from_vkey(GO_VKEY)
    assert verifier.name == "PeterNeumann"
    assert verifier.key_id.hex() == "c74f20a3"
    note = SignedNote.decode(GO_NOTE)
    assert verifier.verify(note)
    assert note.encode() == GO_NOTE
    tampered = SignedNote(note.body.replace(b"problem", b"pr0blem", 1), note.signatures)
    assert not verifier.verify(tampered)


def test_checkpoint_golden_encoding() -> None:
    checkpoint = Checkpoint("example.citywitness/log", 12, ROOT, ("ext one",))
    body = b"example.citywitness/log\n12\n" + base64.b64encode(ROOT) + b"\next one\n"
    assert checkpoint.body() == body
    assert Checkpoint.parse(body) == checkpoint
    signer = NoteSigner("example.citywitness/log", FIXED_KEY)
    signature = signer.sign(body)
    # Ed25519 is deterministic: the signed note is a golden value for a fixed key.
    assert signer.verifier_key() == (
        "example.citywitness/log+"
        + signer.key_id.hex()
        + "+"
        + base64.b64encode(b"\x01" + FIXED_KEY.public_key().public_bytes_raw()).decode()
    )
    encoded = SignedNote(body, (signature,)).encode()
    assert encoded.startswith(body + b"\n\xe2\x80\x94 example.citywitness/log ")
    assert encoded.endswith(b"\n")
    assert len(encoded) < 300
    assert NoteVerifier.from_vkey(signer.verifier_key()).verify(SignedNote.decode(encoded))


@pytest.mark.parametrize(
    "body",
    [
        b"origin\n12\n" + base64.b64encode(ROOT),  # no final newline
        b"origin\n012\n" + base64.b64encode(ROOT) + b"\n",  # leading zero
        b"origin\n-1\n" + base64.b64encode(ROOT) + b"\n",
        b"origin\n1 \n" + base64.b64encode(ROOT) + b"\n",
        b"\n1\n" + base64.b64encode(ROOT) + b"\n",  # empty origin
        b"origin\n1\n" + base64.b64encode(ROOT[:31]) + b"\n",  # short root
        b"origin\n1\n" + base64.b64encode(ROOT)[:-1] + b"\n",  # broken base64
        b"origin\n1\n" + base64.b64encode(ROOT) + b"\n\nx\n",  # empty extension line
        b"origin\n1\n",
        b"orig\tin\n1\n" + base64.b64encode(ROOT) + b"\n",
        b"origin\n1\n" + base64.b64encode(ROOT) + b"\n\xff\n",
    ],
)
def test_malformed_checkpoints_are_refused(body: bytes) -> None:
    with pytest.raises(NoteError):
        Checkpoint.parse(body)


@pytest.mark.parametrize(
    "data",
    [
        b"text\n",  # no signature block
        b"text\n\n",  # no signature
        b"text\n\n\xe2\x80\x94 name AAAAAAAA\n",  # signature too short? 6 bytes ok, see below
        b"text\n\n- name AAAAAAAAAA==\n",
        b"text\n\n\xe2\x80\x94 name AAAAAAAAAA==",  # no final newline
        b"text\n\n\xe2\x80\x94 na+me AAAAAAAAAA==\n",
        b"text\n\n\xe2\x80\x94 name  AAAAAAAAAA==\n",
        b"text\n\n\xe2\x80\x94 name !!!!\n",
        b"text\n\n\xe2\x80\x94 name AAAA\n",  # 3 bytes: shorter than a key id plus a byte
        b"te\x00xt\n\n\xe2\x80\x94 name AAAAAAAAAA==\n",
    ],
)
def test_malformed_notes_are_refused(data: bytes) -> None:
    if data == b"text\n\n\xe2\x80\x94 name AAAAAAAA\n":
        assert SignedNote.decode(data).signatures[0].key_id == b"\x00" * 4
        return
    with pytest.raises(NoteError):
        SignedNote.decode(data)


@pytest.mark.parametrize(
    "vkey",
    [
        "name+c74f20a3",
        "name+zz4f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # wrong id
        "PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a3+BBpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # wrong type
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq",
    ],
)
def test_malformed_verifier_keys_are_refused(vkey: str) -> None:
    with pytest.raises(NoteError):
        NoteVerifier.from_vkey(vkey)


def test_log_vkey_is_not_a_cosignature_vkey() -> None:
    with pytest.raises(NoteError, match="type 0x04"):
        CosignatureVerifier.from_vkey(GO_VKEY)


def test_cosignature_format() -> None:
    witness = CosignatureSigner("witness.example", FIXED_KEY)
    body = Checkpoint("log.example", 5, ROOT).body()
    signature = witness.cosign(body, 1_700_000_000)
    assert signature.signature[:8] == (1_700_000_000).to_bytes(8, "big")
    assert len(signature.signature) == 72
    assert cosignature_message(body, 7) == b"cosignature/v1\ntime 7\n" + body
    FIXED_KEY.public_key().verify(signature.signature[8:], cosignature_message(body, 1_700_000_000))
    assert witness.verifier_key().startswith(f"witness.example+{witness.key_id.hex()}+BA")
    # Same key, different algorithm byte: different key ids.
    assert witness.key_id != NoteSigner("witness.example", FIXED_KEY).key_id
    with pytest.raises(ValueError, match="out of range"):
        witness.cosign(body, -1)


names = st.text(
    alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters="+"),
    min_size=1,
    max_size=40,
)
origins = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs"), blacklist_characters="\n"),
    min_size=1,
    max_size=60,
)


@settings(max_examples=60, deadline=None)
@given(
    names,
    origins,
    st.integers(min_value=0, max_value=2**63),
    st.binary(min_size=32, max_size=32),
    st.lists(origins, max_size=3),
    st.integers(min_value=0, max_value=2**40),
    st.data(),
)
def test_signed_checkpoints_round_trip_and_wrong_keys_fail(  # noqa: PLR0917 - Hypothesis arguments
    name: str,
    origin: str,
    size: int,
    root: bytes,
    extensions: list[str],
    timestamp: int,
    data: st.DataObject,
) -> None:
    key, other = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    checkpoint = Checkpoint(origin, size, root, tuple(extensions))
    body = checkpoint.body()
    assert Checkpoint.parse(body) == checkpoint
    signer, witness = NoteSigner(name, key), CosignatureSigner(name, key)
    note = SignedNote(body, (signer.sign(body), witness.cosign(body, timestamp)))
    decoded = SignedNote.decode(note.encode())
    assert decoded == note
    assert NoteVerifier.from_vkey(signer.verifier_key()).verify(decoded)
    assert CosignatureVerifier.from_vkey(witness.verifier_key()).verify(decoded) == timestamp
    # A key that did not sign, or the right key under another name, does not verify.
    assert not NoteVerifier.from_vkey(NoteSigner(name, other).verifier_key()).verify(decoded)
    assert (
        CosignatureVerifier.from_vkey(CosignatureSigner(name, other).verifier_key()).verify(decoded)
        is None
    )
    assert not NoteVerifier.from_vkey(NoteSigner(name + "x", key).verifier_key()).verify(decoded)
    # Any flipped bit in the body breaks both signatures.
    bit = data.draw(st.integers(min_value=0, max_value=len(body) * 8 - 1))
    flipped = bytearray(body)
    flipped[bit // 8] ^= 1 << (bit % 8)
    tampered = SignedNote(bytes(flipped), decoded.signatures)
    assert not NoteVerifier.from_vkey(signer.verifier_key()).verify(tampered)
    assert CosignatureVerifier.from_vkey(witness.verifier_key()).verify(tampered) is None
    # A cosignature with its time changed does not verify.
    forged = NoteSignature(
        name, witness.key_id, (timestamp + 1).to_bytes(8, "big") + note.signatures[1].signature[8:]
    )
    assert (
        CosignatureVerifier.from_vkey(witness.verifier_key()).verify(SignedNote(body, (forged,)))
        is None
    )


def test_key_file_is_created_private_and_reloaded(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "ledger.pem"
    key = load_or_create_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    again = load_or_create_key(path)
    assert again.public_key().public_bytes_raw() == key.public_key().public_bytes_raw()
    assert load_private_key(path).private_bytes_raw() == key.private_bytes_raw()


def test_key_file_refuses_loose_permissions_symlinks_and_garbage(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "ledger.pem"
    load_or_create_key(path)
    path.chmod(0o640)
    with pytest.raises(KeyFileError, match="group and world"):
        load_private_key(path)
    path.chmod(0o600)
    link = tmp_path / "keys" / "link.pem"
    link.symlink_to(path)
    with pytest.raises(KeyFileError, match="not a regular file"):
        load_or_create_key(link)
    garbage = tmp_path / "keys" / "garbage.pem"
    garbage.write_bytes(b"not a key")
    garbage.chmod(0o600)
    with pytest.raises(KeyFileError, match="PKCS#8"):
        load_private_key(garbage)
    with pytest.raises(KeyFileError, match="does not exist"):
        load_private_key(tmp_path / "missing.pem")
    (tmp_path / "open").mkdir(mode=0o777)
    (tmp_path / "open").chmod(0o777)
    with pytest.raises(KeyFileError, match="group and world"):
        load_or_create_key(tmp_path / "open" / "k.pem")
