"""Job callbacks: whether a callback URL may be called, and calling it.

A callback URL is the client's, but the request is the server's: unchecked, it reaches what
the server can (its loopback, the private network, a cloud's metadata address). So a callback
goes only to global addresses, or to the hosts and networks the operator lists
(``FIELDROUTE_CALLBACK_ALLOW``). The host is resolved when the callback is sent, every address
it has must pass, and the connection is made to the address that was checked (no second look-up
that could answer otherwise). One POST, no redirects, 2 s to connect and 5 s in all; the URL is
logged without its user, password and query.
"""

from __future__ import annotations

import base64
import http.client
import ipaddress
import json
import logging
import re
import socket
import ssl
import threading
import time
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

log = logging.getLogger("fieldroute")

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
PORTS = {"http": 80, "https": 443}
CONNECT_TIMEOUT_S = 2.0
TOTAL_TIMEOUT_S = 5.0
#: Callbacks sent at once by a process; more wait their turn (each takes at most TOTAL_TIMEOUT_S
#: after its host name resolves).
WORKERS = 4
_IPV4_SPELLING = re.compile(r"[0-9a-fA-FxX.]+")
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


@dataclass(frozen=True)
class Allow:
    """Where callbacks may go besides global addresses: host names (matched against the URL's
    host) and networks (matched against the addresses it resolves to)."""

    hosts: frozenset[str] = frozenset()
    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()

    @classmethod
    def parse(cls, entries: Iterable[str]) -> Allow:
        """``["hooks.internal", "10.20.0.0/16", "127.0.0.1"]``: an address or CIDR is a network,
        anything else a host name; ValueError names an entry that is neither."""
        hosts, networks = set(), []
        for entry in entries:
            text = entry.strip()
            try:
                networks.append(ipaddress.ip_network(text.strip("[]"), strict=False))
                continue
            except ValueError:
                pass
            name = _host_name(text)
            if not re.fullmatch(r"[a-z0-9_-]+(\.[a-z0-9_-]+)*", name):
                raise ValueError(f"callback_allow: {entry!r} is neither a host name nor an address or CIDR")
            hosts.add(name)
        return cls(frozenset(hosts), tuple(networks))


def literal_address(host: str) -> Address | None:
    """The IP address ``host`` spells, in any form a resolver or browser takes it (dotted quad,
    the short, decimal, hex and octal forms such as ``127.1``, ``2130706433``, ``0x7f000001``,
    ``0177.0.0.1``; IPv6 with or without brackets); None for a host name."""
    text = host.strip("[]")
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        pass
    text = text.removesuffix(".")
    if _IPV4_SPELLING.fullmatch(text):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(text))
        except OSError:
            return None
    return None


def address_refusal(address: Address, allow: Allow) -> str | None:
    """Why a callback may not go to ``address`` ("loopback", "private", ...), or None."""
    if any(address.version == network.version and address in network for network in allow.networks):
        return None
    embedded = [a for a in (getattr(address, "ipv4_mapped", None), getattr(address, "sixtofour", None)) if a]
    for a in (address, *embedded):
        for kind in ("loopback", "link_local", "unspecified", "multicast", "reserved", "private"):
            if getattr(a, f"is_{kind}"):
                return f"{address} is {kind.replace('_', '-')}"
        if not a.is_global:
            return f"{address} is not a global address"
    return None


