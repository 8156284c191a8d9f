"""fakemail's inspection API over real HTTP: accounts, folders, one message, transcripts."""

from __future__ import annotations

import imaplib
import smtplib
from collections.abc import Callable

import httpx

from fakemail import User
from fakemail._server import MailServer

RAW = (
    b"From: Alice <alice@example.com>\r\nTo: bob@example.com\r\nSubject: Hello\r\n"
    b"Message-ID: <m1@example.com>\r\n\r\nSee https://example.com/verify?t=1 now.\r\n"
)


def send(server: MailServer, raw: bytes = RAW, to: tuple[str, ...] = ("bob@example.com",)) -> None:
    with smtplib.SMTP(*server.smtp, timeout=10) as client:
        client.sendmail("alice@example.com", list(to), raw)


def only_id(http: httpx.Client) -> str:
    messages = http.get("/api/v1/messages").json()["messages"]
    assert len(messages) == 1
    return str(messages[0]["ID"])


def test_accounts_list_every_folder_with_counts(server: MailServer, http: httpx.Client) -> None:
    send(server, to=("bob@example.com", "carol@example.com"))

    accounts = http.get("/api/fakemail/accounts").json()

    assert [a["address"] for a in accounts] == ["bob@example.com", "carol@example.com"]
    inbox = accounts[0]["folders"][0]
    assert inbox["name"] == "INBOX"
    assert inbox["messages"] == 1
    assert inbox["unseen"] == 1
    assert inbox["uidnext"] == 2
    assert isinstance(inbox["uidvalidity"], int)
    assert {f["name"]: f["special_use"] for f in accounts[0]["folders"]}["Trash"] == "\\Trash"
    assert accounts[0]["login"] is None


def test_accounts_name_the_login_of_a_user(make_server: Callable[..., MailServer]) -> None:
    server = make_server(http_port=0, users=[User("alice@example.com", "pw", login="alice")])
    server.deliver(RAW, to="alice@example.com")
    accounts = httpx.get(f"{server.http_url}/api/fakemail/accounts", timeout=10).json()
    assert accounts[0]["login"] == "alice"


def test_folder_shows_flags_set_over_imap(server: MailServer, http: httpx.Client) -> None:
    send(server)
    send(server, RAW.replace(b"Hello", b"Second"))
    with imaplib.IMAP4(*server.imap, timeout=10) as imap:
        imap.login("bob@example.com", "any")
        imap.select("INBOX")
        imap.uid("STORE", "1", "+FLAGS", r"(\Flagged $Important)")

    folder = http.get("/api/fakemail/accounts/bob@example.com/folders/INBOX").json()

    assert folder["name"] == "INBOX"
    assert folder["total"] == 2
    assert folder["start"] == 0
    first, second = folder["messages"]  # newest first
    assert (first["uid"], first["subject"]) == (2, "Second")
    assert (second["uid"], second["subject"]) == (1, "Hello")
    assert second["flags"] == ["$Important", "\\Flagged"]
    assert second["from"] == "alice@example.com"
    assert second["size"] == len(RAW)
    assert second["internal_date"].endswith("Z")
    assert http.get(f"/api/v1/message/{second['id']}").json()["Subject"] == "Hello"
    copies = http.get(f"/api/fakemail/message/{second['id']}").json()["copies"]
    assert copies == [
        {
            "account": "bob@example.com",
            "folder": "INBOX",
            "uid": 1,
            "flags": ["$Important", "\\Flagged", "\\Seen"],  # the API read it: \Seen
        }
    ]


def test_folder_pages_like_the_message_list(server: MailServer, http: httpx.Client) -> None:
    for n in range(5):
        server.deliver(RAW.replace(b"Hello", f"N{n}".encode()), to="bob@example.com")

    folder = http.get(
        "/api/fakemail/accounts/bob@example.com/folders/INBOX", params={"start": 1, "limit": 2}
    ).json()

    assert folder["total"] == 5
    assert [m["subject"] for m in folder["messages"]] == ["N3", "N2"]


def test_mail_not_sent_over_smtp_has_no_http_id(server: MailServer, http: httpx.Client) -> None:
    server.deliver(RAW, to="bob@example.com")

    folder = http.get("/api/fakemail/accounts/bob@example.com/folders/INBOX").json()

    assert folder["messages"][0]["id"] is None


def test_raw_copy_of_mail_that_is_no_transaction(server: MailServer, http: httpx.Client) -> None:
    server.deliver(RAW, to="bob@example.com", folder="Work/Sent")

    response = http.get("/api/fakemail/accounts/bob@example.com/folders/Work/Sent/uid/1/raw")

    assert response.status_code == 200
    assert response.content == RAW
    missing = http.get("/api/fakemail/accounts/bob@example.com/folders/Work/Sent/uid/2/raw")
    assert missing.status_code == 404


def test_folder_names_with_the_hierarchy_delimiter(server: MailServer, http: httpx.Client) -> None:
    server.deliver(RAW, to="bob@example.com", folder="Work/Projects")

    response = http.get("/api/fakemail/accounts/bob@example.com/folders/Work/Projects")

    assert response.status_code == 200
    assert response.json()["name"] == "Work/Projects"


