"""The addresses a host stands for, resolved once, and whether a fetch may connect to them (public ones only)."""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from snapmode.pipeline.errors import ImageRejected

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Sequence[str]]  # (host, port) -> IP addresses as text; raises OSError
_LEGACY_IPV4 = re.compile(r"^[0-9a-fA-FxX.]+$")  # 2130706433, 0177.0.0.1, 0x7f.1: what inet_aton accepts
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
# getaddrinfo has no timeout: resolutions run here so that a fetch waits for one only as long as its deadline allows
_RESOLVING = ThreadPoolExecutor(max_workers=16, thread_name_prefix="snapmode-resolve")


def system_resolver(host: str, port: int) -> list[str]:
    """The machine's resolver (getaddrinfo), each address once, in its order."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def resolve_within(resolver: Resolver, host: str, port: int, timeout_s: float | None) -> Sequence[str]:
    """`resolver`'s answer, or `TimeoutError` when it takes longer than `timeout_s` (None: wait as long as it takes).
    A resolution given up on finishes in the background; one that had not started yet never runs."""
    if timeout_s is None:
        return resolver(host, port)
    future = _RESOLVING.submit(resolver, host, port)
    try:
        return future.result(timeout=timeout_s)
    except FutureTimeout:
        future.cancel()
        raise TimeoutError(f"no answer within {timeout_s:.2f} s") from None


def canonical(address: IPAddress) -> IPAddress:
    """An IPv4-mapped IPv6 address (`::ffff:127.0.0.1`) as the IPv4 address it is."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def ip_literal(host: str) -> IPAddress | None:
    """The address a host written as an IP stands for, in every form a socket accepts (`[::1]`, `2130706433`,
    `0177.0.0.1`, `0x7f.0.0.1`), or None for a name."""
    text = host.strip("[]").split("%", 1)[0]
    try:
        return canonical(ipaddress.ip_address(text))
    except ValueError:
        pass
    if _LEGACY_IPV4.match(text):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(text))
        except OSError:
            return None
    return None


def _embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """IPv4 addresses an IPv6 address leads to through a translator (NAT64, 6to4, Teredo)."""
    found = [address.sixtofour, address.teredo[1] if address.teredo else None]
    if address in _NAT64:
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return [a for a in found if a is not None]


def is_public_address(address: IPAddress) -> bool:
    """Globally reachable unicast: not private, loopback, link-local, shared, reserved, multicast or unspecified,
    nor an IPv6 address that embeds such an IPv4 address."""
    address = canonical(address)
    if address.is_multicast or not address.is_global:
        return False
    if isinstance(address, ipaddress.IPv6Address):
        return all(is_public_address(v4) for v4 in _embedded_ipv4(address))
    return True


def checked_addresses(host: str, port: int, *, allow_private: bool = False, resolver: Resolver | None = None,
                      timeout_s: float | None = None) -> list[IPAddress]:
    """The addresses to connect to for `host`, resolved once; raises `ImageRejected`: `private_address` when any of
    them is not public (unless `allow_private`), `unreachable` (retryable) when the name does not resolve, or not
    within `timeout_s`."""
    literal = ip_literal(host)
    if literal is not None:
        addresses = [literal]
    else:
        try:
            found = resolve_within(resolver or system_resolver, host, port, timeout_s)
            addresses = list(dict.fromkeys(canonical(ipaddress.ip_address(a.split("%", 1)[0])) for a in found))
        except (OSError, UnicodeError, ValueError) as exc:
            raise ImageRejected("unreachable", f"{host} does not resolve: {exc}", retryable=True) from exc
        if not addresses:
            raise ImageRejected("unreachable", f"{host} resolves to no address", retryable=True)
    if not allow_private:
        refused = [a for a in addresses if not is_public_address(a)]
        if refused:
            raise ImageRejected("private_address", f"{host} resolves to the non-public address {refused[0]}")
    return addresses
