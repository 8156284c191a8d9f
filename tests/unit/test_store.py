"""MailStore: transactions, accounts, folders, flags, UIDs, locks, notification, concurrency."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

import pytest

from fakemail._message import Envelope, Message
from fakemail._store import DEFAULT_FOLDERS, INBOX, Change, MailStore, StoreError

JOIN_TIMEOUT = 60.0
WHEN = datetime(2024, 5, 6, 7, 8, 9, tzinfo=timezone.utc)


def envelope(*recipients: str, sender: str = "app@example.com") -> Envelope:
    return Envelope(sender=sender, recipients=recipients)


def message(text: str = "hello", seq: int = 0) -> Message:
    raw = f"Subject: {text}\r\n\r\n{text}\r\n".encode()
    return Message(raw, envelope("bob@example.com"), WHEN, seq)


@contextmanager
def store_error(code: str) -> Iterator[None]:
    with pytest.raises(StoreError) as info:
        yield
    assert info.value.code == code


@pytest.fixture
def store() -> MailStore:
    return MailStore()


# ------------------------------------------------------------------ transactions


def test_record_keeps_transaction_and_one_copy_per_mailbox(store: MailStore) -> None:
    env = envelope("bob@example.com", "carol@example.com", "Bob@EXAMPLE.com")
    stored = store.record(
        b"Subject: x\r\n\r\nbody\r\n",
        env,
        ["bob@example.com", "carol@example.com", "bob@Example.COM"],
    )
    assert store.messages == (stored,)
    assert stored.seq == 1
    assert stored.raw == b"Subject: x\r\n\r\nbody\r\n"
    assert stored.envelope is env
    assert stored.received_at.tzinfo is not None
    bob = store.folder("bob@example.com", INBOX)
    carol = store.folder("carol@example.com", INBOX)
    assert [item.message for item in bob.items] == [stored]
    assert [item.message for item in carol.items] == [stored]
    assert bob.items[0].uid == 1
    assert bob.items[0].flags == frozenset()
    assert bob.items[0].internal_date == stored.received_at
    assert store.accounts == ("bob@example.com", "carol@example.com")


def test_record_without_mailboxes_is_transaction_only(store: MailStore) -> None:
    stored = store.record(b"x\r\n", envelope("nobody@example.com"), [])
    assert store.messages == (stored,)
    assert store.accounts == ()


def test_record_sequence_and_received_at(store: MailStore) -> None:
    first = store.record(b"1\r\n", envelope("a@x.org"), ["a@x.org"], received_at=WHEN)
    second = store.record(b"2\r\n", envelope("a@x.org"), ["a@x.org"])
    assert (first.seq, second.seq) == (1, 2)
    assert first.received_at == WHEN
    assert store.next_message_seq() == 3
    assert store.record(b"3\r\n", envelope("a@x.org"), []).seq == 4
    assert store.messages == (first, second, store.messages[2])


def test_messages_is_a_snapshot(store: MailStore) -> None:
    store.record(b"1\r\n", envelope("a@x.org"), ["a@x.org"])
    before = store.messages
    store.record(b"2\r\n", envelope("a@x.org"), ["a@x.org"])
    assert len(before) == 1
    assert len(store.messages) == 2


# ------------------------------------------------------------------ accounts and folders


def test_new_account_has_default_folders_subscribed(store: MailStore) -> None:
    assert store.folders("alice@example.org") == ()  # reading creates nothing
    assert store.subscriptions("alice@example.org") == frozenset()
    assert store.accounts == ()
    store.ensure_account("alice@Example.ORG")
    folders = store.folders("alice@Example.ORG")
    assert [(f.name, f.special_use) for f in folders] == list(DEFAULT_FOLDERS)
    assert store.accounts == ("alice@example.org",)
    assert store.subscriptions("alice@example.org") == {name for name, _ in DEFAULT_FOLDERS}
    for snapshot in folders:
        assert (snapshot.uidnext, len(snapshot), snapshot.recent_mark) == (1, 0, 0)
    assert len({f.uidvalidity for f in folders}) == len(folders)


def test_accounts_domain_case_insensitive_local_part_kept(store: MailStore) -> None:
    assert store.ensure_account("<Bob@EXAMPLE.com>") == "Bob@example.com"
    assert store.has_account("Bob@example.COM")
    assert not store.has_account("bob@example.com")  # local parts may be case-sensitive
    assert store.accounts == ("Bob@example.com",)


def test_ensure_account_notifies_only_when_new(store: MailStore) -> None:
    changes: list[Change] = []
    store.add_listener(changes.append)
    store.ensure_account("a@x.org")
    store.ensure_account("a@X.ORG")
    assert changes == [Change(frozenset({"a@x.org"}))]


def test_folder_lookup(store: MailStore) -> None:
    store.ensure_account("a@x.org")
    assert store.folder("a@x.org", "inbox").name == INBOX
    assert store.folder("a@x.org", "InBoX").name == INBOX
    assert store.folder("a@x.org", "Sent").special_use == "\\Sent"
    with store_error("NONEXISTENT"):
        store.folder("a@x.org", "sent")  # other names are case-sensitive
    with store_error("NONEXISTENT"):
        store.folder("nobody@x.org", INBOX)
    assert not store.has_account("nobody@x.org")  # a failed lookup creates nothing


def test_folder_modseq_tracks_changes(store: MailStore) -> None:
    assert store.folder_modseq("a@x.org", INBOX) is None
    store.ensure_account("a@x.org")
    uidvalidity = store.folder("a@x.org", INBOX).uidvalidity
    seen = [store.folder_modseq("a@x.org", INBOX)]
    _, uid = store.append("a@x.org", INBOX, message())
    seen.append(store.folder_modseq("a@x.org", INBOX))
    store.set_flags("a@x.org", INBOX, [uid], ["\\Seen"], "add")
    seen.append(store.folder_modseq("a@x.org", INBOX))
    store.set_flags("a@x.org", INBOX, [uid], ["\\Seen"], "add")  # no change
    seen.append(store.folder_modseq("a@x.org", INBOX))
    store.expunge("a@x.org", INBOX, [uid])
    seen.append(store.folder_modseq("a@x.org", INBOX))
    assert all(pair is not None and pair[0] == uidvalidity for pair in seen)
    modseqs = [pair[1] for pair in seen if pair is not None]
    assert modseqs[0] < modseqs[1] < modseqs[2] == modseqs[3] < modseqs[4]
    assert store.folder("a@x.org", INBOX).modseq == modseqs[4]
    assert store.folder_modseq("a@x.org", "Missing") is None


def test_create_folder(store: MailStore) -> None:
    store.create_folder("a@x.org", "Projects/2026", special_use="\\Flagged")
    snapshot = store.folder("a@x.org", "Projects/2026")
    assert snapshot.special_use == "\\Flagged"
    assert [f.name for f in store.folders("a@x.org")][-1] == "Projects/2026"
    with store_error("ALREADYEXISTS"):
        store.create_folder("a@x.org", "Projects/2026")
    with store_error("ALREADYEXISTS"):
        store.create_folder("a@x.org", "inbox")
    store.create_folder("a@x.org", "projects/2026")  # case-sensitive: a different folder
    assert "Projects/2026" not in store.subscriptions("a@x.org")


def test_delete_folder_keeps_subfolders(store: MailStore) -> None:
    store.create_folder("a@x.org", "P")
    store.create_folder("a@x.org", "P/Q")
    store.append("a@x.org", "P", message())
    store.delete_folder("a@x.org", "P")
    names = [f.name for f in store.folders("a@x.org")]
    assert "P" not in names
    assert "P/Q" in names
    with store_error("NONEXISTENT"):
        store.delete_folder("a@x.org", "P")
    with store_error("CANNOT"):
        store.delete_folder("a@x.org", "inbox")
    # A folder created again under the old name gets a fresh UIDVALIDITY and starts at UID 1.
    store.create_folder("a@x.org", "P")
    assert store.folder("a@x.org", "P").uidnext == 1


def test_recreated_folder_gets_new_uidvalidity(store: MailStore) -> None:
    store.create_folder("a@x.org", "P")
    first = store.folder("a@x.org", "P").uidvalidity
    store.delete_folder("a@x.org", "P")
    store.create_folder("a@x.org", "P")
    assert store.folder("a@x.org", "P").uidvalidity > first


def test_rename_folder_with_subfolders_and_subscriptions(store: MailStore) -> None:
    store.create_folder("a@x.org", "P")
    store.create_folder("a@x.org", "P/Q")
    store.create_folder("a@x.org", "PX")  # shares a prefix but is not a subfolder
    store.subscribe("a@x.org", "P")
    store.subscribe("a@x.org", "P/Q")
    store.subscribe("a@x.org", "PX")
    _, uid = store.append("a@x.org", "P/Q", message("inner"))
    before = {f.name: f.uidvalidity for f in store.folders("a@x.org")}

    store.rename_folder("a@x.org", "P", "R")

    after = {f.name: f.uidvalidity for f in store.folders("a@x.org")}
    assert "P" not in after
    assert "P/Q" not in after
    assert {"R", "R/Q", "PX"} <= set(after)
    assert after["PX"] == before["PX"]
    assert after["R"] not in before.values()
    assert after["R/Q"] not in before.values()
    renamed = store.folder("a@x.org", "R/Q")
    assert renamed.name == "R/Q"
    assert [item.uid for item in renamed.items] == [uid]
    assert renamed.items[0].message.subject == "inner"
    subs = store.subscriptions("a@x.org")
    assert {"R", "R/Q", "PX"} <= subs
    assert not {"P", "P/Q"} & subs


def test_rename_folder_errors(store: MailStore) -> None:
    store.create_folder("a@x.org", "P")
    with store_error("NONEXISTENT"):
        store.rename_folder("a@x.org", "Missing", "Other")
    with store_error("ALREADYEXISTS"):
        store.rename_folder("a@x.org", "P", "Sent")
    with store_error("ALREADYEXISTS"):
        store.rename_folder("a@x.org", "P", "inbox")
    assert store.folder("a@x.org", "P").name == "P"


def test_rename_folder_refuses_to_overwrite_an_existing_subfolder(store: MailStore) -> None:
    # "P/Q" would become "R/Q", which exists already: nothing may be lost.
    store.create_folder("a@x.org", "P")
    store.create_folder("a@x.org", "P/Q")
    store.create_folder("a@x.org", "R/Q")
    store.append("a@x.org", "R/Q", message("keep me"))
    with store_error("ALREADYEXISTS"):
        store.rename_folder("a@x.org", "P", "R")
    names = [f.name for f in store.folders("a@x.org")]
    assert {"P", "P/Q", "R/Q"} <= set(names)
    assert [i.message.subject for i in store.folder("a@x.org", "R/Q").items] == ["keep me"]


def test_rename_inbox_moves_messages_and_leaves_it_empty(store: MailStore) -> None:
    store.record(b"Subject: one\r\n\r\n1\r\n", envelope("a@x.org"), ["a@x.org"])
    store.record(b"Subject: two\r\n\r\n2\r\n", envelope("a@x.org"), ["a@x.org"])
    store.create_folder("a@x.org", "INBOX/Sub")
    old = store.folder("a@x.org", INBOX)

    store.rename_folder("a@x.org", "inbox", "Old")

    moved = store.folder("a@x.org", "Old")
    inbox = store.folder("a@x.org", INBOX)
    assert [i.message.subject for i in moved.items] == ["one", "two"]
    assert moved.uids == old.uids
    assert moved.special_use is None
    assert len(inbox) == 0
    assert inbox.uidnext == 1
    # RFC 3501 §6.3.5: subfolders of INBOX are unaffected.
    assert store.folder("a@x.org", "INBOX/Sub").name == "INBOX/Sub"
    validities = {old.uidvalidity, moved.uidvalidity, inbox.uidvalidity}
    assert len(validities) == 3
    # New mail still lands in the (new, empty) INBOX.
    store.record(b"Subject: three\r\n\r\n3\r\n", envelope("a@x.org"), ["a@x.org"])
    assert [i.message.subject for i in store.folder("a@x.org", INBOX).items] == ["three"]
    assert len(store.folder("a@x.org", "Old")) == 2


def test_subscriptions(store: MailStore) -> None:
    store.subscribe("a@x.org", "Not/Yet/There")
    store.subscribe("a@x.org", "inbox", subscribed=False)
    subs = store.subscriptions("a@x.org")
    assert "Not/Yet/There" in subs
    assert INBOX not in subs
    store.subscribe("a@x.org", "Inbox")
    assert INBOX in store.subscriptions("a@x.org")
    store.subscribe("a@x.org", "Not/Yet/There", subscribed=False)
    store.subscribe("a@x.org", "never-subscribed", subscribed=False)  # no error
    assert "Not/Yet/There" not in store.subscriptions("a@x.org")
    # Deleting a folder does not unsubscribe it (RFC 3501 §6.3.6).
    store.delete_folder("a@x.org", "Junk")
    assert "Junk" in store.subscriptions("a@x.org")


# ------------------------------------------------------------------ messages in folders


def test_append(store: MailStore) -> None:
    msg = message()
    validity, uid = store.append("a@x.org", INBOX, msg, flags=["\\Seen", "$label"])
    snapshot = store.folder("a@x.org", INBOX)
    assert validity == snapshot.uidvalidity
    assert uid == 1
    assert snapshot.uidnext == 2
    item = snapshot.items[0]
    assert (item.uid, item.message, item.flags) == (1, msg, frozenset({"\\Seen", "$label"}))
    assert item.internal_date == msg.received_at
    later = WHEN + timedelta(days=1)
    assert store.append("a@x.org", "inbox", msg, internal_date=later)[1] == 2
    assert store.folder("a@x.org", INBOX).items[1].internal_date == later


def test_append_to_missing_folder(store: MailStore) -> None:
    with store_error("TRYCREATE"):
        store.append("a@x.org", "New", message())
    validity, uid = store.append("a@x.org", "New", message(), create=True)
    assert store.folder("a@x.org", "New").uidvalidity == validity
    assert uid == 1


def test_set_flags_modes(store: MailStore) -> None:
    uids = [store.append("a@x.org", INBOX, message(str(n)))[1] for n in range(3)]
    items = store.set_flags("a@x.org", INBOX, uids[:2], ["\\Seen", "\\Flagged"], "add")
    assert [i.uid for i in items] == uids[:2]
    assert all(i.flags == {"\\Seen", "\\Flagged"} for i in items)
    items = store.set_flags("a@x.org", INBOX, [uids[0]], ["\\Seen"], "remove")
    assert items[0].flags == {"\\Flagged"}
    items = store.set_flags("a@x.org", INBOX, uids, ["$x"], "replace")
    assert [i.flags for i in items] == [frozenset({"$x"})] * 3
    items = store.set_flags("a@x.org", INBOX, [uids[2], 99], [], "replace")
    assert [(i.uid, i.flags) for i in items] == [(uids[2], frozenset())]
    final = store.folder("a@x.org", INBOX).items
    assert [i.flags for i in final] == [{"$x"}, {"$x"}, frozenset()]


def test_set_flags_changes_modseq_only_when_flags_change(store: MailStore) -> None:
    _, uid = store.append("a@x.org", INBOX, message())
    version = store.version
    first = store.set_flags("a@x.org", INBOX, [uid], ["\\Seen"], "add")[0]
    assert store.version == version + 1
    again = store.set_flags("a@x.org", INBOX, [uid], ["\\Seen"], "add")[0]
    assert again.modseq == first.modseq
    assert store.version == version + 1
    assert store.folder("a@x.org", INBOX).modseq == first.modseq


def test_set_flags_unchanged_since(store: MailStore) -> None:
    _, uid = store.append("a@x.org", INBOX, message())
    item = store.folder("a@x.org", INBOX).items[0]
    changed = store.set_flags(
        "a@x.org", INBOX, [uid], ["\\Seen"], "add", unchanged_since=item.modseq
    )[0]
    assert changed.flags == {"\\Seen"}
    refused = store.set_flags(
        "a@x.org", INBOX, [uid], ["\\Deleted"], "add", unchanged_since=item.modseq
    )[0]
    assert refused == changed  # modified since: left alone (RFC 7162 §3.1.3)


def test_snapshots_do_not_change(store: MailStore) -> None:
    _, uid = store.append("a@x.org", INBOX, message())
    before = store.folder("a@x.org", INBOX)
    store.set_flags("a@x.org", INBOX, [uid], ["\\Seen"], "add")
    store.append("a@x.org", INBOX, message())
    assert before.items[0].flags == frozenset()
    assert len(before) == 1
    assert before.uids == (1,)


def test_set_flags_missing_folder(store: MailStore) -> None:
    with store_error("NONEXISTENT"):
        store.set_flags("a@x.org", "Nope", [1], ["\\Seen"], "add")


def test_expunge(store: MailStore) -> None:
    uids = [store.append("a@x.org", INBOX, message(str(n)))[1] for n in range(4)]
    assert store.expunge("a@x.org", INBOX, [uids[3], uids[1], 42, uids[1]]) == (uids[1], uids[3])
    assert store.folder("a@x.org", INBOX).uids == (uids[0], uids[2])
    version = store.version
    assert store.expunge("a@x.org", INBOX, [42]) == ()
    assert store.version == version  # nothing removed, nothing changed
    # UIDs are never reused (RFC 3501 §2.3.1.1).
    assert store.append("a@x.org", INBOX, message())[1] == uids[3] + 1
    with store_error("NONEXISTENT"):
        store.expunge("a@x.org", "Nope", [1])


def test_copy_keeps_flags_and_gives_new_uids(store: MailStore) -> None:
    store.append("a@x.org", "Archive", message("filler"))
    uids = [store.append("a@x.org", INBOX, message(str(n)))[1] for n in range(3)]
    store.set_flags("a@x.org", INBOX, [uids[1]], ["\\Seen"], "add")
    validity, pairs = store.copy("a@x.org", INBOX, [uids[2], uids[1], 99], "Archive")
    archive = store.folder("a@x.org", "Archive")
    assert validity == archive.uidvalidity
    assert pairs == [(uids[1], 2), (uids[2], 3)]
    assert [i.flags for i in archive.items[1:]] == [{"\\Seen"}, frozenset()]
    assert [i.message.subject for i in archive.items] == ["filler", "1", "2"]
    assert store.folder("a@x.org", INBOX).uids == tuple(uids)  # copy keeps the source
    copied = archive.items[1]
    original = store.folder("a@x.org", INBOX).items[1]
    assert copied.internal_date == original.internal_date
    assert copied.message is original.message


def test_move_removes_from_source(store: MailStore) -> None:
    uids = [store.append("a@x.org", INBOX, message(str(n)))[1] for n in range(3)]
    modseq = store.folder("a@x.org", INBOX).modseq
    _, pairs = store.copy("a@x.org", INBOX, [uids[0], uids[2]], "Trash", move=True)
    assert pairs == [(uids[0], 1), (uids[2], 2)]
    inbox = store.folder("a@x.org", INBOX)
    assert inbox.uids == (uids[1],)
    assert inbox.modseq > modseq
    assert [i.message.subject for i in store.folder("a@x.org", "Trash").items] == ["0", "2"]


def test_copy_errors_and_empty_copy(store: MailStore) -> None:
    _, uid = store.append("a@x.org", INBOX, message())
    with store_error("TRYCREATE"):
        store.copy("a@x.org", INBOX, [uid], "Missing")
    with store_error("NONEXISTENT"):
        store.copy("a@x.org", "Missing", [uid], INBOX)
    version = store.version
    assert store.copy("a@x.org", INBOX, [77], "Trash")[1] == []
    assert store.version == version


def test_refusals_make_no_account(store: MailStore) -> None:
    # A refused call changes nothing, not even by making the account it named.
    changes: list[Change] = []
    store.add_listener(changes.append)
    with store_error("TRYCREATE"):
        store.append("new@x.org", "Nope", message())
    with store_error("ALREADYEXISTS"):
        store.create_folder("new@x.org", "Sent")
    with store_error("NONEXISTENT"):
        store.delete_folder("new@x.org", "Nope")
    with store_error("NONEXISTENT"):
        store.rename_folder("new@x.org", INBOX, "Old")
    with store_error("CANNOT"):
        store.delete_folder("new@x.org", INBOX)
    assert (store.accounts, changes, store.version) == ((), [], 0)
    # Writing into a new address still makes its account.
    store.append("new@x.org", "Sent", message())
    assert store.accounts == ("new@x.org",)
    assert changes == [Change(frozenset({"new@x.org"}))]


def test_uidvalidity_never_repeats_across_clear() -> None:
    store = MailStore()
    seen: set[int] = set()
    for _ in range(3):
        store.record(b"x\r\n", envelope("a@x.org"), ["a@x.org"])
        store.create_folder("a@x.org", "Extra")
        validities = [f.uidvalidity for f in store.folders("a@x.org")]
        assert not seen & set(validities)
        seen.update(validities)
        store.clear()
        assert store.messages == ()
        assert store.accounts == ()
    assert all(0 < v < 2**32 for v in seen)


def test_uidvalidity_differs_between_stores() -> None:
    # A server made again (e.g. per test on a fixed port) must not reuse UIDVALIDITYs either.
    validities = []
    for store in (MailStore(), MailStore()):
        store.ensure_account("a@x.org")
        store.create_folder("a@x.org", "Extra")
        validities.append({f.uidvalidity for f in store.folders("a@x.org")})
    first, second = validities
    assert len(first) == len(second) == len(DEFAULT_FOLDERS) + 1
    assert not first & second


def test_clear_notifies(store: MailStore) -> None:
    changes: list[Change] = []
    store.record(b"x\r\n", envelope("a@x.org"), ["a@x.org"])
    store.add_listener(changes.append)
    store.clear()
    assert changes == [Change(frozenset(), is_clear=True)]


# ------------------------------------------------------------------ \Recent


def test_claim_recent_exactly_once(store: MailStore) -> None:
    for n in range(3):
        store.append("a@x.org", INBOX, message(str(n)))
    assert store.claim_recent("a@x.org", INBOX) == {1, 2, 3}
    assert store.claim_recent("a@x.org", INBOX) == frozenset()
    store.append("a@x.org", INBOX, message())
    store.copy("a@x.org", "Sent", [], INBOX)
    store.append("a@x.org", "Sent", message())
    store.copy("a@x.org", "Sent", [1], INBOX)
    assert store.claim_recent("a@x.org", INBOX) == {4, 5}
    assert store.folder("a@x.org", INBOX).recent_mark == 5
    store.expunge("a@x.org", INBOX, [4, 5])
    assert store.claim_recent("a@x.org", INBOX) == frozenset()
    with store_error("NONEXISTENT"):
        store.claim_recent("a@x.org", "Missing")


def test_claim_recent_races_give_each_uid_to_one_claimant(store: MailStore) -> None:
    claims: list[frozenset[int]] = []
    claims_lock = threading.Lock()
    stop = threading.Event()

    def claimant() -> None:
        while not stop.is_set():
            got = store.claim_recent("a@x.org", INBOX)
            with claims_lock:
                claims.append(got)

    store.ensure_account("a@x.org")
    threads = [threading.Thread(target=claimant) for _ in range(4)]
    for thread in threads:
        thread.start()
    for n in range(300):
        store.append("a@x.org", INBOX, message(str(n)))
    stop.set()
    for thread in threads:
        thread.join(JOIN_TIMEOUT)
    claims.append(store.claim_recent("a@x.org", INBOX))
    claimed = [uid for claim in claims for uid in claim]
    assert sorted(claimed) == list(range(1, 301))


# ------------------------------------------------------------------ POP3 maildrop lock


def test_maildrop_lock(store: MailStore) -> None:
    assert store.lock_maildrop("a@X.org")
    assert not store.has_account("a@x.org")  # the lock alone creates no account
    assert not store.lock_maildrop("a@x.org")
    assert store.lock_maildrop("b@x.org")
    store.unlock_maildrop("b@x.org")
    assert not store.lock_maildrop("<a@x.ORG>")
    store.unlock_maildrop("a@x.ORG")
    assert store.lock_maildrop("a@x.org")
    store.unlock_maildrop("a@x.org")
    store.unlock_maildrop("a@x.org")  # releasing twice is harmless


# ------------------------------------------------------------------ notification


def test_listener_receives_touched_accounts(store: MailStore) -> None:
    changes: list[Change] = []
    remove = store.add_listener(changes.append)
    store.record(b"x\r\n", envelope("a@x.org"), ["a@X.org", "b@x.org"])
    store.append("c@x.org", INBOX, message())
    store.subscribe("c@x.org", "Foo")
    remove()
    store.append("c@x.org", INBOX, message())
    assert changes == [
        Change(frozenset({"a@x.org", "b@x.org"}), new=("1",)),  # the transaction's ID
        Change(frozenset({"c@x.org"})),
        Change(frozenset({"c@x.org"})),  # the subscription
    ]


def test_listener_runs_without_the_lock(store: MailStore) -> None:
    # A listener handing work to another thread that uses the store must not deadlock:
    # the store's lock is released before listeners run (invariant 3).
    results: list[int] = []

    def listener(change: Change) -> None:
        if change.is_clear:
            return
        worker = threading.Thread(target=lambda: results.append(len(store.messages)))
        worker.start()
        worker.join(JOIN_TIMEOUT)
        assert not worker.is_alive(), "the store lock is held while listeners run"

    store.add_listener(listener)
    store.record(b"x\r\n", envelope("a@x.org"), ["a@x.org"])
    store.append("a@x.org", INBOX, message())
    assert results == [1, 1]


def test_listener_may_call_the_store(store: MailStore) -> None:
    seen: list[int] = []

    def listener(change: Change) -> None:
        for address in change.accounts:
            seen.append(len(store.folder(address, INBOX)))

    store.add_listener(listener)
    store.record(b"x\r\n", envelope("a@x.org"), ["a@x.org"])
    assert seen == [1]


def test_wait_wakes_on_change_from_another_thread(store: MailStore) -> None:
    started = threading.Event()

    def writer() -> None:
        started.wait(JOIN_TIMEOUT)
        store.record(b"x\r\n", envelope("a@x.org"), ["a@x.org"])

    thread = threading.Thread(target=writer)
    thread.start()
    started.set()
    try:
        assert store.wait(lambda: len(store.messages) == 1, JOIN_TIMEOUT)
    finally:
        thread.join(JOIN_TIMEOUT)


def test_wait_times_out(store: MailStore) -> None:
    assert not store.wait(lambda: bool(store.messages), 0.01)


def test_version_counts_mutations(store: MailStore) -> None:
    versions = [store.version]
    store.record(b"x\r\n", envelope("a@x.org"), ["a@x.org"])
    versions.append(store.version)
    store.create_folder("a@x.org", "F")
    versions.append(store.version)
    store.rename_folder("a@x.org", "F", "G")
    versions.append(store.version)
    store.delete_folder("a@x.org", "G")
    versions.append(store.version)
    store.clear()
    versions.append(store.version)
    assert versions == sorted(set(versions))


# ------------------------------------------------------------------ concurrency


def test_concurrent_delivery_reads_flags_and_expunge() -> None:
    store = MailStore()
    writers, per_writer = 4, 150
    recipients = ["a@x.org", "b@x.org"]
    for address in recipients:
        store.ensure_account(address)
    errors: list[BaseException] = []
    done = threading.Event()
    expunged: dict[str, set[int]] = {address: set() for address in recipients}
    expunged_lock = threading.Lock()

    def guard(target: object) -> threading.Thread:
        def run() -> None:
            try:
                target()  # type: ignore[operator]
            except BaseException as error:  # pragma: no cover - reported below
                errors.append(error)

        return threading.Thread(target=run)

    def deliver(n: int) -> None:
        for i in range(per_writer):
            store.record(f"{n}-{i}\r\n".encode(), envelope(*recipients), recipients)

    def reader() -> None:
        while not done.is_set():
            for address in recipients:
                snapshot = store.folder(address, INBOX)
                uids = snapshot.uids
                assert list(uids) == sorted(set(uids))
                assert all(uid < snapshot.uidnext for uid in uids)
            seqs = [m.seq for m in store.messages]
            assert seqs == sorted(set(seqs))

    def flagger() -> None:
        while not done.is_set():
            for address in recipients:
                uids = store.folder(address, INBOX).uids[::3]
                store.set_flags(address, INBOX, uids, ["\\Seen"], "add")

    def expunger() -> None:
        while not done.is_set():
            for address in recipients:
                uids = store.folder(address, INBOX).uids[::7]
                removed = store.expunge(address, INBOX, uids)
                with expunged_lock:
                    assert not expunged[address] & set(removed), "expunged twice"
                    expunged[address].update(removed)

    delivery = [guard(lambda n=n: deliver(n)) for n in range(writers)]
    others = [guard(reader), guard(reader), guard(flagger), guard(expunger)]
    for thread in [*others, *delivery]:
        thread.start()
    for thread in delivery:
        thread.join(JOIN_TIMEOUT)
    done.set()
    for thread in others:
        thread.join(JOIN_TIMEOUT)
    assert not any(t.is_alive() for t in [*delivery, *others])
    assert errors == []

    total = writers * per_writer
    messages = store.messages
    assert len(messages) == total
    assert [m.seq for m in messages] == list(range(1, total + 1))
    assert len({m.raw for m in messages}) == total
    for address in recipients:
        snapshot = store.folder(address, INBOX)
        uids = list(snapshot.uids)
        assert uids == sorted(set(uids))
        assert snapshot.uidnext == total + 1  # every delivery got a UID, none twice
        assert set(uids) | expunged[address] == set(range(1, total + 1))
        assert not set(uids) & expunged[address]
        # Each transaction is in the folder at most once, and kept ones are all there.
        kept = [item.message.seq for item in snapshot.items]
        assert len(kept) == len(set(kept))
        assert kept == sorted(kept)
