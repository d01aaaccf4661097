"""The SSRF guard: which addresses are refused (in words), DNS answers vetted whole, URLs checked when saved."""

from __future__ import annotations

import ipaddress
import socket

import pytest

from tests.webhooks.fake_dns import answers
from webhooks.guard import AddressRefused, InvalidWebhookURL, check_url, refused_address, resolve

REFUSED = [
    ("127.0.0.1", "a loopback address"),
    ("::1", "a loopback address"),
    ("10.1.2.3", "a private address"),
    ("172.16.0.1", "a private address"),
    ("172.31.255.254", "a private address"),
    ("192.168.1.1", "a private address"),
    ("169.254.169.254", "a link-local address (the cloud metadata service)"),
    ("169.254.1.1", "a link-local address"),
    ("100.64.0.1", "a shared address (carrier-grade NAT, 100.64.0.0/10)"),
    ("0.0.0.0", "an unspecified address"),  # noqa: S104 (an address judged, not one bound to)
    ("0.1.2.3", "a 'this network' address (0.0.0.0/8)"),
    ("::", "an unspecified address"),
    ("224.0.0.1", "a multicast address"),
    ("ff02::1", "a multicast address"),
    ("fe80::1", "a link-local address"),
    ("fc00::1", "a private address"),
    ("fd12:3456::1", "a private address"),
    ("fec0::1", "a site-local address"),
    ("240.0.0.1", "a reserved address"),
    ("255.255.255.255", "a reserved address"),
    ("198.18.0.1", "a special-purpose address"),
    ("::ffff:127.0.0.1", "a loopback address in IPv4-mapped form"),
    ("::ffff:10.0.0.1", "a private address in IPv4-mapped form"),
    ("::ffff:169.254.169.254", "a link-local address (the cloud metadata service) in IPv4-mapped form"),
    ("64:ff9b::a00:1", "a private address in NAT64 form"),
    ("64:ff9b::7f00:1", "a loopback address in NAT64 form"),
    ("2002:a00:1::", "a private address in 6to4 form"),
    ("2002:7f00:1::", "a loopback address in 6to4 form"),
    # Teredo: server 65.54.227.120, client 192.0.2.45 (documentation range) after un-obfuscating.
    ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "a special-purpose address in Teredo form"),
]

PUBLIC = ["93.184.216.34", "8.8.8.8", "2606:2800:220:1::", "::ffff:93.184.216.34", "64:ff9b::5db8:d822"]


@pytest.mark.parametrize(("address", "words"), REFUSED)
def test_refused_addresses_say_why(address, words):
    assert refused_address(ipaddress.ip_address(address)) == words


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_are_allowed(address):
    assert refused_address(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize(("address", "words"), REFUSED)
def test_resolve_refuses_a_name_answering_a_refused_address(address, words):
    with pytest.raises(AddressRefused) as refused:
        resolve("hooks.example.com", 443, allow_private=False, resolver=answers(address))
    assert refused.value.code == "webhook_address_refused"
    assert refused.value.reason == words
    assert refused.value.address == address
    assert words in str(refused.value)


@pytest.mark.parametrize(("address", "words"), REFUSED)
def test_allow_private_lets_every_address_through(address, words):
    assert resolve("hooks.example.com", 443, allow_private=True, resolver=answers(address)) == [address]
    host = f"[{address}]" if ":" in address else address
    check_url(f"https://{host}/hook", allow_private=True, require_https=True)


def test_all_public_answers_are_returned_in_resolver_order_without_repeats():
    resolver = answers("93.184.216.34", "2606:2800:220:1::", "93.184.216.34")
    assert resolve("hooks.example.com", 443, allow_private=False, resolver=resolver) == [
        "93.184.216.34",
        "2606:2800:220:1::",
    ]


def test_one_private_answer_among_public_ones_refuses_the_name():
    """DNS rebinding: either answer could be the one a client connects to, so the name is refused whole."""
    resolver = answers("93.184.216.34", "10.0.0.7", "8.8.8.8")
    with pytest.raises(AddressRefused) as refused:
        resolve("hooks.example.com", 443, allow_private=False, resolver=resolver)
    assert refused.value.code == "webhook_address_refused"
    assert refused.value.address == "10.0.0.7"
    assert str(refused.value) == "hooks.example.com resolves to 10.0.0.7, a private address; webhooks may not call it."


def test_an_answer_that_changes_between_calls_is_judged_each_time():
    calls = iter([answers("93.184.216.34"), answers("127.0.0.1")])

    def rebinding(host, port, *args, **kwargs):
        return next(calls)(host, port)

    assert resolve("hooks.example.com", 443, allow_private=False, resolver=rebinding) == ["93.184.216.34"]
    with pytest.raises(AddressRefused) as refused:
        resolve("hooks.example.com", 443, allow_private=False, resolver=rebinding)
    assert refused.value.reason == "a loopback address"


def test_the_resolver_is_asked_for_the_name_and_port():
    asked = []

    def resolver(host, port, *args, **kwargs):
        asked.append((host, port, kwargs.get("type")))
        return answers("93.184.216.34")(host, port)

    resolve("hooks.example.com", 8443, allow_private=False, resolver=resolver)
    assert asked == [("hooks.example.com", 8443, socket.SOCK_STREAM)]


@pytest.mark.parametrize("allow_private", [False, True])
def test_a_name_without_addresses_is_unresolvable(allow_private):
    with pytest.raises(AddressRefused) as empty:
        resolve("nothing.example.com", 443, allow_private=allow_private, resolver=answers())
    assert empty.value.code == "webhook_host_unresolvable"

    def failing(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    with pytest.raises(AddressRefused) as unknown:
        resolve("nothing.example.com", 443, allow_private=allow_private, resolver=failing)
    assert unknown.value.code == "webhook_host_unresolvable"
    assert str(unknown.value) == "The host name nothing.example.com does not resolve to an address."


def test_the_real_resolver_refuses_localhost():
    with pytest.raises(AddressRefused) as refused:
        resolve("localhost", 80, allow_private=False)
    assert refused.value.reason == "a loopback address"


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.com/loyalty?tenant=7",
        "https://hooks.example.com:8443/",
        "https://93.184.216.34/hook",
        "https://[2606:2800:220:1::]:443/hook",
        "https://bücher.example/hook",
        "HTTPS://Hooks.Example.COM",
    ],
)
def test_good_https_urls_are_accepted(url):
    check_url(url, allow_private=False, require_https=True)


