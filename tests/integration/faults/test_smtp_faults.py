"""SMTP faults over real sockets, as smtplib sees them: refused recipients and data,
disconnects, and a retry that succeeds once the fault is spent; nothing is stored on failure."""

from __future__ import annotations

import smtplib
import socket

import pytest

from fakemail import ConfigError
from fakemail._server import MailServer
from tests._helpers import TIMEOUT

MESSAGE = b"Subject: hello\r\n\r\nbody\r\n"


def _client(server: MailServer) -> smtplib.SMTP:
    return smtplib.SMTP(*server.smtp, timeout=TIMEOUT, local_hostname="client.example")


def _send(server: MailServer, to: str = "bob@example.com") -> None:
    with _client(server) as client:
        client.sendmail("alice@example.com", [to], MESSAGE)


def test_rcpt_451_refuses_the_recipient_and_stores_nothing(server: MailServer) -> None:
    rule = server.fail("rcpt", 451)
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        _send(server)
    assert refused.value.recipients["bob@example.com"][0] == 451
    assert server.messages == ()
    assert rule.fired == 1
    assert "!! fault: rcpt 451 (rule 1)" in server.transcripts[-1].text


def test_a_retry_loop_succeeds_after_times_1(server: MailServer) -> None:
    server.faults.add("smtp:message:451:times=1")
    codes = []
    for _ in range(5):  # the application's retry loop
        try:
            _send(server)
            break
        except smtplib.SMTPDataError as error:
            codes.append(error.smtp_code)
    assert codes == [451]
    server.assert_sent(to="bob@example.com")


def test_end_of_data_552_is_an_smtp_data_error(server: MailServer) -> None:
    server.faults.add("smtp:message:552:text=Mailbox full")
    with pytest.raises(smtplib.SMTPDataError) as error:
        _send(server)
    assert error.value.smtp_code == 552
    assert error.value.smtp_error == b"5.3.4 Mailbox full"
    assert server.messages == ()


def test_data_before_354(server: MailServer) -> None:
    server.fail("data", 554, code="5.7.1")
    with pytest.raises(smtplib.SMTPDataError) as error:
        _send(server)
    assert error.value.smtp_code == 554
    assert server.messages == ()


def test_address_pattern_fails_only_matching_recipients(server: MailServer) -> None:
    server.faults.add("smtp:rcpt:550:address=*@bounce.test")
    with _client(server) as client:
        refused = client.sendmail(
            "alice@example.com", ["ok@example.com", "gone@BOUNCE.test"], MESSAGE
        )
    assert refused == {"gone@BOUNCE.test": (550, b"5.1.1 Mailbox unavailable")}
    server.assert_sent(to="ok@example.com")


@pytest.mark.parametrize(
    ("stage", "call"),
    [
        ("ehlo", lambda c: c.ehlo()),
        ("mail", lambda c: c.mail("a@example.com")),
        ("rset", lambda c: c.rset()),
        ("quit", lambda c: c.docmd("QUIT")),
        ("auth", lambda c: c.docmd("AUTH", "PLAIN AGFAAGI=")),
        ("starttls", lambda c: c.docmd("STARTTLS")),
    ],
)
def test_each_command_stage_can_reply(server: MailServer, stage: str, call: object) -> None:
    server.fail(stage, 454)
    with _client(server) as client:
        if stage not in ("ehlo",):
            client.ehlo()
        reply = call(client)  # type: ignore[operator]
        assert reply[0] == 454
    assert server.faults.rules[0].fired == 1


def test_greeting_421_then_closed(server: MailServer) -> None:
    server.faults.add("smtp:connect:421")
    with pytest.raises(smtplib.SMTPConnectError) as error:
        _client(server)
    assert error.value.smtp_code == 421


def test_close_before_the_reply(server: MailServer) -> None:
    server.faults.add("smtp:rcpt:close")
    with pytest.raises(smtplib.SMTPServerDisconnected):
        _send(server)
    assert server.messages == ()


def test_close_after_the_reply(server: MailServer) -> None:
    server.faults.add("smtp:mail:451:close")
    with _client(server) as client:
        client.ehlo()
        assert client.mail("alice@example.com")[0] == 451
        with pytest.raises(smtplib.SMTPServerDisconnected):
            client.rcpt("bob@example.com")


def test_close_before_the_end_of_data_reply_stores_nothing(server: MailServer) -> None:
    server.faults.add("smtp:message:close")
    with pytest.raises(smtplib.SMTPServerDisconnected):
        _send(server)
    assert server.messages == ()


def test_cut_in_the_middle_of_data(server: MailServer) -> None:
    server.fail("data", action="cut")
    with pytest.raises(smtplib.SMTPServerDisconnected):
        _send(server)
    assert server.messages == ()


def test_a_fault_leaves_other_sessions_alone(server: MailServer) -> None:
    server.faults.add("smtp:rcpt:451:address=victim@example.com")
    with _client(server) as healthy, _client(server) as hit:
        healthy.ehlo()
        hit.ehlo()
        healthy.mail("alice@example.com")
        hit.mail("alice@example.com")
        assert hit.rcpt("victim@example.com")[0] == 451
        assert healthy.rcpt("bob@example.com")[0] == 250
        healthy.data(MESSAGE)
    assert [m.envelope.recipients for m in server.messages] == [("bob@example.com",)]


def test_nth_and_every(server: MailServer) -> None:
    server.faults.add("smtp:rcpt:452:nth=2")
    server.faults.add("smtp:rcpt:450:every=3")
    with _client(server) as client:
        client.ehlo()
        client.mail("alice@example.com")
        codes = [client.rcpt(f"r{i}@example.com")[0] for i in range(1, 7)]
    assert codes == [250, 452, 450, 250, 250, 450]


def test_context_manager_removes_the_rule(server: MailServer) -> None:
    with server.fail("rcpt", 451, times=None) as rule:
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            _send(server)
        assert rule.fired == 1
    assert server.faults.rules == ()
    _send(server)
    server.assert_sent()


def test_reset_clears_rules(server: MailServer) -> None:
    server.fail("rcpt", 451)
    server.reset()
    assert server.faults.rules == ()
    _send(server)


def test_malformed_rules_raise_config_error_at_the_call(server: MailServer) -> None:
    with pytest.raises(ConfigError, match="stage"):
        server.fail("rcptt", 451)
    with pytest.raises(ConfigError, match="reply"):
        server.fail("rcpt", 250)
    with pytest.raises(ConfigError, match="probability"):
        server.faults.add("smtp:rcpt:451:p=1.5")
    assert server.faults.rules == ()


def test_hang_never_answers(server: MailServer) -> None:
    server.faults.add("smtp:mail:hang")
    with _client(server) as client:
        client.ehlo()
        client.sock.settimeout(0.5)  # bounds the wait for an answer that must not come
        with pytest.raises((socket.timeout, smtplib.SMTPServerDisconnected)):
            client.mail("alice@example.com")
