"""Query parameters of list requests: ``start`` and ``limit`` as Mailpit reads them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final, TypeVar

from starlette.datastructures import QueryParams

__all__ = ["DEFAULT_LIMIT", "BadRequest", "page", "query_int"]

#: Messages per page when ``limit`` is not given (or negative), as in Mailpit.
DEFAULT_LIMIT: Final = 50

T = TypeVar("T")


class BadRequest(Exception):
    """A request that cannot be served as given: answered 400 with the reason."""


def query_int(params: QueryParams, name: str, default: int) -> int:
    """An integer query parameter; :class:`BadRequest` if it is not one."""
    text = params.get(name)
    if text is None or text == "":
        return default
    try:
        return int(text)
    except ValueError:
        raise BadRequest(f"{name} must be an integer, got {text!r}") from None


def page(items: Sequence[T], params: QueryParams) -> tuple[int, Sequence[T]]:
    """``(start, items[start:start+limit])`` of ``items`` (newest first, as given).

    A negative ``limit`` means the default (Mailpit's rule); a negative ``start`` means 0.
    """
    start = max(0, query_int(params, "start", 0))
    limit = query_int(params, "limit", DEFAULT_LIMIT)
    if limit < 0:
        limit = DEFAULT_LIMIT
    return start, items[start : start + limit]
