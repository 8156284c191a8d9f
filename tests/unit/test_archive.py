"""Tests for mail in files (fakemail._archive): eml directories, mbox, Maildir, real files."""

from __future__ import annotations

import mailbox
import os
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fakemail._archive import (
    ArchivedMessage,
    detect_format,
    envelope_of,
    read_archive,
    write_archive,
)
from fakemail._exceptions import ArchiveError

LIMIT = 1 << 20
WHEN = datetime(2024, 5, 17, 9, 30, 5, tzinfo=timezone.utc)

# Lines that stress each format: mbox From-lines quoted to any depth, 8-bit octets, every
# kind of line end (CRLF, LF, a lone CR) and none.
_LINE_TEXT = st.one_of(
    st.sampled_from([b"From ", b"From me@example.com", b">From x", b">>From y", b"From", b""]),
    st.binary(max_size=20),
    st.builds(lambda a, b: a + b, st.sampled_from([b"From ", b">From ", b">>>From "]), st.binary()),
)
_LINE = st.builds(lambda t, e: t + e, _LINE_TEXT, st.sampled_from([b"\r\n", b"\n", b"\r", b""]))
RAW = st.lists(_LINE, max_size=12).map(b"".join)
#: What mbox can keep: bytes ending with a line break (every message received over SMTP).
RAW_WITH_LINE_END = st.builds(lambda raw, end: raw + end, RAW, st.sampled_from([b"\r\n", b"\n"]))
_SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _round_trip(messages: list[ArchivedMessage], format: str) -> list[ArchivedMessage]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / ("out.mbox" if format == "mbox" else "out")
        assert write_archive(path, messages, format) == len(messages)  # type: ignore[arg-type]
        assert detect_format(path) == format
        return read_archive(path, max_message_size=LIMIT)


@_SETTINGS
@given(st.lists(RAW, max_size=5))
def test_eml_round_trip_is_byte_exact(raws: list[bytes]) -> None:
    back = _round_trip([ArchivedMessage(raw, date=WHEN) for raw in raws], "eml")
    assert [m.raw for m in back] == raws
    assert all(m.date == WHEN for m in back)


@_SETTINGS
@given(st.lists(RAW_WITH_LINE_END, max_size=5))
def test_mbox_round_trip_is_byte_exact_for_messages_ending_with_a_line_break(
    raws: list[bytes],
) -> None:
    back = _round_trip(
        [ArchivedMessage(raw, sender="bounce@example.com", date=WHEN) for raw in raws], "mbox"
    )
    assert [m.raw for m in back] == raws
    assert all((m.sender, m.date) == ("bounce@example.com", WHEN) for m in back)


@_SETTINGS
@given(RAW)
def test_mbox_ends_a_message_without_a_line_break_with_one(raw: bytes) -> None:
    # The format cannot say "no line end here": one LF is added, nothing else changes.
    (back,) = _round_trip([ArchivedMessage(raw)], "mbox")
    assert back.raw == (raw if raw.endswith(b"\n") else raw + b"\n")


_FLAGS = st.frozensets(
    st.sampled_from(["\\Seen", "\\Answered", "\\Flagged", "\\Deleted", "\\Draft", "$Label1", "x"])
)
_FOLDERS = st.sampled_from(["INBOX", "Sent", "Projects/2024", "v1.2", "100%", "Ünïcode"])


@_SETTINGS
@given(st.lists(st.tuples(RAW, _FOLDERS, _FLAGS), max_size=6))
def test_maildir_round_trip_keeps_bytes_folders_flags_and_dates(
    items: list[tuple[bytes, str, frozenset[str]]],
) -> None:
    messages = [
        ArchivedMessage(raw, folder, flags, date=WHEN.replace(second=i))
        for i, (raw, folder, flags) in enumerate(items)
    ]
    back = _round_trip(messages, "maildir")

    def key(m: ArchivedMessage) -> tuple[str, datetime | None]:
        return m.folder, m.date

    assert sorted(back, key=key) == sorted(messages, key=key)


def test_mbox_is_mboxrd_on_disk(tmp_path: Path) -> None:
    raw = b"From x\nSubject: s\n\nFrom here\n>From there\nnot From\n"
    path = tmp_path / "a.mbox"
    write_archive(path, [ArchivedMessage(raw, sender="a@example.com", date=WHEN)], "mbox")
    assert path.read_bytes() == (
        b"From a@example.com Fri May 17 09:30:05 2024\n"
        b">From x\nSubject: s\n\n>From here\n>>From there\nnot From\n\n"
    )
    # Any mbox reader (here stdlib's own) sees one message.
    box = mailbox.mbox(path)
    assert len(box) == 1
    box.close()


def test_mbox_from_line_without_a_usable_sender(tmp_path: Path) -> None:
    path = tmp_path / "a.mbox"
    messages = [ArchivedMessage(b"A: b\n\n", sender=s, date=WHEN) for s in ("", "a b@c", None)]
    write_archive(path, messages, "mbox")
    assert path.read_bytes().count(b"From MAILER-DAEMON Fri May 17 09:30:05 2024\n") == 3
    assert [m.sender for m in read_archive(path, max_message_size=LIMIT)] == [None] * 3