def test_unknown_account_or_folder_is_404(server: MailServer, http: httpx.Client) -> None:
    server.deliver(RAW, to="bob@example.com")
    for path in ("nobody@example.com/folders/INBOX", "bob@example.com/folders/Nope"):
        response = http.get(f"/api/fakemail/accounts/{path}")
        assert response.status_code == 404
        assert "Error" in response.json()


def test_bad_paging_is_400(server: MailServer, http: httpx.Client) -> None:
    server.deliver(RAW, to="bob@example.com")
    response = http.get(
        "/api/fakemail/accounts/bob@example.com/folders/INBOX", params={"limit": "x"}
    )
    assert response.status_code == 400


def test_message_envelope_links_copies_transcript(server: MailServer, http: httpx.Client) -> None:
    # carol is a Bcc: in the envelope, in no header.
    send(server, to=("bob@example.com", "carol@example.com"))
    id = only_id(http)

    info = http.get(f"/api/fakemail/message/{id}").json()

    assert info["id"] == id
    envelope = info["envelope"]
    assert envelope["mail_from"] == "alice@example.com"
    assert envelope["rcpt_to"] == ["bob@example.com", "carol@example.com"]
    assert envelope["auth_user"] is None
    assert envelope["tls"] is False
    assert envelope["peer"].startswith("127.0.0.1:")
    assert envelope["protocol"] == "smtp"
    assert info["links"] == ["https://example.com/verify?t=1"]
    assert info["remote_content"] == 0
    assert [(c["account"], c["folder"], c["uid"]) for c in info["copies"]] == [
        ("bob@example.com", "INBOX", 1),
        ("carol@example.com", "INBOX", 1),
    ]
    transcript = "\n".join(info["transcript"]).lower()  # smtplib sends "mail FROM:"
    assert "c: mail from:<alice@example.com>" in transcript
    assert "c: rcpt to:<carol@example.com>" in transcript
    assert "s: 250 2.0.0 ok" in transcript


def test_message_shows_auth_user_and_tls(make_server: Callable[..., MailServer]) -> None:
    server = make_server(http_port=0, users={"alice@example.com": "s3cret"}, require_auth=True)
    with smtplib.SMTP(*server.smtp, timeout=10) as client:
        client.starttls(context=server.client_ssl_context())
        client.login("alice@example.com", "s3cret")
        client.sendmail("alice@example.com", ["bob@example.com"], RAW)
    with httpx.Client(base_url=str(server.http_url), timeout=10) as http:
        envelope = http.get("/api/fakemail/message/latest").json()["envelope"]
    assert envelope["auth_user"] == "alice@example.com"
    assert envelope["tls"] is True
    assert envelope["helo"]


def test_latest_and_unknown_ids(server: MailServer, http: httpx.Client) -> None:
    assert http.get("/api/fakemail/message/latest").status_code == 404
    send(server)
    assert http.get("/api/fakemail/message/latest").json()["id"] == only_id(http)
    response = http.get("/api/fakemail/message/999999")
    assert response.status_code == 404
    assert "999999" in response.json()["Error"]


def test_remote_content_is_counted(server: MailServer, http: httpx.Client) -> None:
    html = (
        b'<img src="https://tracker.example.net/p.gif"><img src="cid:logo">'
        b"<div style=\"background:url('http://x.example/b.png')\"></div>"
        b'<img srcset="a.png 1x, //cdn.example/b.png 2x">'
    )
    raw = b"Subject: H\r\nContent-Type: text/html\r\n\r\n" + html + b"\r\n"
    send(server, raw)

    info = http.get(f"/api/fakemail/message/{only_id(http)}").json()

    assert info["remote_content"] == 3


def test_transcripts_newest_first_and_limited(server: MailServer, http: httpx.Client) -> None:
    send(server, RAW)
    send(server, RAW)
    with imaplib.IMAP4(*server.imap, timeout=10) as imap:
        imap.login("bob@example.com", "any")
        imap.logout()

    everything = http.get("/api/fakemail/transcripts").json()
    one = http.get("/api/fakemail/transcripts", params={"limit": 1}).json()

    assert [t["protocol"] for t in everything] == ["imap", "smtp", "smtp"]
    assert one == everything[:1]
    assert everything[0]["peer"].startswith("127.0.0.1:")
    assert everything[0]["started"].endswith("Z")
    assert any("LOGIN" in line for line in everything[0]["lines"])
    assert http.get("/api/fakemail/transcripts", params={"limit": -1}).status_code == 400


def test_transcript_of_one_of_many_messages_on_one_connection(
    server: MailServer, http: httpx.Client
) -> None:
    with smtplib.SMTP(*server.smtp, timeout=10) as client:
        client.sendmail("alice@example.com", ["bob@example.com"], RAW.replace(b"Hello", b"First"))
        client.sendmail("alice@example.com", ["bob@example.com"], RAW.replace(b"Hello", b"Other"))

    transcript = http.get("/api/fakemail/message/latest").json()["transcript"]

    text = "\n".join(transcript)
    assert "Subject: Other" in text
    assert "Subject: First" not in text
    assert text.lower().count("c: mail from:") == 1
    assert any(line.lower().startswith("c: ehlo") for line in transcript)  # the opening
    assert "lines of earlier transactions not shown" in text
