"""Waiting for store changes from async tests, under asyncio or trio, without a thread or polling.

Each library is imported only when the caller is running under it.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Awaitable, Callable

from fakemail._store import Change, MailStore

__all__ = ["changed_waiter"]


def changed_waiter(
    store: MailStore,
) -> tuple[Callable[[float], Awaitable[bool]], Callable[[], None]]:
    """Return ``(wait, remove)``: ``await wait(timeout)`` returns once the store changed since the
    previous call (``False`` on timeout); ``remove()`` detaches from the store."""
    try:
        import asyncio

        loop = asyncio.get_running_loop()
    except RuntimeError:
        return _trio_waiter(store)

    event = asyncio.Event()

    def on_change(_: Change) -> None:
        loop.call_soon_threadsafe(event.set)

    async def wait(timeout: float) -> bool:
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except asyncio.TimeoutError:
            return False
        event.clear()
        return True

    return wait, store.add_listener(on_change)


def _trio_waiter(
    store: MailStore,
) -> tuple[Callable[[float], Awaitable[bool]], Callable[[], None]]:
    trio = sys.modules.get("trio")
    if trio is None:
        raise RuntimeError("fakemail's async waits must be awaited under asyncio or trio")
    try:
        token = trio.lowlevel.current_trio_token()
    except RuntimeError:
        raise RuntimeError("fakemail's async waits must be awaited under asyncio or trio") from None
    state = {"event": trio.Event()}

    def on_change(_: Change) -> None:
        with contextlib.suppress(trio.RunFinishedError):
            token.run_sync_soon(lambda: state["event"].set())

    async def wait(timeout: float) -> bool:
        with trio.move_on_after(timeout) as scope:
            await state["event"].wait()
            state["event"] = trio.Event()
        return not scope.cancelled_caught

    return wait, store.add_listener(on_change)
