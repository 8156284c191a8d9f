"""MailStore.dump() and load(): a store's state saved and loaded again (the data directory)."""

from __future__ import annotations

from dataclasses import replace

from fakemail._message import Envelope
from fakemail._store import INBOX, MailStore

RAW = b"Subject: hi\r\n\r\nhello\r\n"


def _filled() -> MailStore:
    store = MailStore()
    message = store.record(RAW, Envelope("a@example.com", ("b@example.com",)), ["b@example.com"])
    store.create_folder("b@example.com", "Projects")
    store.copy("b@example.com", INBOX, [1], "Projects")
    store.set_flags("b@example.com", INBOX, [1], ["\\Seen"], "add")
    store.subscribe("b@example.com", "Junk", subscribed=False)
    assert message.seq == 1
    return store


def test_load_gives_back_what_dump_took() -> None:
    source = _filled()
    state = source.dump()
    target = MailStore()
    target.load(state)
    assert target.dump() == state
    assert target.messages == source.messages
    assert target.subscriptions("b@example.com") == source.subscriptions("b@example.com")


def test_dump_only_peeks_at_the_next_number() -> None:
    store = _filled()
    assert store.dump().next_seq == store.dump().next_seq == 2
    assert store.next_message_seq() == 2


def test_after_load_numbers_and_uidvalidities_stay_above_the_loaded_ones() -> None:
    state = _filled().dump()
    inbox = state.accounts[0].folders[0]
    far = replace(inbox, uidvalidity=0x3FFFFFFF + 5)  # above anything the clock gives now
    account = replace(state.accounts[0], folders=(far, *state.accounts[0].folders[1:]))
    store = MailStore()
    store.load(replace(state, accounts=(account,), next_seq=1))
    # Arrival numbers continue above every loaded message, whatever next_seq said.
    assert store.next_message_seq() == 2
    store.delete_folder("b@example.com", "Projects")
    store.create_folder("b@example.com", "Projects")
    assert store.folder("b@example.com", "Projects").uidvalidity > far.uidvalidity


def test_a_folder_loaded_without_uidvalidity_gets_one() -> None:
    state = _filled().dump()
    folders = tuple(replace(f, uidvalidity=0) for f in state.accounts[0].folders)
    store = MailStore()
    store.load(replace(state, accounts=(replace(state.accounts[0], folders=folders),)))
    values = [f.uidvalidity for f in store.folders("b@example.com")]
    assert all(values)
    assert len(set(values)) == len(values)


def test_load_tells_the_listeners() -> None:
    store = MailStore()
    changes = []
    store.add_listener(changes.append)
    store.load(_filled().dump())
    assert len(changes) == 1
    assert changes[0].is_clear
    assert changes[0].accounts == frozenset({"b@example.com"})
