"""Certificates and keys for the local control plane, generated with the cryptography library."""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from llmops_dev.errors import ClusterError

# A throwaway cluster: long enough that a forgotten dev cluster never hits expiry, no rotation.
_VALIDITY = datetime.timedelta(days=365)
_LOOPBACK_NAMES = ("localhost",)
_LOOPBACK_IPS = ("127.0.0.1", "::1")
# The in-cluster names of the "kubernetes" Service, so a client that follows them can verify.
_APISERVER_NAMES = (
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    "kubernetes.default.svc.cluster.local",
)
SERVICE_IP = "10.96.0.1"  # first address of the service range the apiserver is given
# metrics-server's identity (its RBAC: node_addons.py) and the name of its Service in kube-system.
METRICS_SERVER_USER = "llmops:metrics-server"
METRICS_SERVER_DNS = "metrics-server.kube-system.svc"


@dataclass(frozen=True)
class KeyPair:
    """PEM paths of one certificate and its private key."""

    cert: Path
    key: Path


@dataclass(frozen=True)
class ClusterPki:
    """Every file the control plane reads: CAs, serving and client certificates, SA keys."""

    ca: KeyPair
    front_proxy_ca: KeyPair
    apiserver: KeyPair
    front_proxy_client: KeyPair
    controller_manager_serving: KeyPair
    scheduler_serving: KeyPair
    admin: KeyPair
    controller_manager: KeyPair
    scheduler: KeyPair
    kwok: KeyPair
    service_account_key: Path
    service_account_pub: Path
    # Only with a real node (see node_identities).
    node: NodePki | None = None

    def node_identities(self) -> NodePki:
        """The real node's identities; a cluster made without a real node has none."""
        if self.node is None:
            raise ClusterError("the cluster PKI has no node identities")
        return self.node


@dataclass(frozen=True)
class NodePki:
    """The real node's identities: its kubelet, kube-proxy, the apiserver calling the kubelet, add-ons."""

    kubelet: KeyPair
    kubelet_serving: KeyPair
    kube_proxy: KeyPair
    apiserver_kubelet_client: KeyPair
    coredns: KeyPair
    local_path_provisioner: KeyPair
    metrics_server: KeyPair
    metrics_server_serving: KeyPair


def _new_key() -> ec.EllipticCurvePrivateKey:
    # P-256 keys are generated in milliseconds (RSA takes ~100 ms each) and every component accepts them.
    return ec.generate_private_key(ec.SECP256R1())


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)


def _name(common_name: str, organization: str | None = None) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if organization:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    return x509.Name(attrs)


def _builder(subject: x509.Name, issuer: x509.Name, public_key: ec.EllipticCurvePublicKey) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        # Backdated a little so a component whose clock reads slightly behind still accepts it.
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + _VALIDITY)
    )


@dataclass(frozen=True)
class _Authority:
    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate
    files: KeyPair


def _make_ca(directory: Path, stem: str, common_name: str) -> _Authority:
    key = _new_key()
    subject = _name(common_name)
    cert = (
        _builder(subject, subject, key.public_key())
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    files = KeyPair(directory / f"{stem}.crt", directory / f"{stem}.key")
    files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    _write_key(files.key, key)
    return _Authority(key, cert, files)


def _issue(
    ca: _Authority,
    directory: Path,
    stem: str,
    common_name: str,
    *,
    organization: str | None = None,
    server: bool = False,
    client: bool = False,
    dns_names: tuple[str, ...] = (),
    ips: tuple[str, ...] = (),
) -> KeyPair:
    key = _new_key()
    usages = ([ExtendedKeyUsageOID.SERVER_AUTH] if server else []) + (
        [ExtendedKeyUsageOID.CLIENT_AUTH] if client else []
    )
    builder = (
        _builder(_name(common_name, organization), ca.cert.subject, key.public_key())
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), critical=False)
    )
    if dns_names or ips:
        sans: list[x509.GeneralName] = [x509.DNSName(n) for n in dns_names]
        sans += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips]
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    cert = builder.sign(ca.key, hashes.SHA256())
    pair = KeyPair(directory / f"{stem}.crt", directory / f"{stem}.key")
    pair.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    _write_key(pair.key, key)
    return pair


def _serving(ca: _Authority, directory: Path, stem: str, common_name: str) -> KeyPair:
    return _issue(ca, directory, stem, common_name, server=True, dns_names=_LOOPBACK_NAMES, ips=_LOOPBACK_IPS)


