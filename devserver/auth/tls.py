"""A local certificate authority and server certificate for ``appsync-jobs dev --tls``.

Amplify JS v6 always dials ``wss://`` for subscriptions, even for an ``http://`` endpoint, so browser
and Node apps need the local server on TLS. We make a private CA once per data directory and sign a
``localhost``/``127.0.0.1`` certificate with it; trusting ``ca.pem`` (NODE_EXTRA_CA_CERTS, the
browser's authorities, APPSYNC_JOBS_CA_BUNDLE for the Python client) is all a client needs.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VALIDITY = dt.timedelta(days=397)  # the longest leaf lifetime browsers accept


@dataclass(frozen=True)
class LocalCertificates:
    ca: Path
    cert: Path
    key: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "appsync-jobs local"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    path.chmod(0o600)


def ensure_certificates(data_dir: Path, hosts: tuple[str, ...] = ("localhost", "127.0.0.1", "::1")) -> LocalCertificates:
    """Reuse the certificates in ``data_dir/tls`` while valid; otherwise create them."""
    folder = data_dir / "tls"
    paths = LocalCertificates(folder / "ca.pem", folder / "server.pem", folder / "server-key.pem")
    now = dt.datetime.now(dt.UTC)
    if paths.cert.exists() and paths.key.exists() and paths.ca.exists():
        cert = x509.load_pem_x509_certificate(paths.cert.read_bytes())
        if cert.not_valid_after_utc - now > dt.timedelta(days=7):
            return paths
    folder.mkdir(parents=True, exist_ok=True)

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("appsync-jobs local CA")
    ca_cert = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
        .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                                     key_encipherment=False, data_encipherment=False, key_agreement=False,
                                     encipher_only=False, decipher_only=False), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    cert = (
        x509.CertificateBuilder().subject_name(_name("localhost")).issuer_name(ca_name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + VALIDITY)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    paths.ca.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    paths.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM) + ca_cert.public_bytes(serialization.Encoding.PEM))
    _write_key(paths.key, key)
    return paths
