"""A local webhook receiver (a threading HTTP server on 127.0.0.1 or ::1, port 0) and a Sender per test."""

from __future__ import annotations

import contextlib
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from webhooks.sender import Sender


@dataclass
class Seen:
    """One request as the receiver got it."""

    method: str
    path: str
    headers: Message  # looked up without regard to case, as HTTP header names are
    body: bytes
    client: tuple


@dataclass
class Receiver:
    """What the receiver answers (settable per test) and what it saw: requests, TCP connections, TLS names."""

    host: str
    port: int = 0
    status: int = 200
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/json"})
    body: bytes = b'{"ok": true}'
    delay: float = 0.0
    tls: bool = False
    requests: list[Seen] = field(default_factory=list)
    connections: list[tuple] = field(default_factory=list)
    server_names: list[str | None] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        name = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.tls else 'http'}://{name}:{self.port}"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real receivers do
    disable_nagle_algorithm = True  # head and body go out in two writes: no delayed-ACK stall between them
    server: _Server

    def setup(self) -> None:
        super().setup()
        with self.server.receiver.lock:
            self.server.receiver.connections.append(self.client_address)

    def do_POST(self) -> None:
        receiver = self.server.receiver
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with receiver.lock:
            receiver.requests.append(Seen("POST", self.path, self.headers, body, self.client_address))
        if receiver.delay:
            time.sleep(receiver.delay)
        self.send_response(receiver.status)
        for name, value in receiver.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(receiver.body)))
        self.end_headers()
        self.wfile.write(receiver.body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: what the receiver saw is counted, not logged."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    receiver: Receiver

    def handle_error(self, request, client_address) -> None:
        """Quiet: the sender hangs up on purpose in some tests (long body, timeout)."""


class _Server6(_Server):
    address_family = socket.AF_INET6


def _start(receiver: Receiver, context: ssl.SSLContext | None = None) -> Iterator[Receiver]:
    server = (_Server6 if ":" in receiver.host else _Server)((receiver.host, 0), _Handler)
    if context is not None:
        server.socket = context.wrap_socket(server.socket, server_side=True)
        receiver.tls = True
    server.receiver = receiver
    receiver.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=2)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    yield from _start(Receiver("127.0.0.1"))


@pytest.fixture
def receiver6() -> Iterator[Receiver]:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        pytest.skip("no IPv6 loopback here")
    yield from _start(Receiver("::1"))


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for receiver.test (and its key), made with the openssl command."""
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "2",
            "-subj",
            "/CN=receiver.test",
            "-addext",
            "subjectAltName=DNS:receiver.test",
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.fixture
def tls_receiver(certificate: tuple[Path, Path]) -> Iterator[Receiver]:
    """A receiver on 127.0.0.1 speaking TLS as receiver.test; it records the name each client asked for (SNI)."""
    cert, key = certificate
    receiver = Receiver("127.0.0.1")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)

    def sni(sock: ssl.SSLSocket, name: str | None, ctx: ssl.SSLContext) -> None:
        receiver.server_names.append(name)

    context.sni_callback = sni
    yield from _start(receiver, context)


@pytest.fixture
def sender() -> Iterator[Sender]:
    sender = Sender()
    yield sender
    sender.close()


@pytest.fixture
def raw_receiver() -> Iterator[Callable[[Callable[[socket.socket], None]], int]]:
    """Start a bare TCP receiver on 127.0.0.1 that runs `script(connection)` for each connection; its port."""
    listeners: list[socket.socket] = []

    def start(script: Callable[[socket.socket], None]) -> int:
        listener = socket.create_server(("127.0.0.1", 0))
        listeners.append(listener)

        def serve() -> None:
            while True:
                try:
                    connection, _ = listener.accept()
                except OSError:
                    return  # closed at the end of the test
                with connection, contextlib.suppress(OSError):  # the sender may hang up first
                    script(connection)

        threading.Thread(target=serve, daemon=True).start()
        return listener.getsockname()[1]

    yield start
    for listener in listeners:
        listener.close()


@pytest.fixture(autouse=True)
def eager_tasks():
    """The tasks the services queue (the sender, on commit) run in the test's own thread, with or without a
    broker configured (tests/client/test_flow.py delivers through a real worker)."""
    from config.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    try:
        yield
    finally:
        app.conf.task_always_eager = before
