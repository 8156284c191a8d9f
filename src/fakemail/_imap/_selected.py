"""IMAP selected-state commands other than FETCH, STORE and SEARCH, and IDLE.

CHECK, CLOSE, UNSELECT (RFC 3691), EXPUNGE and UID EXPUNGE (RFC 4315), COPY and MOVE
(RFC 6851), IDLE (RFC 2177).
"""

from __future__ import annotations

from fakemail._imap._events import (
    Check,
    Close,
    Copy,
    Done,
    Expunge,
    Idle,
    Move,
    SequenceSet,
    Unselect,
)
from fakemail._imap._response import Continuation, Response, Tagged, UntaggedStatus, shown
from fakemail._imap._view import DELETED, SessionBase, norm_mailbox
from fakemail._store import StoreError

__all__ = ["SelectedCommands"]


class SelectedCommands(SessionBase):
    """Closing, expunging, copying and moving in the selected mailbox; IDLE."""

    def _check(self, cmd: Check, out: list[Response]) -> Tagged:
        return Tagged(cmd.tag, "OK", "CHECK completed")

    def _close(self, cmd: Close, out: list[Response]) -> Tagged:
        view = self._selected_view()
        self._deselect()
        if not view.readonly:
            # RFC 3501 §6.4.2: expunge silently; no untagged EXPUNGE.
            store = self.backend.store
            try:
                snap = store.folder(self._user(), view.name)
                if snap.uidvalidity == view.uidvalidity:
                    doomed = [i.uid for i in snap.items if DELETED in i.flags]
                    if doomed:
                        store.expunge(self._user(), view.name, doomed)
            except StoreError:
                pass  # the mailbox went away meanwhile: nothing to expunge
        return Tagged(cmd.tag, "OK", "CLOSE completed")

    def _unselect(self, cmd: Unselect, out: list[Response]) -> Tagged:
        self._deselect()
        return Tagged(cmd.tag, "OK", "UNSELECT completed")

    def _expunge(self, cmd: Expunge, out: list[Response]) -> Tagged:
        view = self._selected_view()
        if view.readonly:
            return Tagged(cmd.tag, "NO", "mailbox is read-only", "READ-ONLY")
        store = self.backend.store
        snap = store.folder(self._user(), view.name)
        current = {i.uid: i for i in snap.items}
        largest = view.largest_uid
        doomed = [
            uid
            for uid in view.uids
            if uid in current
            and DELETED in current[uid].flags
            and (cmd.uid_set is None or cmd.uid_set.contains(uid, largest))
        ]
        removed = store.expunge(self._user(), view.name, doomed) if doomed else ()
        self._report_expunged(view, set(removed), out)
        return Tagged(cmd.tag, "OK", "EXPUNGE completed")

    def _copy_or_move(self, cmd: Copy | Move, out: list[Response], move: bool) -> Tagged:
        view = self._selected_view()
        if move and view.readonly:
            return Tagged(cmd.tag, "NO", "mailbox is read-only", "READ-ONLY")
        targets = self._resolve(view, cmd.sequence_set, cmd.uid)
        if targets is None:
            return self._bad_set(cmd.tag)
        uids = [u for _, u in targets if u not in view.ghosts]
        try:
            uidvalidity, pairs = self.backend.store.copy(
                self._user(), view.name, uids, norm_mailbox(cmd.mailbox), move=move
            )
        except StoreError as error:
            if error.code == "TRYCREATE":
                return Tagged(cmd.tag, "NO", f"no mailbox {shown(cmd.mailbox)}", "TRYCREATE")
            raise
        code = None
        if pairs:
            # RFC 4315 §3: the two sets correspond pairwise, in ascending UID order.
            source = SequenceSet.from_numbers(p[0] for p in pairs)
            target = SequenceSet.from_numbers(p[1] for p in pairs)
            code = f"COPYUID {uidvalidity} {source} {target}"
        if move:
            # RFC 6851 §4.3: COPYUID in an untagged OK, before the EXPUNGEs.
            if code is not None:
                out.append(UntaggedStatus("OK", "moved", code))
            self._report_expunged(view, {p[0] for p in pairs}, out)
            return Tagged(cmd.tag, "OK", "MOVE completed")
        return Tagged(cmd.tag, "OK", "COPY completed", code)

    def _copy(self, cmd: Copy, out: list[Response]) -> Tagged:
        return self._copy_or_move(cmd, out, move=False)

    def _move(self, cmd: Move, out: list[Response]) -> Tagged:
        return self._copy_or_move(cmd, out, move=True)

    def _idle(self, cmd: Idle, out: list[Response]) -> None:
        self.idling = True
        out.append(Continuation("idling"))
        if self._view is not None:
            self._sync(out, flags=True, expunge=True)

    def _done(self, cmd: Done, out: list[Response]) -> Tagged:
        self.idling = False
        return Tagged(cmd.tag, "OK", "IDLE terminated")
