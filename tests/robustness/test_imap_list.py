"""LIST and LSUB against hostile patterns and many folders (issue 11 §1, §5): pattern matching
is linear in the name, LIST O(n log n) in the folders; both were exponential / quadratic and
blocked every IMAP and POP3 session meanwhile (they share one thread)."""

from __future__ import annotations

import time

from fakemail._server import MailServer

from ._sansio import ImapDriver
from .conftest import Clients

USER = "user@example.com"


def test_near_miss_patterns(server: MailServer, clients: Clients) -> None:
    server.store.ensure_account(USER)
    server.store.create_folder(USER, "a" * 40)
    server.store.subscribe(USER, "a" * 40)
    imap = clients.imap(server)
    assert b"OK" in imap.command(f"a LOGIN {USER} x".encode())
    # As regexes, these took hours; with the "*********q", ~6 s.
    for pattern in (b"*********q", b"*a" * 30 + b"q", b"%a" * 30 + b"q"):
        assert imap.command(b'b LIST "" "' + pattern + b'"') == b"b OK LIST completed\r\n"
        assert imap.command(b'c LSUB "" "' + pattern + b'"') == b"c OK LSUB completed\r\n"
    listed = imap.command(b'd LIST "" "*a*a*a*a"')
    assert listed == b'* LIST (\\HasNoChildren) "/" "' + b"a" * 40 + b'"\r\nd OK LIST completed\r\n'


def list_cpu_seconds(folders: int) -> float:
    """CPU time of one ``LIST "" *`` over ``folders`` folders (100 per parent)."""
    imap = ImapDriver()
    store = imap.backend.store
    store.ensure_account(USER)
    for index in range(folders):
        store.create_folder(USER, f"p{index // 100}/c{index}")
    imap.login(USER)
    start = time.thread_time()
    out = imap.send(b'b LIST "" *\r\n')
    spent = time.thread_time() - start
    assert out.count(b"* LIST ") > folders  # and the parents, INBOX and the special folders
    return spent


def test_list_is_not_quadratic_in_the_folders() -> None:
    # 11,000 folders took ~20 s (191 s on a loaded machine). Compare CPU times of 1,000 and
    # 8,000 folders: O(n log n) gives ~9x, quadratic ~64x; allow 25x for noise.
    list_cpu_seconds(100)  # warm up
    small = min(list_cpu_seconds(1000) for _ in range(3))
    large = list_cpu_seconds(8000)
    assert large < 25 * small, f"LIST of 8,000 folders took {large / small:.1f}x 1,000's"
