"""ImapSession through ImapHosted, driven by byte transcripts: no sockets, no threads."""

from __future__ import annotations

import base64
import hmac
import re
from datetime import datetime, timedelta, timezone

import pytest

from fakemail._backend import Backend
from fakemail._imap._events import Noop
from fakemail._imap._fetch import format_internal_date
from fakemail._imap._hosted import ImapHosted
from fakemail._message import Envelope
from fakemail._store import INBOX
from fakemail._triohost import ConnectionInfo
from tests.unit.imap._client import (
    MULTIPART,
    SIMPLE,
    USER,
    Client,
    deliver,
)

# --------------------------------------------------------------------------- greeting, login


def test_greeting_advertises_capabilities_and_hostname(backend: Backend) -> None:
    backend.options = backend.options.replace(hostname="mx.test")
    greeting = Client(backend).greeting
    assert greeting.startswith(b"* OK [CAPABILITY IMAP4rev1 ")
    assert greeting.endswith(b"] mx.test fakemail IMAP4rev1 ready\r\n")
    caps = greeting.split(b"]")[0].split()
    for cap in (b"STARTTLS", b"AUTH=PLAIN", b"AUTH=LOGIN", b"AUTH=CRAM-MD5", b"SASL-IR"):
        assert cap in caps
    for cap in (b"IDLE", b"UIDPLUS", b"MOVE", b"LITERAL+", b"NAMESPACE", b"ID", b"ENABLE"):
        assert cap in caps
    for cap in (b"UNSELECT", b"SPECIAL-USE", b"CHILDREN", b"ESEARCH", b"CONDSTORE"):
        assert cap in caps
    assert b"LOGINDISABLED" not in caps


def test_capability_on_tls_connection_has_no_starttls(backend: Backend) -> None:
    client = Client(backend, tls=True)
    reply = client.ok("a CAPABILITY")
    assert reply.startswith(b"* CAPABILITY IMAP4rev1 ")
    assert b"STARTTLS" not in reply
    assert b"AUTH=PLAIN" in reply


def test_require_tls_disables_login_until_tls(backend: Backend) -> None:
    backend.options = backend.options.replace(require_tls=True)
    client = Client(backend)
    assert b"LOGINDISABLED" in client.greeting
    assert b"AUTH=" not in client.greeting
    assert client.cmd("a LOGIN u p") == b"a NO [PRIVACYREQUIRED] use STARTTLS before LOGIN\r\n"
    assert client.cmd("b AUTHENTICATE PLAIN") == (
        b"b NO [PRIVACYREQUIRED] use STARTTLS before AUTHENTICATE\r\n"
    )
    assert client.cmd("c STARTTLS") == b"c OK Begin TLS negotiation now\r\n"
    assert client.hosted.wants_tls
    client.hosted.tls_started()
    assert not bool(client.hosted.wants_tls)  # bool(): mypy keeps the narrowing above
    reply = client.ok("d CAPABILITY")
    assert b"LOGINDISABLED" not in reply
    assert b"STARTTLS" not in reply
    assert b"AUTH=PLAIN" in reply
    client.login()


def test_starttls_twice_is_refused(backend: Backend) -> None:
    client = Client(backend, tls=True)
    assert client.cmd("a STARTTLS") == b"a BAD TLS is already active\r\n"
    assert not client.hosted.wants_tls


def test_bytes_pipelined_after_starttls_are_kept_aside(client: Client) -> None:
    assert client.send(b"a STARTTLS\r\nb CAPABILITY\r\n") == b"a OK Begin TLS negotiation now\r\n"
    assert client.hosted.trailing_data == b"b CAPABILITY\r\n"


def test_login_success_sends_capabilities_and_creates_account(
    client: Client, backend: Backend
) -> None:
    reply = client.cmd('a LOGIN "User@Example.ORG" secret')
    assert reply.startswith(b"a OK [CAPABILITY IMAP4rev1 ")
    assert reply.endswith(b"] Logged in\r\n")
    assert b"AUTH=" not in reply
    assert b"STARTTLS" not in reply
    assert client.hosted.account == "User@example.org"
    assert backend.store.has_account("User@example.org")
    assert [f.name for f in backend.store.folders("User@example.org")] == [
        "INBOX",
        "Sent",
        "Drafts",
        "Trash",
        "Junk",
        "Archive",
    ]


def test_login_with_users_checks_the_password(backend: Backend) -> None:
    backend.options = backend.options.replace(users={USER: "right"})
    client = Client(backend)
    assert client.cmd(f"a LOGIN {USER} wrong") == (
        b"a NO [AUTHENTICATIONFAILED] invalid user name or password\r\n"
    )
    assert client.cmd("b LOGIN other@example.org right") == (
        b"b NO [AUTHENTICATIONFAILED] invalid user name or password\r\n"
    )
    assert client.hosted.account is None
    assert client.cmd("c SELECT INBOX").startswith(b"c BAD ")
    client.login(USER, "right")
    assert client.hosted.account == USER


def test_authenticate_plain_with_initial_response(client: Client) -> None:
    token = base64.b64encode(f"\0{USER}\0pw".encode()).decode()
    reply = client.cmd(f"a AUTHENTICATE PLAIN {token}")
    assert reply.startswith(b"a OK [CAPABILITY ")
    assert client.hosted.account == USER


def test_authenticate_plain_with_empty_challenge(client: Client) -> None:
    assert client.cmd("a AUTHENTICATE PLAIN") == b"+ \r\n"
    token = base64.b64encode(f"\0{USER}\0pw".encode())
    assert client.send(token + b"\r\n").startswith(b"a OK [CAPABILITY ")


def test_authenticate_login_mechanism(client: Client) -> None:
    assert client.cmd("a AUTHENTICATE LOGIN") == b"+ " + base64.b64encode(b"Username:") + b"\r\n"
    reply = client.send(base64.b64encode(USER.encode()) + b"\r\n")
    assert reply == b"+ " + base64.b64encode(b"Password:") + b"\r\n"
    assert client.send(base64.b64encode(b"pw") + b"\r\n").startswith(b"a OK [CAPABILITY ")
    assert client.hosted.account == USER


def test_authenticate_cram_md5_checks_the_digest(backend: Backend) -> None:
    backend.options = backend.options.replace(users={USER: "secret"})
    for password, expected in (("wrong", b"a NO [AUTHENTICATIONFAILED]"), ("secret", b"a OK")):
        client = Client(backend)
        reply = client.cmd("a AUTHENTICATE CRAM-MD5")
        assert reply.startswith(b"+ ")
        challenge = base64.b64decode(reply[2:].strip())
        assert re.fullmatch(rb"<\d+\.\d+@localhost>", challenge)
        digest = hmac.new(password.encode(), challenge, "md5").hexdigest()
        answer = base64.b64encode(f"{USER} {digest}".encode())
        assert client.send(answer + b"\r\n").startswith(expected)


