"""IMAP FETCH and STORE (RFC 3501 §6.4.5, §6.4.6; CONDSTORE RFC 7162 §3.1)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Final, Literal

from fakemail._imap._cache import cached_body_structure, cached_envelope, mime_index
from fakemail._imap._events import BodySection, Fetch, FetchAttribute, FetchItem, SequenceSet, Store
from fakemail._imap._response import FetchData, ImapValue, LiteralData, Response, Tagged
from fakemail._imap._structure import partial, section
from fakemail._imap._view import SEEN, SessionBase, View
from fakemail._store import MailItem

__all__ = ["FetchCommands", "format_internal_date"]

_MONTHS: Final = (
    "Jan",
    "Feb",
    "Mar",
    "Apr",
    "May",
    "Jun",
    "Jul",
    "Aug",
    "Sep",
    "Oct",
    "Nov",
    "Dec",
)


_STORE_MODES: Final[dict[str, Literal["add", "remove", "replace"]]] = {
    "+": "add",
    "-": "remove",
    "": "replace",
}


def format_internal_date(when: datetime) -> str:
    """``"dd-Mon-yyyy hh:mm:ss +zzzz"`` (RFC 3501 §9 ``date-time``, day space-padded)."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    minutes = int((when.utcoffset() or timedelta(0)).total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    minutes = abs(minutes)
    return (
        f"{when.day:2d}-{_MONTHS[when.month - 1]}-{when.year:04d} "
        f"{when.hour:02d}:{when.minute:02d}:{when.second:02d} "
        f"{sign}{minutes // 60:02d}{minutes % 60:02d}"
    )


class FetchCommands(SessionBase):
    """Reading message data and changing flags in the selected mailbox."""

    def _fetch(self, cmd: Fetch, out: list[Response]) -> Tagged:
        view = self._selected_view()
        targets = self._resolve(view, cmd.sequence_set, cmd.uid)
        if targets is None:
            return self._bad_set(cmd.tag)
        attrs = cmd.attributes
        if cmd.changed_since is not None or FetchItem("MODSEQ") in attrs:
            self._enable_condstore(out)
        if cmd.changed_since is not None:
            since = cmd.changed_since
            targets = [(n, u) for n, u in targets if view.items[u].modseq > since]
        marks_seen = not view.readonly and any(
            (isinstance(a, BodySection) and not a.peek)
            or a in (FetchItem("RFC822"), FetchItem("RFC822.TEXT"))
            for a in attrs
        )
        seen_now: set[int] = set()
        if marks_seen:
            # RFC 3501 §6.4.5: BODY[...] (not .PEEK), RFC822 and RFC822.TEXT set \Seen.
            unseen = [
                u for _, u in targets if u not in view.ghosts and SEEN not in view.items[u].flags
            ]
            if unseen:
                for item in self.backend.store.set_flags(
                    self._user(), view.name, unseen, (SEEN,), "add"
                ):
                    view.items[item.uid] = item
                    seen_now.add(item.uid)
        wants_flags = FetchItem("FLAGS") in attrs
        wants_modseq = FetchItem("MODSEQ") in attrs
        for seq, uid in targets:
            item = view.items[uid]
            data = [self._fetch_item(view, item, attr) for attr in attrs]
            if uid in seen_now and not wants_flags:
                # §6.4.5: the implicit \Seen change is reported in the same FETCH.
                data.append(("FLAGS", self._flags_value(view, uid, item.flags)))
                if self.condstore and not wants_modseq:
                    data.append(("MODSEQ", (item.modseq,)))
            if wants_flags or uid in seen_now:
                view.flags[uid] = item.flags
            out.append(FetchData(seq, tuple(data)))
        return Tagged(cmd.tag, "OK", "FETCH completed")

    def _fetch_item(
        self, view: View, item: MailItem, attr: FetchAttribute
    ) -> tuple[str, ImapValue]:
        message = item.message
        if isinstance(attr, BodySection):
            data = section(message.raw, mime_index(message), attr.part, attr.specifier, attr.fields)
            if attr.partial is not None:
                data = partial(data, *attr.partial)
            return attr.response_name(), LiteralData(data)
        name = attr.name
        if name == "FLAGS":
            return name, self._flags_value(view, item.uid, item.flags)
        if name == "UID":
            return name, item.uid
        if name == "INTERNALDATE":
            return name, format_internal_date(item.internal_date)
        if name == "RFC822.SIZE":
            return name, len(message.raw)
        if name == "ENVELOPE":
            return name, cached_envelope(message)
        if name == "BODYSTRUCTURE":
            return name, cached_body_structure(message, True)
        if name == "BODY":
            return name, cached_body_structure(message, False)
        if name == "RFC822":
            return name, LiteralData(message.raw)
        if name == "RFC822.HEADER":
            return name, LiteralData(section(message.raw, mime_index(message), (), "HEADER"))
        if name == "RFC822.TEXT":
            return name, LiteralData(section(message.raw, mime_index(message), (), "TEXT"))
        return name, (item.modseq,)  # MODSEQ

    def _store(self, cmd: Store, out: list[Response]) -> Tagged:
        view = self._selected_view()
        if view.readonly:
            return Tagged(cmd.tag, "NO", "mailbox is read-only", "READ-ONLY")
        targets = self._resolve(view, cmd.sequence_set, cmd.uid)
        if targets is None:
            return self._bad_set(cmd.tag)
        if cmd.unchanged_since is not None:
            self._enable_condstore(out)
        store = self.backend.store
        live = [(n, u) for n, u in targets if u not in view.ghosts]
        # Keywords are case-insensitive: use the spelling already in the mailbox.
        known = {f.lower(): f for u in view.uids for f in view.items[u].flags}
        flags = [known.get(f.lower(), f) for f in cmd.flags]
        if cmd.mode == "-":
            wanted = {f.lower() for f in flags}
            flags += [f for f in known.values() if f.lower() in wanted]
        mode = _STORE_MODES[cmd.mode]
        before = {u: view.items[u].modseq for _, u in live}
        results = store.set_flags(
            self._user(),
            view.name,
            [u for _, u in live],
            flags,
            mode,
            unchanged_since=cmd.unchanged_since,
        )
        failed: set[int] = set()
        for item in results:
            view.items[item.uid] = item
            if cmd.unchanged_since is not None and before[item.uid] > cmd.unchanged_since:
                failed.add(item.uid)
        self._announce_keywords(view, out)
        by_uid = {item.uid: item for item in results}
        for seq, uid in live:
            stored = by_uid.get(uid)
            if stored is None or uid in failed:
                continue
            data: list[tuple[str, ImapValue]] = []
            if cmd.uid:
                data.append(("UID", uid))
            if not cmd.silent:
                data.append(("FLAGS", self._flags_value(view, uid, stored.flags)))
            if self.condstore:
                data.append(("MODSEQ", (stored.modseq,)))
            view.flags[uid] = stored.flags
            # RFC 7162 §3.1.3: with UNCHANGEDSINCE the FETCH is sent even for .SILENT.
            if not cmd.silent or cmd.unchanged_since is not None:
                out.append(FetchData(seq, tuple(data)))
        if failed:
            numbers = failed if cmd.uid else {n for n, u in targets if u in failed}
            code = f"MODIFIED {SequenceSet.from_numbers(numbers)}"
            return Tagged(cmd.tag, "OK", "conditional STORE failed for some messages", code)
        return Tagged(cmd.tag, "OK", "STORE completed")
