"""Certificates and keys for a loopback control plane: a CA, the API server's serving
certificate, and the service-account signing key pair that TokenRequest needs. The serving
certificate also names the addresses pods use when the stack runs a node (the `kubernetes`
Service IP and the node's address, see node_network.py)."""

from __future__ import annotations

import datetime as dt
import ipaddress
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from sagemaker_ack_kfp.stack.node_network import API_SERVICE_IP, NODE_IP

_VALIDITY = dt.timedelta(days=365)
_SERVER_DNS = ("localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local")
_SERVER_IPS = ("127.0.0.1", API_SERVICE_IP, NODE_IP)


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> None:
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    path.chmod(0o600)


def _write_cert(path: Path, cert: x509.Certificate) -> None:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def ensure_pki(directory: Path) -> None:
    """Create ca.crt, apiserver.{crt,key} and sa.{key,pub} once; later calls reuse them."""
    directory.mkdir(parents=True, exist_ok=True)
    if all((directory / name).exists() for name in ("ca.crt", "apiserver.crt", "apiserver.key", "sa.key", "sa.pub")):
        if not _server_cert_current(directory):
            _issue_server_cert(directory)  # a stack dir from before the node: same CA, more names
        return
    now = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=5)

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sagemaker-ack-kfp local CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + _VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .sign(ca_key, hashes.SHA256())
    )

    # Service-account tokens are signed with RSA, the algorithm every client verifies.
    sa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    _write_cert(directory / "ca.crt", ca_cert)
    _write_key(directory / "ca.key", ca_key)
    _write_key(directory / "sa.key", sa_key)
    (directory / "sa.pub").write_bytes(
        sa_key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    _issue_server_cert(directory)


def _server_cert_current(directory: Path) -> bool:
    cert = x509.load_pem_x509_certificate((directory / "apiserver.crt").read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    have = {str(ip) for ip in names.get_values_for_type(x509.IPAddress)} | set(names.get_values_for_type(x509.DNSName))
    return set(_SERVER_IPS) | set(_SERVER_DNS) <= have


def _issue_server_cert(directory: Path) -> None:
    """The API server's serving certificate, signed by the stack's CA."""
    ca_cert = x509.load_pem_x509_certificate((directory / "ca.crt").read_bytes())
    ca_key = serialization.load_pem_private_key((directory / "ca.key").read_bytes(), password=None)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    now = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=5)
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")]))
        .issuer_name(ca_cert.subject)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + _VALIDITY)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName(name) for name in _SERVER_DNS]
                + [x509.IPAddress(ipaddress.ip_address(ip)) for ip in _SERVER_IPS]
            ),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    _write_cert(directory / "apiserver.crt", server_cert)
    _write_key(directory / "apiserver.key", server_key)