def test_authenticate_cancel_unknown_and_authzid(client: Client) -> None:
    assert client.cmd("a AUTHENTICATE PLAIN") == b"+ \r\n"
    assert client.send(b"*\r\n") == b"a BAD authentication cancelled\r\n"
    assert client.cmd("b AUTHENTICATE GSSAPI") == b"b NO unsupported SASL mechanism GSSAPI\r\n"
    token = base64.b64encode(f"boss@example.org\0{USER}\0pw".encode()).decode()
    assert client.cmd(f"c AUTHENTICATE PLAIN {token}") == (
        b"c NO [AUTHORIZATIONFAILED] cannot act as another user\r\n"
    )
    token = base64.b64encode(b"\0only-two-parts").decode()
    assert client.cmd(f"d AUTHENTICATE PLAIN {token}").startswith(
        b"d NO [AUTHENTICATIONFAILED] authentication failed: "
    )
    assert client.hosted.account is None
    client.login()


def test_simple_commands(logged_in: Client) -> None:
    from fakemail._version import __version__

    assert logged_in.cmd("a NOOP") == b"a OK NOOP completed\r\n"
    assert logged_in.cmd('b ID ("name" "test")') == (
        b'* ID ("name" "fakemail" "version" "' + __version__.encode() + b'")\r\n'
        b"b OK ID completed\r\n"
    )
    assert logged_in.cmd("c NAMESPACE") == (
        b'* NAMESPACE (("" "/")) NIL NIL\r\nc OK NAMESPACE completed\r\n'
    )
    assert logged_in.cmd("d ENABLE UTF8=ACCEPT") == b"* ENABLED\r\nd OK ENABLE completed\r\n"
    assert logged_in.cmd("e ENABLE CONDSTORE X-FOO") == (
        b"* ENABLED CONDSTORE\r\ne OK ENABLE completed\r\n"
    )


def test_logout(logged_in: Client) -> None:
    assert logged_in.cmd("z LOGOUT") == (
        b"* BYE fakemail IMAP4rev1 server logging out\r\nz OK LOGOUT completed\r\n"
    )
    assert logged_in.hosted.is_closed
    assert logged_in.send(b"y NOOP\r\n") == b""


def test_timeout_and_refusal(backend: Backend) -> None:
    client = Client(backend)
    assert client.hosted.timeout == backend.options.imap_timeout
    client.hosted.timed_out()
    assert client.hosted.data_to_send() == b"* BYE Autologout; idle for too long\r\n"
    assert client.hosted.is_closed
    refused = ImapHosted(backend, ConnectionInfo("peer", False, "imap"))
    refused.refuse("too many connections")
    assert refused.data_to_send() == b"* BYE too many connections\r\n"
    assert refused.is_closed
    refused.close()


def test_eof_closes(client: Client) -> None:
    client.send(b"")
    assert client.hosted.is_closed
    client.hosted.close()


def test_invalid_commands_get_bad_and_session_survives(logged_in: Client) -> None:
    assert logged_in.cmd("a FROBNICATE") == b"a BAD unknown command FROBNICATE\r\n"
    assert logged_in.cmd("\x01\x02 garbage").startswith(b"* BAD ")
    assert logged_in.cmd("b FETCH 1 FLAGS").startswith(b"b BAD ")  # not selected
    assert logged_in.cmd("c NOOP") == b"c OK NOOP completed\r\n"


def test_internal_error_is_recorded_and_answered_serverbug(
    logged_in: Client, backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*args: object) -> None:
        raise RuntimeError("bug in our code")

    monkeypatch.setitem(logged_in.hosted.session._handlers, Noop, boom)
    assert logged_in.cmd("a NOOP") == (
        b"a NO [SERVERBUG] internal error in the test mail server\r\n"
    )
    errors = backend.take_errors()
    assert len(errors) == 1
    assert str(errors[0]) == "bug in our code"
    assert logged_in.cmd("b CAPABILITY").endswith(b"b OK CAPABILITY completed\r\n")


# --------------------------------------------------------------------------- SELECT, EXAMINE


def test_select_response(logged_in: Client, backend: Backend) -> None:
    deliver(backend, flags=("\\Seen",))
    deliver(backend, flags=("$Important",))
    deliver(backend)
    snap = backend.store.folder(USER, INBOX)
    reply = logged_in.cmd("s SELECT inbox")
    assert reply == (
        b"* FLAGS (\\Answered \\Deleted \\Draft \\Flagged \\Seen $Important)\r\n"
        b"* 3 EXISTS\r\n"
        b"* 3 RECENT\r\n"
        b"* OK [UNSEEN 2] first unseen\r\n"
        b"* OK [PERMANENTFLAGS (\\Answered \\Deleted \\Draft \\Flagged \\Seen $Important \\*)]"
        b" flags permitted\r\n"
        b"* OK [UIDVALIDITY %d] UIDs valid\r\n"
        b"* OK [UIDNEXT 4] predicted next UID\r\n"
        b"s OK [READ-WRITE] SELECT completed\r\n" % snap.uidvalidity
    )


def test_examine_is_read_only(logged_in: Client, backend: Backend) -> None:
    uid = deliver(backend)
    reply = logged_in.ok("e EXAMINE INBOX")
    assert b"* OK [PERMANENTFLAGS ()] read-only mailbox\r\n" in reply
    assert reply.endswith(b"e OK [READ-ONLY] EXAMINE completed\r\n")
    reply = logged_in.ok("f FETCH 1 (BODY[TEXT] RFC822)")
    assert b"FLAGS" not in reply
    assert backend.store.folder(USER, INBOX).items[0].flags == frozenset()
    assert logged_in.cmd("g STORE 1 +FLAGS (\\Seen)") == (
        b"g NO [READ-ONLY] mailbox is read-only\r\n"
    )
    assert logged_in.cmd("h EXPUNGE") == b"h NO [READ-ONLY] mailbox is read-only\r\n"
    assert logged_in.cmd("i MOVE 1 Trash") == b"i NO [READ-ONLY] mailbox is read-only\r\n"
    assert logged_in.ok("j COPY 1 Trash").startswith(b"j OK [COPYUID ")
    assert backend.store.folder(USER, INBOX).uids == (uid,)


def test_select_missing_mailbox_deselects(logged_in: Client) -> None:
    logged_in.select()
    assert logged_in.cmd("a SELECT Nope") == b"a NO [NONEXISTENT] no mailbox Nope\r\n"
    assert logged_in.cmd("b FETCH 1 FLAGS").startswith(b"b BAD ")


def test_recent_goes_to_exactly_one_session(backend: Backend) -> None:
    deliver(backend)
    first, second, examiner = Client(backend), Client(backend), Client(backend)
    for client in (first, second, examiner):
        client.login()
    assert b"* 1 RECENT\r\n" in examiner.ok("e EXAMINE INBOX")  # does not claim it
    assert b"* 1 RECENT\r\n" in first.select()
    assert b"* 0 RECENT\r\n" in second.select()
    assert first.ok("f FETCH 1 FLAGS").startswith(b"* 1 FETCH (FLAGS (\\Recent))")
    assert second.ok("f FETCH 1 FLAGS").startswith(b"* 1 FETCH (FLAGS ())")
    assert first.ok("g SEARCH RECENT").startswith(b"* SEARCH 1\r\n")
    assert second.ok("g SEARCH RECENT").startswith(b"* SEARCH\r\n")
    assert second.ok("h SEARCH OLD").startswith(b"* SEARCH 1\r\n")
    deliver(backend)
    assert b"* 2 EXISTS\r\n* 1 RECENT\r\n" in second.ok("i NOOP")
    assert b"* 2 EXISTS\r\n* 1 RECENT\r\n" in first.ok("i NOOP")  # 1 old + 0 new


