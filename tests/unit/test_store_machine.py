"""MailStore against a plain model, step by random step (hypothesis stateful testing).

Every operation of the store, refusals included, on one account (and a second one for
deliveries to several): the folders, UIDs, flags, UIDVALIDITY and \\Recent marks must match the
model after each step, and the change listeners must have been told of exactly the mutations,
each with the accounts it touched (module docstring of ``fakemail._store``, invariant 3).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime, timezone

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from fakemail._message import Envelope, Message, normalize_address
from fakemail._store import DEFAULT_FOLDERS, INBOX, Change, FlagMode, MailStore, StoreError

ADDRESS = "m@x.org"
OTHER = "o@x.org"
#: Folder names the steps pick from: some exist, some not; two have subfolders to rename.
NAMES = (INBOX, "Archive", "Trash", "Work", "Work/Sub", "Play", "Play/Sub", "New")
FLAG_SETS = st.frozensets(st.sampled_from(["\\Seen", "\\Flagged", "\\Deleted", "$a"]))
PICKS = st.lists(st.integers(0, 50), min_size=1, max_size=4)
#: A folder to act on: INBOX half the time, where most of the mail is.
FOLDER = st.one_of(st.just(INBOX), st.sampled_from(NAMES))
WHEN = datetime(2024, 5, 6, 7, 8, 9, tzinfo=timezone.utc)


@dataclass
class FolderModel:
    """What one folder must hold: UID -> (raw message, flags)."""

    uidvalidity: int
    uidnext: int = 1
    recent_mark: int = 0
    items: dict[int, tuple[bytes, frozenset[str]]] = field(default_factory=dict)

    def add(self, raw: bytes, flags: frozenset[str]) -> int:
        uid = self.uidnext
        self.items[uid] = (raw, flags)
        self.uidnext += 1
        return uid


class StoreMachine(RuleBasedStateMachine):
    """One store, its model, and the notifications the listener heard."""

    def __init__(self) -> None:
        super().__init__()
        self.store = MailStore()
        self.heard: list[Change] = []
        self.store.add_listener(self.heard.append)
        self.expected: list[tuple[frozenset[str], bool]] = []
        self.version = self.store.version
        #: The account's folders in the store's order, or None while it does not exist.
        self.folders: dict[str, FolderModel] | None = None
        self.highest_uidvalidity = 0
        self.raws = (f"Subject: {n}\r\n\r\n{n}\r\n".encode() for n in itertools.count())

    # ------------------------------------------------------------------ helpers

    def changed(self, *accounts: str, is_clear: bool = False) -> None:
        self.expected.append((frozenset(accounts), is_clear))

    def fresh_uidvalidities(self, names: list[str]) -> list[int]:
        """The store's UIDVALIDITYs of newly made folders: each above every one seen so far
        (RFC 3501 §2.3.1.1: never reused, and greater when a name is used again)."""
        values = [self.store.folder(ADDRESS, name).uidvalidity for name in names]
        assert len(set(values)) == len(values)
        assert all(value > self.highest_uidvalidity for value in values)
        self.highest_uidvalidity = max([self.highest_uidvalidity, *values])
        return values

    def account(self) -> dict[str, FolderModel]:
        """The model's folders, made as the store makes a new account's (after the call)."""
        if self.folders is None:
            names = [name for name, _ in DEFAULT_FOLDERS]
            validities = self.fresh_uidvalidities(names)
            self.folders = {n: FolderModel(v) for n, v in zip(names, validities, strict=True)}
        return self.folders

    def uids(self, name: str, picks: list[int]) -> list[int]:
        """UIDs to act on: mostly existing ones, some missing."""
        folder = (self.folders or {}).get(name)
        existing = sorted(folder.items) if folder else []
        return [existing[p % len(existing)] if existing and p < 40 else p + 1 for p in picks]

    def refused(self, code: str, call: object, *args: object, **kwargs: object) -> None:
        """``call`` raises StoreError ``code`` and changes nothing (checked by the invariants)."""
        with pytest.raises(StoreError) as info:
            call(*args, **kwargs)  # type: ignore[operator]
        assert info.value.code == code

    def exists(self, name: str) -> bool:
        return self.folders is not None and name in self.folders

    def would_exist(self, name: str) -> bool:
        """Whether the folder exists once the account does (a new one has the defaults)."""
        return self.exists(name) if self.folders is not None else name in dict(DEFAULT_FOLDERS)

    # ------------------------------------------------------------------ rules

    @initialize()
    def start(self) -> None:
        self.store.ensure_account(ADDRESS)
        self.account()
        self.changed(ADDRESS)

    @rule(to=st.sampled_from([[ADDRESS], [ADDRESS, OTHER], [OTHER], [], [ADDRESS, "m@X.ORG"]]))
    def record(self, to: list[str]) -> None:
        raw = next(self.raws)
        self.store.record(raw, Envelope("app@example.com", tuple(to)), to)
        if ADDRESS in to:
            self.account()[INBOX].add(raw, frozenset())
        self.changed(*{normalize_address(a) for a in to})

    @rule(name=FOLDER, flags=FLAG_SETS, create=st.booleans())
    def append(self, name: str, flags: frozenset[str], create: bool) -> None:
        raw = next(self.raws)
        message = Message(raw, Envelope("", (ADDRESS,)), WHEN, 0)
        if not self.would_exist(name) and not create:
            self.refused("TRYCREATE", self.store.append, ADDRESS, name, message)
            return
        validity, uid = self.store.append(ADDRESS, name, message, flags=flags, create=create)
        folders = self.account()  # delivering to an address makes its account
        if name not in folders:
            folders[name] = FolderModel(self.fresh_uidvalidities([name])[0])
        assert (validity, uid) == (folders[name].uidvalidity, folders[name].add(raw, flags))
        self.changed(ADDRESS)

    @rule(
        name=FOLDER,
        picks=PICKS,
        flags=FLAG_SETS,
        mode=st.sampled_from(["add", "remove", "replace"]),
    )
    def set_flags(self, name: str, picks: list[int], flags: frozenset[str], mode: FlagMode) -> None:
        uids = self.uids(name, picks)
        if not self.exists(name):
            self.refused("NONEXISTENT", self.store.set_flags, ADDRESS, name, uids, flags, mode)
            return
        result = self.store.set_flags(ADDRESS, name, uids, flags, mode)
        items = self.account()[name].items
        changed = False
        for uid in dict.fromkeys(uids):
            if uid in items:
                raw, old = items[uid]
                new = old | flags if mode == "add" else old - flags if mode == "remove" else flags
                items[uid] = (raw, new)
                changed |= new != old
        assert [(i.uid, i.flags) for i in result] == [(u, items[u][1]) for u in uids if u in items]
        if changed:
            self.changed(ADDRESS)

    @rule(name=FOLDER, picks=PICKS)
    def expunge(self, name: str, picks: list[int]) -> None:
        uids = self.uids(name, picks)
        if not self.exists(name):
            self.refused("NONEXISTENT", self.store.expunge, ADDRESS, name, uids)
            return
        items = self.account()[name].items
        expected = sorted(uid for uid in set(uids) if uid in items)
        assert self.store.expunge(ADDRESS, name, uids) == tuple(expected)
        for uid in expected:
            del items[uid]
        if expected:
            self.changed(ADDRESS)

    @rule(
        source=FOLDER,
        destination=st.sampled_from(NAMES),
        picks=PICKS,
        move=st.booleans(),
    )
    def copy(self, source: str, destination: str, picks: list[int], move: bool) -> None:
        uids = self.uids(source, picks)
        copy = self.store.copy
        if not self.exists(source):
            self.refused("NONEXISTENT", copy, ADDRESS, source, uids, destination, move=move)
            return
        if not self.exists(destination):
            self.refused("TRYCREATE", copy, ADDRESS, source, uids, destination, move=move)
            return
        folders = self.account()
        src, dest = folders[source], folders[destination]
        taken = [(uid, src.items[uid]) for uid in sorted(set(uids)) if uid in src.items]
        validity, pairs = copy(ADDRESS, source, uids, destination, move=move)
        assert validity == dest.uidvalidity
        assert pairs == [(uid, dest.add(*entry)) for uid, entry in taken]
        if move:
            for uid, _ in taken:
                del src.items[uid]
        if taken:
            self.changed(ADDRESS)

    @rule(name=FOLDER)
    def claim_recent(self, name: str) -> None:
        if not self.exists(name):
            self.refused("NONEXISTENT", self.store.claim_recent, ADDRESS, name)
            return
        folder = self.account()[name]
        # RFC 3501 §2.3.2: the first claim gets every message no session has had yet.
        expected = {uid for uid in folder.items if uid > folder.recent_mark}
        assert self.store.claim_recent(ADDRESS, name) == expected
        folder.recent_mark = folder.uidnext - 1
        assert self.store.claim_recent(ADDRESS, name) == frozenset()
        # Session state, not mail: no notification.

    @rule(name=st.sampled_from(NAMES))
    def create_folder(self, name: str) -> None:
        if self.would_exist(name):
            self.refused("ALREADYEXISTS", self.store.create_folder, ADDRESS, name)
            return
        self.store.create_folder(ADDRESS, name)
        folders = self.account()  # creating a folder for an address makes its account
        folders[name] = FolderModel(self.fresh_uidvalidities([name])[0])
        self.changed(ADDRESS)

    @rule(name=st.sampled_from(NAMES))
    def delete_folder(self, name: str) -> None:
        if name == INBOX:
            self.refused("CANNOT", self.store.delete_folder, ADDRESS, name)
        elif not self.exists(name):
            self.refused("NONEXISTENT", self.store.delete_folder, ADDRESS, name)
        else:
            self.store.delete_folder(ADDRESS, name)
            del self.account()[name]  # subfolders stay (RFC 3501 §6.3.4)
            self.changed(ADDRESS)

    @rule(old=st.sampled_from(NAMES), new=st.sampled_from(NAMES))
    def rename_folder(self, old: str, new: str) -> None:
        rename = self.store.rename_folder
        folders = self.folders or {}
        # RFC 3501 §6.3.5: subfolders move too, except INBOX's.
        moving = [k for k in folders if k == old or (old != INBOX and k.startswith(old + "/"))]
        targets = [new + k[len(old) :] for k in moving]
        if old not in folders:
            self.refused("NONEXISTENT", rename, ADDRESS, old, new)
        elif any(t in folders for t in targets):
            self.refused("ALREADYEXISTS", rename, ADDRESS, old, new)
        else:
            rename(ADDRESS, old, new)
            if old == INBOX:
                # Its messages move to the new folder; INBOX starts again, empty.
                inbox = folders[INBOX]
                folders[INBOX] = FolderModel(0)
                folders[new] = inbox
                fresh = self.fresh_uidvalidities([new, INBOX])
                inbox.uidvalidity, folders[INBOX].uidvalidity = fresh
            else:
                renamed = dict(zip(moving, targets, strict=True))
                self.folders = {renamed.get(k, k): f for k, f in folders.items()}
                for target, value in zip(targets, self.fresh_uidvalidities(targets), strict=True):
                    self.folders[target].uidvalidity = value
            self.changed(ADDRESS)

    @precondition(lambda self: sum(len(f.items) for f in (self.folders or {}).values()) >= 3)
    @rule()
    def clear(self) -> None:
        self.store.clear()
        self.folders = None
        self.changed(is_clear=True)

    # ------------------------------------------------------------------ invariants

    @invariant()
    def listeners_heard_each_mutation_once(self) -> None:
        # Who was touched and whether it was a clear; the Change's detail fields (which
        # transactions are new, updated, deleted) are the HTTP layer's and tested there.
        assert [(c.accounts, c.is_clear) for c in self.heard] == self.expected
        assert self.store.version == self.version + len(self.expected)
        self.version = self.store.version
        self.heard.clear()
        self.expected.clear()

    @invariant()
    def store_matches_model(self) -> None:
        snapshots = self.store.folders(ADDRESS)
        if self.folders is None:
            assert snapshots == ()
            assert not self.store.has_account(ADDRESS)
            return
        assert [s.name for s in snapshots] == list(self.folders)
        for snapshot in snapshots:
            model = self.folders[snapshot.name]
            assert snapshot.uidvalidity == model.uidvalidity
            assert snapshot.uidnext == model.uidnext
            assert snapshot.recent_mark == model.recent_mark
            assert {i.uid: (i.message.raw, i.flags) for i in snapshot.items} == model.items
            assert list(snapshot.uids) == sorted(snapshot.uids)
            assert all(i.modseq <= snapshot.modseq for i in snapshot.items)


StoreMachine.TestCase.settings = settings(max_examples=120, stateful_step_count=40)
TestStoreMachine = StoreMachine.TestCase
