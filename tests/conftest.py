"""Shared fixtures: a fixed today, a temporary workspace, no developer settings."""

from __future__ import annotations

import os
import shutil
import socket
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope

from dunning import settings, store

DATA = Path(__file__).parent / "data"
TODAY = "2026-02-15"


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """Keep the developer's machine out: fixed today, temporary workspace, no SMTP."""
    monkeypatch.setenv("DUNNING_TODAY", TODAY)
    monkeypatch.setenv("DUNNING_DB", str(tmp_path / "workspace.duckdb"))
    for name in list(os.environ):
        if name.startswith("DUNNING_SMTP_"):
            monkeypatch.delenv(name)
    monkeypatch.setattr(settings, "SECRETS_PATH", tmp_path / "no-secrets.toml")
    yield


@pytest.fixture
def con(tmp_path):
    """A fresh workspace in a DuckDB file of its own."""
    connection = store.connect(tmp_path / "w.duckdb")
    yield connection
    connection.close()


@pytest.fixture
def data_file(tmp_path):
    """Copy a file of tests/data into tmp_path (bytes untouched) and return it."""

    def copy(name: str) -> Path:
        target = tmp_path / name
        shutil.copyfile(DATA / name, target)
        return target

    return copy


@dataclass
class Received:
    """One message as the SMTP server got it: the envelope and the parsed message."""

    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


@dataclass
class SmtpServer:
    """A real SMTP server on 127.0.0.1 (aiosmtpd) that keeps what it receives."""

    host: str
    port: int
    user: str
    password: str
    received: list[Received] = field(default_factory=list)

    def env(self, login: bool = False) -> dict[str, str]:
        """DUNNING_SMTP_* variables pointing at this server."""
        values = {
            "DUNNING_SMTP_HOST": self.host,
            "DUNNING_SMTP_PORT": str(self.port),
            "DUNNING_SMTP_SECURITY": "none",
            "DUNNING_SMTP_FROM": "relances@example.com",
        }
        if login:
            values["DUNNING_SMTP_USER"] = self.user
            values["DUNNING_SMTP_PASSWORD"] = self.password
        return values


class _Handler:
    def __init__(self, server: SmtpServer):
        self.server = server

    async def handle_DATA(self, _server, _session, envelope: Envelope) -> str:
        parsed = message_from_bytes(envelope.original_content, policy=policy.default)
        self.server.received.append(
            Received(envelope.mail_from, list(envelope.rcpt_tos), parsed)
        )
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server():
    """Start aiosmtpd on a free local port; login (when given) is relance/s3cret."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = SmtpServer("127.0.0.1", port, "relance", "s3cret")

    def authenticate(_server, _session, _envelope, _mechanism, auth_data):
        ok = (auth_data.login, auth_data.password) == (b"relance", b"s3cret")
        return AuthResult(success=ok, handled=False)

    controller = Controller(
        _Handler(server),
        hostname="127.0.0.1",
        port=port,
        authenticator=authenticate,
        auth_require_tls=False,
    )
    controller.start()
    yield server
    controller.stop()
