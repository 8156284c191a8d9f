"""Mailpit's live event stream: the websocket ``/api/events``.

Every frame is ``{"Type": ..., "Data": ...}`` (Mailpit's types): ``new`` (a message summary),
``update`` (``{"ID", "Read", "Tags"}``), ``delete`` (``{"ID"}``), ``truncate`` (every message
gone), ``prune`` (many deleted at once: reload), ``stats`` (``{"Total", "Unread", "Version"}``,
on connecting and after changes, at most every :data:`STATS_INTERVAL` seconds).

Driven by the store's change notifications through the change feed: no polling. The server
only sends; what a client sends is read and dropped, to notice when it goes away.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, Final, final

import trio
from starlette.routing import BaseRoute, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from fakemail._store import Change
from fakemail._web._context import WebContext
from fakemail._web._feed import Subscription
from fakemail._web._json import dumps
from fakemail._web._mailpit import summary

__all__ = ["PRUNE_ABOVE", "STATS_INTERVAL", "events", "routes"]

#: Seconds between two ``stats`` events at most (Mailpit batches them likewise).
STATS_INTERVAL: Final = 0.25
#: More deletions than this in one change are one ``prune`` event, as in Mailpit.
PRUNE_ABOVE: Final = 200


# What sending to a client that has gone raises, through starlette and hypercorn.
_GONE: Final = (WebSocketDisconnect, trio.BrokenResourceError, trio.ClosedResourceError, OSError)


def events(ctx: WebContext, change: Change | None) -> list[dict[str, Any]]:
    """The events a store change means (``None``: changes were missed, clients reload)."""
    if change is None:
        return [{"Type": "prune", "Data": None}]
    out: list[dict[str, Any]] = []
    if change.is_clear or change.truncated:
        out.append({"Type": "truncate", "Data": None})
    elif len(change.deleted) > PRUNE_ABOVE:
        out.append({"Type": "prune", "Data": None})
    else:
        out.extend({"Type": "delete", "Data": {"ID": id}} for id in change.deleted)
    store = ctx.store
    for id in change.new:
        transaction = store.transaction(id)
        if transaction is not None:
            out.append({"Type": "new", "Data": summary(transaction)})
    for id in change.updated:
        transaction = store.transaction(id)
        if transaction is not None:
            data = {"ID": id, "Read": transaction.read, "Tags": list(transaction.tags)}
            out.append({"Type": "update", "Data": data})
    return out


def _stats(ctx: WebContext) -> dict[str, Any]:
    transactions = ctx.store.transactions
    unread = sum(1 for t in transactions if not t.read)
    data = {"Total": len(transactions), "Unread": unread, "Version": ctx.version}
    return {"Type": "stats", "Data": data}


@final
class _Stream:
    """One websocket client's stream."""

    def __init__(self, ctx: WebContext, websocket: WebSocket) -> None:
        self.ctx = ctx
        self.websocket = websocket
        self.stats_due = trio.Event()

    async def send(self, event: dict[str, Any]) -> None:
        await self.websocket.send_text(dumps(event))

    async def send_events(self, changes: Subscription) -> None:
        while True:
            change = await changes.next()
            for event in await self.ctx.off_loop(events, self.ctx, change):
                await self.send(event)
            self.stats_due.set()

    async def send_stats(self) -> None:
        while True:
            self.stats_due = trio.Event()
            await self.send(_stats(self.ctx))
            await self.stats_due.wait()
            await trio.sleep(STATS_INTERVAL)  # changes in the meantime: one stats event

    async def read_until_closed(self) -> None:
        while (await self.websocket.receive())["type"] != "websocket.disconnect":
            pass

    async def run(self) -> None:
        await self.websocket.accept()
        # Subscribed before the first stats: no change between the two is missed.
        with self.ctx.feed.subscribe() as changes:
            async with trio.open_nursery() as nursery:

                async def until_gone(task: Callable[[], Awaitable[None]]) -> None:
                    # Any task ending (the client closed, a send found it gone, the server
                    # stops) ends the stream. Caught here, not around the nursery, so that
                    # they are plain exceptions rather than exception groups.
                    with contextlib.suppress(*_GONE):
                        await task()
                    nursery.cancel_scope.cancel()

                nursery.start_soon(until_gone, partial(self.send_events, changes))
                nursery.start_soon(until_gone, self.send_stats)
                nursery.start_soon(until_gone, self.ctx.stopping.wait)
                nursery.start_soon(until_gone, self.read_until_closed)
        if self.ctx.stopping.is_set():
            with contextlib.suppress(*_GONE):
                await self.websocket.close(code=1001)  # going away (RFC 6455 §7.4.1)


def routes(ctx: WebContext) -> list[BaseRoute]:
    """``/api/events``."""

    async def stream(websocket: WebSocket) -> None:
        await _Stream(ctx, websocket).run()

    return [WebSocketRoute("/api/events", stream)]
