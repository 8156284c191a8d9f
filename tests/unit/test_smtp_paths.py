"""The fast path for plain ``<local@domain>`` MAIL/RCPT arguments agrees with aiosmtpd's parser."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from aiosmtpd.smtp import SMTP
from hypothesis import example, given, settings
from hypothesis import strategies as st

from fakemail._smtp import plain_path


def aiosmtpd_getaddr(arg: str) -> tuple[str | None, str | None]:
    """What aiosmtpd's own (RFC 5322) path parser makes of ``arg``."""
    result: tuple[str | None, str | None] = SMTP._getaddr(  # type: ignore[arg-type]
        SimpleNamespace(local_part_limit=0), arg
    )
    return result


ATEXT = "abcXYZ019!#$%&'*+/=?^_`{|}~-"
atom = st.text(st.sampled_from(ATEXT), min_size=1, max_size=6)
dot_atom = st.lists(atom, min_size=1, max_size=3).map(".".join)
plain = st.builds(
    lambda local, domain, gap, rest: f"<{local}@{domain}>{gap}{rest}",
    dot_atom,
    dot_atom,
    st.text(st.sampled_from(" \t\x0b\x0c\xa0\u2003"), max_size=3),
    st.sampled_from(["", "SIZE=100", "BODY=8BITMIME SMTPUTF8", "X", "(comment) SIZE=1"]),
)
# Near misses: the characters that make a path not plain, anywhere in it, and pieces of
# RFC 2047 encoded words (which aiosmtpd's parser decodes inside an address).
tricky = st.lists(
    st.one_of(
        st.sampled_from([*ATEXT[:6], *'<>@. \t\x0b\xa0()"[]\\:,;é']),
        st.sampled_from(["=?utf-8?q?", "?=", "=?us-ascii?q?a=40b?=", "=?utf-8?b?", "=?"]),
    ),
    max_size=16,
).map("".join)


@settings(max_examples=1000)
@given(st.one_of(plain, tricky))
@example("<a@b.c>")
@example("<=?utf-8?q?x?=@b.c>")
@example("<a@=?utf-8?q?b?=>")
@example("<a@b.c> \x0b(comment) SIZE=10")
@example("<a@b.c> \xa0(c)")
@example("<a@b.c> \x0bSIZE=1")
@example("<a..b@c>")
@example("<.a@b>")
@example("<a@b.>")
@example('<"a b"@c>')
@example("<a@[127.0.0.1]>")
@example("<@relay.example:a@b.c>")
@example("<a@b.c>(comment)")
@example("<a@b.c> (comment) SIZE=1")
@example(" <a@b.c>")
@example("<André@b.c>")
@example("a@b.c")
@example("<>")
def test_plain_path_agrees_with_aiosmtpd(arg: str) -> None:
    fast = plain_path(arg)
    if fast is not None:
        assert fast == aiosmtpd_getaddr(arg)


@pytest.mark.parametrize(
    ("arg", "expected"),
    [
        ("<app@example.com>", ("app@example.com", "")),
        (
            "<first.last+tag@mail.example.org> SIZE=120",
            ("first.last+tag@mail.example.org", "SIZE=120"),
        ),
        ("<u1@example.org>\tBODY=8BITMIME", ("u1@example.org", "BODY=8BITMIME")),
    ],
)
def test_common_paths_take_the_fast_path(arg: str, expected: tuple[str, str]) -> None:
    assert plain_path(arg) == expected == aiosmtpd_getaddr(arg)


@pytest.mark.parametrize(
    "arg",
    [
        "<>",
        "<a@b.c>(comment) X",
        "<a@b.c> \x0b(comment)",
        '<"a b"@c>',
        "<a..b@c>",
        "<@r.example:a@b.c>",
        "<é@b.c>",
        "<=?utf-8?q?bob?=@example.com>",
        "a@b",
    ],
)
def test_everything_else_is_left_to_aiosmtpd(arg: str) -> None:
    assert plain_path(arg) is None