def test_http_is_refused_only_when_https_is_required():
    with pytest.raises(AddressRefused) as insecure:
        check_url("http://hooks.example.com/", allow_private=False, require_https=True)
    assert insecure.value.code == "webhook_url_insecure"
    assert str(insecure.value) == "Webhook URLs must use https."
    check_url("http://hooks.example.com/", allow_private=False, require_https=False)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("https://user:secret@hooks.example.com/", "Webhook URLs may not contain a user name or password."),
        ("https://token@hooks.example.com/", "Webhook URLs may not contain a user name or password."),
        ("https://hooks.example.com/#part", "Webhook URLs may not contain a fragment (the part after #)."),
        ("https://hooks.example.com/#", "Webhook URLs may not contain a fragment (the part after #)."),
        ("https://hooks.example.com:0/", "The port of a webhook URL must be a number between 1 and 65535."),
        ("https://hooks.example.com:70000/", "The port of a webhook URL must be a number between 1 and 65535."),
        ("https://hooks.example.com:https/", "The port of a webhook URL must be a number between 1 and 65535."),
        ("https://hooks.example.com/" + "a" * 2000, "Webhook URLs may be at most 2000 characters long."),
        ("ftp://hooks.example.com/", "Webhook URLs must start with https:// or http://."),
        ("hooks.example.com/hook", "Webhook URLs must start with https:// or http://."),
        ("https:///hook", "Webhook URLs must name a host."),
        ("https://hooks.example.com/a b", "Webhook URLs may not contain spaces or control characters."),
        ("https://hooks.example.com/\r\nX: y", "Webhook URLs may not contain spaces or control characters."),
        ("https://hooks_.exa$mple.com/", "The host name of the webhook URL is not valid."),
        ("https://127.1/", "Webhook URLs must name a host by its name or by a plain IP address."),
        ("https://0x7f.1/", "Webhook URLs must name a host by its name or by a plain IP address."),
        ("https://2130706433/", "Webhook URLs must name a host by its name or by a plain IP address."),
        ("https://[::1/", "The webhook URL is not a valid URL."),
    ],
)
def test_malformed_urls_are_refused_with_one_message(url, message):
    with pytest.raises(InvalidWebhookURL) as invalid:
        check_url(url, allow_private=False, require_https=False)
    assert str(invalid.value) == message
    assert isinstance(invalid.value, ValueError)


def test_a_non_http_scheme_where_https_is_required_names_https_only():
    with pytest.raises(InvalidWebhookURL, match=r"^Webhook URLs must start with https://\.$"):
        check_url("ftp://hooks.example.com/", allow_private=False, require_https=True)


@pytest.mark.parametrize(
    ("url", "address", "words"),
    [
        ("https://10.0.0.1/hook", "10.0.0.1", "a private address"),
        ("https://127.0.0.1:8000/", "127.0.0.1", "a loopback address"),
        ("https://169.254.169.254/latest/meta-data/", "169.254.169.254", "the cloud metadata service"),
        ("https://[::1]/", "::1", "a loopback address"),
        ("https://[::ffff:10.0.0.1]/", "::ffff:a00:1", "a private address in IPv4-mapped form"),
    ],
)
def test_an_ip_literal_is_judged_when_saved(url, address, words):
    with pytest.raises(AddressRefused) as refused:
        check_url(url, allow_private=False, require_https=True)
    assert refused.value.code == "webhook_address_refused"
    assert refused.value.address == address
    assert words in str(refused.value)
    assert str(refused.value).startswith("Webhook URLs may not point to ")
    check_url(url, allow_private=True, require_https=True)


def test_a_host_name_is_not_resolved_when_saved():
    """Its addresses can change: `resolve` judges them at every delivery, so saving needs no DNS."""
    check_url("https://localhost.example.invalid/hook", allow_private=False, require_https=True)
