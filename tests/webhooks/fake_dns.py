"""A stand-in for socket.getaddrinfo: the guard and the sender take the resolver as an argument."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from typing import Any


def answers(*addresses: str) -> Callable[..., list[tuple[Any, ...]]]:
    """A fake getaddrinfo answering `addresses` for any name (in that order)."""

    def resolver(host: str, port: int, *args: Any, **kwargs: Any) -> list[tuple[Any, ...]]:
        result: list[tuple[Any, ...]] = []
        for address in addresses:
            ip = ipaddress.ip_address(address)
            if ip.version == 6:
                result.append((socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, port, 0, 0)))
            else:
                result.append((socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port)))
        return result

    return resolver