def test_condstore_select_reports_highestmodseq(logged_in: Client, backend: Backend) -> None:
    deliver(backend)
    modseq = backend.store.folder(USER, INBOX).modseq
    reply = logged_in.ok("s SELECT INBOX (CONDSTORE)")
    assert b"* OK [HIGHESTMODSEQ %d] highest\r\n" % modseq in reply


# --------------------------------------------------------------------------- FETCH


def test_fetch_body_sets_seen_and_reports_flags(logged_in: Client, backend: Backend) -> None:
    deliver(backend)
    deliver(backend)
    logged_in.select()
    reply = logged_in.ok("a FETCH 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT)] RFC822.HEADER)")
    assert b"FLAGS" not in reply
    reply = logged_in.ok("b FETCH 1 BODY[TEXT]")
    assert reply == (
        b"* 1 FETCH (BODY[TEXT] {17}\r\nfirst body line\r\n FLAGS (\\Seen \\Recent))\r\n"
        b"b OK FETCH completed\r\n"
    )
    # Already seen: no FLAGS added.
    assert b"FLAGS" not in logged_in.ok("c FETCH 1 RFC822")
    reply = logged_in.ok("d FETCH 2 (FLAGS RFC822)")
    assert reply.startswith(b"* 2 FETCH (FLAGS (\\Seen \\Recent) RFC822 {%d}\r\n" % len(SIMPLE))
    assert reply.count(b"FLAGS") == 1
    flags = [item.flags for item in backend.store.folder(USER, INBOX).items]
    assert flags == [frozenset({"\\Seen"}), frozenset({"\\Seen"})]


def test_fetch_rfc822_header_does_not_set_seen(logged_in: Client, backend: Backend) -> None:
    deliver(backend)
    logged_in.select()
    header = SIMPLE.split(b"\r\n\r\n")[0] + b"\r\n\r\n"
    reply = logged_in.ok("a FETCH 1 RFC822.HEADER")
    assert reply == (
        b"* 1 FETCH (RFC822.HEADER {%d}\r\n%b)\r\na OK FETCH completed\r\n" % (len(header), header)
    )
    reply = logged_in.ok("b FETCH 1 RFC822.TEXT")
    assert b"FLAGS (\\Seen \\Recent)" in reply


def test_fetch_items(logged_in: Client, backend: Backend) -> None:
    when = datetime(2024, 3, 5, 9, 8, 7, tzinfo=timezone(timedelta(hours=-5, minutes=-30)))
    deliver(backend, when=when, flags=("\\Flagged",))
    logged_in.select()
    reply = logged_in.ok("a FETCH 1 (UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE)")
    assert reply.startswith(
        b'* 1 FETCH (UID 1 FLAGS (\\Flagged \\Recent) INTERNALDATE " 5-Mar-2024 09:08:07 -0530"'
        b" RFC822.SIZE %d ENVELOPE (" % len(SIMPLE)
    )
    assert b'"hello world" (("Alice" NIL "alice" "example.com"))' in reply
    reply = logged_in.ok("b FETCH 1 (BODY BODYSTRUCTURE)")
    assert reply.startswith(
        b'* 1 FETCH (BODY ("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 17 1)'
        b' BODYSTRUCTURE ("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 17 1'
        b" NIL NIL NIL NIL))\r\n"
    )
    # Macros expand (RFC 3501 §6.4.5).
    assert logged_in.ok("c FETCH 1 FAST").startswith(
        b'* 1 FETCH (FLAGS (\\Flagged \\Recent) INTERNALDATE " 5-Mar-2024 09:08:07 -0530"'
        b" RFC822.SIZE %d)" % len(SIMPLE)
    )


def test_uid_fetch_always_includes_uid(logged_in: Client, backend: Backend) -> None:
    for _ in range(3):
        deliver(backend)
    backend.store.expunge(USER, INBOX, [2])
    logged_in.select()
    assert logged_in.ok("a UID FETCH 2:* FLAGS") == (
        b"* 2 FETCH (UID 3 FLAGS (\\Recent))\r\na OK FETCH completed\r\n"
    )
    # "n:*" includes the last message even when n is above it (RFC 3501 §9).
    assert logged_in.ok("b UID FETCH 100:* (FLAGS)").startswith(b"* 2 FETCH (UID 3 ")
    assert logged_in.ok("c UID FETCH 2 FLAGS") == b"c OK FETCH completed\r\n"


def test_fetch_sequence_out_of_range_is_bad(logged_in: Client, backend: Backend) -> None:
    logged_in.select()
    assert logged_in.cmd("a FETCH 1:* FLAGS").startswith(b"a BAD ")  # "*" in empty mailbox
    assert logged_in.cmd("b UID FETCH 1:* FLAGS") == b"b OK FETCH completed\r\n"
    deliver(backend)
    logged_in.ok("c NOOP")
    assert logged_in.cmd("d FETCH 2 FLAGS").startswith(b"d BAD ")
    assert logged_in.cmd("e STORE 5 +FLAGS (\\Seen)").startswith(b"e BAD ")
    assert logged_in.cmd("f COPY 3 Trash").startswith(b"f BAD ")


def test_fetch_sections_of_a_multipart(logged_in: Client, backend: Backend) -> None:
    deliver(backend, MULTIPART)
    logged_in.select()
    text_part = b"cr=C3=A8me br=C3=BBl=C3=A9e"
    reply = logged_in.ok("a FETCH 1 (BODY.PEEK[1] BODY.PEEK[2.MIME] BODY.PEEK[3])")
    mime = (
        b"Content-Type: application/octet-stream; name=data.bin\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n"
    )
    assert reply == (
        b"* 1 FETCH (BODY[1] {%d}\r\n%b BODY[2.MIME] {%d}\r\n%b BODY[3] {0}\r\n)\r\n"
        b"a OK FETCH completed\r\n" % (len(text_part), text_part, len(mime), mime)
    )
    reply = logged_in.ok("b FETCH 1 (BODY.PEEK[HEADER.FIELDS.NOT (FROM TO DATE MIME-VERSION)])")
    header = (
        b"Subject: =?utf-8?q?caf=C3=A9_menu?=\r\n"
        b'Content-Type: multipart/mixed; boundary="XX"\r\n\r\n'
    )
    assert reply.startswith(b"* 1 FETCH (BODY[HEADER.FIELDS.NOT (FROM TO DATE MIME-VERSION)] ")
    assert b"{%d}\r\n%b)" % (len(header), header) in reply
    reply = logged_in.ok("c FETCH 1 BODYSTRUCTURE")
    assert reply.startswith(
        b'* 1 FETCH (BODYSTRUCTURE (("TEXT" "PLAIN" ("CHARSET" "utf-8") NIL NIL'
        b' "QUOTED-PRINTABLE" 27 1 NIL NIL NIL NIL)("APPLICATION" "OCTET-STREAM"'
    )
    assert b' "MIXED" ("BOUNDARY" "XX") NIL NIL NIL))' in reply


