"""``/livez`` and ``/readyz`` (Kubernetes-style probes, as Mailpit serves them)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from fakemail._web._context import WebContext

__all__ = ["routes"]


def routes(ctx: WebContext) -> list[BaseRoute]:
    """``/livez`` (always 200) and ``/readyz`` (200 while serving, 503 once stopping)."""

    async def livez(request: Request) -> Response:
        return PlainTextResponse("ok")

    async def readyz(request: Request) -> Response:
        if ctx.stopping.is_set():
            return PlainTextResponse("stopping", status_code=503)
        return PlainTextResponse("ok")

    return [
        Route("/livez", livez, methods=["GET", "HEAD"]),
        Route("/readyz", readyz, methods=["GET", "HEAD"]),
    ]
