"""``GET /api/v1/message/{ID}/part/{PartID}``: one MIME part, decoded, as a file.

Part IDs are IMAP section numbers (:mod:`fakemail._web._parts`). The part is served with its
own Content-Type, sandboxed (:mod:`fakemail._web._safety`): an attached HTML page or SVG never
runs script in the UI's origin.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from fakemail._mime import MimePart
from fakemail._store import Transaction
from fakemail._web._context import WebContext
from fakemail._web._json import error
from fakemail._web._parts import filename_of, find_part
from fakemail._web._safety import download_headers

__all__ = ["routes"]

# Types a browser would show inline without risk once sandboxed; everything else downloads.
_SHOWN: tuple[str, ...] = ("image/", "text/plain", "application/pdf", "audio/", "video/")


def _media_type(part: MimePart) -> str:
    charset = part.param("charset")
    if part.maintype == "text" and charset and charset.isascii() and charset.isprintable():
        return f"{part.content_type}; charset={charset}"
    return part.content_type


def routes(ctx: WebContext) -> list[BaseRoute]:
    """``/api/v1/message/{id}/part/{part}``."""

    async def get_part(request: Request, transaction: Transaction) -> Response:
        part_id = request.path_params["part"]
        found = await ctx.off_loop(find_part, transaction.message, part_id)
        if found is None:
            return error(404, f"no part {part_id!r} in message {transaction.id!r}")
        part, content = found
        inline = part.content_type.startswith(_SHOWN) and part.content_type != "image/svg+xml"
        headers = download_headers(filename_of(part), inline=inline)
        return Response(content, media_type=_media_type(part), headers=headers)

    return [Route("/api/v1/message/{id}/part/{part}", ctx.by_id(get_part), methods=["GET"])]
