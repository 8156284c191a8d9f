"""IMAP SEARCH (RFC 3501 §6.4.4; ESEARCH RFC 4731; MODSEQ RFC 7162 §3.1.5), and the search
and ESEARCH answer that SORT and THREAD share."""

from __future__ import annotations

from datetime import date, datetime

from fakemail._imap._cache import (
    address_texts,
    body_text,
    header_text,
    header_values,
    mime_index,
)
from fakemail._imap._events import (
    Search,
    SearchAll,
    SearchAnd,
    SearchBody,
    SearchDate,
    SearchFlag,
    SearchHeader,
    SearchKey,
    SearchModSeq,
    SearchNot,
    SearchOr,
    SearchSequence,
    SearchSize,
    SearchText,
    SearchUid,
    Sort,
)
from fakemail._imap._response import Atom, ImapValue, Response, Tagged, Untagged
from fakemail._imap._view import RECENT, SessionBase, View
from fakemail._message import Message
from fakemail._store import MailItem

__all__ = ["SearchCommands", "esearch_response", "ordered_set", "uses_modseq"]


def _sent_date(message: Message, fallback: datetime) -> date:
    sent = message.date
    return (sent or fallback).date()


def uses_modseq(key: SearchKey) -> bool:
    """Whether the search uses MODSEQ (which enables CONDSTORE, RFC 7162 §3.1)."""
    if isinstance(key, SearchModSeq):
        return True
    if isinstance(key, SearchNot):
        return uses_modseq(key.key)
    if isinstance(key, SearchOr):
        return uses_modseq(key.left) or uses_modseq(key.right)
    if isinstance(key, SearchAnd):
        return any(uses_modseq(k) for k in key.keys)
    return False


def ordered_set(numbers: list[int]) -> str:
    """A sequence set of ``numbers`` in their order: ascending runs become ranges, so a
    sorted ESORT result stays in sort order (RFC 5267 §3.2: ``5,3:4,2``)."""
    parts: list[str] = []
    i = 0
    while i < len(numbers):
        j = i
        while j + 1 < len(numbers) and numbers[j + 1] == numbers[j] + 1:
            j += 1
        parts.append(str(numbers[i]) if i == j else f"{numbers[i]}:{numbers[j]}")
        i = j + 1
    return ",".join(parts)


def esearch_response(
    cmd: Search | Sort, found: list[tuple[int, MailItem]], numbers: list[int], modseq: bool
) -> Untagged:
    """The ESEARCH answer to a SEARCH or SORT with RETURN options (RFC 4731 §3.1, RFC 5267
    §3.1): ``found`` and ``numbers`` in the result order (mailbox order for SEARCH, so MIN
    and MAX are the first and last). MIN, MAX, ALL and MODSEQ are left out when nothing
    matched; MODSEQ, when the search used MODSEQ, is the highest of the matches, or with only
    MIN or only MAX that message's (RFC 7162 §3.1.5)."""
    data: list[ImapValue] = [Atom("ESEARCH"), (Atom("TAG"), cmd.tag)]
    if cmd.uid:
        data.append(Atom("UID"))
    options = cmd.return_options
    if numbers and "MIN" in options:
        data += [Atom("MIN"), numbers[0]]
    if numbers and "MAX" in options:
        data += [Atom("MAX"), numbers[-1]]
    if numbers and "ALL" in options:
        data += [Atom("ALL"), Atom(ordered_set(numbers))]
    if "COUNT" in options:
        data += [Atom("COUNT"), len(numbers)]
    if modseq and numbers:
        wanted = set(options)
        if wanted == {"MIN"}:
            value = found[0][1].modseq
        elif wanted == {"MAX"}:
            value = found[-1][1].modseq
        else:
            value = max(item.modseq for _, item in found)
        data += [Atom("MODSEQ"), value]
    return Untagged(tuple(data))


class SearchCommands(SessionBase):
    """Finding messages of the selected mailbox by criteria."""

    def _find(
        self, criteria: SearchKey, view: View, out: list[Response]
    ) -> list[tuple[int, MailItem]]:
        """``(seq, item)`` of the messages that match, in mailbox order."""
        if uses_modseq(criteria):
            self._enable_condstore(out)
        count = len(view.uids)
        largest_uid = view.largest_uid
        found: list[tuple[int, MailItem]] = []
        for seq, uid in enumerate(view.uids, 1):
            item = view.items[uid]
            if self._matches(criteria, seq, item, view, count, largest_uid):
                found.append((seq, item))
        return found

    def _search(self, cmd: Search, out: list[Response]) -> Tagged:
        view = self._selected_view()
        found = self._find(cmd.criteria, view, out)
        numbers = [item.uid if cmd.uid else seq for seq, item in found]
        modseq = uses_modseq(cmd.criteria)
        if cmd.return_options:
            out.append(esearch_response(cmd, found, numbers, modseq))
        else:
            result: list[ImapValue] = [Atom("SEARCH"), *numbers]
            if modseq and numbers:
                highest = max(item.modseq for _, item in found)
                result.append((Atom("MODSEQ"), highest))  # RFC 7162 §3.1.5
            out.append(Untagged(tuple(result)))
        return Tagged(cmd.tag, "OK", "SEARCH completed")

    def _matches(
        self, key: SearchKey, seq: int, item: MailItem, view: View, count: int, largest: int
    ) -> bool:
        message = item.message
        if isinstance(key, SearchAll):
            return True
        if isinstance(key, SearchFlag):
            if key.flag == RECENT:
                has = item.uid in view.recent
            elif key.flag.startswith("\\"):
                has = key.flag in item.flags
            else:
                wanted = key.flag.lower()
                has = any(f.lower() == wanted for f in item.flags)
            return has == key.present
        if isinstance(key, SearchHeader):
            needle = key.value.casefold()
            if not needle:
                return bool(mime_index(message).headers.get_all(key.field))
            addresses = address_texts(message, key.field)
            if addresses is not None:
                return any(needle in a for a in addresses)
            return any(needle in v.casefold() for v in header_values(message, key.field))
        if isinstance(key, SearchBody):
            return key.value.casefold() in body_text(message)
        if isinstance(key, SearchText):
            needle = key.value.casefold()
            return needle in header_text(message) or needle in body_text(message)
        if isinstance(key, SearchDate):
            day = _sent_date(message, item.internal_date) if key.sent else item.internal_date.date()
            if key.relation == "BEFORE":
                return day < key.date
            if key.relation == "ON":
                return day == key.date
            return day >= key.date
        if isinstance(key, SearchSize):
            size = len(message.raw)
            return size > key.octets if key.relation == "LARGER" else size < key.octets
        if isinstance(key, SearchSequence):
            return key.sequence_set.contains(seq, count)
        if isinstance(key, SearchUid):
            return key.sequence_set.contains(item.uid, largest)
        if isinstance(key, SearchModSeq):
            return item.modseq >= key.modseq
        if isinstance(key, SearchNot):
            return not self._matches(key.key, seq, item, view, count, largest)
        if isinstance(key, SearchOr):
            return self._matches(key.left, seq, item, view, count, largest) or self._matches(
                key.right, seq, item, view, count, largest
            )
        return all(self._matches(k, seq, item, view, count, largest) for k in key.keys)
