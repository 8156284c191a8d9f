"""Mailpit's ``GET /api/v1/info`` (``AppInformation``) and ``GET /api/v1/webui``.

fakemail keeps no database and no runtime counters: ``Database`` is empty, ``DatabaseSize``
0, and the ``RuntimeStats`` message counts describe the messages stored now (``SMTPAccepted``:
those that came over SMTP, ``SMTPAcceptedSize`` their bytes); ``MessagesDeleted``,
``SMTPRejected`` and ``SMTPIgnored`` are 0. ``Memory`` is the process's peak resident size.
"""

from __future__ import annotations

import sys
from datetime import datetime, timezone
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from fakemail._web._context import WebContext
from fakemail._web._json import JSONResponse

__all__ = ["routes"]


def _memory() -> int:
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        return 0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # Linux reports KiB


def info(ctx: WebContext) -> dict[str, Any]:
    """Mailpit's ``AppInformation``."""
    transactions = ctx.store.transactions
    tags: dict[str, int] = {}
    for transaction in transactions:
        for tag in transaction.tags:
            tags[tag] = tags.get(tag, 0) + 1
    smtp = [t.message for t in transactions if t.message.envelope.protocol == "smtp"]
    uptime = datetime.now(timezone.utc) - ctx.started_at
    return {
        "Version": ctx.version,
        "LatestVersion": "",
        "Database": "",
        "DatabaseSize": 0,
        "Messages": len(transactions),
        "Unread": sum(1 for t in transactions if not t.read),
        "Tags": dict(sorted(tags.items(), key=lambda item: item[0].lower())),
        "RuntimeStats": {
            "Uptime": int(uptime.total_seconds()),
            "Memory": _memory(),
            "MessagesDeleted": 0,
            "SMTPAccepted": len(smtp),
            "SMTPAcceptedSize": sum(m.size for m in smtp),
            "SMTPRejected": 0,
            "SMTPIgnored": 0,
        },
    }


def routes(ctx: WebContext) -> list[BaseRoute]:
    """``/api/v1/info`` and ``/api/v1/webui``."""

    async def get_info(request: Request) -> Response:
        return JSONResponse(info(ctx))

    async def get_webui(request: Request) -> Response:
        return JSONResponse(ctx.webui)

    return [
        Route("/api/v1/info", get_info, methods=["GET"]),
        Route("/api/v1/webui", get_webui, methods=["GET"]),
    ]
