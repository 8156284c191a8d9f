"""Remote content in mail HTML: what the UI blocks until asked (tracking pixels, web fonts,
remote style sheets), counted so that it can say so."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Final

__all__ = ["count_remote"]

# A URL to another server, alone or as one candidate of a ``srcset`` list.
_REMOTE: Final = re.compile(r"(?:^|,)\s*(?:https?:)?//", re.I)
_CSS_REMOTE: Final = re.compile(
    r"""(?:url\(|@import)\s*(?:url\()?\s*['"]?\s*(?:https?:)?//""", re.I
)
_URL_ATTRIBUTES: Final = frozenset({"src", "background", "poster", "srcset", "data"})


class _Counter(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.count = 0
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if not value:
                continue
            if name in _URL_ATTRIBUTES or (tag == "link" and name == "href"):
                self.count += bool(_REMOTE.search(value))
            elif name == "style":
                self.count += len(_CSS_REMOTE.findall(value))
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.count += len(_CSS_REMOTE.findall(data))


def count_remote(html: str) -> int:
    """How many references to content on other servers ``html`` has (images, ``srcset``,
    media, remote style sheets, CSS ``url()`` and ``@import``)."""
    counter = _Counter()
    try:
        counter.feed(html)
        counter.close()
    except Exception:  # hostile markup the parser gives up on: count what was seen
        pass
    return counter.count
