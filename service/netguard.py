"""Outbound HTTP to a URL a site owner typed (webhooks), without reaching inside.

A webhook URL is chosen by a person, so it could name the service's own
machine or network (``127.0.0.1``, ``10.0.0.5``, the cloud metadata address
``169.254.169.254``, or the same written ``0x7f000001``).  :func:`check`
resolves the host and refuses any address that is not public: loopback,
private, link-local, multicast, reserved or unspecified.  :func:`post` then
connects to the very address that was checked (the host name stays in the
``Host`` header and, for HTTPS, in SNI and the certificate check), so a DNS
answer that changes between the check and the connection cannot slip an
internal address in; and it ends the whole exchange at a deadline, however
slowly the receiver trickles its answer.

``CAUSERIE_WEBHOOK_ALLOW_PRIVATE=true`` lifts the address rule, for
receivers on an intranet.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import threading
from dataclasses import dataclass
from urllib.parse import urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443}


class RefusedURL(ValueError):
    """The URL cannot be called: not http(s), or its host is an internal address."""

    def __init__(self, message: str, address: str | None = None):
        super().__init__(message)
        self.address = address  # the internal address the host has, if that is the reason


@dataclass(frozen=True)
class Target:
    """A checked URL: where to connect, and what to say the host is."""

    scheme: str
    host: str
    port: int
    address: str
    path: str


def internal_kind(address: str) -> str | None:
    """What kind of non-public address this is (``"loopback"`` ...), or None when it is public."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    for kind in ("loopback", "link_local", "multicast", "unspecified", "reserved", "private"):
        if getattr(ip, f"is_{kind}"):
            return kind.replace("_", "-")
    return None if ip.is_global else "reserved"


def check(url: str, *, allow_private: bool = False) -> Target:
    """Resolve ``url``'s host and check every address it has; the first one is the target.

    Raises :class:`RefusedURL` for a URL that is not http(s) or whose host has
    any non-public address (unless ``allow_private``), and :class:`OSError`
    when the host cannot be resolved.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise RefusedURL(f"{url!r} is not a valid URL ({exc}).") from exc
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        raise RefusedURL("Use an http:// or https:// URL.")
    host, port = parts.hostname, port or DEFAULT_PORTS[scheme]
    try:
        addresses = [str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]
    except (UnicodeError, ValueError) as exc:  # a label too long for IDNA, a NUL ...
        raise RefusedURL(f"{host!r} is not a valid host name.") from exc
    if not allow_private:
        for address in addresses:
            kind = internal_kind(address)
            if kind:
                raise RefusedURL(f"{host} is {address}, a {kind} address: webhooks only go to public addresses "
                                 "(CAUSERIE_WEBHOOK_ALLOW_PRIVATE=true allows internal ones).", address)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(scheme, host, port, addresses[0], path)


class _Deadline:
    """Ends a connection's exchange at a moment: its socket is shut down, which
    wakes a blocked read (each read's own timeout would let a trickle go on)."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.expired = threading.Event()
        self.sock: socket.socket | None = None
        self.timer = threading.Timer(seconds, self.cut)
        self.timer.daemon = True
        self.timer.start()

    def cut(self) -> None:
        """Called by the timer: from now on the connection fails."""
        self.expired.set()
        if self.sock is not None:
            try:
                self.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def connect(self, address: str, port: int) -> socket.socket:
        """A socket to the pinned address, watched by the deadline."""
        self.sock = socket.create_connection((address, port), timeout=self.seconds)
        if self.expired.is_set():  # the timer fired while connecting, before it could see the socket
            self.sock.close()
            raise TimeoutError("connecting took the whole deadline")
        return self.sock


class _PinnedHTTP(http.client.HTTPConnection):
    """Connects to the checked address; the host name is still sent as ``Host``."""

    def __init__(self, target: Target, deadline: _Deadline):
        super().__init__(target.host, target.port, timeout=deadline.seconds)
        self._create_connection = lambda host_port, *_args: deadline.connect(target.address, target.port)


class _PinnedHTTPS(http.client.HTTPSConnection):
    """Connects to the checked address; SNI and the certificate check use the host name."""

    def __init__(self, target: Target, deadline: _Deadline):
        super().__init__(target.host, target.port, timeout=deadline.seconds, context=ssl.create_default_context())
        self._create_connection = lambda host_port, *_args: deadline.connect(target.address, target.port)


def post(target: Target, body: bytes, headers: dict[str, str], *, deadline: float) -> int:
    """POST ``body`` to a checked target and return the status; redirects are not followed.

    The whole exchange (connecting, sending, reading the status line and
    headers) ends after ``deadline`` seconds, however slowly the receiver
    answers.  Raises :class:`TimeoutError` past the deadline, and
    :class:`OSError` or :class:`http.client.HTTPException` on other failures.
    """
    watch = _Deadline(deadline)
    connection = (_PinnedHTTPS if target.scheme == "https" else _PinnedHTTP)(target, watch)
    try:
        connection.request("POST", target.path, body=body, headers=headers)
        with connection.getresponse() as response:
            status = response.status
    except (OSError, http.client.HTTPException) as exc:
        if watch.expired.is_set():
            raise TimeoutError(f"no complete answer within {deadline:g} seconds") from exc
        raise
    finally:
        watch.timer.cancel()
        connection.close()
    if watch.expired.is_set():  # cut in the middle of the headers, which then read as ended
        raise TimeoutError(f"no complete answer within {deadline:g} seconds")
    return status
