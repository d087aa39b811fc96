"""Email over STARTTLS with SMTP AUTH against a real SMTP server (aiosmtpd) whose certificate
is signed by a private CA: trusted through the channel's `ca_cert`, refused without it."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from collections.abc import Iterator
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.server.alerts.conftest import Api
from tests.support.env import free_port

USER, PASSWORD = "opsplane", "s3cret-smtp"


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def make_ca_and_server_cert(tmp: Path) -> tuple[str, Path, Path]:
    """(CA PEM, server cert path, server key path) for 127.0.0.1."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("opsplane test CA"))
        .issuer_name(_name("opsplane test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("127.0.0.1"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), False)
        .sign(ca_key, hashes.SHA256())
    )
    cert_path, key_path = tmp / "server.pem", tmp / "server.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return ca.public_bytes(serialization.Encoding.PEM).decode(), cert_path, key_path


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[Message, Any]] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.messages.append((message_from_bytes(envelope.original_content or b""), session))
        return "250 OK"


def authenticate(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        USER.encode(),
        PASSWORD.encode(),
    )
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def tls_smtp(tmp_path: Path) -> Iterator[tuple[Inbox, int, str]]:
    ca_pem, cert, key = make_ca_and_server_cert(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    inbox, port = Inbox(), free_port()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        tls_context=context,
        require_starttls=True,  # nothing but EHLO/STARTTLS before TLS
        authenticator=authenticate,
        auth_require_tls=True,
    )
    controller.start()
    yield inbox, port, ca_pem
    controller.stop()


async def email_channel(api: Api, port: int, name: str, **config: Any) -> int:
    channel = await api.post(
        "/alerts/channels",
        {
            "name": name,
            "type": "email",
            "config": {
                "host": "127.0.0.1",
                "port": port,
                "security": "starttls",
                "username": USER,
                "password": PASSWORD,
                "from_addr": "opsplane@example.com",
                "to": ["oncall@example.com"],
                **config,
            },
        },
    )
    return int(channel["id"])


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_starttls_with_auth_and_a_private_ca(
    api: Api, tls_smtp: tuple[Inbox, int, str]
) -> None:
    inbox, port, ca_pem = tls_smtp
    trusted = await email_channel(api, port, "mail", ca_cert=ca_pem)
    result = await api.post(f"/alerts/channels/{trusted}/test")
    assert result["ok"] is True, result
    (message, session), *_ = inbox.messages
    assert message["To"] == "oncall@example.com"
    assert "OpsplaneTest" in message["Subject"]
    assert session.authenticated
    assert session.ssl is not None

    # Without the CA the certificate is refused: nothing is sent, the log says why.
    untrusted = await email_channel(api, port, "mail-system-ca")
    refused = await api.post(f"/alerts/channels/{untrusted}/test")
    assert refused["ok"] is False
    assert "CERTIFICATE_VERIFY_FAILED" in refused["error"]

    # A wrong password: the server's 535 is in the log (and not retried: 5xx is final).
    wrong = await email_channel(api, port, "mail-wrong", ca_cert=ca_pem, password="nope")
    denied = await api.post(f"/alerts/channels/{wrong}/test")
    assert denied["ok"] is False
    assert "535" in denied["error"]
    assert len(inbox.messages) == 1


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_ca_cert_that_is_not_pem_is_refused(api: Api) -> None:
    body = {
        "name": "bad-ca",
        "type": "email",
        "config": {
            "host": "127.0.0.1",
            "from_addr": "opsplane@example.com",
            "to": ["a@example.com"],
            "ca_cert": "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n",
        },
    }
    error = await api.call("POST", "/alerts/channels", json=body, expect=(400, 422))
    assert "ca_cert" in str(error)
