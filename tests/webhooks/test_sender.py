"""The webhook sender against a local receiver: answers recorded, failures described, connections reused and
pinned to the vetted address."""

from __future__ import annotations

import socket
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import urllib3.util.connection

from tests.webhooks.fake_dns import answers
from webhooks.guard import InvalidWebhookURL
from webhooks.sender import USER_AGENT, Sender

JSON = {"Content-Type": "application/json"}


def test_a_2xx_answer_is_recorded(receiver, sender):
    receiver.status = 201
    receiver.headers = {"Content-Type": "application/json", "X-Receipt": "r-1"}
    receiver.body = '{"received": "ü"}'.encode()

    answer = sender.post(receiver.url + "/hook", b"{}", JSON, allow_private=True)

    assert answer.status == 201
    assert answer.headers["X-Receipt"] == "r-1"
    assert answer.headers["Content-Type"] == "application/json"
    assert answer.body == '{"received": "ü"}'
    assert (answer.error, answer.error_code) == ("", "")
    assert 0 <= answer.duration_ms < 1000


def test_the_request_carries_host_the_given_headers_user_agent_and_the_exact_body(receiver, sender):
    body = b'{"event": "points.earned"}\x00\xff\xfe raw bytes'
    headers = {"Content-Type": "application/json", "X-Webhook-Signature": "t=1,v1=abc", "Host": "evil.example"}

    sender.post(receiver.url + "/in/hook?tenant=7", body, headers, allow_private=True)

    [seen] = receiver.requests
    assert seen.method == "POST"
    assert seen.path == "/in/hook?tenant=7"
    assert seen.body == body
    assert seen.headers["Host"] == f"127.0.0.1:{receiver.port}"
    assert seen.headers["Content-Type"] == "application/json"
    assert seen.headers["X-Webhook-Signature"] == "t=1,v1=abc"
    assert seen.headers["User-Agent"] == USER_AGENT == "Loyalty-Webhooks/1.0"
    assert seen.headers["Content-Length"] == str(len(body))


def test_a_repeated_answer_header_is_joined(raw_receiver, sender):
    def script(connection: socket.socket) -> None:
        _read_request(connection)
        connection.sendall(b"HTTP/1.1 200 OK\r\nVia: a\r\nVia: b\r\nContent-Length: 0\r\n\r\n")

    port = raw_receiver(script)
    answer = sender.post(f"http://127.0.0.1:{port}/", b"{}", JSON, allow_private=True)
    assert answer.headers["Via"] == "a, b"


def test_a_user_agent_from_the_caller_is_kept(receiver, sender):
    sender.post(receiver.url, b"x", {"user-agent": "Tenant-Relay/2"}, allow_private=True)
    [seen] = receiver.requests
    assert seen.headers["User-Agent"] == "Tenant-Relay/2"
    assert seen.path == "/"


def test_a_long_body_is_trimmed_to_4096_bytes_without_reading_it_all(receiver, sender):
    receiver.body = b"a" * 1_000_000

    started = time.monotonic()
    answer = sender.post(receiver.url, b"{}", JSON, allow_private=True)

    assert answer.status == 200
    assert answer.body == "a" * 4096
    assert answer.headers["Content-Length"] == "1000000"
    assert time.monotonic() - started < 1
    # The connection was closed rather than drained: the next post opens a new one and works.
    assert sender.post(receiver.url, b"{}", JSON, allow_private=True).status == 200
    assert len(receiver.connections) == 2


def test_a_body_cut_in_the_middle_of_a_character_is_decoded_with_replacement(receiver, sender):
    receiver.body = b"a" * 4095 + "é".encode() + b"tail"
    answer = sender.post(receiver.url, b"{}", JSON, allow_private=True)
    assert answer.body == "a" * 4095 + "\ufffd"


def test_a_moderately_long_body_is_drained_and_the_connection_kept(receiver, sender):
    receiver.body = b"b" * 20_000
    for _ in range(3):
        answer = sender.post(receiver.url, b"{}", JSON, allow_private=True)
        assert answer.body == "b" * 4096
    assert len(receiver.requests) == 3
    assert len(receiver.connections) == 1


