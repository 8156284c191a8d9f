"""The grammar of SORT and THREAD (RFC 5256 §5, SORT=DISPLAY RFC 5957 §5, ESORT RFC 5267 §3).

``sort = ["UID" SP] "SORT" [SP "RETURN" SP "(" options ")"] SP sort-criteria SP
search-criteria`` and ``thread = ["UID" SP] "THREAD" SP thread-alg SP search-criteria``,
``search-criteria = charset 1*(SP search-key)``: the charset is not optional here. Parsed
with the cursor of :mod:`._grammar`, which registers these commands.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, Literal

from fakemail._imap._events import Command, Sort, SortCriterion, SortKeyName, Thread

if TYPE_CHECKING:
    from fakemail._imap._grammar import _Parser

__all__ = ["SORT_KEYS", "parse_sort", "parse_thread"]

SORT_KEYS: Final[dict[str, SortKeyName]] = {
    "ARRIVAL": "ARRIVAL",
    "CC": "CC",
    "DATE": "DATE",
    "FROM": "FROM",
    "SIZE": "SIZE",
    "SUBJECT": "SUBJECT",
    "TO": "TO",
    "DISPLAYFROM": "DISPLAYFROM",  # RFC 5957
    "DISPLAYTO": "DISPLAYTO",
}
"""Every sort key, by upper-cased name."""

_THREAD_ALGORITHMS: Final[dict[str, Literal["ORDEREDSUBJECT", "REFERENCES"]]] = {
    "ORDEREDSUBJECT": "ORDEREDSUBJECT",
    "REFERENCES": "REFERENCES",
}


def _criterion(p: _Parser) -> SortCriterion:
    start = p.pos
    name = p.keyword()
    reverse = name == "REVERSE"
    if reverse:
        p.sp()
        start = p.pos
        name = p.keyword()
    key = SORT_KEYS.get(name)
    if key is None:
        p.pos = start
        raise p.error("sort key")
    return SortCriterion(key, reverse)


def parse_sort(p: _Parser, tag: str, uid: bool) -> Command:
    """The arguments of [UID] SORT, after the command name."""
    p.sp()
    return_options = p.return_options() if p.at_keyword(b"RETURN") else ()
    p.expect(b"(")
    criteria = [_criterion(p)]
    while not p.accept(b")"):
        p.sp()
        criteria.append(_criterion(p))
    p.sp()
    charset = p.charset()
    p.sp()
    # The charset is checked once the command is known to be well-formed: BAD before NO.
    criteria_key = p.search_program()
    p.supported(charset)
    return Sort(tag, uid, tuple(criteria), charset, criteria_key, return_options)


def parse_thread(p: _Parser, tag: str, uid: bool) -> Command:
    """The arguments of [UID] THREAD, after the command name."""
    p.sp()
    start = p.pos
    algorithm = _THREAD_ALGORITHMS.get(p.keyword())
    if algorithm is not None:
        p.sp()
        charset = p.charset()
        p.sp()
        criteria = p.search_program()
        p.supported(charset)
        return Thread(tag, uid, algorithm, charset, criteria)
    p.pos = start
    raise p.error("threading algorithm (ORDEREDSUBJECT or REFERENCES)")
