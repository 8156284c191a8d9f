"""The web context: what every route module is given (``routes(ctx)``)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone, tzinfo
from functools import partial
from typing import Any, TypeAlias, TypeVar, final

import trio
from starlette.requests import Request
from starlette.responses import Response

from fakemail._backend import Backend
from fakemail._config import Options
from fakemail._store import MailStore, Transaction
from fakemail._version import __version__
from fakemail._web._feed import ChangeFeed
from fakemail._web._json import error
from fakemail._web._query import Query, parse

__all__ = ["Endpoint", "MessageHandler", "WebContext"]

T = TypeVar("T")

#: An endpoint function (what a starlette ``Route`` calls).
Endpoint: TypeAlias = Callable[[Request], Coroutine[Any, Any, Response]]
#: A handler of a request about one message (see :meth:`WebContext.by_id`).
MessageHandler: TypeAlias = Callable[[Request, Transaction], Coroutine[Any, Any, Response]]


def _default_webui() -> dict[str, Any]:
    relay = {
        "Enabled": False,
        "SMTPServer": "",
        "ReturnPath": "",
        "AllowedRecipients": "",
        "BlockedRecipients": "",
        "OverrideFrom": "",
        "PreserveMessageIDs": False,
    }
    return {
        "Label": "fakemail",
        "MessageRelay": relay,
        "SpamAssassin": False,
        "ChaosEnabled": False,
        "DuplicatesIgnored": False,
        "HideDeleteAllButton": False,
    }


@final
@dataclass(eq=False)
class WebContext:
    """The server as the web room sees it. Built once per HTTP listener.

    Route handlers run on the trio thread; the store is thread-safe and its calls are short, so
    they call it directly. Read :attr:`options` on each request: tests change them at runtime.
    """

    #: Store, plugins, options, transcripts, error recording.
    backend: Backend
    #: Every listener of the server: name -> ``(host, port)`` (``http`` included).
    endpoints: Mapping[str, tuple[str, int]]
    #: Store changes for trio tasks (event stream, long-poll).
    feed: ChangeFeed = field(init=False)
    #: Set when the server is stopping: long-lived requests (websockets, waits) end.
    stopping: trio.Event = field(default_factory=trio.Event)
    #: When the listener started (UTC).
    started_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    #: fakemail's version.
    version: str = __version__
    #: Mailpit's ``WebUIConfiguration`` (``GET /api/v1/webui``): route modules that enable a
    #: feature say so here when their ``routes(ctx)`` runs (``ctx.webui["ChaosEnabled"] = True``).
    webui: dict[str, Any] = field(default_factory=lambda: _default_webui())

    def __post_init__(self) -> None:
        self.feed = ChangeFeed(self.backend.store)

    @property
    def store(self) -> MailStore:
        """The mail store."""
        return self.backend.store

    @property
    def options(self) -> Options:
        """The options in force now."""
        return self.backend.options

    def search(self, query: str, tz: tzinfo | None = None) -> Query:
        """``query`` (Mailpit's search syntax) parsed: a predicate over transactions
        (:func:`fakemail._web._query.parse`; raises its ``QueryError``)."""
        return parse(query, tz)

    async def off_loop(self, func: Callable[..., T], *args: Any) -> T:
        """``func(*args)`` in a worker thread. For work whose cost the mail decides (parsing,
        summarising, searching, rendering JSON): one hostile message with 10,000 parts must
        not stall IMAP, POP3 and other requests on the trio thread."""
        return await trio.to_thread.run_sync(partial(func, *args))

    def find(self, id: str) -> Transaction | None:
        """The transaction an API path names: its ID, or ``latest`` (the newest)."""
        if id == "latest":
            transactions = self.store.transactions
            return transactions[-1] if transactions else None
        return self.store.transaction(id)

    def by_id(self, handler: MessageHandler, param: str = "id") -> Endpoint:
        """An endpoint for a path naming a message (``{id}``: an ID or ``latest``) that calls
        ``handler(request, transaction)``, or answers 404 JSON for an unknown ID."""

        async def endpoint(request: Request) -> Response:
            transaction = self.find(request.path_params[param])
            if transaction is None:
                return error(404, f"no message with ID {request.path_params[param]!r}")
            return await handler(request, transaction)

        return endpoint
