"""Start the web service: uvicorn with one process per core, listening on a proper TCP socket.

uvicorn's multi-process mode makes its listening socket without naming the protocol, so asyncio
does not recognise the connections it accepts as TCP and leaves Nagle's algorithm on: every
response then waits for the client's delayed ACK. Measured with two workers: 44 ms for a 404, 1 ms
with one worker. The socket made here says it is TCP and sets TCP_NODELAY (inherited by accepted
connections on Linux), so both modes answer alike.
"""

from __future__ import annotations

import socket

import uvicorn
from uvicorn.supervisors import Multiprocess

from archive.web import memory

APP = "archive.web.app:app_from_environment"  # each worker process builds the app from the environment


class TcpConfig(uvicorn.Config):
    """uvicorn's settings, with its listening socket made as TCP (see the module docstring)."""

    def bind_socket(self) -> socket.socket:
        bound = super().bind_socket()
        tcp = socket.socket(bound.family, bound.type, socket.IPPROTO_TCP, fileno=bound.detach())
        tcp.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        tcp.set_inheritable(True)
        return tcp


def run(host: str, port: int, workers: int) -> None:
    """Serve until interrupted."""
    config = TcpConfig(APP, factory=True, host=host, port=port, workers=workers, log_level="warning")
    if workers > 1:
        memory.for_worker_processes()
        Multiprocess(config, sockets=[config.bind_socket()]).run()
    else:
        memory.in_this_process()
        uvicorn.Server(config).run()
