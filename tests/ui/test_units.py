"""The UI's pure helpers: counting remote content, cutting one transaction from a transcript."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from fakemail._web._inspect import transaction_lines
from fakemail._web._remote import count_remote


def test_count_remote_finds_every_kind_of_reference() -> None:
    html = """
    <img src="https://a.example/1.gif"><img src="//b.example/2.gif"><img src="cid:x">
    <img src="data:image/gif;base64,R0lGOD"><table background="http://c.example/bg.png">
    <video poster="https://d.example/p.jpg"></video><img srcset="a.png 1x, https://e/b.png 2x">
    <link rel="stylesheet" href="https://f.example/s.css">
    <style>@import "local.css"; @import 'https://i.example/s.css';
      body { background: url('https://g.example/i.png') }</style>
    <p style="background-image: url(http://h.example/j.png)">text</p>
    <a href="https://links.example/are-not-content">link</a>
    """
    assert count_remote(html) == 9


def test_count_remote_of_local_only_html_is_zero() -> None:
    assert count_remote('<img src="cid:logo"><a href="https://x.example">x</a>') == 0


@given(st.text())
def test_count_remote_never_fails(html: str) -> None:
    assert count_remote(html) >= 0


SESSION = [
    "--- smtp session #1 from 127.0.0.1:5000 at 10:00:00.000",
    "S: 220 localhost fakemail ESMTP",
    "C: EHLO client",
    "S: 250 HELP",
    "C: MAIL FROM:<a@example.com>",
    "S: 250 2.1.0 OK",
    "C: DATA",
    "C: Subject: one",
    "S: 250 2.0.0 OK: queued as 7",
    "C: mail FROM:<a@example.com>",
    "C: Subject: two",
    "S: 250 2.0.0 OK: queued as 8",
    "C: QUIT",
    "S: 221 Bye",
]


def test_first_transaction_keeps_the_opening() -> None:
    assert transaction_lines(SESSION, 7) == [
        *SESSION[:9],
        "... 5 more lines of this session not shown",
    ]


def test_later_transaction_skips_earlier_ones() -> None:
    assert transaction_lines(SESSION, 8) == [
        *SESSION[:4],
        "... 5 lines of earlier transactions not shown",
        *SESSION[9:12],
        "... 2 more lines of this session not shown",
    ]


def test_unknown_transaction_gives_the_whole_session() -> None:
    assert transaction_lines(SESSION, 70) == SESSION  # "queued as 7" is not "queued as 70"
