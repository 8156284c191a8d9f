"""The ASGI application: every route module's routes, behind auth, error recording and headers.

Each route module exposes ``routes(ctx) -> list[BaseRoute]``; add a module to :data:`MODULES`
to serve it. More specific paths must come before catch-alls (the UI's ``/`` is last).
"""

from __future__ import annotations

import base64
import binascii
import hmac
from types import ModuleType
from typing import Final

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fakemail._web import (
    _events,
    _health,
    _info,
    _inspect,
    _message,
    _messages,
    _part,
    _search,
    _send,
    _tags,
    _ui,
    _view,
)
from fakemail._web._body import TooLarge
from fakemail._web._context import WebContext
from fakemail._web._json import error
from fakemail._web._paging import BadRequest

__all__ = ["MODULES", "build_app"]

#: The route modules, in matching order.
MODULES: Final[tuple[ModuleType, ...]] = (
    _health,
    _info,
    _messages,
    _message,
    _part,
    _search,
    _send,
    _tags,
    _view,
    _events,
    _inspect,
    _ui,
)

#: Headers on every response: browsers must not guess types of mail content (nosniff), and
#: links opened from mail must not learn the UI's URLs (no-referrer).
_HEADERS: Final = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
)


def _credentials(scope: Scope) -> tuple[str, str] | None:
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() != "basic":
                return None
            try:
                text = base64.b64decode(token.strip(), validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                return None
            user, sep, password = text.partition(":")
            return (user, password) if sep else None
    return None


def _allowed(scope: Scope, wanted: tuple[str, str]) -> bool:
    given = _credentials(scope)
    if given is None:
        return False
    # compare_digest on both parts always: how long a refusal takes says nothing of either.
    user = hmac.compare_digest(given[0].encode(), wanted[0].encode())
    password = hmac.compare_digest(given[1].encode(), wanted[1].encode())
    return user and password


class _Guard:
    """Outermost layer: HTTP Basic auth (RFC 7617) when configured, security headers, and
    errors in fakemail's code recorded for :meth:`MailServer.check` (the 500 is sent by
    starlette)."""

    def __init__(self, app: ASGIApp, ctx: WebContext) -> None:
        self.app = app
        self.ctx = ctx

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        wanted = self.ctx.options.http_auth
        if wanted is not None and not _allowed(scope, wanted):
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
                return
            refusal = error(401, "authentication required")
            refusal.headers["WWW-Authenticate"] = 'Basic realm="fakemail", charset="UTF-8"'
            await refusal(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", ()), *_HEADERS]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except ClientDisconnect:
            pass
        except Exception as failure:
            self.ctx.backend.record_error(failure, f"HTTP {scope.get('path', '?')}")


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return error(exc.status_code, str(exc.detail))


async def _bad_request(request: Request, exc: Exception) -> Response:
    return error(400, str(exc))


async def _too_large(request: Request, exc: Exception) -> Response:
    return error(413, str(exc))


def build_app(ctx: WebContext) -> ASGIApp:
    """The whole web application for ``ctx``."""
    routes = [route for module in MODULES for route in module.routes(ctx)]
    app = Starlette(
        routes=routes,
        exception_handlers={
            HTTPException: _http_error,
            BadRequest: _bad_request,
            TooLarge: _too_large,
        },
    )
    return _Guard(app, ctx)
