"""Serving the web application with hypercorn's trio worker, on the trio host's thread.

:func:`web_service` gives the :class:`~fakemail._triohost.TrioHost` a service: started with the
IMAP and POP3 listeners, it serves the pre-bound HTTP socket (so the port is known before
``MailServer.start`` returns) and shuts down gracefully when the host stops: no new
connections, requests in progress may finish within :data:`GRACE_SECONDS`, websockets are told
the server is going away.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping
from functools import partial
from typing import Final

import trio
from hypercorn.config import Config
from hypercorn.trio import serve

from fakemail._backend import Backend
from fakemail._triohost import Service
from fakemail._web._app import build_app
from fakemail._web._context import WebContext

__all__ = ["GRACE_SECONDS", "web_service"]

#: Seconds requests in progress get to finish when the server stops.
GRACE_SECONDS: Final = 1.0

log = logging.getLogger("fakemail.http")


def _config(sock: socket.socket) -> Config:
    config = Config()
    # hypercorn takes the socket over by descriptor: a duplicate, which it owns and closes;
    # the original is closed by the caller once hypercorn has it.
    config.bind = [f"fd://{os.dup(sock.fileno())}"]
    config.graceful_timeout = GRACE_SECONDS
    config.errorlog = log
    config.accesslog = None
    # Clients send nothing that matters on the event stream: keep what one frame may cost small.
    config.websocket_max_message_size = 64 * 1024
    return config


def web_service(
    backend: Backend, sock: socket.socket, endpoints: Mapping[str, tuple[str, int]]
) -> Service:
    """The trio host service serving HTTP on ``sock`` (already bound and listening)."""

    async def run(stopping: trio.Event, task_status: trio.TaskStatus[None]) -> None:
        ctx = WebContext(backend, endpoints)
        try:
            config = _config(sock)
        finally:
            sock.close()

        async def forward_stop() -> None:
            await stopping.wait()
            ctx.stopping.set()

        ctx.feed.attach()
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(forward_stop)
                await nursery.start(
                    partial(
                        serve,
                        build_app(ctx),  # type: ignore[arg-type]
                        config,
                        shutdown_trigger=ctx.stopping.wait,
                    )
                )
                task_status.started()
                # The nursery ends once serve has closed every connection (or the grace
                # period passed) after the host said stop.
        finally:
            ctx.feed.detach()

    return run