def test_reads_an_mbox_written_by_another_program(tmp_path: Path) -> None:
    # mutt-style: a time zone after the date, and the mboxo quoting of a body line.
    path = tmp_path / "mail"
    path.write_bytes(
        b"From alice@example.com Sat Jan  3 01:05:34 1996 +0100\n"
        b"Subject: one\n\n>From the start\n\n"
        b"From bob@example.com Sat Jan  3 01:05:35 1996\n"
        b"Subject: two\n\nbody\n"
    )
    one, two = read_archive(path, max_message_size=LIMIT)
    assert one.raw == b"Subject: one\n\nFrom the start\n"
    assert (one.sender, one.date) == ("alice@example.com", None)  # a date it cannot read
    assert two.raw == b"Subject: two\n\nbody\n"
    assert two.date == datetime(1996, 1, 3, 1, 5, 35, tzinfo=timezone.utc)


def test_maildir_written_is_maildir_plus_plus(tmp_path: Path) -> None:
    path = tmp_path / "md"
    write_archive(
        path,
        [
            ArchivedMessage(b"a\r\n", "INBOX", frozenset({"\\Seen", "\\Flagged"})),
            ArchivedMessage(b"b\r\n", "INBOX", frozenset()),
            ArchivedMessage(b"c\r\n", "Projects/v1.2", frozenset({"$Work", "\\Answered"})),
        ],
        "maildir",
    )
    cur = [name.rpartition(":")[2] for name in os.listdir(path / "cur")]
    assert cur == ["2,FS"]
    assert len(os.listdir(path / "new")) == 1
    sub = path / ".Projects.v1%2E2"
    assert [name.rpartition(":")[2] for name in os.listdir(sub / "cur")] == ["2,Ra"]
    assert (sub / "dovecot-keywords").read_text() == "0 $Work\n"
    assert (sub / "maildirfolder").exists()
    # stdlib sees the same structure.
    assert mailbox.Maildir(path).list_folders() == ["Projects.v1%2E2"]


def test_eml_directory_is_read_in_natural_order(tmp_path: Path) -> None:
    for number in (10, 9, 1):
        (tmp_path / f"{number}.eml").write_bytes(b"Subject: %d\r\n\r\n" % number)
    (tmp_path / "notes.txt").write_text("not mail")
    raws = [m.raw for m in read_archive(tmp_path, max_message_size=LIMIT)]
    assert raws == [b"Subject: 1\r\n\r\n", b"Subject: 9\r\n\r\n", b"Subject: 10\r\n\r\n"]
    assert detect_format(tmp_path / "9.eml") == "eml"
    assert len(read_archive(tmp_path / "9.eml", max_message_size=LIMIT)) == 1


@pytest.mark.parametrize("format", ["eml", "mbox", "maildir"])
def test_a_message_above_the_limit_is_refused(tmp_path: Path, format: str) -> None:
    path = tmp_path / "x"
    big = b"Subject: big\r\n\r\n" + b"x" * 100 + b"\r\n"
    write_archive(path, [ArchivedMessage(b"small\r\n"), ArchivedMessage(big)], format)  # type: ignore[arg-type]
    with pytest.raises(ArchiveError, match=r"larger than max_message_size \(50 bytes\)"):
        read_archive(path, max_message_size=50)
    assert len(read_archive(path, max_message_size=len(big))) == 2


def test_mbox_limit_counts_the_message_not_its_quoting(tmp_path: Path) -> None:
    raw = b"From a\nFrom b\nFrom c\n"
    write_archive(tmp_path / "m", [ArchivedMessage(raw)], "mbox")
    assert read_archive(tmp_path / "m", max_message_size=len(raw))[0].raw == raw


def test_export_targets_are_never_overwritten(tmp_path: Path) -> None:
    (tmp_path / "m.mbox").write_bytes(b"")
    with pytest.raises(ArchiveError, match="exists"):
        write_archive(tmp_path / "m.mbox", [], "mbox")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "a").write_bytes(b"")
    with pytest.raises(ArchiveError, match="not an empty directory"):
        write_archive(tmp_path / "full", [], "eml")
    (tmp_path / "empty").mkdir()
    assert write_archive(tmp_path / "empty", [ArchivedMessage(b"x\n")], "maildir") == 1


def test_missing_and_unreadable_paths(tmp_path: Path) -> None:
    with pytest.raises(ArchiveError, match="no such file or directory"):
        read_archive(tmp_path / "nothing", max_message_size=LIMIT)
    with pytest.raises(ArchiveError, match="not a file"):
        read_archive(tmp_path, "mbox", max_message_size=LIMIT)


def test_envelope_from_headers_and_from_line() -> None:
    raw = (
        b"Return-Path: <bounce@example.com>\r\nFrom: Alice <alice@example.com>\r\n"
        b"To: bob@example.com, Carol <carol@example.com>\r\nCc: dave@example.com\r\n"
        b"Bcc: eve@example.com, bob@example.com\r\n\r\nhi\r\n"
    )
    everyone = ("bob@example.com", "carol@example.com", "dave@example.com", "eve@example.com")
    assert envelope_of(ArchivedMessage(raw)) == ("bounce@example.com", everyone)
    assert envelope_of(ArchivedMessage(raw, sender="x@example.com"))[0] == "x@example.com"
    no_return_path = raw.split(b"\r\n", 1)[1]
    assert envelope_of(ArchivedMessage(no_return_path))[0] == "alice@example.com"
    assert envelope_of(ArchivedMessage(b"\r\nno headers\r\n")) == ("", ())
