"""Mailpit's search: ``GET`` and ``DELETE /api/v1/search?query=...`` (and ``tz``).

The syntax is :mod:`fakemail._web._query`'s, the same the web UI's search box and long-poll
waits use.
"""

from __future__ import annotations

import zoneinfo
from datetime import tzinfo

from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from fakemail._web._context import WebContext
from fakemail._web._json import JSONResponse
from fakemail._web._mailpit import messages_summary
from fakemail._web._paging import BadRequest
from fakemail._web._query import Query, QueryError, parse

__all__ = ["query_of", "routes", "zone_of"]


def zone_of(params: QueryParams) -> tzinfo | None:
    """The ``tz`` parameter (an IANA zone name such as ``Pacific/Auckland``), or ``None``."""
    name = params.get("tz")
    if not name:
        return None
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise BadRequest(f"tz: unknown time zone {name!r}") from None


def query_of(text: str, params: QueryParams) -> Query:
    """``text`` parsed in the request's ``tz``; :class:`BadRequest` if it cannot be."""
    try:
        return parse(text, zone_of(params))
    except QueryError as error:
        raise BadRequest(str(error)) from None


def _required(params: QueryParams) -> str:
    text = params.get("query")
    if text is None or not text.strip():
        raise BadRequest("query is required")
    return text


def routes(ctx: WebContext) -> list[BaseRoute]:
    """``/api/v1/search``."""

    async def search(request: Request) -> Response:
        query = query_of(_required(request.query_params), request.query_params)
        everything = ctx.store.transactions

        def respond() -> Response:
            matching = query.select(everything)
            return JSONResponse(messages_summary(everything, matching, request.query_params))

        return await ctx.off_loop(respond)

    async def delete(request: Request) -> Response:
        query = query_of(_required(request.query_params), request.query_params)
        ids = [t.id for t in await ctx.off_loop(query.select, ctx.store.transactions)]
        if ids:
            ctx.store.delete_transactions(ids)
        return PlainTextResponse("ok")

    return [
        Route("/api/v1/search", search, methods=["GET"]),
        Route("/api/v1/search", delete, methods=["DELETE"]),
    ]