def test_a_redirect_is_an_answer_and_is_not_followed(receiver, sender):
    receiver.status = 302
    receiver.headers = {"Location": "http://169.254.169.254/latest/meta-data/"}
    receiver.body = b""

    answer = sender.post(receiver.url + "/hook", b"{}", JSON, allow_private=True)

    assert answer.status == 302
    assert answer.headers["Location"] == "http://169.254.169.254/latest/meta-data/"
    assert answer.error == ""
    assert [seen.path for seen in receiver.requests] == ["/hook"]


def test_a_5xx_answer_is_just_an_answer(receiver, sender):
    receiver.status = 503
    receiver.body = b"busy"
    answer = sender.post(receiver.url, b"{}", JSON, allow_private=True)
    assert (answer.status, answer.body, answer.error, answer.error_code) == (503, "busy", "", "")
    assert len(receiver.requests) == 1  # no retry of its own


def test_a_closed_port_is_connection_refused(sender):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # The port is closed again now: nothing listens on it.

    answer = sender.post(f"http://127.0.0.1:{port}/hook", b"{}", JSON, allow_private=True)

    assert answer.status is None
    assert answer.error == "connection refused"
    assert answer.error_code == "network_error"
    assert (answer.headers, answer.body) == ({}, "")


def test_a_receiver_slower_than_the_timeout_times_out_in_about_the_timeout(receiver, sender):
    receiver.delay = 1.0

    started = time.monotonic()
    answer = sender.post(receiver.url, b"{}", JSON, timeout=0.5, allow_private=True)
    took = time.monotonic() - started

    assert answer.status is None
    assert answer.error == "timed out after 0.5 s"
    assert answer.error_code == "network_error"
    assert 0.45 <= took < 0.9
    assert 450 <= answer.duration_ms < 900


def test_fifty_posts_reuse_one_keep_alive_connection(receiver, sender):
    for number in range(50):
        answer = sender.post(receiver.url, f'{{"n": {number}}}'.encode(), JSON, allow_private=True)
        assert answer.status == 200
    assert len(receiver.requests) == 50
    assert len(receiver.connections) <= 2


def test_a_thread_pool_shares_one_sender(receiver, sender):
    def post(number: int) -> int | None:
        return sender.post(receiver.url, str(number).encode(), JSON, allow_private=True).status

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(post, range(200)))

    assert statuses == [200] * 200
    assert sorted(int(seen.body) for seen in receiver.requests) == list(range(200))
    assert len(receiver.connections) <= 8  # at most one per thread, kept and reused


def test_the_least_recently_used_pool_beyond_the_limit_is_closed(receiver, receiver6):
    sender = Sender(max_pools=1)
    try:
        statuses = [
            sender.post(url, b"{}", JSON, allow_private=True).status for url in [receiver.url, receiver6.url] * 2
        ]
    finally:
        sender.close()
    assert statuses == [200] * 4
    assert len(receiver.connections) == len(receiver6.connections) == 2


def test_a_pool_closed_before_a_post_takes_a_connection_is_replaced(receiver, sender):
    """As when another thread evicts it between the lookup and the request: nothing was sent, so it is safe."""
    assert sender.post(receiver.url, b"{}", JSON, allow_private=True).status == 200
    sender._pool(("http", "127.0.0.1", receiver.port, "127.0.0.1")).close()

    answer = sender.post(receiver.url, b"{}", JSON, allow_private=True)

    assert (answer.status, answer.error) == (200, "")
    assert len(receiver.requests) == 2


def test_without_allow_private_the_local_receiver_is_refused_and_gets_nothing(receiver, sender):
    answer = sender.post(receiver.url, b"{}", JSON)

    assert answer.status is None
    assert answer.error == "address refused: a loopback address"
    assert answer.error_code == "webhook_address_refused"
    assert receiver.requests == []
    assert receiver.connections == []


