"""``GET /view/{ID}.html`` and ``/view/{ID}.txt``: a message's HTML or text body alone.

For UI tests and the web UI's iframe, as in Mailpit. The HTML is untrusted: it is served as a
sandboxed document (:data:`fakemail._web._safety.MAIL_CSP`: no script, nothing remote) unless
``remote=1`` allows remote images and styles; inline images (``cid:``) point to their parts.
``embed=1`` makes links open in a new window without a referrer (Mailpit's).
"""

from __future__ import annotations

import re
from typing import Final

from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from fakemail._store import Transaction
from fakemail._web._context import WebContext
from fakemail._web._json import error
from fakemail._web._parts import bodies
from fakemail._web._safety import MAIL_CSP, REMOTE_CSP

__all__ = ["routes"]

_CID: Final = re.compile(r"""(["'(=\s])cid:([^"'()\s>]+)""", re.IGNORECASE)
_LINK: Final = re.compile(r"<a\b", re.IGNORECASE)


def _with_parts(html: str, transaction: Transaction) -> str:
    ids = {p.content_id: p.part_id for p in bodies(transaction.message).parts if p.content_id}

    def replace(match: re.Match[str]) -> str:
        part_id = ids.get(match[2])
        if part_id is None:
            return match[0]
        return f"{match[1]}/api/v1/message/{transaction.id}/part/{part_id}"

    return _CID.sub(replace, html)


def routes(ctx: WebContext) -> list[BaseRoute]:
    """``/view/{id}.html`` and ``/view/{id}.txt``."""

    async def view_html(request: Request, transaction: Transaction) -> Response:
        html = (await ctx.off_loop(bodies, transaction.message)).html
        if not html:
            return error(404, f"message {transaction.id!r} has no HTML body")
        html = _with_parts(html, transaction)
        if request.query_params.get("embed") in ("1", "true"):
            html = _LINK.sub('<a target="_blank" rel="noreferrer noopener"', html)
        remote = request.query_params.get("remote") in ("1", "true")
        headers = {"Content-Security-Policy": REMOTE_CSP if remote else MAIL_CSP}
        return HTMLResponse(html, headers=headers)

    async def view_text(request: Request, transaction: Transaction) -> Response:
        text = (await ctx.off_loop(bodies, transaction.message)).text
        if not text:
            return error(404, f"message {transaction.id!r} has no text body")
        return PlainTextResponse(text)

    return [
        Route("/view/{id}.html", ctx.by_id(view_html), methods=["GET"]),
        Route("/view/{id}.txt", ctx.by_id(view_text), methods=["GET"]),
    ]
