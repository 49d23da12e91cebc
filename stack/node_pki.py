"""Credentials of the node's components, each signed by the stack's CA (pki.py), each its own
identity so that the API server's Node authorizer, NodeRestriction and RBAC's bootstrap roles
apply to it exactly as in a real cluster:

  kubelet                   system:node:<node> in system:nodes (client), and its serving cert
  kube-proxy                system:kube-proxy (bound to system:node-proxier by default)
  kube-controller-manager   system:kube-controller-manager
  kube-scheduler            system:kube-scheduler
  apiserver-kubelet-client  how the API server calls the kubelet (logs, exec); bound to
                            system:kubelet-api-admin by the node's bootstrap, not a master
No admin token and no anonymous access anywhere on the node.
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

from sagemaker_ack_kfp.stack.node_network import NODE_IP, NODE_NAME

_VALIDITY = dt.timedelta(days=365)
_RENEW_BEFORE = dt.timedelta(days=7)
KUBELET_CLIENT_USER = "kube-apiserver-kubelet-client"


@dataclass(frozen=True)
class Identity:
    file_name: str  # <file_name>.crt / .key in the node's pki folder
    common_name: str
    organizations: tuple[str, ...] = ()
    server: bool = False  # a serving certificate (else a client one)


IDENTITIES = {
    "kubelet": Identity("kubelet-client", f"system:node:{NODE_NAME}", ("system:nodes",)),
    "kubelet-serving": Identity("kubelet-serving", NODE_NAME, server=True),
    "kube-proxy": Identity("kube-proxy", "system:kube-proxy"),
    "kube-controller-manager": Identity("kube-controller-manager", "system:kube-controller-manager"),
    "kube-scheduler": Identity("kube-scheduler", "system:kube-scheduler"),
    "apiserver-kubelet-client": Identity("apiserver-kubelet-client", KUBELET_CLIENT_USER),
}


def cert_path(directory: Path, who: str) -> Path:
    return directory / f"{IDENTITIES[who].file_name}.crt"


def key_path(directory: Path, who: str) -> Path:
    return directory / f"{IDENTITIES[who].file_name}.key"


def _current(cert_file: Path, ca: x509.Certificate) -> bool:
    if not cert_file.exists():
        return False
    cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
    fresh = cert.not_valid_after_utc - dt.datetime.now(dt.timezone.utc) > _RENEW_BEFORE
    try:
        cert.verify_directly_issued_by(ca)
    except Exception:  # noqa: BLE001 - another CA (a re-created stack dir): reissue
        return False
    return fresh


def ensure_node_pki(stack_pki: Path, directory: Path) -> None:
    """Issue every node identity that is missing, expiring, or signed by another CA."""
    directory.mkdir(parents=True, exist_ok=True)
    ca_cert = x509.load_pem_x509_certificate((stack_pki / "ca.crt").read_bytes())
    ca_key = serialization.load_pem_private_key((stack_pki / "ca.key").read_bytes(), password=None)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    for who, identity in IDENTITIES.items():
        if _current(cert_path(directory, who), ca_cert):
            continue
        key = ec.generate_private_key(ec.SECP256R1())
        subject = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, org) for org in identity.organizations]
        subject.append(x509.NameAttribute(NameOID.COMMON_NAME, identity.common_name))
        now = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=5)
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name(subject))
            .issuer_name(ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now)
            .not_valid_after(now + _VALIDITY)
            .add_extension(x509.KeyUsage(True, False, True, False, False, False, False, False, False), critical=True)
        )
        if identity.server:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.DNSName(NODE_NAME), x509.IPAddress(ipaddress.ip_address(NODE_IP))]),
                critical=False,
            ).add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        else:
            builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        cert = builder.sign(ca_key, hashes.SHA256())
        key_file = key_path(directory, who)
        key_file.write_bytes(
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        )
        key_file.chmod(0o600)
        cert_path(directory, who).write_bytes(cert.public_bytes(serialization.Encoding.PEM))