def test_a_name_resolving_to_loopback_is_refused(receiver, sender):
    answer = sender.post(f"http://localhost:{receiver.port}/", b"{}", JSON)
    assert answer.error_code == "webhook_address_refused"
    assert receiver.connections == []


def test_the_connection_goes_to_the_resolved_ip_and_the_request_names_the_host(receiver):
    asked = []

    def resolver(host, port, *args, **kwargs):
        asked.append((host, port))
        return answers("127.0.0.1")(host, port)

    sender = Sender(resolver=resolver)
    try:
        answer = sender.post(f"http://receiver.test:{receiver.port}/hook", b"{}", JSON, allow_private=True)
        sender.post(f"http://receiver.test:{receiver.port}/hook", b"{}", JSON, allow_private=True)
    finally:
        sender.close()

    assert answer.status == 200
    assert asked == [("receiver.test", receiver.port)] * 2  # resolved again for every delivery
    assert [seen.headers["Host"] for seen in receiver.requests] == [f"receiver.test:{receiver.port}"] * 2


@pytest.fixture
def dialled(monkeypatch):
    """Every address urllib3 tries to connect to; each attempt is refused (nothing leaves the machine)."""
    tried: list[tuple[str, int]] = []

    def create_connection(address, *args, **kwargs):
        tried.append(address)
        raise ConnectionRefusedError(111, "Connection refused")

    monkeypatch.setattr(urllib3.util.connection, "create_connection", create_connection)
    return tried


def test_the_sender_connects_to_the_vetted_public_ip_it_resolved(dialled):
    sender = Sender(resolver=answers("93.184.216.34", "2606:2800:220:1::"))
    answer = sender.post("https://hooks.example.com/loyalty", b"{}", JSON)
    sender.close()

    assert dialled == [("93.184.216.34", 443)]
    assert answer.error == "connection refused"


def test_a_name_rebinding_to_loopback_between_deliveries_is_refused_before_connecting(dialled):
    calls = iter([answers("93.184.216.34"), answers("127.0.0.1")])

    def rebinding(host, port, *args, **kwargs):
        return next(calls)(host, port)

    sender = Sender(resolver=rebinding)
    first = sender.post("http://hooks.example.com:8080/", b"{}", JSON)
    second = sender.post("http://hooks.example.com:8080/", b"{}", JSON)
    sender.close()

    assert first.error == "connection refused"
    assert second.error_code == "webhook_address_refused"
    assert second.error == "address refused: a loopback address"
    assert dialled == [("93.184.216.34", 8080)]


def test_a_name_answering_a_private_address_among_public_ones_is_not_dialled(dialled):
    sender = Sender(resolver=answers("93.184.216.34", "10.0.0.7"))
    answer = sender.post("https://hooks.example.com/", b"{}", JSON)
    assert (answer.status, answer.error_code, answer.error) == (
        None,
        "webhook_address_refused",
        "address refused: a private address",
    )
    assert dialled == []


