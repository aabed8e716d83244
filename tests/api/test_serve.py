"""``fieldroute serve``: how it runs uvicorn."""

from __future__ import annotations

import socket

from api.serve import _as_tcp


def test_several_workers_listen_on_a_tcp_socket():
    """The listening socket of `fieldroute serve --workers N` says it is TCP, so asyncio turns
    Nagle's algorithm off on its connections (uvicorn leaves the protocol 0)."""
    sock = socket.socket(socket.AF_INET)
    assert sock.proto == 0
    sock = _as_tcp(sock)
    try:
        assert sock.proto == socket.IPPROTO_TCP and sock.get_inheritable()
        sock.bind(("127.0.0.1", 0))
    finally:
        sock.close()
