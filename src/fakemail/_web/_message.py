"""One message: ``GET /api/v1/message/{ID}`` and its ``/headers`` and ``/raw``.

``{ID}`` is a transaction ID or ``latest`` (the newest), as in Mailpit.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from fakemail._message import Message
from fakemail._store import Transaction
from fakemail._web._context import WebContext
from fakemail._web._json import JSONResponse
from fakemail._web._mailpit import message_json

__all__ = ["headers_json", "routes"]


def _canonical(name: str) -> str:
    # Mailpit reports header names as Go's textproto canonicalises them ("Message-Id").
    return "-".join(word[:1].upper() + word[1:].lower() for word in name.split("-"))


def headers_json(message: Message) -> dict[str, list[str]]:
    """Every header field: canonical name -> values in order, names sorted (Mailpit's shape).

    Values are decoded (RFC 2047) and unfolded; a field the parser cannot read is given as sent.
    """
    headers = message.headers  # the header block alone: no parse of the (maybe huge) body
    names = sorted({_canonical(name) for name in headers})
    return {name: headers.get_all(name) for name in names}


def routes(ctx: WebContext) -> list[BaseRoute]:
    """``/api/v1/message/{ID}``, ``/headers``, ``/raw``."""

    async def get_message(request: Request, transaction: Transaction) -> Response:
        response = await ctx.off_loop(lambda: JSONResponse(message_json(transaction)))
        ctx.store.set_read([transaction.id], True)  # Mailpit: opening a message reads it
        return response

    async def get_headers(request: Request, transaction: Transaction) -> Response:
        return await ctx.off_loop(lambda: JSONResponse(headers_json(transaction.message)))

    async def get_raw(request: Request, transaction: Transaction) -> Response:
        headers = {}
        if request.query_params.get("dl") in ("1", "true"):
            headers["Content-Disposition"] = f'attachment; filename="{transaction.id}.eml"'
        return Response(
            transaction.message.raw, media_type="text/plain; charset=utf-8", headers=headers
        )

    prefix = "/api/v1/message/{id}"
    return [
        Route(prefix, ctx.by_id(get_message), methods=["GET"]),
        Route(f"{prefix}/headers", ctx.by_id(get_headers), methods=["GET"]),
        Route(f"{prefix}/raw", ctx.by_id(get_raw), methods=["GET"]),
    ]