def _node_pki(ca: _Authority, directory: Path, node_name: str, node_ip: str) -> NodePki:
    # The names the built-in RBAC bindings and the Node authorizer expect (as kubeadm issues them).
    return NodePki(
        kubelet=_issue(ca, directory, "kubelet", f"system:node:{node_name}", organization="system:nodes",
                       client=True),
        kubelet_serving=_issue(ca, directory, "kubelet-serving", node_name, server=True,
                               dns_names=(node_name,), ips=(node_ip,)),
        kube_proxy=_issue(ca, directory, "kube-proxy", "system:kube-proxy", client=True),
        apiserver_kubelet_client=_issue(ca, directory, "apiserver-kubelet-client", "kube-apiserver-kubelet-client",
                                        client=True),
        coredns=_issue(ca, directory, "coredns", "llmops:coredns", client=True),
        local_path_provisioner=_issue(ca, directory, "local-path-provisioner", "llmops:local-path-provisioner",
                                      client=True),
        metrics_server=_issue(ca, directory, "metrics-server", METRICS_SERVER_USER, client=True),
        # The aggregator dials the endpoint and checks the certificate against the Service's DNS name.
        metrics_server_serving=_issue(ca, directory, "metrics-server-serving", "metrics-server", server=True,
                                      dns_names=(METRICS_SERVER_DNS,), ips=(node_ip,)),
    )  # fmt: skip


def generate(directory: Path, *, apiserver_ip: str | None = None, node: tuple[str, str] | None = None) -> ClusterPki:
    """Write a fresh CA, front-proxy CA, serving/client certificates and a service-account key pair.

    `apiserver_ip` is an address besides loopback the apiserver serves on (the real node reaches it
    there); `node` = (name, IP) adds the real node's identities.
    """
    directory.mkdir(parents=True, exist_ok=True)
    ca = _make_ca(directory, "ca", "llmops-local-ca")
    front_proxy_ca = _make_ca(directory, "front-proxy-ca", "llmops-local-front-proxy-ca")

    sa_key = _new_key()
    sa_key_path, sa_pub_path = directory / "sa.key", directory / "sa.pub"
    _write_key(sa_key_path, sa_key)
    sa_pub_path.write_bytes(
        sa_key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )

    return ClusterPki(
        ca=ca.files,
        front_proxy_ca=front_proxy_ca.files,
        apiserver=_issue(
            ca,
            directory,
            "apiserver",
            "kube-apiserver",
            server=True,
            dns_names=_LOOPBACK_NAMES + _APISERVER_NAMES,
            ips=(*_LOOPBACK_IPS, SERVICE_IP, *((apiserver_ip,) if apiserver_ip else ())),
        ),
        front_proxy_client=_issue(front_proxy_ca, directory, "front-proxy-client", "front-proxy-client", client=True),
        controller_manager_serving=_serving(
            ca, directory, "kube-controller-manager-serving", "kube-controller-manager"
        ),
        scheduler_serving=_serving(ca, directory, "kube-scheduler-serving", "kube-scheduler"),
        # The identities are those kubeadm uses, so the built-in RBAC roles apply unchanged.
        admin=_issue(ca, directory, "admin", "llmops-admin", organization="system:masters", client=True),
        controller_manager=_issue(
            ca, directory, "kube-controller-manager", "system:kube-controller-manager", client=True
        ),
        scheduler=_issue(ca, directory, "kube-scheduler", "system:kube-scheduler", client=True),
        # kwok patches node and pod status, renews leases and deletes pods: it plays every kubelet at once.
        kwok=_issue(ca, directory, "kwok", "kwok-controller", organization="system:masters", client=True),
        service_account_key=sa_key_path,
        service_account_pub=sa_pub_path,
        node=_node_pki(ca, directory, *node) if node else None,
    )


def serving_certificate(directory: Path, name: str, *, dns_names: tuple[str, ...], ips: tuple[str, ...]) -> KeyPair:
    """A serving certificate for NAME from a CA of its own (`<name>-ca.crt` beside it, for a caBundle): for a
    server that is added to a running cluster, whose CA key this process does not hold."""
    directory.mkdir(parents=True, exist_ok=True)
    ca = _make_ca(directory, f"{name}-ca", f"llmops-local-{name}-ca")
    return _issue(ca, directory, name, name, server=True, dns_names=dns_names, ips=ips)