def test_partial_fetch(logged_in: Client, backend: Backend) -> None:
    deliver(backend)
    logged_in.select()
    assert logged_in.ok("a FETCH 1 BODY.PEEK[]<6.5>") == (
        b"* 1 FETCH (BODY[]<6> {5}\r\nAlice)\r\na OK FETCH completed\r\n"
    )
    assert logged_in.ok("b FETCH 1 BODY.PEEK[TEXT]<10.100>") == (
        b"* 1 FETCH (BODY[TEXT]<10> {7}\r\n line\r\n)\r\nb OK FETCH completed\r\n"
    )
    assert logged_in.ok("c FETCH 1 BODY.PEEK[]<100000.5>") == (
        b"* 1 FETCH (BODY[]<100000> {0}\r\n)\r\nc OK FETCH completed\r\n"
    )


def test_append_then_fetch_is_byte_exact(logged_in: Client, backend: Backend) -> None:
    raw = b"Subject: odd\r\n\r\nline one\r\nbare\nlf and \x00nul\r\n\xff\xfe 8-bit"
    uidvalidity = backend.store.folder(USER, "Drafts").uidvalidity
    reply = logged_in.send(
        b'a APPEND Drafts (\\Draft $Label) " 7-Feb-2024 01:02:03 +0200" {%d+}\r\n%b\r\n'
        % (len(raw), raw)
    )
    assert reply == b"a OK [APPENDUID %d 1] APPEND completed\r\n" % uidvalidity
    logged_in.select("Drafts")
    reply = logged_in.ok("b FETCH 1 (FLAGS INTERNALDATE BODY.PEEK[])")
    assert reply == (
        b'* 1 FETCH (FLAGS (\\Draft $Label \\Recent) INTERNALDATE " 7-Feb-2024 01:02:03 +0200"'
        b" BODY[] {%d}\r\n%b)\r\nb OK FETCH completed\r\n" % (len(raw), raw)
    )
    stored = backend.store.folder(USER, "Drafts").items[0]
    assert stored.message.envelope.protocol == "imap"
    assert stored.message.raw == raw


def test_append_synchronizing_literal_and_errors(logged_in: Client, backend: Backend) -> None:
    assert logged_in.cmd("a APPEND INBOX {5}") == b"+ Ready for literal data\r\n"
    assert logged_in.send(b"hello\r\n").startswith(b"a OK [APPENDUID ")
    assert logged_in.send(b"b APPEND Missing {5+}\r\nhello\r\n") == (
        b"b NO [TRYCREATE] no mailbox Missing\r\n"
    )
    backend.options = backend.options.replace(max_message_size=10)
    # Refused before the client sends the literal (no continuation).
    assert logged_in.cmd("c APPEND INBOX {11}").startswith(b"c NO [TOOBIG] ")
    assert logged_in.cmd("d NOOP") == b"d OK NOOP completed\r\n"
    assert len(backend.store.folder(USER, INBOX)) == 1


def test_append_to_selected_mailbox_announces_it(logged_in: Client) -> None:
    logged_in.select()
    reply = logged_in.send(b"a APPEND INBOX {5+}\r\nhello\r\n")
    assert reply.startswith(b"* 1 EXISTS\r\n* 1 RECENT\r\na OK [APPENDUID ")


# --------------------------------------------------------------------------- STORE


def test_store_variants(logged_in: Client, backend: Backend) -> None:
    deliver(backend)
    deliver(backend, flags=("\\Seen",))
    logged_in.select()
    assert logged_in.ok("a STORE 1:2 +FLAGS (\\Flagged)") == (
        b"* 1 FETCH (FLAGS (\\Flagged \\Recent))\r\n"
        b"* 2 FETCH (FLAGS (\\Flagged \\Seen \\Recent))\r\n"
        b"a OK STORE completed\r\n"
    )
    assert logged_in.ok("b STORE 2 -FLAGS.SILENT (\\Seen)") == b"b OK STORE completed\r\n"
    assert logged_in.ok("c UID STORE 1 FLAGS (\\Answered)") == (
        b"* 1 FETCH (UID 1 FLAGS (\\Answered \\Recent))\r\nc OK STORE completed\r\n"
    )
    # A new keyword: FLAGS and PERMANENTFLAGS are announced again (RFC 3501 §7.2.6).
    assert logged_in.ok("d STORE 2 +FLAGS $Work") == (
        b"* FLAGS (\\Answered \\Deleted \\Draft \\Flagged \\Seen $Work)\r\n"
        b"* OK [PERMANENTFLAGS (\\Answered \\Deleted \\Draft \\Flagged \\Seen $Work \\*)]"
        b" flags permitted\r\n"
        b"* 2 FETCH (FLAGS (\\Flagged $Work \\Recent))\r\n"
        b"d OK STORE completed\r\n"
    )
    # Keywords are case-insensitive: -FLAGS removes whatever spelling is stored.
    logged_in.ok("e STORE 2 -FLAGS.SILENT ($WORK)")
    assert [i.flags for i in backend.store.folder(USER, INBOX).items] == [
        frozenset({"\\Answered"}),
        frozenset({"\\Flagged"}),
    ]
    assert logged_in.cmd("f STORE 1 +FLAGS (\\Recent)").startswith(b"f BAD ")


def test_store_unchangedsince(logged_in: Client, backend: Backend) -> None:
    deliver(backend)
    deliver(backend)
    logged_in.select()
    modseq = backend.store.folder(USER, INBOX).modseq
    backend.store.set_flags(USER, INBOX, [2], ["\\Seen"], "add")  # changed by someone else
    reply = logged_in.ok(f"a STORE 1:2 (UNCHANGEDSINCE {modseq}) +FLAGS.SILENT (\\Deleted)")
    new = backend.store.folder(USER, INBOX)
    assert reply == (
        b"* OK [HIGHESTMODSEQ %d] highest\r\n"
        b"* 1 FETCH (MODSEQ (%d))\r\n"
        b"* 2 FETCH (UID 2 FLAGS (\\Seen \\Recent) MODSEQ (%d))\r\n"
        b"a OK [MODIFIED 2] conditional STORE failed for some messages\r\n"
        % (modseq + 1, new.items[0].modseq, new.items[1].modseq)
    )
    assert new.items[1].flags == frozenset({"\\Seen"})
    reply = logged_in.ok(f"b FETCH 1:* (FLAGS) (CHANGEDSINCE {modseq + 1})")
    assert reply == (
        b"* 1 FETCH (FLAGS (\\Deleted \\Recent) MODSEQ (%d))\r\nb OK FETCH completed\r\n"
        % new.items[0].modseq
    )


# --------------------------------------------------------------------------- EXPUNGE