def submit_refusal(url: str, allow: Allow) -> str | None:
    """Why ``url`` can never be a callback (not http or https, no host, a literal address that is
    not global and not allowed), or None: host names are checked when the callback is sent."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
    except ValueError as exc:
        return f"not a valid URL: {exc}"
    if parts.scheme not in PORTS:
        return f"expected an http or https URL, got scheme {parts.scheme!r}"
    if not parts.hostname:
        return "the URL has no host"
    address = literal_address(parts.hostname)
    if address is None or _host_name(parts.hostname) in allow.hosts:
        return None
    reason = address_refusal(address, allow)
    return f"{reason}; callbacks go to global addresses only (or those in FIELDROUTE_CALLBACK_ALLOW)" if reason else None


def redacted(url: str) -> str:
    """``url`` as logs may show it: without user, password and query (they may hold secrets)."""
    try:
        parts = urlsplit(url)
        netloc = parts.netloc.rpartition("@")[2]
    except ValueError:
        return "(an unreadable URL)"
    return f"{parts.scheme}://{'***@' if '@' in parts.netloc else ''}{netloc}{parts.path}{'?***' if parts.query else ''}"


def send(url: str, body: dict, allow: Allow) -> str:
    """POST ``body`` as JSON to ``url`` if it may be called, now; what happened ("delivered
    (204)", or why not), logged too. Never raises: the callee's problems are not the job's."""
    shown, job = redacted(url), body.get("job_id")
    try:
        outcome = _post(url, json.dumps(body).encode(), allow)
    except Exception as exc:  # noqa: BLE001 - a failed callback is logged, not raised
        outcome = f"failed: {type(exc).__name__}: {exc}"
    if outcome.startswith("delivered"):
        log.info("job %s: callback to %s %s", job, shown, outcome)
    else:
        log.warning("job %s: callback to %s %s", job, shown, outcome)
    return outcome


def send_later(url: str, body: dict, allow: Allow) -> Future:
    """``send`` on the process's callback threads (at most WORKERS at once; the rest queue)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="fieldroute-callback")
        return _pool.submit(send, url, body, allow)


def _host_name(host: str) -> str:
    return host.strip().lower().removesuffix(".")


def _post(url: str, data: bytes, allow: Allow) -> str:
    deadline = time.monotonic() + TOTAL_TIMEOUT_S
    if refusal := submit_refusal(url, allow):
        return f"refused: {refusal}"
    parts = urlsplit(url)
    host, port = parts.hostname, parts.port or PORTS[parts.scheme]
    addresses = _addresses(host, port)
    if _host_name(host) not in allow.hosts:
        for address, _ in addresses:
            if reason := address_refusal(address, allow):
                return (f"refused: {host} resolves to {reason}; callbacks go to global addresses only "
                        "(or those in FIELDROUTE_CALLBACK_ALLOW)")
    sock = [_connect(addresses, deadline)]
    # a target that answers slowly, a byte at a time, is cut off at the deadline all the same
    watchdog = threading.Timer(max(0.0, deadline - time.monotonic()), _cut, (sock,))
    watchdog.start()
    try:
        if parts.scheme == "https":
            sock[0] = ssl.create_default_context().wrap_socket(sock[0], server_hostname=host, do_handshake_on_connect=False)
            sock[0].do_handshake()  # verifies the certificate for ``host`` (and sends it as SNI)
        connection = (http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection)(host, port)
        connection.sock = sock[0]  # the checked address; http.client sends Host from (host, port)
        headers = {"Content-Type": "application/json", "User-Agent": "fieldroute", "Connection": "close"}
        if parts.username is not None:
            credentials = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(credentials).decode()
        connection.request("POST", (parts.path or "/") + (f"?{parts.query}" if parts.query else ""), data, headers)
        status = connection.getresponse().status
    except Exception:
        if time.monotonic() >= deadline:
            return f"abandoned: no answer within {TOTAL_TIMEOUT_S:g} s"
        raise
    finally:
        watchdog.cancel()
        sock[0].close()
    if 300 <= status < 400:
        return f"failed: answered a redirect ({status}), which callbacks do not follow"
    return f"delivered ({status})" if 200 <= status < 300 else f"failed: answered {status}"


def _addresses(host: str, port: int) -> list[tuple[Address, tuple]]:
    """Each address ``host`` has, with the socket address to connect to it."""
    found = []
    for family, _, _, _, sockaddr in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP):
        if family in (socket.AF_INET, socket.AF_INET6):
            found.append((ipaddress.ip_address(sockaddr[0].partition("%")[0]), (family, sockaddr)))
    if not found:
        raise OSError(f"{host} has no IPv4 or IPv6 address")
    return found


def _connect(addresses: list[tuple[Address, tuple]], deadline: float) -> socket.socket:
    """A socket connected to the first of ``addresses`` that answers, each within the connect
    timeout and all before ``deadline``."""
    error: OSError | None = None
    for _, (family, sockaddr) in addresses:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.settimeout(min(CONNECT_TIMEOUT_S, left))
        try:
            sock.connect(sockaddr)
        except OSError as exc:
            sock.close()
            error = exc
            continue
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        return sock
    raise error or TimeoutError(f"could not connect within {TOTAL_TIMEOUT_S:g} s")


def _cut(sock: list[socket.socket]) -> None:
    """End the connection in ``sock[0]`` (a TLS socket replaces the plain one it wraps): a read
    or write under way in another thread returns at once."""
    try:
        sock[0].shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
