"""IMAP mailbox commands: SELECT/EXAMINE, CREATE, DELETE, RENAME, (UN)SUBSCRIBE, LIST, LSUB,
STATUS and APPEND (RFC 3501 §6.3; LIST-EXTENDED RFC 5258, LIST-STATUS RFC 5819, SPECIAL-USE
RFC 6154).
"""

from __future__ import annotations

import bisect
import contextlib
import re
from collections.abc import Iterator, Sequence
from datetime import datetime, timezone
from typing import Final

from fakemail._imap._events import (
    Append,
    Create,
    Delete,
    List,
    Lsub,
    Rename,
    Select,
    Status,
    Subscribe,
    Unsubscribe,
)
from fakemail._imap._pattern import Pattern
from fakemail._imap._response import (
    Atom,
    ImapValue,
    Mailbox,
    Response,
    Tagged,
    Untagged,
    UntaggedStatus,
    shown,
)
from fakemail._imap._view import (
    DELETED,
    DELIMITER,
    SEEN,
    SYSTEM_FLAGS,
    SessionBase,
    View,
    flag_list,
    is_keyword,
    norm_mailbox,
)
from fakemail._message import Envelope, Message
from fakemail._store import INBOX, StoreError

__all__ = ["MailboxCommands"]

# Special uses a CREATE (USE (...)) may give (RFC 6154 §3); \All and \Flagged are virtual.
_CREATABLE_USES: Final = frozenset({"\\Archive", "\\Drafts", "\\Junk", "\\Sent", "\\Trash"})


_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _valid_new_name(name: str) -> str | None:
    """Why ``name`` cannot be created, or ``None`` if it can."""
    if not name:
        return "empty mailbox name"
    if _CONTROL.search(name):
        # RFC 9051 §6.3.4: a name must be Net-Unicode (RFC 5198), which has no controls.
        return "control characters are not allowed in mailbox names"
    if name.startswith(DELIMITER) or DELIMITER * 2 in name:
        return "empty hierarchy level in mailbox name"
    if "*" in name or "%" in name:
        return "wildcards are not allowed in mailbox names"
    return None


def _ancestors(name: str) -> list[str]:
    parts = name.split(DELIMITER)
    return [DELIMITER.join(parts[:i]) for i in range(1, len(parts))]


class _Patterns:
    """The patterns of one LIST or LSUB, each joined to the reference (RFC 3501 §6.3.8)."""

    __slots__ = ("_exact", "_inbox")

    def __init__(self, reference: str, patterns: Sequence[str]) -> None:
        texts = [_canonical(reference + pattern) for pattern in patterns]
        self._exact = [Pattern(text, DELIMITER) for text in texts]
        # INBOX is case-insensitive (RFC 3501 §5.1): "inbo%" matches it too.
        self._inbox = [Pattern(text, DELIMITER, ignore_case=True) for text in texts]

    def match(self, name: str) -> bool:
        """Whether ``name`` matches one of the patterns."""
        patterns = self._inbox if name == INBOX else self._exact
        return any(pattern.matches(name) for pattern in patterns)


def _canonical(pattern: str) -> str:
    text = norm_mailbox(pattern)
    if text[:5].upper() == INBOX and text[5:6] in ("", DELIMITER, "*", "%"):
        text = INBOX + text[5:]
    return text


def _below(ordered: Sequence[str], name: str) -> Iterator[str]:
    """The names in sorted ``ordered`` below ``name`` in the hierarchy: one contiguous run."""
    prefix = name + DELIMITER
    for index in range(bisect.bisect_left(ordered, prefix), len(ordered)):
        below = ordered[index]
        if not below.startswith(prefix):
            return
        yield below


def _has_below(ordered: Sequence[str], name: str) -> bool:
    return next(_below(ordered, name), None) is not None


def _mailbox_order(name: str) -> tuple[bool, str]:
    return (name != INBOX and not name.startswith(INBOX + DELIMITER), name)


