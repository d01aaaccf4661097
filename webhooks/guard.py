"""Which webhook URLs and addresses the platform may call (server-side request forgery guard).

A webhook URL is typed in by a client, and the platform then calls it from inside its own network. Without
a guard, a URL could reach the database, the cloud metadata service (169.254.169.254) or an admin port on
loopback. So a URL is checked twice: statically when it is saved (`check_url`), and at every delivery by
resolving its host name and vetting every address it answers (`resolve`); the sender then connects to a
vetted address itself, so a second DNS answer cannot redirect it (DNS rebinding).

No Django here: settings such as "allow private addresses" (development, tests) come in as arguments.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

MAX_URL_LENGTH = 2000

# Named explicitly rather than left to `is_private`, whose list has changed between Python releases.
_PRIVATE = [ipaddress.ip_network(net) for net in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")]
_LINK_LOCAL = [ipaddress.ip_network(net) for net in ("169.254.0.0/16", "fe80::/10")]
_THIS_NETWORK = ipaddress.ip_network("0.0.0.0/8")  # 0.x.x.x: Linux connects 0.0.0.0 to the local host
_SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT (RFC 6598): inside a provider's network
_METADATA = ipaddress.ip_address("169.254.169.254")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052: the last 32 bits are the IPv4 address

# A DNS label; the last one (the top-level domain) must not be all digits, so "127.1" or "0x7f.1",
# which the system resolver reads as IPv4 addresses, are not taken for names.
_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")
_NUMERIC_LABEL = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$")

Resolver = Callable[..., Sequence[tuple[Any, ...]]]


class AddressRefused(Exception):
    """The platform will not call this URL or address; `code` is stable for API errors and delivery records.

    `reason` is the short words on the address ("a private address"), empty for the other codes.
    """

    INSECURE = "webhook_url_insecure"
    REFUSED = "webhook_address_refused"
    UNRESOLVABLE = "webhook_host_unresolvable"

    def __init__(self, code: str, message: str, *, reason: str = "", address: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.reason = reason
        self.address = address


class InvalidWebhookURL(ValueError):
    """The URL is malformed or has a part a webhook URL may not have (a ValueError: a plain input mistake)."""

    code = "webhook_url_invalid"


def refused_address(ip: IPAddress) -> str | None:
    """Why the platform may not call `ip`, in words, or None when it is a public address.

    IPv6 forms that carry an IPv4 address (IPv4-mapped, 6to4, Teredo, NAT64) are unwrapped: the packets end
    up at the IPv4 address, so that is the one judged.
    """
    if isinstance(ip, ipaddress.IPv6Address):
        wrapped = _wrapped_ipv4(ip)
        if wrapped is not None:
            form, inner = wrapped
            for address in inner:
                reason = refused_address(address)
                if reason:
                    return f"{reason} in {form} form"
            return None
    if ip.is_unspecified:
        return "an unspecified address"
    if ip.is_loopback:
        return "a loopback address"
    if ip == _METADATA:
        return "a link-local address (the cloud metadata service)"
    if ip.is_link_local or any(ip in net for net in _LINK_LOCAL):
        return "a link-local address"
    if ip.is_multicast:
        return "a multicast address"
    if ip in _SHARED:
        return "a shared address (carrier-grade NAT, 100.64.0.0/10)"
    if ip in _THIS_NETWORK:
        return "a 'this network' address (0.0.0.0/8)"
    if isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local:
        return "a site-local address"
    if any(ip in net for net in _PRIVATE):
        return "a private address"
    if ip.is_reserved:
        return "a reserved address"
    if ip.is_private or not ip.is_global:
        # Benchmarking (198.18.0.0/15), documentation (192.0.2.0/24, 2001:db8::/32) and the like.
        return "a special-purpose address"
    return None


def _wrapped_ipv4(ip: ipaddress.IPv6Address) -> tuple[str, list[ipaddress.IPv4Address]] | None:
    """The IPv4 address(es) an IPv6 address stands for, with the name of the form, or None."""
    if ip.ipv4_mapped is not None:
        return "IPv4-mapped", [ip.ipv4_mapped]
    if ip.sixtofour is not None:
        return "6to4", [ip.sixtofour]
    if ip.teredo is not None:
        server, client = ip.teredo
        return "Teredo", [client, server]
    if ip in _NAT64:
        return "NAT64", [ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)]
    return None


def check_url(url: str, *, allow_private: bool, require_https: bool) -> None:
    """Refuse a webhook URL when it is saved, before any DNS: one clear message per problem.

    Raises InvalidWebhookURL (a ValueError) for a malformed URL, AddressRefused for http where https is
    required (`webhook_url_insecure`) and for an IP address that may not be called (`webhook_address_refused`).
    A host name is only judged at delivery, by `resolve`: its addresses can change.
    """
    if len(url) > MAX_URL_LENGTH:
        raise InvalidWebhookURL(f"Webhook URLs may be at most {MAX_URL_LENGTH} characters long.")
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
        raise InvalidWebhookURL("Webhook URLs may not contain spaces or control characters.")
    try:
        parts = urlsplit(url)
    except ValueError:
        raise InvalidWebhookURL("The webhook URL is not a valid URL.") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise InvalidWebhookURL(
            "Webhook URLs must start with https://."
            if require_https
            else "Webhook URLs must start with https:// or http://."
        )
    if scheme == "http" and require_https:
        raise AddressRefused(AddressRefused.INSECURE, "Webhook URLs must use https.")
    if parts.username is not None or parts.password is not None:
        raise InvalidWebhookURL("Webhook URLs may not contain a user name or password.")
    if "#" in url:
        raise InvalidWebhookURL("Webhook URLs may not contain a fragment (the part after #).")
    host = parts.hostname
    if not host:
        raise InvalidWebhookURL("Webhook URLs must name a host.")
    try:
        port = parts.port
    except ValueError:  # not a number, or above 65535
        port = -1
    if port is not None and not 1 <= port <= 65535:
        raise InvalidWebhookURL("The port of a webhook URL must be a number between 1 and 65535.")
    ip = _ip_literal(host)
    if ip is None:
        _check_host_name(host)
    elif not allow_private:
        reason = refused_address(ip)
        if reason:
            raise AddressRefused(
                AddressRefused.REFUSED,
                f"Webhook URLs may not point to {reason} ({ip}).",
                reason=reason,
                address=str(ip),
            )


def _ip_literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _check_host_name(host: str) -> None:
    """A DNS name: letters, digits, hyphens (internationalised names in their xn-- form), a non-numeric end."""
    name = host.rstrip(".")
    try:
        name = name.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise InvalidWebhookURL("The host name of the webhook URL is not valid.") from None
    labels = name.split(".")
    if len(name) > 253 or not all(_LABEL.match(label) for label in labels):
        raise InvalidWebhookURL("The host name of the webhook URL is not valid.")
    if _NUMERIC_LABEL.match(labels[-1]):
        raise InvalidWebhookURL("Webhook URLs must name a host by its name or by a plain IP address.")


def resolve(host: str, port: int, *, allow_private: bool, resolver: Resolver = socket.getaddrinfo) -> list[str]:
    """Every address `host` resolves to now, each vetted; the IP strings in the resolver's order.

    Called at every delivery. If any one address is refused the whole name is: a name answering a public
    and a private address could have either picked at connect time (DNS rebinding). Raises AddressRefused
    (`webhook_address_refused`, or `webhook_host_unresolvable` when DNS gives nothing).
    """
    host = host.strip("[]")
    try:
        infos = resolver(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        infos = []
    addresses: list[str] = []
    for info in infos:
        address = str(info[4][0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise AddressRefused(AddressRefused.UNRESOLVABLE, f"The host name {host} does not resolve to an address.")
    if allow_private:
        return addresses
    for address in addresses:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            ip = None
        reason = refused_address(ip) if ip is not None else "not an IP address"
        if reason:
            raise AddressRefused(
                AddressRefused.REFUSED,
                f"{host} resolves to {address}, {reason}; webhooks may not call it.",
                reason=reason,
                address=address,
            )
    return addresses