def test_expunge_numbering(logged_in: Client, backend: Backend) -> None:
    for n in range(5):
        deliver(backend, flags=("\\Deleted",) if n in (1, 2, 4) else ())
    logged_in.select()
    assert logged_in.ok("a EXPUNGE") == (
        b"* 5 EXPUNGE\r\n* 3 EXPUNGE\r\n* 2 EXPUNGE\r\na OK EXPUNGE completed\r\n"
    )
    assert backend.store.folder(USER, INBOX).uids == (1, 4)
    assert logged_in.ok("b FETCH 1:* UID") == (
        b"* 1 FETCH (UID 1)\r\n* 2 FETCH (UID 4)\r\nb OK FETCH completed\r\n"
    )


def test_uid_expunge_only_the_given_uids(logged_in: Client, backend: Backend) -> None:
    for _ in range(3):
        deliver(backend, flags=("\\Deleted",))
    logged_in.select()
    assert logged_in.ok("a UID EXPUNGE 2:3") == (
        b"* 3 EXPUNGE\r\n* 2 EXPUNGE\r\na OK EXPUNGE completed\r\n"
    )
    assert backend.store.folder(USER, INBOX).uids == (1,)


def test_close_expunges_silently_and_unselect_does_not(logged_in: Client, backend: Backend) -> None:
    deliver(backend, flags=("\\Deleted",))
    deliver(backend)
    logged_in.select()
    assert logged_in.ok("a UNSELECT") == b"a OK UNSELECT completed\r\n"
    assert len(backend.store.folder(USER, INBOX)) == 2
    logged_in.select()
    assert logged_in.ok("b CLOSE") == b"b OK CLOSE completed\r\n"
    assert backend.store.folder(USER, INBOX).uids == (2,)
    assert logged_in.cmd("c FETCH 1 FLAGS").startswith(b"c BAD ")


