"""The HTTP side of outgoing webhooks: one POST to a receiver, pinned to a vetted address, always an Answer.

Why not a plain HTTP client: the host name is resolved and every address vetted (`guard.resolve`) on each
delivery, and the connection goes to the vetted IP itself, so DNS cannot hand the client a private address
between the check and the connect. The request still names the original host (Host header, TLS SNI and
certificate check), so receivers behind virtual hosting or a CDN see an ordinary request.

Delivery bookkeeping (retries, signatures, records) is the caller's: this module sends once and describes
what happened. No Django here; settings come in as arguments.
"""

from __future__ import annotations

import errno
import http.client
import socket
import ssl
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from urllib.parse import urlsplit

import urllib3
from urllib3.exceptions import ClosedPoolError, NewConnectionError
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.exceptions import TimeoutError as Urllib3Timeout
from urllib3.util import Timeout

from webhooks.guard import AddressRefused, Resolver, check_url, resolve

USER_AGENT = "Loyalty-Webhooks/1.0"
BODY_RECORD_BYTES = 4096
# After the recorded part, at most this much more is read (and discarded) so the connection can be kept;
# a longer answer closes the connection instead, so a huge body cannot hold a worker.
DRAIN_LIMIT_BYTES = 64 * 1024
NETWORK_ERROR = "network_error"
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass
class Answer:
    """What one POST got: the receiver's answer, or why there was none (`error`, `error_code`).

    `status` is None when no HTTP answer came. When the answer's head came but its body then failed,
    `status` is set and `error` says what went wrong with the body.
    """

    status: int | None
    headers: dict[str, str]
    body: str
    duration_ms: int
    error: str = ""
    error_code: str = ""


class _Timeout(Exception):
    """The overall deadline passed between two reads of the body."""


