"""Where a webhook may go: http(s) URLs whose host resolves only to public addresses.

Checked when an endpoint is saved and again before every attempt; the attempt then connects to
the address checked here (``transport.Target.address``), never to a second DNS answer.
``WEBHOOKS_ALLOW_PRIVATE_TARGETS=1`` lets an operator (and the tests) use private ones.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from flask import current_app

from . import transport


class WebhookError(Exception):
    """A webhook change was refused; the message is safe to show."""


def _allow_private() -> bool:
    return bool(current_app.config.get("WEBHOOKS_ALLOW_PRIVATE_TARGETS"))


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def resolve_target(url: str) -> transport.Target:
    """Check ``url`` and resolve its host; refuse private/loopback/link-local/reserved ones."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise WebhookError("Use an http:// or https:// URL with a host name.")
    if parts.username or parts.password:
        raise WebhookError("Put no user name or password in the URL; the signature proves us.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise WebhookError("The URL's port is not a number between 1 and 65535.") from None
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise WebhookError(f"The host {parts.hostname} does not resolve.") from None
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not addresses:
        raise WebhookError(f"The host {parts.hostname} does not resolve.")
    if not _allow_private():
        private = [a for a in addresses if not _is_public(a)]
        if private:
            raise WebhookError(
                f"The host {parts.hostname} resolves to a private or reserved address "
                f"({private[0]}); webhooks go to public addresses only."
            )
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return transport.Target(parts.scheme, parts.hostname, port, addresses[0], path)