def test_no_expunge_during_fetch_store_search(backend: Backend) -> None:
    for _ in range(3):
        deliver(backend)
    watcher, other = Client(backend), Client(backend)
    for client in (watcher, other):
        client.login()
        client.select()
    backend.store.set_flags(USER, INBOX, [2], ["\\Deleted"], "add")
    other.ok("x EXPUNGE")
    # The removed message keeps its number (and content) until an expunge can be reported.
    reply = watcher.ok("a FETCH 2 (UID BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert b"EXPUNGE" not in reply
    assert reply.startswith(b"* 2 FETCH (UID 2 BODY[HEADER.FIELDS (SUBJECT)] {")
    reply = watcher.ok("b STORE 3 +FLAGS (\\Flagged)")
    assert b"EXPUNGE" not in reply
    assert b"* 3 FETCH (FLAGS (\\Flagged \\Recent))" in reply
    reply = watcher.ok("c SEARCH ALL")
    assert reply.startswith(b"* SEARCH 1 2 3\r\n")
    reply = watcher.ok("d UID FETCH 1:* UID")
    assert b"EXPUNGE" not in reply
    assert watcher.ok("e NOOP") == b"* 2 EXPUNGE\r\ne OK NOOP completed\r\n"
    assert watcher.ok("f FETCH 2 UID").startswith(b"* 2 FETCH (UID 3)")


# --------------------------------------------------------------------------- COPY, MOVE


def test_copy_and_uidplus(logged_in: Client, backend: Backend) -> None:
    for _ in range(3):
        deliver(backend, flags=("\\Flagged",))
    trash = backend.store.folder(USER, "Trash").uidvalidity
    logged_in.select()
    assert logged_in.ok("a COPY 2:3 Trash") == (
        b"a OK [COPYUID %d 2:3 1:2] COPY completed\r\n" % trash
    )
    assert logged_in.ok("b UID COPY 1,3 Trash") == (
        b"b OK [COPYUID %d 1,3 3:4] COPY completed\r\n" % trash
    )
    assert logged_in.cmd("c COPY 1 Nowhere") == b"c NO [TRYCREATE] no mailbox Nowhere\r\n"
    assert logged_in.ok("d UID COPY 99 Trash") == b"d OK COPY completed\r\n"
    items = backend.store.folder(USER, "Trash").items
    assert [i.flags for i in items] == [frozenset({"\\Flagged"})] * 4
    assert len(backend.store.folder(USER, INBOX)) == 3


def test_move_sends_copyuid_before_expunges(logged_in: Client, backend: Backend) -> None:
    for _ in range(4):
        deliver(backend)
    archive = backend.store.folder(USER, "Archive").uidvalidity
    logged_in.select()
    assert logged_in.ok("a MOVE 2:3 Archive") == (
        b"* OK [COPYUID %d 2:3 1:2] moved\r\n"
        b"* 3 EXPUNGE\r\n* 2 EXPUNGE\r\n"
        b"a OK MOVE completed\r\n" % archive
    )
    assert logged_in.ok("b UID MOVE 4 Archive") == (
        b"* OK [COPYUID %d 4 3] moved\r\n* 2 EXPUNGE\r\nb OK MOVE completed\r\n" % archive
    )
    assert logged_in.cmd("c MOVE 1 Nowhere") == b"c NO [TRYCREATE] no mailbox Nowhere\r\n"
    assert backend.store.folder(USER, INBOX).uids == (1,)
    assert backend.store.folder(USER, "Archive").uids == (1, 2, 3)


def test_copy_into_selected_mailbox_announces_new_messages(
    logged_in: Client, backend: Backend
) -> None:
    deliver(backend)
    logged_in.select()
    reply = logged_in.ok("a COPY 1 INBOX")
    assert reply.startswith(b"* 2 EXISTS\r\n* 2 RECENT\r\na OK [COPYUID ")


# --------------------------------------------------------------------------- SEARCH


@pytest.fixture
def searchable(logged_in: Client, backend: Backend) -> Client:
    utc = timezone.utc
    deliver(backend, SIMPLE, when=datetime(2024, 1, 1, 12, tzinfo=utc), flags=("\\Seen",))
    deliver(backend, MULTIPART, when=datetime(2024, 3, 15, 23, tzinfo=utc), flags=("$Work",))
    deliver(
        backend,
        b"From: carol@example.net\r\nCc: Dave <dave@example.net>\r\nSubject: big\r\n\r\n"
        + b"x" * 500
        + b"\r\n",
        when=datetime(2024, 6, 1, tzinfo=utc),
        flags=("\\Answered", "\\Deleted"),
    )
    backend.store.expunge(USER, INBOX, [])
    logged_in.select()
    return logged_in


@pytest.mark.parametrize(
    ("criteria", "expected"),
    [
        ("ALL", b"1 2 3"),
        ("SEEN", b"1"),
        ("UNSEEN", b"2 3"),
        ("ANSWERED", b"3"),
        ("UNANSWERED", b"1 2"),
        ("DELETED", b"3"),
        ("UNDELETED", b"1 2"),
        ("FLAGGED", b""),
        ("UNFLAGGED", b"1 2 3"),
        ("DRAFT", b""),
        ("UNDRAFT", b"1 2 3"),
        ("KEYWORD $work", b"2"),
        ("UNKEYWORD $Work", b"1 3"),
        ("RECENT", b"1 2 3"),
        ("NEW", b"2 3"),
        ("OLD", b""),
        ("FROM alice", b"1"),
        ('FROM "BOB <bob@"', b"2"),
        ("TO user@example.org", b"1 2"),
        ("CC dave", b"3"),
        ("BCC x", b""),
        ('SUBJECT "CAFÉ"', b"2"),
        ('SUBJECT "HELLO W"', b"1"),
        ('HEADER MIME-Version ""', b"2"),
        ("HEADER x-missing y", b""),
        ('BODY "CRÈME"', b"2"),
        ("BODY secret", b""),
        ("BODY preamble", b""),
        ("TEXT menu", b"2"),
        ("TEXT carol", b"3"),
        ("TEXT xxxxxx", b"3"),
        ("BEFORE 15-Mar-2024", b"1"),
        ("ON 15-Mar-2024", b"2"),
        ("SINCE 15-Mar-2024", b"2 3"),
        ("SENTBEFORE 2-Jan-2024", b"1"),
        ("SENTON 15-Mar-2024", b"2"),
        ("SENTSINCE 1-Jun-2024", b"3"),
        ("LARGER 500", b"3"),
        ("SMALLER 200", b"1"),
        ("2:*", b"2 3"),
        ("UID 1,3", b"1 3"),
        ("NOT SEEN", b"2 3"),
        ("OR SEEN DELETED", b"1 3"),
        ("(OR SEEN DELETED) SMALLER 200", b"1"),
        ('CHARSET UTF-8 SUBJECT "café"', b"2"),
    ],
)
def test_search_keys(searchable: Client, criteria: str, expected: bytes) -> None:
    reply = searchable.ok(f"a SEARCH {criteria}".encode())
    assert reply == b"* SEARCH" + (b" " + expected if expected else b"") + (
        b"\r\na OK SEARCH completed\r\n"
    )


def test_uid_search_and_esearch(logged_in: Client, backend: Backend) -> None:
    for n in range(5):
        deliver(backend, flags=("\\Seen",) if n % 2 else ())
    backend.store.expunge(USER, INBOX, [1])
    logged_in.select()
    assert logged_in.ok("a UID SEARCH UNSEEN").startswith(b"* SEARCH 3 5\r\n")
    assert logged_in.ok("b SEARCH UNSEEN").startswith(b"* SEARCH 2 4\r\n")
    assert logged_in.ok("c UID SEARCH RETURN (MIN MAX COUNT ALL) ALL").startswith(
        b'* ESEARCH (TAG "c") UID MIN 2 MAX 5 ALL 2:5 COUNT 4\r\n'
    )
    assert logged_in.ok("d SEARCH RETURN () SEEN").startswith(b'* ESEARCH (TAG "d") ALL 1,3\r\n')
    assert logged_in.ok("e SEARCH RETURN (MIN COUNT) DELETED").startswith(
        b'* ESEARCH (TAG "e") COUNT 0\r\n'
    )
    assert logged_in.cmd("f SEARCH CHARSET KOI8-R ALL").startswith(b"f NO [BADCHARSET")


def test_search_modseq(logged_in: Client, backend: Backend) -> None:
    deliver(backend)
    deliver(backend)
    logged_in.select()
    items = backend.store.set_flags(USER, INBOX, [2], ["\\Seen"], "add")
    reply = logged_in.ok(f"a SEARCH MODSEQ {items[0].modseq}")
    assert b"* SEARCH 2 (MODSEQ %d)\r\n" % items[0].modseq in reply


# --------------------------------------------------------------------------- live updates


def test_other_sessions_see_deliveries_flags_and_expunges(backend: Backend) -> None:
    deliver(backend)
    first, second = Client(backend), Client(backend)
    for client in (first, second):
        client.login()
        client.select()
    assert first.ok("a NOOP") == b"a OK NOOP completed\r\n"
    backend.store.record(SIMPLE, Envelope("x@example.com", (USER,)), [USER])
    assert second.ok("b NOOP") == b"* 2 EXISTS\r\n* 1 RECENT\r\nb OK NOOP completed\r\n"
    assert first.ok("b NOOP") == b"* 2 EXISTS\r\n* 1 RECENT\r\nb OK NOOP completed\r\n"
    second.ok("c STORE 1 +FLAGS (\\Answered)")
    assert first.ok("d NOOP") == (
        b"* 1 FETCH (UID 1 FLAGS (\\Answered \\Recent))\r\nd OK NOOP completed\r\n"
    )
    backend.store.set_flags(USER, INBOX, [2], ["\\Deleted"], "add")
    second.ok("e EXPUNGE")
    assert first.ok("f CHECK") == b"* 2 EXPUNGE\r\nf OK CHECK completed\r\n"
    # New messages are announced before a SEARCH so that it can find them.
    deliver(backend)
    assert first.ok("g SEARCH ALL") == (
        b"* 2 EXISTS\r\n* 2 RECENT\r\n* SEARCH 1 2\r\ng OK SEARCH completed\r\n"
    )


def test_accounts_are_isolated(backend: Backend) -> None:
    deliver(backend, to="other@example.org")
    backend.store.create_folder("other@example.org", "Private")
    client = Client(backend)
    client.login()
    reply = client.ok('a LIST "" "*"')
    assert b"Private" not in reply
    assert b"* STATUS" not in reply
    assert client.ok("b STATUS INBOX (MESSAGES)").startswith(b'* STATUS "INBOX" (MESSAGES 0)')
    assert client.cmd("c SELECT Private") == b"c NO [NONEXISTENT] no mailbox Private\r\n"


def test_idle_reports_new_mail_when_store_changes(backend: Backend) -> None:
    client = Client(backend)
    client.login()
    client.select()
    assert client.cmd("i IDLE") == b"+ idling\r\n"
    client.hosted.store_changed()  # nothing changed
    assert client.hosted.data_to_send() == b""
    backend.store.record(SIMPLE, Envelope("x@example.com", (USER,)), [USER])
    client.hosted.store_changed()
    assert client.hosted.data_to_send() == b"* 1 EXISTS\r\n* 1 RECENT\r\n"
    backend.store.set_flags(USER, INBOX, [1], ["\\Seen"], "add")
    client.hosted.store_changed()
    assert client.hosted.data_to_send() == b"* 1 FETCH (UID 1 FLAGS (\\Seen \\Recent))\r\n"
    backend.store.expunge(USER, INBOX, [1])
    client.hosted.store_changed()
    assert client.hosted.data_to_send() == b"* 1 EXPUNGE\r\n"
    assert client.send(b"DONE\r\n") == b"i OK IDLE terminated\r\n"
    # Not idling: updates wait for the next command.
    deliver(backend)
    client.hosted.store_changed()
    assert client.hosted.data_to_send() == b""
    assert client.ok("n NOOP").startswith(b"* 1 EXISTS\r\n")


def test_idle_in_authenticated_state_and_bad_end(logged_in: Client) -> None:
    assert logged_in.cmd("i IDLE") == b"+ idling\r\n"
    logged_in.hosted.store_changed()
    assert logged_in.send(b"NOPE\r\n") == b"i BAD expected DONE to end IDLE\r\n"
    assert not logged_in.hosted.session.idling
    assert logged_in.cmd("n NOOP") == b"n OK NOOP completed\r\n"


def test_selected_mailbox_deleted_elsewhere_says_bye(backend: Backend) -> None:
    backend.store.create_folder(USER, "Work")
    watcher, other = Client(backend), Client(backend)
    for client in (watcher, other):
        client.login()
    watcher.select("Work")
    other.ok("d DELETE Work")
    assert watcher.cmd("a NOOP") == (
        b"* BYE the selected mailbox was deleted or renamed elsewhere\r\n"
    )
    assert watcher.hosted.is_closed


def test_idle_session_sees_its_mailbox_renamed(backend: Backend) -> None:
    backend.store.create_folder(USER, "Work")
    watcher, other = Client(backend), Client(backend)
    for client in (watcher, other):
        client.login()
    watcher.select("Work")
    watcher.cmd("i IDLE")
    other.ok("r RENAME Work Play")
    watcher.hosted.store_changed()
    assert watcher.hosted.data_to_send() == (
        b"* BYE the selected mailbox was deleted or renamed elsewhere\r\n"
    )
    assert watcher.hosted.is_closed


def test_server_reset_recreates_the_account(logged_in: Client, backend: Backend) -> None:
    backend.store.clear()
    assert logged_in.ok("a SELECT INBOX").endswith(b"a OK [READ-WRITE] SELECT completed\r\n")


# --------------------------------------------------------------------------- mailboxes


def test_list_default_folders_and_wildcards(logged_in: Client, backend: Backend) -> None:
    assert logged_in.ok('a LIST "" "*"') == (
        b'* LIST (\\HasNoChildren) "/" "INBOX"\r\n'
        b'* LIST (\\HasNoChildren \\Archive) "/" "Archive"\r\n'
        b'* LIST (\\HasNoChildren \\Drafts) "/" "Drafts"\r\n'
        b'* LIST (\\HasNoChildren \\Junk) "/" "Junk"\r\n'
        b'* LIST (\\HasNoChildren \\Sent) "/" "Sent"\r\n'
        b'* LIST (\\HasNoChildren \\Trash) "/" "Trash"\r\n'
        b"a OK LIST completed\r\n"
    )
    assert logged_in.ok('b LIST "" ""') == (
        b'* LIST (\\Noselect) "/" ""\r\nb OK LIST completed\r\n'
    )
    assert logged_in.ok('c LIST "" inbox') == (
        b'* LIST (\\HasNoChildren) "/" "INBOX"\r\nc OK LIST completed\r\n'
    )
    assert logged_in.ok('d LIST "" "J*"') == (
        b'* LIST (\\HasNoChildren \\Junk) "/" "Junk"\r\nd OK LIST completed\r\n'
    )


def test_create_hierarchy_and_list_patterns(logged_in: Client, backend: Backend) -> None:
    assert logged_in.ok("a CREATE Projects/2026/Q1") == b"a OK CREATE completed\r\n"
    assert logged_in.ok("b CREATE Top/") == b"b OK CREATE completed\r\n"
    backend.store.delete_folder(USER, "Projects")  # leaves a hole in the hierarchy
    assert logged_in.ok('c LIST "" "P%"') == (
        b'* LIST (\\Noselect \\HasChildren) "/" "Projects"\r\nc OK LIST completed\r\n'
    )
    assert logged_in.ok('d LIST "" "Projects/*"') == (
        b'* LIST (\\HasChildren) "/" "Projects/2026"\r\n'
        b'* LIST (\\HasNoChildren) "/" "Projects/2026/Q1"\r\n'
        b"d OK LIST completed\r\n"
    )
    assert logged_in.ok('e LIST "Projects/" "%"') == (
        b'* LIST (\\HasChildren) "/" "Projects/2026"\r\ne OK LIST completed\r\n'
    )
    assert logged_in.ok('f LIST "" "T%"') == (
        b'* LIST (\\HasNoChildren) "/" "Top"\r\n'
        b'* LIST (\\HasNoChildren \\Trash) "/" "Trash"\r\n'
        b"f OK LIST completed\r\n"
    )
    assert logged_in.cmd("g CREATE Top") == b"g NO [ALREADYEXISTS] mailbox Top already exists\r\n"
    assert logged_in.cmd("h CREATE inbox") == (
        b"h NO [ALREADYEXISTS] mailbox INBOX already exists\r\n"
    )
    assert logged_in.cmd('i CREATE "a//b"').startswith(b"i NO [CANNOT] ")
    assert logged_in.cmd('j CREATE "a*"').startswith(b"j NO [CANNOT] ")


def test_create_special_use(logged_in: Client) -> None:
    assert logged_in.ok("a CREATE Old (USE (\\Archive))") == b"a OK CREATE completed\r\n"
    assert logged_in.ok('b LIST "" Old') == (
        b'* LIST (\\HasNoChildren \\Archive) "/" "Old"\r\nb OK LIST completed\r\n'
    )
    assert logged_in.cmd("c CREATE Every (USE (\\All))").startswith(b"c NO [USEATTR] ")


def test_list_extended(logged_in: Client, backend: Backend) -> None:
    logged_in.ok("a CREATE Lists/Python")
    logged_in.ok("a2 UNSUBSCRIBE Drafts")
    logged_in.ok("b SUBSCRIBE Lists/Python")
    logged_in.ok("c SUBSCRIBE Gone/Away")
    assert logged_in.ok('d LIST (SUBSCRIBED) "" "*"') == (
        b'* LIST (\\Subscribed \\HasNoChildren) "/" "INBOX"\r\n'
        b'* LIST (\\Subscribed \\HasNoChildren \\Archive) "/" "Archive"\r\n'
        b'* LIST (\\NonExistent \\Subscribed \\HasNoChildren) "/" "Gone/Away"\r\n'
        b'* LIST (\\Subscribed \\HasNoChildren \\Junk) "/" "Junk"\r\n'
        b'* LIST (\\Subscribed \\HasNoChildren) "/" "Lists/Python"\r\n'
        b'* LIST (\\Subscribed \\HasNoChildren \\Sent) "/" "Sent"\r\n'
        b'* LIST (\\Subscribed \\HasNoChildren \\Trash) "/" "Trash"\r\n'
        b"d OK LIST completed\r\n"
    )
    assert logged_in.ok('e LIST (SUBSCRIBED RECURSIVEMATCH) "" "%" RETURN (CHILDREN)') == (
        b'* LIST (\\Subscribed \\HasNoChildren) "/" "INBOX"\r\n'
        b'* LIST (\\Subscribed \\HasNoChildren \\Archive) "/" "Archive"\r\n'
        b'* LIST (\\NonExistent \\HasNoChildren) "/" "Gone" ("CHILDINFO" ("SUBSCRIBED"))\r\n'
        b'* LIST (\\Subscribed \\HasNoChildren \\Junk) "/" "Junk"\r\n'
        b'* LIST (\\HasChildren) "/" "Lists" ("CHILDINFO" ("SUBSCRIBED"))\r\n'
        b'* LIST (\\Subscribed \\HasNoChildren \\Sent) "/" "Sent"\r\n'
        b'* LIST (\\Subscribed \\HasNoChildren \\Trash) "/" "Trash"\r\n'
        b"e OK LIST completed\r\n"
    )
    assert logged_in.ok('f LIST (SPECIAL-USE) "" "*" RETURN (SPECIAL-USE)') == (
        b'* LIST (\\HasNoChildren \\Archive) "/" "Archive"\r\n'
        b'* LIST (\\HasNoChildren \\Drafts) "/" "Drafts"\r\n'
        b'* LIST (\\HasNoChildren \\Junk) "/" "Junk"\r\n'
        b'* LIST (\\HasNoChildren \\Sent) "/" "Sent"\r\n'
        b'* LIST (\\HasNoChildren \\Trash) "/" "Trash"\r\n'
        b"f OK LIST completed\r\n"
    )
    assert logged_in.ok('g LIST "" ("INBOX" "Dra*") RETURN (SUBSCRIBED)') == (
        b'* LIST (\\Subscribed \\HasNoChildren) "/" "INBOX"\r\n'
        b'* LIST (\\HasNoChildren \\Drafts) "/" "Drafts"\r\n'
        b"g OK LIST completed\r\n"
    )
    deliver(backend, flags=("\\Seen",))
    deliver(backend)
    uidvalidity = backend.store.folder(USER, INBOX).uidvalidity
    assert logged_in.ok('h LIST "" "IN%" RETURN (STATUS (MESSAGES UNSEEN UIDVALIDITY))') == (
        b'* LIST (\\HasNoChildren) "/" "INBOX"\r\n'
        b'* STATUS "INBOX" (MESSAGES 2 UNSEEN 1 UIDVALIDITY %d)\r\n'
        b"h OK LIST completed\r\n" % uidvalidity
    )


def test_lsub(logged_in: Client) -> None:
    logged_in.ok("a CREATE A/B")
    logged_in.ok("b SUBSCRIBE A/B")
    for name in ("INBOX", "Sent", "Drafts", "Trash", "Junk", "Archive"):
        logged_in.ok(f"c UNSUBSCRIBE {name}")
    assert logged_in.ok('d LSUB "" "*"') == b'* LSUB () "/" "A/B"\r\nd OK LSUB completed\r\n'
    assert logged_in.ok('e LSUB "" "%"') == (
        b'* LSUB (\\Noselect) "/" "A"\r\ne OK LSUB completed\r\n'
    )


def test_delete_and_rename(logged_in: Client, backend: Backend) -> None:
    logged_in.ok("a CREATE Work/Old")
    assert logged_in.ok("b RENAME Work Jobs/Done") == b"b OK RENAME completed\r\n"
    names = [f.name for f in backend.store.folders(USER)]
    assert "Jobs" in names
    assert "Jobs/Done" in names
    assert "Jobs/Done/Old" in names
    assert "Work" not in names
    assert logged_in.cmd("c RENAME Nope X") == b"c NO [NONEXISTENT] no mailbox Nope\r\n"
    assert logged_in.cmd("d RENAME Jobs Sent").startswith(b"d NO [ALREADYEXISTS] ")
    assert logged_in.cmd("e RENAME Jobs Jobs/Sub").startswith(b"e NO [CANNOT] ")
    assert logged_in.ok("f DELETE Jobs/Done/Old") == b"f OK DELETE completed\r\n"
    assert logged_in.cmd("g DELETE Jobs/Done/Old") == (
        b"g NO [NONEXISTENT] no mailbox Jobs/Done/Old\r\n"
    )
    assert logged_in.cmd("h DELETE INBOX") == b"h NO [CANNOT] INBOX cannot be deleted\r\n"
    logged_in.select("Jobs")
    assert logged_in.cmd("i DELETE Jobs").startswith(b"i NO [INUSE] ")
    assert logged_in.cmd("j RENAME Jobs X").startswith(b"j NO [INUSE] ")


def test_rename_inbox_moves_its_messages(logged_in: Client, backend: Backend) -> None:
    deliver(backend)
    assert logged_in.ok("a RENAME INBOX Saved") == b"a OK RENAME completed\r\n"
    assert len(backend.store.folder(USER, "Saved")) == 1
    assert len(backend.store.folder(USER, INBOX)) == 0
    assert b"* 0 EXISTS" in logged_in.select()


def test_status(logged_in: Client, backend: Backend) -> None:
    deliver(backend, folder="Sent", flags=("\\Seen",))
    deliver(backend, folder="Sent", flags=("\\Deleted",))
    snap = backend.store.folder(USER, "Sent")
    size = 2 * len(SIMPLE)
    reply = logged_in.ok("a STATUS Sent (MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN SIZE DELETED)")
    assert reply == (
        b'* STATUS "Sent" (MESSAGES 2 RECENT 2 UIDNEXT 3 UIDVALIDITY %d UNSEEN 1 SIZE %d'
        b" DELETED 1)\r\na OK STATUS completed\r\n" % (snap.uidvalidity, size)
    )
    assert logged_in.cmd("b STATUS Nope (MESSAGES)") == b"b NO [NONEXISTENT] no mailbox Nope\r\n"
    reply = logged_in.ok("c STATUS Sent (HIGHESTMODSEQ)")
    assert reply.startswith(b'* STATUS "Sent" (HIGHESTMODSEQ %d)' % snap.modseq)


def test_mailbox_names_are_modified_utf7(logged_in: Client, backend: Backend) -> None:
    assert logged_in.ok("a CREATE Caf&AOk-") == b"a OK CREATE completed\r\n"
    assert "Café" in [f.name for f in backend.store.folders(USER)]
    assert logged_in.ok('b LIST "" "Caf*"') == (
        b'* LIST (\\HasNoChildren) "/" "Caf&AOk-"\r\nb OK LIST completed\r\n'
    )


def test_internal_date_format() -> None:
    when = datetime(2024, 12, 25, 23, 59, 1, tzinfo=timezone(timedelta(hours=9)))
    assert format_internal_date(when) == "25-Dec-2024 23:59:01 +0900"
    assert format_internal_date(datetime(2024, 1, 2, 3, 4, 5)) == " 2-Jan-2024 03:04:05 +0000"


def test_reselect_keeps_this_sessions_recent(logged_in: Client, backend: Backend) -> None:
    deliver(backend)
    assert b"* 1 RECENT\r\n" in logged_in.select()
    logged_in.ok("a UNSELECT")
    assert b"* 1 RECENT\r\n" in logged_in.select()
    assert b"* 1 RECENT\r\n" in logged_in.ok("b EXAMINE INBOX")
    other = Client(backend)
    other.login()
    assert b"* 0 RECENT\r\n" in other.select()


def test_absurd_literal_ends_the_connection(logged_in: Client) -> None:
    reply = logged_in.cmd("a APPEND INBOX {99999999999999+}")
    assert reply == b"* BYE [ALERT] literal too large\r\n"
    assert logged_in.hosted.is_closed
    assert logged_in.send(b"b NOOP\r\n") == b""


def test_pipelined_commands_are_answered_in_order(logged_in: Client, backend: Backend) -> None:
    deliver(backend)
    reply = logged_in.send(b"a SELECT INBOX\r\nb FETCH 1 UID\r\nc NOOP\r\n")
    assert reply.endswith(b"* 1 FETCH (UID 1)\r\nb OK FETCH completed\r\nc OK NOOP completed\r\n")
