"""RFC 3161 time stamps against a local TSA (`openssl ts -reply`): request, verify, tamper."""

from __future__ import annotations

import subprocess
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from citywitness.kit.clock import utcnow
from citywitness.ledger.timestamps import (
    TimestampError,
    load_trust_roots,
    request_timestamp,
    verify_token,
)
from tests.ledger.tsa import POLICY, LocalTsa, make_pki, running_tsa

BODY = b"demo.citywitness/log\n42\nq6OSPV0tGXRqHr6d9xhBR8bUrG3AzFHbH4Cqqz5MTsY=\n"


@pytest.fixture
def tsa(tmp_path: Path) -> Iterator[LocalTsa]:
    yield from running_tsa(tmp_path / "tsa")


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


async def test_a_local_tsa_token_verifies(tsa: LocalTsa, http: httpx.AsyncClient) -> None:
    roots = load_trust_roots(tsa.roots_file)
    before = utcnow()
    token = await request_timestamp(http, tsa.url, BODY, roots)
    assert token.policy == POLICY
    assert token.serial_number >= 1
    assert token.nonce is not None
    assert before - timedelta(seconds=2) <= token.gen_time <= utcnow() + timedelta(seconds=2)
    again = verify_token(token.response, BODY, roots)
    assert again == token
    assert tsa.requests == 1


def _openssl_verify(reply: Path, body: Path, roots: Path) -> subprocess.CompletedProcess[str]:
    command = ["openssl", "ts", "-verify", "-in", str(reply), "-data", str(body)]
    return subprocess.run(
        [*command, "-CAfile", str(roots)], capture_output=True, text=True, check=False
    )


async def test_openssl_agrees(tsa: LocalTsa, http: httpx.AsyncClient, tmp_path: Path) -> None:
    token = await request_timestamp(http, tsa.url, BODY, load_trust_roots(tsa.roots_file))
    (tmp_path / "reply.tsr").write_bytes(token.response)
    (tmp_path / "body").write_bytes(BODY)
    result = _openssl_verify(tmp_path / "reply.tsr", tmp_path / "body", tsa.roots_file)
    assert result.returncode == 0, result.stderr
    assert "Verification: OK" in result.stdout


async def test_another_message_fails(tsa: LocalTsa, http: httpx.AsyncClient) -> None:
    roots = load_trust_roots(tsa.roots_file)
    token = await request_timestamp(http, tsa.url, BODY, roots)
    with pytest.raises(TimestampError, match="Mismatch between messages"):
        verify_token(token.response, BODY.replace(b"42", b"43"), roots)


async def test_a_tampered_token_fails(tsa: LocalTsa, http: httpx.AsyncClient) -> None:
    roots = load_trust_roots(tsa.roots_file)
    token = await request_timestamp(http, tsa.url, BODY, roots)
    position = token.response.find(b"\x18\x0f")  # the GeneralizedTime genTime (15 chars)
    assert position > 0
    tampered = bytearray(token.response)
    tampered[position + 5] ^= 0x01  # one digit of the year-month-day
    with pytest.raises(TimestampError):
        verify_token(bytes(tampered), BODY, roots)


async def test_every_single_byte_flip_of_the_signature_fails(
    tsa: LocalTsa, http: httpx.AsyncClient
) -> None:
    roots = load_trust_roots(tsa.roots_file)
    token = await request_timestamp(http, tsa.url, BODY, roots)
    for offset in range(1, 40):  # the tail of the token: the signature value
        tampered = bytearray(token.response)
        tampered[-offset] ^= 0x80
        with pytest.raises(TimestampError):
            verify_token(bytes(tampered), BODY, roots)


async def test_an_untrusted_tsa_fails(
    tsa: LocalTsa, http: httpx.AsyncClient, tmp_path: Path
) -> None:
    token = await request_timestamp(http, tsa.url, BODY, load_trust_roots(tsa.roots_file))
    (tmp_path / "other").mkdir()
    other_root, _, _ = make_pki(tmp_path / "other", root_name="Someone Else")
    with pytest.raises(TimestampError, match="does not verify"):
        verify_token(token.response, BODY, load_trust_roots(other_root))


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        ("error", "TSA answered HTTP 500"),
        ("garbage", "not an RFC 3161 time-stamp response"),
        ("wrong_type", "TSA answered text/plain"),
    ],
)
async def test_a_misbehaving_tsa_is_an_error(
    tsa: LocalTsa, http: httpx.AsyncClient, mode: str, message: str
) -> None:
    tsa.mode = mode
    with pytest.raises(TimestampError, match=message):
        await request_timestamp(http, tsa.url, BODY, load_trust_roots(tsa.roots_file))


async def test_an_unreachable_tsa_is_an_error(tsa: LocalTsa, http: httpx.AsyncClient) -> None:
    url = tsa.url
    tsa.stop()
    with pytest.raises(TimestampError, match="TSA unreachable"):
        await request_timestamp(http, url, BODY, load_trust_roots(tsa.roots_file))


def test_trust_roots_must_be_pem(tmp_path: Path) -> None:
    (tmp_path / "roots.pem").write_text("not a certificate")
    with pytest.raises(TimestampError, match="holds no PEM certificate"):
        load_trust_roots(tmp_path / "roots.pem")
    with pytest.raises(TimestampError, match="cannot be read"):
        load_trust_roots(tmp_path / "missing.pem")
