"""The platform's C2PA signing identity: a private CA and an ES256 signing certificate.

On first use `load_or_create_identity` makes, in a 0700 directory under the data dir:

- `ca.pem` / `ca.key`: a self-signed root, P-384, `CA:TRUE`, keyCertSign + cRLSign (critical);
- `signer.pem` / `signer.key`: the end-entity certificate the manifests are signed with, P-256,
  `CA:FALSE`, digitalSignature (critical), EKU emailProtection, SKI and AKI.

This is the chain c2pa-python 0.38 (c2pa-rs 0.91) accepts offline (research A3).  A verifier
that configures `ca.pem` as its trust anchor sees the manifests as `Trusted`; anyone else sees
them `Valid` with `signingCredential.untrusted` until the platform signs with a certificate
from a CA on the C2PA trust list (configure `exports.c2pa_cert_chain_file` and friends).
Private keys are PKCS#8 PEM files with mode 0600; files group or world can read are refused.
"""

from __future__ import annotations

import datetime as dt
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_CERT, CA_KEY = "ca.pem", "ca.key"
SIGNER_CERT, SIGNER_KEY = "signer.pem", "signer.key"
CA_YEARS, SIGNER_YEARS = 20, 5


class C2paIdentityError(ValueError):
    """The signing identity's files are unsafe, missing or do not belong together."""


@dataclass(frozen=True)
class C2paIdentity:
    """What the signer needs: the chain (end entity first, PEM), its key, the trust anchor."""

    chain_pem: bytes
    key_pem: bytes
    anchor_pem: bytes


def _name(common_name: str, organization: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
        ]
    )


def _usage(*, sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not sign,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=sign,
        crl_sign=sign,
        encipher_only=False,
        decipher_only=False,
    )


def make_identity(
    organization: str, *, now: dt.datetime | None = None
) -> tuple[bytes, bytes, bytes, bytes]:
    """A new root and signer: (ca.pem, ca.key, signer.pem, signer.key), all PEM."""
    now = now or dt.datetime.now(dt.UTC)
    start = now - dt.timedelta(minutes=5)
    root_key = ec.generate_private_key(ec.SECP384R1())
    root_name = _name(f"{organization} evidence C2PA root", organization)
    root = (
        x509.CertificateBuilder()
        .subject_name(root_name)
        .issuer_name(root_name)
        .public_key(root_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(now + dt.timedelta(days=365 * CA_YEARS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_usage(sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()), False)
        .sign(root_key, hashes.SHA384())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    signer = (
        x509.CertificateBuilder()
        .subject_name(_name(f"{organization} evidence export signer", organization))
        .issuer_name(root_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(now + dt.timedelta(days=365 * SIGNER_YEARS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()), False
        )
        .sign(root_key, hashes.SHA384())
    )
    pem = serialization.Encoding.PEM
    return (
        root.public_bytes(pem),
        _private_pem(root_key),
        signer.public_bytes(pem),
        _private_pem(key),
    )


def _private_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _check_private(path: Path, *, directory: bool) -> None:
    info = path.lstat()
    kind_ok = stat.S_ISDIR(info.st_mode) if directory else stat.S_ISREG(info.st_mode)
    if not kind_ok:
        raise C2paIdentityError(f"{path} is not a {'directory' if directory else 'regular file'}")
    if info.st_uid != os.geteuid():
        raise C2paIdentityError(f"{path} is owned by uid {info.st_uid}, not by this process")
    loose = 0o022 if directory else 0o077
    if info.st_mode & loose:
        mode = oct(stat.S_IMODE(info.st_mode))
        raise C2paIdentityError(f"{path} has mode {mode}; group and world must have no access")


def _write_new(path: Path, data: bytes, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def _read(path: Path, *, private: bool) -> bytes:
    if not path.is_file():
        raise C2paIdentityError(f"{path} does not exist")
    if private:
        _check_private(path, directory=False)
    return path.read_bytes()


def load_or_create_identity(directory: Path, organization: str) -> C2paIdentity:
    """The identity kept in `directory`, made first (0700 directory, 0600 keys) if missing."""
    directory = directory.absolute()
    if not directory.exists():
        directory.mkdir(parents=True, mode=0o700)
        directory.chmod(0o700)  # mkdir's mode is filtered by the umask
    _check_private(directory, directory=True)
    if not (directory / SIGNER_KEY).exists():
        ca_pem, ca_key, signer_pem, signer_key = make_identity(organization)
        try:  # keys first: a crash leaves no certificate without its key
            _write_new(directory / CA_KEY, ca_key, 0o600)
            _write_new(directory / CA_CERT, ca_pem, 0o644)
            _write_new(directory / SIGNER_CERT, signer_pem, 0o644)
            _write_new(directory / SIGNER_KEY, signer_key, 0o600)
        except FileExistsError:
            pass  # another process made them at the same time (or a crash halfway): read below
    return load_identity(
        chain_file=directory / SIGNER_CERT,
        key_file=directory / SIGNER_KEY,
        anchor_file=directory / CA_CERT,
    )


def load_identity(*, chain_file: Path, key_file: Path, anchor_file: Path) -> C2paIdentity:
    """A configured identity: the signer's chain (PEM, end entity first), key, trust anchor."""
    chain = _read(chain_file, private=False)
    anchor = _read(anchor_file, private=False)
    key_pem = _read(key_file, private=True)
    try:
        certs = x509.load_pem_x509_certificates(chain)
        x509.load_pem_x509_certificates(anchor)
        key = serialization.load_pem_private_key(key_pem, password=None)
    except ValueError as exc:
        raise C2paIdentityError(f"unreadable C2PA certificate or key: {exc}") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise C2paIdentityError(f"{key_file} is not a P-256 key (ES256)")
    if certs[0].public_key() != key.public_key():
        raise C2paIdentityError(f"{chain_file} does not start with the certificate of {key_file}")
    return C2paIdentity(chain_pem=chain, key_pem=key_pem, anchor_pem=anchor)
