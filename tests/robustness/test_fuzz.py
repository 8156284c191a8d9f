"""Fuzzing every parser and state machine a client can reach: the IMAP grammar and connection
(with its session), the POP3 connection (with its session), SASL, the wire buffer and the
MIME index. Property: every input gets protocol answers or a clean close, and nothing escapes
as a server error (nothing recorded with ``Backend.record_error``, no ``SERVERBUG``).

The budget is small in a normal run (30 examples per test); ``FAKEMAIL_FUZZ=long``
(``tox -e fuzz``) runs 3,000 per test, for an occasional deep run.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from fakemail._imap._grammar import parse_command
from fakemail._imap._structure import find_part, section
from fakemail._message import Envelope, Message
from fakemail._mime import index_message
from fakemail._sasl import MECHANISMS, Challenge, Credentials, SaslFailure, start_mechanism
from fakemail._wire import LineBuffer, TooLong

from ._sansio import ImapDriver, Pop3Driver

LONG = os.environ.get("FAKEMAIL_FUZZ") == "long"
fuzz = settings(max_examples=3000 if LONG else 30)

USER = "user@example.com"
MESSAGE = (
    b"From: a@example.com\r\nTo: user@example.com\r\nSubject: s\r\n"
    b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
    b"--b\r\nContent-Type: text/plain\r\n\r\none\r\n--b\r\n"
    b"Content-Type: message/rfc822\r\n\r\nSubject: inner\r\n\r\ntwo\r\n--b--\r\n"
)

IMAP_TOKENS = [
    *(
        t.encode()
        for t in (
            "a ",
            "b1 ",
            "* ",
            "+ ",
            " ",
            "\r\n",
            "\n",
            "\r",
            "\x00",
            "LOGIN ",
            "user@example.com ",
            "pw",
            "AUTHENTICATE ",
            "PLAIN",
            "CRAM-MD5",
            "LOGIN",
            "=",
            "AGEAYg==",
            "*",
            "SELECT ",
            "EXAMINE ",
            "INBOX",
            "a/b",
            "&AAo-",
            "CREATE ",
            "RENAME ",
            "DELETE ",
            "LIST ",
            "LSUB ",
            '""',
            '"',
            "%",
            "\\",
            "(",
            ")",
            "[",
            "]",
            "<",
            ">",
            ".",
            ":",
            "FETCH ",
            "UID ",
            "1",
            "1:*",
            "2,4:7",
            "$",
            "0",
            "4294967296",
            "9" * 30,
            "BODY",
            "BODY.PEEK",
            "[HEADER.FIELDS (X)]",
            "[1.MIME]",
            "[2.TEXT]",
            "<0.10>",
            "BODYSTRUCTURE",
            "ENVELOPE",
            "FLAGS",
            "RFC822",
            "SEARCH ",
            "CHARSET ",
            "UTF-8",
            "NOT ",
            "OR ",
            "ALL ",
            "TEXT ",
            "LARGER ",
            "MODSEQ ",
            "SINCE 1-Jan-2024",
            "STORE ",
            "+FLAGS ",
            "(\\Seen)",
            "\\Deleted",
            "(UNCHANGEDSINCE 1)",
            "COPY ",
            "MOVE ",
            "EXPUNGE",
            "CLOSE",
            "UNSELECT",
            "STATUS ",
            "(MESSAGES UNSEEN)",
            "APPEND ",
            "{3}\r\n",
            "{3+}\r\n",
            "{0}\r\n",
            "~{2}\r\n",
            "{99999999999}\r\n",
            "IDLE",
            "DONE",
            "NOOP",
            "CAPABILITY",
            "ID ",
            "NIL",
            "ENABLE ",
            "CONDSTORE",
            "NAMESPACE",
            "STARTTLS",
            "LOGOUT",
            "\xc3\xa9",
            "\xff",
        )
    )
]
POP3_TOKENS = [
    t.encode()
    for t in (
        "USER ",
        "user@example.com",
        "PASS ",
        "pw",
        "APOP ",
        "0" * 32,
        "AUTH ",
        "PLAIN",
        "LOGIN",
        "CRAM-MD5",
        "AGEAYg==",
        "*",
        "=",
        "STAT",
        "LIST",
        "RETR ",
        "TOP ",
        "DELE ",
        "UIDL",
        "NOOP",
        "RSET",
        "QUIT",
        "CAPA",
        "STLS",
        "UTF8",
        "1",
        "2",
        "0",
        "-1",
        "99999999999999999999999",
        "9" * 5000,
        " ",
        "\r\n",
        "\n",
        "\r",
        "\x00",
        "\xff",
        "\xc3",
    )
]


def session_input(tokens: list[bytes]) -> st.SearchStrategy[list[bytes]]:
    """Chunks of client bytes: protocol tokens and random bytes, cut anywhere."""
    piece = st.one_of(st.sampled_from(tokens), st.binary(max_size=12))
    return st.lists(st.lists(piece, max_size=12).map(b"".join), max_size=8)


def feed(driver: ImapDriver | Pop3Driver, chunks: list[bytes]) -> bytes:
    """Everything answered to ``chunks``, then EOF; stops where TLS would begin."""
    out = driver.greeting
    for chunk in [*chunks, b""]:
        hosted = driver.hosted
        if hosted.is_closed or hosted.wants_tls:
            break
        out += driver.send(chunk)
    return out


def assert_no_server_error(driver: ImapDriver | Pop3Driver, out: bytes) -> None:
    assert driver.backend.take_errors() == []
    assert b"SERVERBUG" not in out
    assert b"internal error" not in out


def imap_with_mail(logged_in: bool) -> ImapDriver:
    driver = ImapDriver(max_folders=20, max_output_buffer=4096)
    store = driver.backend.store
    store.ensure_account(USER)
    for flags in ((), ("\\Seen",)):
        driver.backend.store.append(
            USER, "INBOX", _message(), flags=flags, internal_date=datetime.now(timezone.utc)
        )
    if logged_in:
        driver.login(USER)
        driver.send(b"s SELECT INBOX\r\n")
    return driver


def _message() -> Message:
    return Message(MESSAGE, Envelope("a@example.com", (USER,)), datetime.now(timezone.utc), 1)


@fuzz
@given(st.booleans(), session_input(IMAP_TOKENS))
def test_imap_session(logged_in: bool, chunks: list[bytes]) -> None:
    driver = imap_with_mail(logged_in)
    out = feed(driver, chunks)
    assert_no_server_error(driver, out)
    driver.hosted.close()


@fuzz
@given(st.booleans(), session_input(POP3_TOKENS))
def test_pop3_session(logged_in: bool, chunks: list[bytes]) -> None:
    driver = Pop3Driver(max_output_buffer=4096)
    driver.backend.store.ensure_account(USER)
    driver.backend.store.append(
        USER, "INBOX", _message(), flags=(), internal_date=datetime.now(timezone.utc)
    )
    if logged_in:
        assert b"+OK" in driver.send(f"USER {USER}\r\nPASS x\r\n".encode())
    out = feed(driver, chunks)
    assert_no_server_error(driver, out)
    driver.hosted.close()


@fuzz
@given(st.lists(st.one_of(st.sampled_from(IMAP_TOKENS), st.binary(max_size=10)), max_size=30))
def test_imap_grammar(parts: list[bytes]) -> None:
    # parse_command never raises for client input: a command or an InvalidCommand.
    line = b"".join(parts)
    parse_command(line)
    parse_command(b"a " + line)
    parse_command(b"a UID " + line)


@fuzz
@given(st.sampled_from(MECHANISMS), st.lists(st.none() | st.binary(max_size=40), max_size=4))
def test_sasl(name: str, responses: list[bytes | None]) -> None:
    mechanism = start_mechanism(name, hostname="example.com")
    assert mechanism is not None
    step = mechanism.step(responses[0] if responses else None)
    for response in responses[1:]:
        if not isinstance(step, Challenge):
            break
        step = mechanism.step(b"" if response is None else response)
    assert isinstance(step, (Challenge, Credentials, SaslFailure))
    if isinstance(step, Credentials):
        step.verify("any password")  # never raises


@fuzz
@given(st.integers(1, 64), st.lists(st.binary(max_size=40), max_size=20), st.data())
def test_wire_buffer(max_line: int, chunks: list[bytes], data: st.DataObject) -> None:
    buffer = LineBuffer(max_line)
    for chunk in chunks:
        buffer.feed(chunk)
        while True:
            if data.draw(st.booleans(), label="counted"):
                taken = buffer.next_bytes(data.draw(st.integers(0, 20), label="count"))
                if taken is None:
                    break
            else:
                line = buffer.next_line()
                if line is None:
                    break
                if isinstance(line, TooLong):
                    assert len(line.prefix) <= 128
                else:
                    assert len(line) <= max_line
                    assert b"\n" not in line
    assert len(buffer) <= sum(map(len, chunks))


MIME_TOKENS = [
    t.encode()
    for t in (
        "Content-Type: multipart/mixed; boundary=b\r\n",
        "Content-Type: message/rfc822\r\n",
        "Content-Type: text/plain\r\n",
        "--b\r\n",
        "--b--\r\n",
        "\r\n",
        "\n",
        "X: y\r\n",
        " folded\r\n",
        "Subject: =?utf-8?q?x?=\r\n",
        "boundary=",
        '"',
        ";",
        "\x00",
        "\xff",
    )
]


@fuzz
@given(st.lists(st.one_of(st.sampled_from(MIME_TOKENS), st.binary(max_size=10)), max_size=40))
def test_mime_index(parts: list[bytes]) -> None:
    raw = b"".join(parts)
    root = index_message(raw)
    for node in root.walk():
        assert 0 <= node.start <= node.body_start <= node.end <= len(raw)
    for path in ((), (1,), (1, 1), (2,), (2, 1), (3, 2, 1)):
        for spec in ("", "HEADER", "TEXT", "MIME", "HEADER.FIELDS"):
            if spec == "MIME" and not path:
                continue
            section(raw, root, path, spec, ("SUBJECT",))
        find_part(root, path)
