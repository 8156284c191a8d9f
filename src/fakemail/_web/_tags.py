"""Mailpit's tags: ``GET/PUT /api/v1/tags``, ``PUT/DELETE /api/v1/tags/{tag}``.

Tags are the store's (mirrored as IMAP keywords on the mailbox copies; docs: HTTP API).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from fakemail._web._body import json_body, string_list
from fakemail._web._context import WebContext
from fakemail._web._json import JSONResponse
from fakemail._web._mailpit import all_tags
from fakemail._web._paging import BadRequest

__all__ = ["routes"]


def routes(ctx: WebContext) -> list[BaseRoute]:
    """``/api/v1/tags`` and ``/api/v1/tags/{tag}``."""

    async def list_tags(request: Request) -> Response:
        return JSONResponse(all_tags(ctx.store.transactions))

    async def set_tags(request: Request) -> Response:
        body = await json_body(request)
        ids = string_list(body, "IDs", required=True)
        tags = string_list(body, "Tags", required=True)
        assert ids is not None  # required=True
        assert tags is not None
        ctx.store.set_tags(ids, tags)
        return PlainTextResponse("ok")

    async def rename_tag(request: Request) -> Response:
        body = await json_body(request)
        name = body.get("Name") if isinstance(body, dict) else None
        if not isinstance(name, str) or not name.strip():
            raise BadRequest("Name is required")
        ctx.store.rename_tag(request.path_params["tag"], name)
        return PlainTextResponse("ok")

    async def delete_tag(request: Request) -> Response:
        ctx.store.delete_tag(request.path_params["tag"])
        return PlainTextResponse("ok")

    return [
        Route("/api/v1/tags", list_tags, methods=["GET"]),
        Route("/api/v1/tags", set_tags, methods=["PUT"]),
        Route("/api/v1/tags/{tag}", rename_tag, methods=["PUT"]),
        Route("/api/v1/tags/{tag}", delete_tag, methods=["DELETE"]),
    ]
