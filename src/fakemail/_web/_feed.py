"""Store changes delivered to trio tasks: the event stream, long-poll waits, anything live.

The store calls its listeners on the writer's thread (an SMTP thread, the trio thread, a test);
:class:`ChangeFeed` hops each change onto the trio thread with ``TrioToken.run_sync_soon`` and
hands it to every :class:`Subscription`. No polling, and no hop at all while nobody listens.
"""

from __future__ import annotations

import contextlib
from collections import deque
from collections.abc import Callable, Iterator
from typing import Final, final

import trio

from fakemail._store import Change, MailStore

__all__ = ["ChangeFeed", "Subscription"]

#: Changes kept for a subscriber that has not read them yet; beyond that it is told it fell
#: behind (and should read the store afresh) instead of the feed growing without bound.
DEFAULT_BACKLOG: Final = 1000


@final
class Subscription:
    """The changes since subscribing, for one trio task. Trio-thread only."""

    def __init__(self, backlog: int) -> None:
        self._queue: deque[Change] = deque()
        self._backlog = backlog
        self._overflowed = False
        self._event = trio.Event()

    def _put(self, change: Change) -> None:
        if len(self._queue) >= self._backlog:
            self._queue.clear()
            self._overflowed = True
        else:
            self._queue.append(change)
        self._event.set()

    async def next(self) -> Change | None:
        """The next change, waiting for one; ``None`` if this subscriber fell behind and
        changes were dropped (read the store's current state instead)."""
        while not self._queue and not self._overflowed:
            await self._event.wait()
            self._event = trio.Event()
        if self._overflowed:
            self._overflowed = False
            return None
        return self._queue.popleft()


@final
class ChangeFeed:
    """Fans the store's changes out to trio subscribers (see the module docstring)."""

    def __init__(self, store: MailStore, backlog: int = DEFAULT_BACKLOG) -> None:
        self._store = store
        self._backlog = backlog
        self._subscribers: set[Subscription] = set()
        self._token: trio.lowlevel.TrioToken | None = None
        self._remove: Callable[[], None] | None = None

    def attach(self) -> None:
        """Start listening to the store; call on the trio thread."""
        self._token = trio.lowlevel.current_trio_token()
        self._remove = self._store.add_listener(self._changed)

    def detach(self) -> None:
        """Stop listening to the store."""
        if self._remove is not None:
            self._remove()
            self._remove = None
        self._token = None

    def _changed(self, change: Change) -> None:
        # On the writer's thread.
        token = self._token
        if token is None or not self._subscribers:
            return
        with contextlib.suppress(trio.RunFinishedError):
            token.run_sync_soon(self._dispatch, change)

    def _dispatch(self, change: Change) -> None:
        for subscription in self._subscribers:
            subscription._put(change)

    @contextlib.contextmanager
    def subscribe(self) -> Iterator[Subscription]:
        """``with feed.subscribe() as changes: change = await changes.next()`` (trio thread).

        Subscribe *before* reading the state the changes update, so that none is missed.
        """
        subscription = Subscription(self._backlog)
        self._subscribers.add(subscription)
        try:
            yield subscription
        finally:
            self._subscribers.discard(subscription)
