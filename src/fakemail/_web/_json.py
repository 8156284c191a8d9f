"""JSON responses that never break on hostile mail, and the API's error shape."""

from __future__ import annotations

import json
import re
from typing import Any, Final

from starlette.responses import Response

__all__ = ["JSONResponse", "dumps", "error"]

# Text decoded with surrogateescape (8-bit headers, bad charsets) keeps lone surrogates, which
# UTF-8 cannot encode: they become U+FFFD, so one bad message cannot break a list.
_SURROGATES: Final = re.compile("[\ud800-\udfff]")


def dumps(content: Any) -> str:
    """Compact JSON text that UTF-8 can always encode (lone surrogates become U+FFFD)."""
    text = json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATES.sub("\ufffd", text)
    return text


class JSONResponse(Response):
    """``application/json``, UTF-8; any text that is not valid Unicode is replaced, not fatal."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        """Compact JSON as UTF-8."""
        return dumps(content).encode("utf-8")


def error(status: int, message: str) -> JSONResponse:
    """An error response ``{"Error": message}`` (the shape of Mailpit's send API errors)."""
    return JSONResponse({"Error": message}, status_code=status)
