"""Refusing to connect to loopback, private, link-local and cloud-metadata addresses.

A crawler fed untrusted pages must not become a way into the machine or network it runs on:
a redirect to `http://169.254.169.254/latest/meta-data/` or a public name whose DNS answer is
`127.0.0.1` would otherwise be fetched and stored as an ad. The check happens where the
connection is made, after DNS resolution, on every address the name resolves to, and the
connection then goes to the address that was checked (so a second, different DNS answer cannot
slip past it). `allow_private=True` (`scrape --allow-private`) switches it off, for crawling a
site on the local network and for tests that serve pages from 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import typing

import httpcore

from ..errors import TraffickingAdsError

#: Cloud instance-metadata endpoints that are not caught by the private/link-local ranges
#: (AWS/GCP/Azure's 169.254.169.254 is link-local anyway; Alibaba's is in shared space).
METADATA_ADDRESSES = frozenset({"169.254.169.254", "169.254.170.2", "100.100.100.200", "fd00:ec2::254"})


class AddressRefused(TraffickingAdsError):
    """A connection to a non-public address was refused (see the module doc)."""

    def __init__(self, host: str, address: str, why: str) -> None:
        super().__init__(
            f"{host} resolves to {address} ({why}); refused (use --allow-private to crawl local addresses)"
        )
        self.host = host
        self.address = address
        self.why = why


def refusal(address: str) -> str | None:
    """Why `address` (an IP literal) may not be connected to, or None for a public address."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return "not an IP address"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if str(ip) in METADATA_ADDRESSES:
        return "cloud metadata endpoint"
    for attr, why in (
        ("is_loopback", "loopback"),
        ("is_link_local", "link-local"),
        ("is_unspecified", "unspecified"),
        ("is_multicast", "multicast"),
        ("is_private", "private network"),
        ("is_reserved", "reserved"),
    ):
        if getattr(ip, attr):
            return why
    if not ip.is_global:
        return "not a public address"
    return None


async def resolve_public(host: str, port: int) -> list[str]:
    """Every address `host` resolves to, raising AddressRefused if any of them is not public."""
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as e:
        raise httpcore.ConnectError(f"cannot resolve {host}: {e}") from e
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    for address in addresses:
        why = refusal(address)
        if why is not None:
            raise AddressRefused(host, address, why)
    return addresses


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend, but TCP connections go only to checked public addresses.

    TLS still verifies the certificate against the host name: httpcore passes the origin's
    name for SNI and verification, not the address connected to.
    """

    def __init__(self, inner: httpcore.AsyncNetworkBackend | None = None) -> None:
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[typing.Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await resolve_public(host, port)
        last: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    address, port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as e:
                last = e
        assert last is not None
        raise last

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: typing.Iterable[typing.Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not crawled")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def guard_transport(transport: typing.Any) -> typing.Any:
    """Install `GuardedBackend` in an httpx.AsyncHTTPTransport's connection pool (returns it)."""
    transport._pool._network_backend = GuardedBackend()
    return transport
