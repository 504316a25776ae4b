"""A local RFC 3161 time-stamp authority for tests: `openssl ts -reply` behind a tiny HTTP
server, with a root CA and a TSA certificate generated here (EKU timeStamping, critical).

Every request runs `openssl ts -reply` once, exactly as a real TSA built on OpenSSL
would.  `mode` makes it misbehave on purpose: "error" answers 500, "garbage" answers
bytes that are not a time-stamp response, "wrong_type" answers text/plain.  `requests`
counts the queries it received.
"""

from __future__ import annotations

import datetime
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

POLICY = "1.3.6.1.4.1.55555.1"


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "CityWitness tests"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _usage(*, sign: bool, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=sign,
        content_commitment=sign,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def make_pki(directory: Path, *, root_name: str = "Test TSA Root") -> tuple[Path, Path, Path]:
    """A root CA and a TSA certificate under it; returns (root.pem, tsa.pem, tsa.key)."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP384R1())
    ca_name = _name(root_name)
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_usage(sign=False, cert_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA384())
    )
    tsa_key = ec.generate_private_key(ec.SECP256R1())
    tsa = (
        x509.CertificateBuilder()
        .subject_name(_name("Test TSA"))
        .issuer_name(ca_name)
        .public_key(tsa_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(sign=True, cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA384())
    )
    root_pem = directory / "tsa-root.pem"
    tsa_pem = directory / "tsa.pem"
    tsa_key_pem = directory / "tsa.key"
    root_pem.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    tsa_pem.write_bytes(tsa.public_bytes(serialization.Encoding.PEM))
    tsa_key_pem.write_bytes(
        tsa_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    tsa_key_pem.chmod(0o600)
    return root_pem, tsa_pem, tsa_key_pem


def _openssl_config(directory: Path, tsa_pem: Path, tsa_key: Path) -> Path:
    # Only the signing certificate goes into the token (no `certs`): OpenSSL writes the
    # SignedData certificate SET unsorted, which strict DER parsers (rfc3161-client) refuse.
    (directory / "serial").write_text("01\n")
    config = directory / "ts.cnf"
    config.write_text(
        "[ tsa ]\n"
        "default_tsa = tsa_config\n"
        "[ tsa_config ]\n"
        f"serial = {directory / 'serial'}\n"
        "crypto_device = builtin\n"
        f"signer_cert = {tsa_pem}\n"
        f"signer_key = {tsa_key}\n"
        "signer_digest = sha256\n"
        f"default_policy = {POLICY}\n"
        "other_policies = 1.3.6.1.4.1.55555.2\n"
        "digests = sha256, sha384, sha512\n"
        "accuracy = secs:1\n"
        "ordering = no\n"
        "tsa_name = yes\n"
        "ess_cert_id_chain = no\n"
        "ess_cert_id_alg = sha256\n"
    )
    return config


@dataclass
class LocalTsa:
    """A running local TSA: `url` to POST queries to, `roots_file` to trust."""

    directory: Path
    url: str = ""
    roots_file: Path = Path()
    mode: str = "ok"
    requests: int = 0
    _config: Path = Path()
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> None:
        self.roots_file, tsa_pem, tsa_key = make_pki(self.directory)
        self._config = _openssl_config(self.directory, tsa_pem, tsa_key)
        tsa = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                query = self.rfile.read(length)
                status, content_type, body = tsa.answer(query)
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: object) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/tsa"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def answer(self, query: bytes) -> tuple[int, str, bytes]:
        with self._lock:
            self.requests += 1
        if self.mode == "error":
            return 500, "text/plain", b"TSA down"
        if self.mode == "garbage":
            return 200, "application/timestamp-reply", b"\x30\x03\x02\x01\x00"
        if self.mode == "wrong_type":
            return 200, "text/plain", b"hello"
        return 200, "application/timestamp-reply", self.reply(query)

    def reply(self, query: bytes) -> bytes:
        """`openssl ts -reply` for one DER query."""
        with tempfile.TemporaryDirectory(dir=self.directory) as scratch, self._lock:
            query_file = Path(scratch) / "query.tsq"
            reply_file = Path(scratch) / "reply.tsr"
            query_file.write_bytes(query)
            subprocess.run(
                [
                    "openssl",
                    "ts",
                    "-reply",
                    "-config",
                    str(self._config),
                    "-queryfile",
                    str(query_file),
                    "-out",
                    str(reply_file),
                ],
                check=True,
                capture_output=True,
            )
            return reply_file.read_bytes()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


def running_tsa(directory: Path) -> Iterator[LocalTsa]:
    """A started LocalTsa, stopped afterwards (wrap it in a fixture)."""
    directory.mkdir(parents=True, exist_ok=True)
    tsa = LocalTsa(directory)
    tsa.start()
    try:
        yield tsa
    finally:
        tsa.stop()
