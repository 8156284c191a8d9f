"""The store's transaction state (the HTTP API's model): IDs, read state, tags, deletion, and
how they mirror \\Seen and keywords on the mailbox copies."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fakemail._message import Envelope
from fakemail._store import INBOX, Change, MailStore
from fakemail._tags import clean_tag, clean_tags, initial_tags, is_keyword


def _envelope(*recipients: str) -> Envelope:
    return Envelope(sender="app@example.com", recipients=recipients)


def _record(store: MailStore, raw: bytes = b"Subject: x\r\n\r\nx\r\n", *to: str) -> str:
    recipients = to or ("a@x.org",)
    store.record(raw, _envelope(*recipients), recipients)
    return store.transactions[-1].id


@pytest.fixture
def store() -> MailStore:
    return MailStore()


def _flags(store: MailStore, address: str) -> list[frozenset[str]]:
    return [item.flags for item in store.folder(address, INBOX).items]


def test_ids_are_unique_strings_never_reused(store: MailStore) -> None:
    first = _record(store)
    second = _record(store)
    store.clear()
    third = _record(store)
    assert len({first, second, third}) == 3
    assert all(isinstance(i, str) for i in (first, second, third))
    assert store.transaction(first) is None
    found = store.transaction(third)
    assert found is not None
    assert found.message is store.messages[0]


@pytest.mark.parametrize("bad", ["", "latest", "-1", "1.0", "\u0661"])  # \u0661: Arabic-Indic 1
def test_unknown_ids_find_nothing(store: MailStore, bad: str) -> None:
    _record(store)
    assert store.transaction(bad) is None
    assert store.set_read([bad], True) == ()
    assert store.delete_transactions([bad]) == ()


def test_read_state_mirrors_seen_both_ways(store: MailStore) -> None:
    tx = _record(store, b"x\r\n", "a@x.org", "b@x.org")
    assert store.set_read([tx], True) == (tx,)
    assert store.set_read([tx], True) == ()  # no change, no notification
    assert _flags(store, "a@x.org") == _flags(store, "b@x.org") == [frozenset({"\\Seen"})]
    # An IMAP client clearing \Seen on one copy makes the transaction unread; the other copy
    # is that account's own business.
    store.set_flags("a@x.org", INBOX, [1], ["\\Seen"], "remove")
    state = store.transaction(tx)
    assert state is not None
    assert not state.read
    assert _flags(store, "b@x.org") == [frozenset({"\\Seen"})]
    # Flag changes that leave \Seen alone leave the read state alone.
    store.set_flags("b@x.org", INBOX, [1], ["\\Flagged"], "add")
    state = store.transaction(tx)
    assert state is not None
    assert not state.read


def test_tags_from_x_tags_and_plus_addressing() -> None:
    raw = b"X-Tags: Invoice, urgent,  invoice ,bad<chars>\r\nSubject: x\r\n\r\nbody\r\n"
    tags = initial_tags(raw, _envelope("bob+signup@x.org", "plain@x.org"))
    assert tags == ("bad chars", "Invoice", "signup", "urgent")
    assert initial_tags(b"Subject: x\r\n\r\nX-Tags: no\r\n", _envelope("a@x.org")) == ()


def test_tags_become_keywords_and_back(store: MailStore) -> None:
    tx = _record(store, b"X-Tags: one, two words\r\n\r\nx\r\n", "a@x.org")
    # Arrival tags that are atoms are keywords of the copies; "two words" cannot be one.
    assert _flags(store, "a@x.org") == [frozenset({"one"})]
    store.set_tags([tx], ["Blue", "green"])
    assert _flags(store, "a@x.org") == [frozenset({"Blue", "green"})]
    store.set_flags("a@x.org", INBOX, [1], ["$Forwarded"], "add")
    store.set_flags("a@x.org", INBOX, [1], ["Blue"], "remove")
    state = store.transaction(tx)
    assert state is not None
    assert state.tags == ("$Forwarded", "green")
    assert store.delete_tag("$forwarded") == (tx,)
    assert store.rename_tag("GREEN", "teal") == (tx,)
    state = store.transaction(tx)
    assert state is not None
    assert state.tags == ("teal",)
    assert _flags(store, "a@x.org") == [frozenset({"teal"})]


def test_delete_expunges_every_copy(store: MailStore) -> None:
    keep = _record(store, b"1\r\n", "a@x.org")
    gone = _record(store, b"2\r\n", "a@x.org", "b@x.org")
    store.copy("a@x.org", INBOX, [2], "Archive")
    assert store.delete_transactions([gone, "404"]) == (gone,)
    assert [t.id for t in store.transactions] == [keep]
    assert [m.raw for m in store.messages] == [b"1\r\n"]
    assert store.folder("a@x.org", INBOX).uids == (1,)
    assert len(store.folder("a@x.org", "Archive")) == 0
    assert len(store.folder("b@x.org", INBOX)) == 0


def test_changes_say_what_changed(store: MailStore) -> None:
    changes: list[Change] = []
    store.add_listener(changes.append)
    one = _record(store, b"1\r\n", "a@x.org")
    two = _record(store, b"2\r\n", "a@x.org")
    store.set_read([one], True)
    store.delete_transactions([one])
    store.delete_transactions(None)
    assert [c.new for c in changes] == [(one,), (two,), (), (), ()]
    assert changes[2].updated == (one,)
    assert changes[2].accounts == {"a@x.org"}
    assert changes[3].deleted == (one,)
    assert not changes[3].truncated
    assert changes[4].deleted == (two,)
    assert changes[4].truncated


@given(st.text())
def test_clean_tag_keeps_only_allowed_characters(name: str) -> None:
    tag = clean_tag(name)
    assert tag == tag.strip()
    assert "  " not in tag
    assert all(c.isascii() and (c.isalnum() or c in "-_. ") for c in tag)
    assert clean_tag(tag) == tag


@given(st.lists(st.text()))
def test_clean_tags_are_sorted_and_unique(names: list[str]) -> None:
    tags = clean_tags(names)
    assert list(tags) == sorted(tags, key=str.lower)
    assert len({t.lower() for t in tags}) == len(tags)
    assert all(tags)


def test_keywords() -> None:
    assert is_keyword("$Forwarded")
    assert is_keyword("one")
    assert not is_keyword("two words")
    assert not is_keyword("\\Seen")
    assert not is_keyword("")
