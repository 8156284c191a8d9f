"""Request bodies: read within a bound, JSON parsed, errors as 400 and 413."""

from __future__ import annotations

import json
from typing import Final

from starlette.requests import Request

from fakemail._web._paging import BadRequest

__all__ = ["JSON_LIMIT", "TooLarge", "json_body", "read_body", "string_list"]

#: Largest JSON body of a request that is not a message (IDs, tags, flags): 1 MiB.
JSON_LIMIT: Final = 1024 * 1024


class TooLarge(Exception):
    """A request body over its bound: answered 413, not read further."""


async def read_body(request: Request, limit: int) -> bytes:
    """The request body; :class:`TooLarge` once it passes ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise TooLarge(f"the request body is larger than {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge(f"the request body is larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def json_body(request: Request, limit: int = JSON_LIMIT) -> object:
    """The request body as JSON (an empty body is ``{}``); :class:`BadRequest` if it is not
    JSON, :class:`TooLarge` over ``limit``."""
    data = await read_body(request, limit)
    if not data.strip():
        return {}
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError) as failure:
        raise BadRequest(f"malformed JSON: {failure}") from None


def string_list(body: object, name: str, *, required: bool = False) -> list[str] | None:
    """``body[name]`` as a list of strings (``None`` when absent and not required);
    :class:`BadRequest` otherwise."""
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    value = body.get(name)
    if value is None:
        if required:
            raise BadRequest(f"{name} is required")
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BadRequest(f"{name} must be a list of strings")
    return value