class Sender:
    """Sends webhook POSTs; keeps keep-alive connection pools per (scheme, host, port, vetted IP).

    Thread-safe: one Sender serves a whole thread pool of deliveries. Pools are kept for the `max_pools`
    most recently used receivers; each keeps up to `pool_size` idle connections (more are opened when more
    threads send to the same receiver at once, and closed afterwards).
    """

    def __init__(
        self,
        *,
        resolver: Resolver = socket.getaddrinfo,
        max_pools: int = 200,
        pool_size: int = 10,
        ca_certs: str | None = None,
    ) -> None:
        self._resolver = resolver
        self._max_pools = max_pools
        self._pool_size = pool_size
        self._ca_certs = ca_certs  # None: the system's trusted certificates
        self._pools: OrderedDict[tuple[str, str, int, str], urllib3.HTTPConnectionPool] = OrderedDict()
        self._lock = threading.Lock()

    def post(
        self,
        url: str,
        body: bytes,
        headers: dict[str, str],
        *,
        timeout: float = 10.0,
        allow_private: bool = False,
    ) -> Answer:
        """POST `body` to `url` once (no retries, no redirects) within `timeout` seconds; never raises for
        network problems or refused addresses: the Answer says what happened.

        Raises ValueError only for the caller's mistakes: InvalidWebhookURL for a URL `check_url` would have
        refused when it was saved, and http.client's error for a header name or value it refuses (a line break).
        """
        started = time.monotonic()
        deadline = started + timeout

        def elapsed_ms() -> int:
            return int((time.monotonic() - started) * 1000)

        try:
            check_url(url, allow_private=allow_private, require_https=False)
            parts = urlsplit(url)
            scheme = parts.scheme.lower()
            host = parts.hostname or ""
            port = parts.port or _DEFAULT_PORTS[scheme]
            ip = resolve(host, port, allow_private=allow_private, resolver=self._resolver)[0]
        except AddressRefused as refused:
            return Answer(None, {}, "", elapsed_ms(), _refusal_words(refused), refused.code)

        remaining = deadline - time.monotonic()
        if remaining <= 0:  # the name took the whole time to resolve
            return Answer(None, {}, "", elapsed_ms(), _timed_out(timeout), NETWORK_ERROR)

        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        request_headers = _request_headers(headers, host, port, scheme)
        try:
            response = self._urlopen(scheme, host, port, ip, target, body, request_headers, remaining)
        except (Urllib3Error, OSError, http.client.HTTPException) as exc:
            return Answer(None, {}, "", elapsed_ms(), _describe(exc, timeout), NETWORK_ERROR)

        answer_headers = dict(response.headers)  # a repeated header's values joined with ", "
        recorded = bytearray()
        try:
            _read_at_most(response, recorded, BODY_RECORD_BYTES, deadline)
        except (_Timeout, Urllib3Error, OSError, http.client.HTTPException) as exc:
            _finish(response, drain=False, deadline=deadline)
            error = _timed_out(timeout) if isinstance(exc, _Timeout) else _describe(exc, timeout)
            return Answer(
                response.status,
                answer_headers,
                _text(recorded),
                elapsed_ms(),
                f"{error} (reading the body)",
                NETWORK_ERROR,
            )
        answer = Answer(response.status, answer_headers, _text(recorded), elapsed_ms())
        _finish(response, drain=len(recorded) == BODY_RECORD_BYTES, deadline=deadline)
        return answer

    def _urlopen(
        self,
        scheme: str,
        host: str,
        port: int,
        ip: str,
        target: str,
        body: bytes,
        headers: dict[str, str],
        timeout: float,
    ) -> urllib3.BaseHTTPResponse:
        """One POST on the pool for this receiver at `ip`; its body left unread."""
        options = {
            "body": body,
            "headers": headers,
            "retries": False,
            "redirect": False,
            "assert_same_host": False,
            "timeout": Timeout(total=timeout),
            "preload_content": False,
            "decode_content": False,  # the record keeps the bytes as sent; no decompression of a hostile body
            "release_conn": False,
        }
        key = (scheme, host, port, ip)
        pool = self._pool(key)
        try:
            return pool.urlopen("POST", target, **options)
        except ClosedPoolError:
            # Another thread evicted this pool (or close() closed it) before a connection was taken from it:
            # nothing was sent, so a fresh pool tries once more.
            self._discard(key, pool)
            return self._pool(key).urlopen("POST", target, **options)

    def close(self) -> None:
        """Close every pool and its connections (connections in use are closed when they come back)."""
        with self._lock:
            pools = list(self._pools.values())
            self._pools.clear()
        for pool in pools:
            pool.close()

    def _pool(self, key: tuple[str, str, int, str]) -> urllib3.HTTPConnectionPool:
        """The pool for (scheme, host, port, vetted IP), made on first use; the least recently used beyond
        `max_pools` is closed."""
        scheme, host, port, ip = key
        evicted: list[urllib3.HTTPConnectionPool] = []
        with self._lock:
            pool = self._pools.get(key)
            if pool is not None:
                self._pools.move_to_end(key)
                return pool
            if scheme == "https":
                # Connect to the IP, but speak TLS to the name: SNI and the certificate check use the host.
                pool = urllib3.HTTPSConnectionPool(
                    ip,
                    port,
                    maxsize=self._pool_size,
                    block=False,
                    retries=False,
                    server_hostname=host,
                    assert_hostname=host,
                    cert_reqs="CERT_REQUIRED",
                    ca_certs=self._ca_certs,
                )
            else:
                pool = urllib3.HTTPConnectionPool(ip, port, maxsize=self._pool_size, block=False, retries=False)
            self._pools[key] = pool
            while len(self._pools) > self._max_pools:
                evicted.append(self._pools.popitem(last=False)[1])
        for old in evicted:
            old.close()
        return pool

    def _discard(self, key: tuple[str, str, int, str], pool: urllib3.HTTPConnectionPool) -> None:
        with self._lock:
            if self._pools.get(key) is pool:
                del self._pools[key]


