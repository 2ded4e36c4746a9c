"""A throw-away PKI made in the test: CAs, server and client certificates (ECDSA P-256, PEM),
and the Zenoh JSON5 config files that use them."""

from __future__ import annotations

import datetime
import ipaddress
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass(frozen=True)
class Authority:
    """A CA: its key, its certificate and where the certificate is written."""

    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate
    pem: Path


def _builder(subject: str, issuer: x509.Name, public_key: Any) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
    )


def _write_pem(path: Path, cert: x509.Certificate) -> Path:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


def make_ca(folder: Path, name: str) -> Authority:
    """A self-signed CA certificate written to ``<folder>/<name>.pem``."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    usage = x509.KeyUsage(
        digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
        key_encipherment=False, data_encipherment=False, key_agreement=False,
        encipher_only=False, decipher_only=False,
    )  # fmt: skip
    cert = (
        _builder(name, subject, key.public_key())
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(usage, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return Authority(key, cert, _write_pem(folder / f"{name}.pem", cert))


def issue(ca: Authority, folder: Path, name: str, *, server: bool) -> tuple[Path, Path]:
    """A certificate with common name ``name`` signed by ``ca`` (a server one is valid for
    127.0.0.1 and localhost); returns the paths of the certificate and its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    purpose = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
    builder = (
        _builder(name, ca.cert.subject, key.public_key())
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([purpose]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), critical=False
        )
    )
    if server:
        names = [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    key_path = folder / f"{name}.key"
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    return _write_pem(folder / f"{name}.pem", builder.sign(ca.key, hashes.SHA256())), key_path


def write_zenoh_config(path: Path, tls: dict[str, Any], **sections: Any) -> Path:
    """A Zenoh JSON5 config with ``transport/link/tls`` = ``tls`` (paths as strings) and any
    other top-level ``sections`` (e.g. ``access_control``)."""
    body = {"transport": {"link": {"tls": {k: str(v) if isinstance(v, Path) else v
                                           for k, v in tls.items()}}}, **sections}  # fmt: skip
    path.write_text("// written by tests/simulation/sim_tls.py\n" + json.dumps(body, indent=2))
    return path
