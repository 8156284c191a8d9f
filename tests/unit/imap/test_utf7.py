"""Modified UTF-7 mailbox names (RFC 3501 §5.1.3)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fakemail._imap._utf7 import decode_mailbox, decode_utf7, encode_mailbox, encode_utf7

# Examples from RFC 3501 §5.1.3 and RFC 2152-style cases.
KNOWN = [
    ("", ""),
    ("INBOX", "INBOX"),
    ("Entw\u00fcrfe", "Entw&APw-rfe"),
    ("\u65e5\u672c\u8a9e", "&ZeVnLIqe-"),
    ("~peter/mail/\u53f0\u5317/\u65e5\u672c\u8a9e", "~peter/mail/&U,BTFw-/&ZeVnLIqe-"),
    ("Tom & Jerry", "Tom &- Jerry"),
    ("&", "&-"),
    ("a\u00e9&b", "a&AOk-&-b"),
    ("\U0001f600", "&2D3eAA-"),
    ("tab\there", "tab&AAk-here"),
]


@pytest.mark.parametrize(("name", "wire"), KNOWN)
def test_known_encodings(name: str, wire: str) -> None:
    assert encode_utf7(name) == wire
    assert decode_utf7(wire) == name


@pytest.mark.parametrize(
    "wire",
    [
        "&",  # unterminated shift
        "a&b",  # "&" must be written "&-"
        "&ZeVnLIqe",  # missing "-"
        "&AGE-",  # encodes printable ASCII "a"
        "&APx-",  # non-zero pad bits
        "&ZeV-&nLIqe-",  # not canonical (and bad)
        "&APw-&APw-",  # two adjacent runs must be one
        "&2D0-",  # lone high surrogate
        "&Zé-",  # not base64
        "caf\u00e9",  # 8-bit is not modified UTF-7
        "&U/BTFw-",  # "/" instead of ","
        "a\tb",  # control characters must be encoded
    ],
)
def test_invalid_encodings_rejected(wire: str) -> None:
    with pytest.raises(ValueError):
        decode_utf7(wire)


def test_lone_surrogate_cannot_be_encoded() -> None:
    with pytest.raises(ValueError, match="cannot encode"):
        encode_utf7("\ud800")


@given(st.text())
def test_round_trip_any_text(name: str) -> None:
    wire = encode_utf7(name)
    assert wire.isascii()
    assert all(0x20 <= ord(c) <= 0x7E for c in wire)
    assert decode_utf7(wire) == name


def test_decode_mailbox_folds_inbox_only_exactly() -> None:
    assert decode_mailbox(b"inbox") == "INBOX"
    assert decode_mailbox(b"InBoX") == "INBOX"
    assert decode_mailbox(b"inbox/sub") == "inbox/sub"
    assert decode_mailbox(b"INBOXES") == "INBOXES"


def test_decode_mailbox_modes() -> None:
    assert decode_mailbox(b"&ZeVnLIqe-") == "\u65e5\u672c\u8a9e"
    # With UTF8=ACCEPT the name is taken as is.
    assert decode_mailbox(b"&ZeVnLIqe-", utf8=True) == "&ZeVnLIqe-"
    assert decode_mailbox("日本語".encode(), utf8=True) == "日本語"
    # 8-bit without UTF8=ACCEPT: IMAP4rev2-style UTF-8.
    assert decode_mailbox("Entwürfe".encode()) == "Entwürfe"
    with pytest.raises(ValueError, match="not UTF-8"):
        decode_mailbox(b"\xff")
    with pytest.raises(ValueError, match="canonical"):
        decode_mailbox(b"a&b")


def test_encode_mailbox_modes() -> None:
    assert encode_mailbox("日本語") == "&ZeVnLIqe-"
    assert encode_mailbox("日本語", utf8=True) == "日本語"