class MailboxCommands(SessionBase):
    """Commands on mailboxes as a whole, valid in the authenticated and selected states."""

    def _select(self, cmd: Select, out: list[Response]) -> Tagged:
        verb = "EXAMINE" if cmd.readonly else "SELECT"
        # RFC 3501 §6.3.1: a SELECT first deselects, and on failure nothing is selected.
        self._deselect()
        store = self.backend.store
        account = self._user()
        name = norm_mailbox(cmd.mailbox)
        try:
            snap = store.folder(account, name)
            if cmd.readonly:
                # EXAMINE must not take \Recent away from other sessions (RFC 3501 §6.3.2).
                recent = {i.uid for i in snap.items if i.uid > snap.recent_mark}
            else:
                recent = set(store.claim_recent(account, name))
        except StoreError:
            return Tagged(cmd.tag, "NO", f"no mailbox {shown(cmd.mailbox)}", "NONEXISTENT")
        if cmd.condstore:
            self.condstore = True
        items = {i.uid: i for i in snap.items}
        recent |= self._recent_kept.get((snap.name, snap.uidvalidity), set()) & items.keys()
        keywords = frozenset(f for i in snap.items for f in i.flags if is_keyword(f))
        view = View(
            name=snap.name,
            readonly=cmd.readonly,
            uidvalidity=snap.uidvalidity,
            uids=list(items),
            items=items,
            flags={uid: item.flags for uid, item in items.items()},
            recent=recent,
            max_uid=snap.items[-1].uid if snap.items else 0,
            modseq=snap.modseq,
            keywords=keywords,
        )
        out.append(Untagged((Atom("FLAGS"), flag_list((*SYSTEM_FLAGS, *keywords)))))
        out.append(Untagged((len(view.uids), Atom("EXISTS"))))
        out.append(Untagged((sum(1 for u in view.uids if u in recent), Atom("RECENT"))))
        for seq, item in enumerate(snap.items, 1):
            if SEEN not in item.flags:
                out.append(UntaggedStatus("OK", "first unseen", f"UNSEEN {seq}"))
                break
        out.append(self._permanent_flags(view))
        out.append(UntaggedStatus("OK", "UIDs valid", f"UIDVALIDITY {snap.uidvalidity}"))
        out.append(UntaggedStatus("OK", "predicted next UID", f"UIDNEXT {snap.uidnext}"))
        if self.condstore:
            out.append(UntaggedStatus("OK", "highest", f"HIGHESTMODSEQ {snap.modseq}"))
        self._view = view
        code = "READ-ONLY" if cmd.readonly else "READ-WRITE"
        return Tagged(cmd.tag, "OK", f"{verb} completed", code)

    def _create(self, cmd: Create, out: list[Response]) -> Tagged:
        store = self.backend.store
        account = self._user()
        # RFC 3501 §6.3.3: a trailing delimiter declares the intent to create inferiors.
        name = norm_mailbox(cmd.mailbox)
        if name.endswith(DELIMITER) and name != DELIMITER:
            name = name.rstrip(DELIMITER)
        problem = _valid_new_name(name)
        if problem:
            return Tagged(cmd.tag, "NO", problem, "CANNOT")
        over = self._over_limits(account, [name], new_folders=True)
        if over:
            return Tagged(cmd.tag, "NO", over, "LIMIT")
        uses = tuple(dict.fromkeys(cmd.special_use))
        if len(uses) > 1 or any(u not in _CREATABLE_USES for u in uses):
            return Tagged(cmd.tag, "NO", "unsupported special-use attribute(s)", "USEATTR")
        if name == INBOX or store.folder_modseq(account, name) is not None:
            return Tagged(cmd.tag, "NO", f"mailbox {shown(name)} already exists", "ALREADYEXISTS")
        self._create_parents(account, name)
        try:
            store.create_folder(account, name, special_use=uses[0] if uses else None)
        except StoreError as error:
            return Tagged(cmd.tag, "NO", str(error), error.code)
        return Tagged(cmd.tag, "OK", "CREATE completed")

    def _over_limits(self, account: str, names: Sequence[str], *, new_folders: bool) -> str | None:
        """Why making ``names`` (their parents included) would pass a limit of the folder
        tree, or ``None`` (RFC 5530 ``LIMIT``). Checked before any ancestor is made: a name
        20,000 levels deep once made 20,000 folders (issue 11 §3)."""
        options = self.backend.options
        for name in names:
            if len(name) > options.max_folder_name_length:
                return f"mailbox names are limited to {options.max_folder_name_length} characters"
            if name.count(DELIMITER) >= options.max_folder_depth:
                return f"mailbox names are limited to {options.max_folder_depth} levels"
        if new_folders:
            store = self.backend.store
            missing = {n for name in names for n in (*_ancestors(name), name)}
            missing = {n for n in missing if store.folder_modseq(account, n) is None}
            if store.folder_count(account) + len(missing) > options.max_folders:
                return f"an account has at most {options.max_folders} mailboxes"
        return None

    def _create_parents(self, account: str, name: str) -> None:
        # RFC 3501 §6.3.3: the server SHOULD create superior hierarchical names as needed.
        store = self.backend.store
        for parent in _ancestors(name):
            if store.folder_modseq(account, parent) is None:
                with contextlib.suppress(StoreError):  # created meanwhile elsewhere
                    store.create_folder(account, parent)

    def _affects_selected(self, name: str) -> bool:
        selected = self.selected
        return selected is not None and (selected == name or selected.startswith(name + DELIMITER))

    def _delete(self, cmd: Delete, out: list[Response]) -> Tagged:
        name = norm_mailbox(cmd.mailbox)
        if name == INBOX:
            return Tagged(cmd.tag, "NO", "INBOX cannot be deleted", "CANNOT")
        if self.selected == name:
            # RFC 5530 INUSE: it would saw off the branch this session sits on.
            return Tagged(cmd.tag, "NO", "close the selected mailbox first", "INUSE")
        try:
            self.backend.store.delete_folder(self._user(), name)
        except StoreError as error:
            return Tagged(cmd.tag, "NO", f"no mailbox {shown(cmd.mailbox)}", error.code)
        return Tagged(cmd.tag, "OK", "DELETE completed")

    def _rename(self, cmd: Rename, out: list[Response]) -> Tagged:
        store = self.backend.store
        account = self._user()
        old, new = norm_mailbox(cmd.old), norm_mailbox(cmd.new).rstrip(DELIMITER)
        problem = _valid_new_name(new)
        if problem:
            return Tagged(cmd.tag, "NO", problem, "CANNOT")
        if store.folder_modseq(account, old) is None:
            return Tagged(cmd.tag, "NO", f"no mailbox {shown(cmd.old)}", "NONEXISTENT")
        if new == INBOX or store.folder_modseq(account, new) is not None:
            return Tagged(cmd.tag, "NO", f"mailbox {shown(new)} already exists", "ALREADYEXISTS")
        if new.startswith(old + DELIMITER):
            return Tagged(cmd.tag, "NO", "cannot move a mailbox below itself", "CANNOT")
        if self._affects_selected(old):
            return Tagged(cmd.tag, "NO", "close the selected mailbox first", "INUSE")
        if old == INBOX:  # its messages move to a new folder, INBOX stays (RFC 3501 §6.3.5)
            over = self._over_limits(account, [new], new_folders=True)
        else:  # the folders below move along: their new names must fit too
            below = old + DELIMITER
            moved = [
                new + f.name[len(old) :]
                for f in store.folders(account)
                if f.name == old or f.name.startswith(below)
            ]
            over = self._over_limits(account, moved, new_folders=False)
            over = over or self._over_limits(account, _ancestors(new), new_folders=True)
        if over:
            return Tagged(cmd.tag, "NO", over, "LIMIT")
        self._create_parents(account, new)
        try:
            store.rename_folder(account, old, new)
        except StoreError as error:
            return Tagged(cmd.tag, "NO", str(error), error.code)
        return Tagged(cmd.tag, "OK", "RENAME completed")

    def _subscribe(self, cmd: Subscribe, out: list[Response]) -> Tagged:
        store = self.backend.store
        account = self._user()
        name = norm_mailbox(cmd.mailbox)
        # A subscription need not name an existing folder, but LIST shows it: the same
        # bounds as for folders, so that SUBSCRIBE cannot grow what LIST walks without end.
        over = self._over_limits(account, [name], new_folders=False)
        subscriptions = store.subscriptions(account)
        limit = self.backend.options.max_folders
        if not over and name not in subscriptions and len(subscriptions) >= limit:
            over = f"an account has at most {limit} subscriptions"
        if over:
            return Tagged(cmd.tag, "NO", over, "LIMIT")
        store.subscribe(account, name)
        return Tagged(cmd.tag, "OK", "SUBSCRIBE completed")

    def _unsubscribe(self, cmd: Unsubscribe, out: list[Response]) -> Tagged:
        store = self.backend.store
        store.subscribe(self._user(), norm_mailbox(cmd.mailbox), subscribed=False)
        return Tagged(cmd.tag, "OK", "UNSUBSCRIBE completed")

    def _list(self, cmd: List, out: list[Response]) -> Tagged:
        store = self.backend.store
        account = self._user()
        if cmd.patterns == ("",):
            # RFC 3501 §6.3.8: the delimiter and the root name (always "" here).
            out.append(Untagged((Atom("LIST"), (Atom("\\Noselect"),), DELIMITER, "")))
            return Tagged(cmd.tag, "OK", "LIST completed")
        extended = bool(cmd.selection_options or cmd.return_options or len(cmd.patterns) > 1)
        folders = {f.name: f for f in store.folders(account)}
        subscriptions = store.subscriptions(account)
        select = set(cmd.selection_options)
        by_subscription = "SUBSCRIBED" in select
        by_special_use = "SPECIAL-USE" in select
        recursive = "RECURSIVEMATCH" in select
        show_subscribed = by_subscription or "SUBSCRIBED" in cmd.return_options
        criteria = tuple(o for o in cmd.selection_options if o not in ("RECURSIVEMATCH", "REMOTE"))
        patterns = _Patterns(cmd.reference, cmd.patterns)

        def chosen(name: str) -> bool:
            if by_subscription and name not in subscriptions:
                return False
            if by_special_use:
                folder = folders.get(name)
                return folder is not None and folder.special_use is not None
            return by_subscription or name in folders

        names = set(folders) | set(subscriptions)
        names |= {a for n in list(names) for a in _ancestors(n)}
        # Sorted, the names below any one name are a contiguous run, found by bisection:
        # LIST stays O(n log n) in the number of folders (issue 11 §5: it was quadratic).
        with_folder = sorted(folders)
        selected = sorted(n for n in names if chosen(n))
        selected_names = set(selected)
        for name in sorted(names, key=_mailbox_order):
            if not patterns.match(name):
                continue
            # RFC 5258 §3.5: CHILDINFO only for a matching child that is not listed itself.
            childinfo = recursive and any(not patterns.match(n) for n in _below(selected, name))
            if name not in selected_names and not childinfo:
                # RFC 3501 §6.3.8 / RFC 5258 example 11: a missing hierarchy level with
                # mailboxes below is listed when none of those matches the pattern itself.
                if by_subscription or by_special_use or name in folders:
                    continue
                below = _below(selected, name)
                first = next(below, None)
                if first is None or patterns.match(first) or any(map(patterns.match, below)):
                    continue
            attrs: list[str] = []
            if name not in folders:
                attrs.append("\\NonExistent" if extended else "\\Noselect")
            if show_subscribed and name in subscriptions:
                attrs.append("\\Subscribed")
            attrs.append("\\HasChildren" if _has_below(with_folder, name) else "\\HasNoChildren")
            folder = folders.get(name)
            if folder is not None and folder.special_use:
                attrs.append(folder.special_use)
            data: list[ImapValue] = [
                Atom("LIST"),
                tuple(Atom(a) for a in attrs),
                DELIMITER,
                Mailbox(name),
            ]
            if childinfo:
                data.append(("CHILDINFO", criteria))
            out.append(Untagged(tuple(data)))
            if cmd.status_items and folder is not None:
                out.append(self._status_response(name, cmd.status_items))
        return Tagged(cmd.tag, "OK", "LIST completed")

    def _lsub(self, cmd: Lsub, out: list[Response]) -> Tagged:
        store = self.backend.store
        account = self._user()
        if cmd.pattern == "":
            out.append(Untagged((Atom("LSUB"), (Atom("\\Noselect"),), DELIMITER, "")))
            return Tagged(cmd.tag, "OK", "LSUB completed")
        if cmd.pattern is None:
            return Tagged(cmd.tag, "OK", "LSUB completed")
        subscriptions = store.subscriptions(account)
        patterns = _Patterns(cmd.reference, (cmd.pattern,))
        names = set(subscriptions) | {a for n in subscriptions for a in _ancestors(n)}
        subscribed = sorted(subscriptions)
        for name in sorted(names, key=_mailbox_order):
            if not patterns.match(name):
                continue
            attrs: tuple[Atom, ...] = ()
            if name not in subscriptions:
                # RFC 3501 §6.3.9: an unsubscribed level with subscribed names below, when
                # "%" stops at it, is listed \Noselect.
                if any(map(patterns.match, _below(subscribed, name))):
                    continue
                attrs = (Atom("\\Noselect"),)
            out.append(Untagged((Atom("LSUB"), attrs, DELIMITER, Mailbox(name))))
        return Tagged(cmd.tag, "OK", "LSUB completed")

    def _status_response(self, name: str, items: Sequence[str]) -> Untagged:
        snap = self.backend.store.folder(self._user(), name)
        view = self._view
        values: list[ImapValue] = []
        for item in items:
            value: int
            if item == "MESSAGES":
                value = len(snap.items)
            elif item == "RECENT":
                if view is not None and view.name == snap.name:
                    value = sum(1 for i in snap.items if i.uid in view.recent)
                else:
                    value = sum(1 for i in snap.items if i.uid > snap.recent_mark)
            elif item == "UIDNEXT":
                value = snap.uidnext
            elif item == "UIDVALIDITY":
                value = snap.uidvalidity
            elif item == "UNSEEN":
                value = sum(1 for i in snap.items if SEEN not in i.flags)
            elif item == "HIGHESTMODSEQ":
                value = snap.modseq
            elif item == "SIZE":
                value = sum(len(i.message.raw) for i in snap.items)
            elif item == "DELETED":
                value = sum(1 for i in snap.items if DELETED in i.flags)
            else:  # pragma: no cover - the grammar only lets the items above through
                continue
            values += [Atom(item), value]
        return Untagged((Atom("STATUS"), Mailbox(snap.name), tuple(values)))

    def _status(self, cmd: Status, out: list[Response]) -> Tagged:
        if "HIGHESTMODSEQ" in cmd.items:
            self._enable_condstore(out)
        try:
            out.append(self._status_response(norm_mailbox(cmd.mailbox), cmd.items))
        except StoreError:
            return Tagged(cmd.tag, "NO", f"no mailbox {shown(cmd.mailbox)}", "NONEXISTENT")
        return Tagged(cmd.tag, "OK", "STATUS completed")

    def _append(self, cmd: Append, out: list[Response]) -> Tagged:
        options = self.backend.options
        if len(cmd.message) > options.max_message_size:
            reason = f"message larger than the limit of {options.max_message_size} octets"
            return Tagged(cmd.tag, "NO", reason, "TOOBIG")
        store = self.backend.store
        account = self._user()
        now = datetime.now(timezone.utc)
        message = Message(
            cmd.message,
            Envelope(
                sender="",
                recipients=(account,),
                auth_user=account,
                is_tls=self.is_tls,
                protocol="imap",
            ),
            now,
            store.next_message_seq(),
        )
        try:
            uidvalidity, uid = store.append(
                account,
                norm_mailbox(cmd.mailbox),
                message,
                flags=cmd.flags,
                internal_date=cmd.date or now,
            )
        except StoreError:
            # RFC 3501 §6.3.11: TRYCREATE when the mailbox does not exist.
            return Tagged(cmd.tag, "NO", f"no mailbox {shown(cmd.mailbox)}", "TRYCREATE")
        return Tagged(cmd.tag, "OK", "APPEND completed", f"APPENDUID {uidvalidity} {uid}")