def test_an_unresolvable_name_is_an_answer(dialled):
    def failing(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    answer = Sender(resolver=failing).post("https://nowhere.example.com/", b"{}", JSON)
    assert (answer.status, answer.error, answer.error_code) == (None, "host not found", "webhook_host_unresolvable")
    assert dialled == []


def test_a_url_the_guard_refuses_when_saved_is_a_value_error(sender):
    with pytest.raises(InvalidWebhookURL):
        sender.post("ftp://hooks.example.com/", b"{}", JSON)


def test_an_ipv6_receiver(receiver6, sender):
    answer = sender.post(receiver6.url + "/hook", b"{}", JSON, allow_private=True)
    assert answer.status == 200
    assert receiver6.requests[0].headers["Host"] == f"[::1]:{receiver6.port}"


def test_https_uses_the_host_name_for_sni_and_the_certificate_while_connecting_to_the_ip(tls_receiver, certificate):
    sender = Sender(resolver=answers("127.0.0.1"), ca_certs=str(certificate[0]))
    try:
        answer = sender.post(f"https://receiver.test:{tls_receiver.port}/hook", b"{}", JSON, allow_private=True)
    finally:
        sender.close()

    assert (answer.status, answer.error) == (200, "")
    assert tls_receiver.server_names == ["receiver.test"]
    assert tls_receiver.requests[0].headers["Host"] == f"receiver.test:{tls_receiver.port}"


def test_https_refuses_a_certificate_for_another_name(tls_receiver, certificate):
    sender = Sender(resolver=answers("127.0.0.1"), ca_certs=str(certificate[0]))
    try:
        answer = sender.post(f"https://other.test:{tls_receiver.port}/hook", b"{}", JSON, allow_private=True)
    finally:
        sender.close()

    assert answer.status is None
    assert answer.error.startswith("TLS error: ")
    assert "other.test" in answer.error
    assert answer.error_code == "network_error"
    assert tls_receiver.requests == []


def test_https_refuses_an_untrusted_certificate(tls_receiver):
    sender = Sender(resolver=answers("127.0.0.1"))  # the system's trusted certificates only
    try:
        answer = sender.post(f"https://receiver.test:{tls_receiver.port}/hook", b"{}", JSON, allow_private=True)
    finally:
        sender.close()

    assert answer.status is None
    assert answer.error.startswith("TLS error: ")
    assert "certificate" in answer.error
    assert tls_receiver.requests == []


def _read_request(connection: socket.socket) -> None:
    """Read one request, head and body, so closing the connection afterwards is a clean close, not a reset."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += connection.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")
    )
    while len(body) < length:
        body += connection.recv(65536)


def test_a_receiver_hanging_up_without_answering(raw_receiver, sender):
    port = raw_receiver(_read_request)
    answer = sender.post(f"http://127.0.0.1:{port}/", b"{}", JSON, allow_private=True)
    assert (answer.status, answer.error_code) == (None, "network_error")
    assert answer.error == "the receiver closed the connection without answering"


def test_a_receiver_answering_garbage(raw_receiver, sender):
    def script(connection: socket.socket) -> None:
        _read_request(connection)
        connection.sendall(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")

    port = raw_receiver(script)
    answer = sender.post(f"http://127.0.0.1:{port}/", b"{}", JSON, allow_private=True)
    assert answer.status is None
    assert answer.error.startswith("not a valid HTTP answer")


def test_a_body_cut_short_keeps_the_status_and_says_so(raw_receiver, sender):
    def script(connection: socket.socket) -> None:
        _read_request(connection)
        connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b")

    port = raw_receiver(script)
    answer = sender.post(f"http://127.0.0.1:{port}/", b"{}", JSON, allow_private=True)
    assert answer.status == 200
    assert answer.body == "only ten b"
    assert answer.error == "the answer was cut short (reading the body)"
    assert answer.error_code == "network_error"


def test_a_body_trickling_in_is_bounded_by_the_overall_timeout(raw_receiver, sender):
    """Each byte comes well within the timeout, yet the whole body would take 20 s."""

    def script(connection: socket.socket) -> None:
        _read_request(connection)
        connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")
        for _ in range(100):
            connection.sendall(b".")
            time.sleep(0.2)

    port = raw_receiver(script)
    started = time.monotonic()
    answer = sender.post(f"http://127.0.0.1:{port}/", b"{}", JSON, timeout=0.5, allow_private=True)

    assert time.monotonic() - started < 0.9
    assert answer.status == 200
    assert answer.error == "timed out after 0.5 s (reading the body)"


def test_a_header_value_with_a_line_break_is_refused_not_sent(receiver, sender):
    """A caller's mistake, so it raises; nothing reaches the receiver and the sender goes on working."""
    with pytest.raises(ValueError, match="Invalid header value"):
        sender.post(receiver.url, b"{}", {"X-Tenant": "7\r\nX-Injected: 1"}, allow_private=True)
    assert receiver.requests == []
    assert sender.post(receiver.url, b"{}", JSON, allow_private=True).status == 200
