"""IMAP SORT (RFC 5256 §3, SORT=DISPLAY RFC 5957) and extended SORT (ESORT, RFC 5267 §3)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Final

from fakemail._imap._events import Sort, SortCriterion
from fakemail._imap._response import Atom, Response, Tagged, Untagged
from fakemail._imap._search import SearchCommands, esearch_response, uses_modseq
from fakemail._imap._sortvalues import display_address, first_mailbox, sent_date, subject_key
from fakemail._store import MailItem

__all__ = ["SortCommands", "sort_items"]

_SortValue = str | int | datetime

_KEYS: Final[dict[str, Callable[[MailItem], _SortValue]]] = {
    "ARRIVAL": lambda item: item.internal_date,
    "DATE": lambda item: sent_date(item.message, item.internal_date),
    "SIZE": lambda item: len(item.message.raw),
    "SUBJECT": lambda item: subject_key(item.message),
    "FROM": lambda item: first_mailbox(item.message, "from"),
    "TO": lambda item: first_mailbox(item.message, "to"),
    "CC": lambda item: first_mailbox(item.message, "cc"),
    "DISPLAYFROM": lambda item: display_address(item.message, "from"),
    "DISPLAYTO": lambda item: display_address(item.message, "to"),
}


def sort_items(
    found: list[tuple[int, MailItem]], criteria: tuple[SortCriterion, ...]
) -> list[tuple[int, MailItem]]:
    """``(seq, item)`` pairs (in mailbox order) sorted by ``criteria``; ties stay in mailbox
    order (RFC 5256 §3: the implicit last criterion, never reversed)."""
    ordered = list(found)
    # One stable sort per criterion, the least significant first; Python's reverse=True
    # keeps equal items in their order, so REVERSE reverses only its own criterion.
    for criterion in reversed(criteria):
        value = _KEYS[criterion.key]
        ordered.sort(key=lambda pair: value(pair[1]), reverse=criterion.reverse)
    return ordered


class SortCommands(SearchCommands):
    """Sorting the messages a search finds."""

    def _sort(self, cmd: Sort, out: list[Response]) -> Tagged:
        view = self._selected_view()
        found = self._find(cmd.criteria, view, out)
        ordered = sort_items(found, cmd.sort_criteria)
        numbers = [item.uid if cmd.uid else seq for seq, item in ordered]
        if cmd.return_options:
            # RFC 5267 §3.1: the ESEARCH answer, MIN/MAX being the first and last sorted.
            out.append(esearch_response(cmd, ordered, numbers, uses_modseq(cmd.criteria)))
        else:
            out.append(Untagged((Atom("SORT"), *numbers)))
        return Tagged(cmd.tag, "OK", "SORT completed")
