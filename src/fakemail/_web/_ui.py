"""The web UI: the page at ``/`` and its static assets under ``/ui/static/``.

The assets are plain ES modules and CSS shipped inside the package (``_web/static``): no build
step, nothing fetched from elsewhere, so the UI works offline. They are read once, served with
an ETag and ``Cache-Control: no-cache`` (the browser revalidates, a 304 costs nothing), under a
Content-Security-Policy that allows only the UI's own scripts and styles.

Mail HTML is shown from ``/view/{ID}.html`` (sandboxed, see :mod:`fakemail._web._view`) in an
``<iframe sandbox>`` without ``allow-scripts`` and without ``allow-same-origin``.
"""

from __future__ import annotations

import hashlib
from functools import cache
from importlib import resources
from typing import Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from fakemail._web._context import WebContext
from fakemail._web._json import error

__all__ = ["routes"]

_TYPES: Final = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}

#: The UI page's own policy: its scripts and styles only, API calls and the event stream to
#: its own origin, message HTML only in frames from its own origin, never framed itself.
UI_POLICY: Final = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)


class _Asset:
    __slots__ = ("body", "etag", "media_type")

    def __init__(self, body: bytes, media_type: str) -> None:
        self.body = body
        self.media_type = media_type
        self.etag = f'"{hashlib.sha256(body).hexdigest()[:20]}"'


@cache
def _assets() -> dict[str, _Asset]:
    folder = resources.files("fakemail._web") / "static"
    found = {}
    for entry in folder.iterdir():
        suffix = "." + entry.name.rpartition(".")[2]
        if entry.is_file() and suffix in _TYPES:
            found[entry.name] = _Asset(entry.read_bytes(), _TYPES[suffix])
    return found


def _serve(request: Request, asset: _Asset) -> Response:
    headers = {
        "ETag": asset.etag,
        "Cache-Control": "no-cache",
        "Content-Security-Policy": UI_POLICY,
        "X-Frame-Options": "DENY",
    }
    if asset.etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(asset.body, media_type=asset.media_type, headers=headers)


def routes(ctx: WebContext) -> list[BaseRoute]:
    """The UI page and its assets."""

    async def index(request: Request) -> Response:
        return _serve(request, _assets()["index.html"])

    async def asset(request: Request) -> Response:
        found = _assets().get(request.path_params["name"])
        if found is None or request.path_params["name"] == "index.html":
            return error(404, "no such file")
        return _serve(request, found)

    return [
        Route("/", index, methods=["GET"]),
        Route("/ui/static/{name}", asset, methods=["GET"]),
    ]
