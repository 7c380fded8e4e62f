"""Where a webhook may point: https to public addresses only, unless private ones are allowed.

Checked twice: when a URL is registered (the host as written and every address it resolves
to), and at every delivery on the addresses resolved then, one of which is the very address
connected to (see `handlers.outbound.delivery.HttpSender`), so a name re-pointed at 127.0.0.1 after
registration is refused too.
"""
from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from urllib.parse import SplitResult, urlsplit

from db.errors import DomainError

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[Address]]]


class UnsafeUrl(DomainError):
    """A webhook URL refused: not https, or reaching a non-public address."""

    code = "webhook_url_not_allowed"


def is_public(address: Address) -> bool:
    """False for loopback, private, link-local, multicast, unspecified and reserved space."""
    mapped = getattr(address, "ipv4_mapped", None)
    if mapped is not None:
        address = mapped
    return address.is_global and not address.is_multicast


async def system_resolver(host: str, port: int) -> list[Address]:
    """Every address the system resolver gives for `host`."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos))


def parse(url: str, allow_private: bool) -> SplitResult:
    """The URL's parts; refuses what is not absolute http(s) (https only in production)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        raise UnsafeUrl(f"url: {url!r} is not a valid URL") from None
    schemes = ("https", "http") if allow_private else ("https",)
    if parts.scheme not in schemes or not parts.hostname:
        raise UnsafeUrl("url: a webhook URL must be an absolute "
                        + ("http(s)" if allow_private else "https") + " URL")
    if parts.username or parts.password:
        raise UnsafeUrl("url: credentials in a webhook URL are not allowed")
    return parts


def literal(host: str) -> Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


async def public_addresses(parts: SplitResult,
                           resolver: Resolver = system_resolver) -> list[Address]:
    """The addresses `parts` reaches, all public; UnsafeUrl if any is not (or none exist)."""
    host = parts.hostname or ""
    address = literal(host)
    if address is not None:
        addresses = [address]
    else:
        try:
            addresses = await resolver(host, parts.port or 443)
        except (OSError, UnicodeError) as error:  # UnicodeError: an empty or over-long label
            raise UnsafeUrl(f"url: {host} does not resolve ({error})") from None
    if not addresses:
        raise UnsafeUrl(f"url: {host} does not resolve")
    refused = [str(a) for a in addresses if not is_public(a)]
    if refused:
        raise UnsafeUrl(f"url: {host} reaches a non-public address ({', '.join(refused)}); "
                        "webhooks may only call public addresses")
    return addresses


async def check_url(url: str, allow_private: bool, resolver: Resolver = system_resolver) -> None:
    """Refuse (UnsafeUrl, a 400) a URL a webhook may not point to."""
    parts = parse(url, allow_private)
    if not allow_private:
        await public_addresses(parts, resolver)


# Registration's policy, set from the settings by the app factory (`configure`).
allow_private = False
resolver: Resolver = system_resolver


def configure(settings) -> None:
    """Take INTERVIEWS_WEBHOOK_ALLOW_PRIVATE for every registration from now on."""
    global allow_private
    allow_private = settings.webhook_allow_private


def check_webhook_url(url: str) -> None:
    """A URL given to register a webhook: 400 if a webhook may not call it (resolved in
    production, from the operation's worker thread)."""
    if allow_private:
        parse(url, allow_private=True)
    else:
        asyncio.run(check_url(url, allow_private=False, resolver=resolver))
