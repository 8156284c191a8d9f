"""Mailpit's message list: ``GET``, ``PUT`` (read state) and ``DELETE /api/v1/messages``.

Mailpit's one mailbox is the list of SMTP transactions (``MailServer.messages``), newest first.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from fakemail._web._body import json_body, string_list
from fakemail._web._context import WebContext
from fakemail._web._json import JSONResponse
from fakemail._web._mailpit import messages_summary
from fakemail._web._paging import BadRequest
from fakemail._web._search import query_of

__all__ = ["routes"]


def routes(ctx: WebContext) -> list[BaseRoute]:
    """``/api/v1/messages``."""

    async def list_messages(request: Request) -> Response:
        everything = ctx.store.transactions
        return await ctx.off_loop(
            lambda: JSONResponse(messages_summary(everything, everything, request.query_params))
        )

    async def mark(request: Request) -> Response:
        body = await json_body(request)
        ids = string_list(body, "IDs")
        assert isinstance(body, dict)  # string_list checked it
        read = body.get("Read", False)
        if not isinstance(read, bool):
            raise BadRequest("Read must be true or false")
        search = body.get("Search")
        if search is not None and not isinstance(search, str):
            raise BadRequest("Search must be a string")
        if not ids and search:
            query = query_of(search, request.query_params)
            ids = [t.id for t in query.select(ctx.store.transactions)]
            if not ids:
                return PlainTextResponse("ok")  # the search matched nothing: change nothing
        # Neither IDs nor a search: every message, as in Mailpit.
        ctx.store.set_read(ids or None, read)
        return PlainTextResponse("ok")

    async def delete(request: Request) -> Response:
        ids = string_list(await json_body(request), "IDs")
        ctx.store.delete_transactions(ids or None)  # no IDs: every message, as in Mailpit
        return PlainTextResponse("ok")

    return [
        Route("/api/v1/messages", list_messages, methods=["GET"]),
        Route("/api/v1/messages", mark, methods=["PUT"]),
        Route("/api/v1/messages", delete, methods=["DELETE"]),
    ]
