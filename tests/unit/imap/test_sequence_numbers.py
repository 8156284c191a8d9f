"""Message sequence numbers across concurrent IMAP sessions (hypothesis stateful testing).

Several sessions have one INBOX selected while mail arrives and is flagged and expunged by
them and by the test API. Each simulated client keeps the UID list it can infer from what its
session told it (``EXISTS`` extends it, ``* n EXPUNGE`` removes the n-th entry, RFC 3501
§7.4.1) and never anything else. After any step, a ``FETCH 1:* (UID)`` must agree with that
list, and after a ``NOOP`` the list must be the folder's UIDs in the store: a wrong or
misordered number, or a message reported twice or never, shows up as a mismatch.
"""

from __future__ import annotations

import re

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from fakemail._backend import Backend
from fakemail._config import Options
from fakemail._store import INBOX

from .test_session import USER, Client, deliver

SESSIONS = 3
SESSION = st.integers(0, SESSIONS - 1)
_UNTAGGED = re.compile(rb"\* (\d+) (EXISTS|EXPUNGE|RECENT|FETCH)\b(.*)")
_UID = re.compile(rb"\bUID (\d+)")


class View:
    """A client's picture of its selected INBOX: UIDs by sequence number (``None`` = a
    message it was told exists but has not fetched yet)."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.uids: list[int | None] = []
        self.idling = False

    def hear(self, data: bytes, *, expunges_allowed: bool = True) -> None:
        """Apply the untagged responses in ``data``, in order."""
        for line in data.split(b"\r\n"):
            match = _UNTAGGED.match(line)
            if match is None:
                continue
            number, kind = int(match[1]), match[2]
            if kind == b"EXISTS":
                # RFC 3501 §7.3.1: EXISTS never shrinks the mailbox; EXPUNGE does that.
                assert number >= len(self.uids), (number, self.uids)
                self.uids.extend([None] * (number - len(self.uids)))
            elif kind == b"EXPUNGE":
                # §7.4.1: not during FETCH, STORE or SEARCH, where numbers must hold still.
                assert expunges_allowed, line
                assert 1 <= number <= len(self.uids), (number, self.uids)
                del self.uids[number - 1]
            elif kind == b"FETCH":
                assert 1 <= number <= len(self.uids), (number, self.uids)
                uid = _UID.search(match[3])
                if uid is not None:
                    known = self.uids[number - 1]
                    assert known in (None, int(uid[1])), (number, known, line)
                    self.uids[number - 1] = int(uid[1])

    def command(self, line: str, *, expunges_allowed: bool = True) -> bytes:
        assert not self.idling
        reply = self.client.ok(line)
        self.hear(reply, expunges_allowed=expunges_allowed)
        return reply


class SequenceNumbers(RuleBasedStateMachine):
    """Sessions on one INBOX, the store behind them, and each client's inferred view."""

    def __init__(self) -> None:
        super().__init__()
        self.backend = Backend(Options())
        self.store = self.backend.store
        self.store.ensure_account(USER)
        self.views: list[View] = []
        for _ in range(SESSIONS):
            view = View(Client(self.backend))
            view.client.login()
            view.hear(view.client.select())
            self.views.append(view)

    def changed(self) -> None:
        """What the trio host does on a store change: idling sessions report at once."""
        for view in self.views:
            if view.idling:
                view.client.hosted.store_changed()
                view.hear(view.client.hosted.data_to_send())

    def ready(self, n: int) -> View:
        """Session ``n``, out of IDLE if it was idling (DONE ends it, RFC 2177)."""
        view = self.views[n]
        if view.idling:
            reply = view.client.send(b"DONE\r\n")
            assert reply.endswith(b"i OK IDLE terminated\r\n"), reply
            view.idling = False
            view.hear(reply)
        return view

    @staticmethod
    def pick(view: View, picks: list[int]) -> str:
        """A sequence set of numbers the client knows (RFC 3501 §9 sequence-set)."""
        count = len(view.uids)
        return ",".join(str(p % count + 1) for p in picks) if count else ""

    # ------------------------------------------------------------------ rules

    @rule(count=st.integers(1, 3))
    def mail_arrives(self, count: int) -> None:
        for _ in range(count):
            deliver(self.backend)
        self.changed()

    @rule(n=SESSION, picks=st.lists(st.integers(0, 99), min_size=1, max_size=3))
    def session_deletes(self, n: int, picks: list[int]) -> None:
        view = self.ready(n)
        numbers = self.pick(view, picks)
        if not numbers:
            return
        view.command(f"s STORE {numbers} +FLAGS.SILENT (\\Deleted)", expunges_allowed=False)
        self.changed()

    @rule(n=SESSION)
    def session_expunges(self, n: int) -> None:
        self.ready(n).command("e EXPUNGE")
        self.changed()

    @rule(n=SESSION, picks=st.lists(st.integers(0, 99), min_size=1, max_size=3))
    def session_moves(self, n: int, picks: list[int]) -> None:
        view = self.ready(n)
        numbers = self.pick(view, picks)
        if numbers:
            view.command(f"m MOVE {numbers} Archive")  # RFC 6851 §3.3: EXPUNGE for each
            self.changed()

    @rule(picks=st.lists(st.integers(0, 99), min_size=1, max_size=3))
    def test_api_expunges(self, picks: list[int]) -> None:
        uids = self.store.folder(USER, INBOX).uids
        if uids:
            self.store.expunge(USER, INBOX, [uids[p % len(uids)] for p in picks])
            self.changed()

    @rule(n=SESSION, picks=st.lists(st.integers(0, 99), min_size=1, max_size=3))
    def session_fetches(self, n: int, picks: list[int]) -> None:
        view = self.ready(n)
        numbers = self.pick(view, picks)
        if numbers:
            view.command(f"f FETCH {numbers} (UID FLAGS)", expunges_allowed=False)

    @rule(n=SESSION)
    def session_searches(self, n: int) -> None:
        self.ready(n).command("r SEARCH ALL", expunges_allowed=False)

    @precondition(lambda self: not all(v.idling for v in self.views))
    @rule(n=SESSION)
    def session_idles(self, n: int) -> None:
        view = self.ready(n)
        reply = view.client.cmd("i IDLE")
        assert reply.startswith(b"+ idling\r\n"), reply
        view.hear(reply)  # what changed since the last command may follow at once
        view.idling = True

    @rule(n=SESSION)
    def session_syncs(self, n: int) -> None:
        view = self.ready(n)
        view.command("n NOOP")
        if view.uids:  # "1:*" of an empty mailbox is a BAD sequence set
            view.command("u FETCH 1:* (UID)", expunges_allowed=False)
        assert view.uids == list(self.store.folder(USER, INBOX).uids)

    # ------------------------------------------------------------------ invariants

    @invariant()
    def every_view_agrees_with_its_session(self) -> None:
        for view in self.views:
            if view.idling or not view.uids:
                continue
            known = [uid for uid in view.uids if uid is not None]
            reply = view.command("c FETCH 1:* (UID)", expunges_allowed=False)
            # Every message the client counts, and no other, answered with its UID (new mail
            # may be announced first: RFC 3501 §7.3.1 allows EXISTS at any time).
            answered = {int(m[1]) for m in re.finditer(rb"^\* (\d+) FETCH \(", reply, re.M)}
            assert answered == set(range(1, len(view.uids) + 1))
            assert None not in view.uids
            assert view.uids == sorted(set(view.uids))  # UIDs ascend with numbers (§2.3.1.1)
            assert set(known) <= set(view.uids)


SequenceNumbers.TestCase.settings = settings(max_examples=60, stateful_step_count=30)
TestSequenceNumbers = SequenceNumbers.TestCase