def _request_headers(headers: dict[str, str], host: str, port: int, scheme: str) -> dict[str, str]:
    """The caller's headers, with Host naming the URL's host (the connection goes to its IP) and a User-Agent."""
    result = {name: value for name, value in headers.items() if name.lower() != "host"}
    if not any(name.lower() == "user-agent" for name in result):
        result["User-Agent"] = USER_AGENT
    name = f"[{host}]" if ":" in host else host
    result["Host"] = name if port == _DEFAULT_PORTS[scheme] else f"{name}:{port}"
    return result


def _read_at_most(response: urllib3.BaseHTTPResponse, into: bytearray, limit: int, deadline: float) -> None:
    """Up to `limit` bytes of the body into `into` (kept if a read fails), each read bounded by the deadline."""
    while len(into) < limit:
        _bound_next_read(response, deadline)
        chunk = response.read1(limit - len(into))
        if not chunk:
            return
        into += chunk


def _text(recorded: bytearray) -> str:
    return recorded.decode("utf-8", errors="replace")


def _bound_next_read(response: urllib3.BaseHTTPResponse, deadline: float) -> None:
    """Shorten the socket's timeout to the time left, so a receiver trickling its body cannot outlast it."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise _Timeout
    connection = response.connection
    sock = getattr(connection, "sock", None) if connection is not None else None
    if sock is not None:
        sock.settimeout(remaining)


def _finish(response: urllib3.BaseHTTPResponse, *, drain: bool, deadline: float) -> None:
    """Give the connection back for reuse when the rest of the body is short and comes in time; else close it."""
    if drain and not response.closed:
        left = response.length_remaining
        if left is None or left <= DRAIN_LIMIT_BYTES:
            try:
                drained = 0
                while drained <= DRAIN_LIMIT_BYTES:
                    _bound_next_read(response, deadline)
                    chunk = response.read1(DRAIN_LIMIT_BYTES + 1 - drained)
                    if not chunk:
                        break
                    drained += len(chunk)
            except (_Timeout, Urllib3Error, OSError, http.client.HTTPException):
                response.close()  # the rest did not come in time: this connection is not reused
    if not response.closed:
        response.close()  # closes the connection too: unread bytes would spoil its next request
    response.release_conn()


def _refusal_words(refused: AddressRefused) -> str:
    if refused.code == AddressRefused.REFUSED:
        return f"address refused: {refused.reason}"
    if refused.code == AddressRefused.UNRESOLVABLE:
        return "host not found"
    return str(refused)


def _timed_out(timeout: float) -> str:
    return f"timed out after {timeout:g} s"


def _describe(exc: BaseException, timeout: float) -> str:
    """A short plain description of a network failure, from the most telling exception in its chain."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__ or getattr(current, "reason", None)
        if not isinstance(current, BaseException):
            current = None
    for item in chain:
        if isinstance(item, ssl.SSLCertVerificationError):
            return _short(f"TLS error: {item.verify_message or item}")
    for item in chain:
        if isinstance(item, ssl.SSLError):
            return _short(f"TLS error: {item.reason or item}")
    for item in chain:
        # NewConnectionError derives from urllib3's ConnectTimeoutError, yet says "could not connect".
        if isinstance(item, Urllib3Timeout | TimeoutError) and not isinstance(item, NewConnectionError):
            return _timed_out(timeout)
    for item in chain:
        if isinstance(item, ConnectionRefusedError):
            return "connection refused"
        if isinstance(item, http.client.RemoteDisconnected):  # a ConnectionResetError too: ask first
            return "the receiver closed the connection without answering"
        if isinstance(item, ConnectionResetError):
            return "connection reset by the receiver"
        if isinstance(item, BrokenPipeError | ConnectionAbortedError):
            return "connection closed by the receiver"
        if isinstance(item, http.client.IncompleteRead):
            return "the answer was cut short"
        if isinstance(item, OSError) and item.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH):
            return "receiver unreachable"
        if isinstance(item, http.client.HTTPException):
            return _short(f"not a valid HTTP answer ({type(item).__name__})")
    for item in chain:
        if isinstance(item, urllib3.exceptions.SSLError):
            return _short(f"TLS error: {item}")
    return _short(f"network error ({type(exc).__name__}: {exc})")


def _short(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
