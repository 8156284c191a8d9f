"""``GET /api/v1/messages`` and ``/api/v1/message/{ID}`` over real HTTP: Mailpit's shapes."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from fakemail._server import MailServer
from fakemail._store import INBOX

SIMPLE = (
    "From: Ann Example <ann@example.com>\r\n"
    "To: Bob <bob@example.com>, carol@example.com\r\n"
    "Cc: dave@example.com\r\n"
    "Reply-To: replies@example.com\r\n"
    "Subject: Hello there\r\n"
    "Message-ID: <abc.123@example.com>\r\n"
    "Date: Tue, 01 Dec 2026 10:00:00 +0000\r\n"
    "\r\n"
    "Hi Bob,\r\n  how   are you?\r\n"
)


def test_empty_list(http: httpx.Client) -> None:
    response = http.get("/api/v1/messages")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "total": 0,
        "unread": 0,
        "messages_count": 0,
        "messages_unread": 0,
        "start": 0,
        "tags": [],
        "messages": [],
    }


def test_summary_fields(http: httpx.Client, send: Callable[..., None]) -> None:
    send(SIMPLE, to=["bob@example.com", "carol@example.com", "secret@example.com"])
    body = http.get("/api/v1/messages").json()
    assert (body["total"], body["unread"], body["messages_count"]) == (1, 1, 1)
    [summary] = body["messages"]
    assert summary.pop("Created").endswith("Z")
    assert summary == {
        "ID": summary["ID"],
        "MessageID": "abc.123@example.com",
        "Read": False,
        "From": {"Name": "Ann Example", "Address": "ann@example.com"},
        "To": [
            {"Name": "Bob", "Address": "bob@example.com"},
            {"Name": "", "Address": "carol@example.com"},
        ],
        "Cc": [{"Name": "", "Address": "dave@example.com"}],
        # Bcc: envelope recipients in neither To nor Cc, as Mailpit shows them.
        "Bcc": [{"Name": "", "Address": "secret@example.com"}],
        "ReplyTo": [{"Name": "", "Address": "replies@example.com"}],
        "Subject": "Hello there",
        "Username": "",
        "Tags": [],
        "Size": len(SIMPLE.encode()),
        "Attachments": 0,
        "Snippet": "Hi Bob, how are you?",
    }
    assert isinstance(summary["ID"], str)


def test_newest_first_and_paging(http: httpx.Client, send: Callable[..., None]) -> None:
    for n in range(5):
        send(f"Subject: message {n}\r\n\r\nbody\r\n")
    subjects = [m["Subject"] for m in http.get("/api/v1/messages").json()["messages"]]
    assert subjects == [f"message {n}" for n in (4, 3, 2, 1, 0)]
    body = http.get("/api/v1/messages", params={"start": 1, "limit": 2}).json()
    assert [m["Subject"] for m in body["messages"]] == ["message 3", "message 2"]
    assert (body["start"], body["total"], body["messages_count"]) == (1, 5, 5)
    # Mailpit: a negative limit is the default (50); a start past the end lists nothing.
    assert len(http.get("/api/v1/messages", params={"limit": -1}).json()["messages"]) == 5
    assert http.get("/api/v1/messages", params={"start": 9}).json()["messages"] == []


@pytest.mark.parametrize("query", [{"limit": "ten"}, {"start": "1.5"}])
def test_bad_paging_is_400(http: httpx.Client, query: dict[str, str]) -> None:
    response = http.get("/api/v1/messages", params=query)
    assert response.status_code == 400
    assert "must be an integer" in response.json()["Error"]


def test_ids_are_unique_and_not_reused_after_reset(
    server: MailServer, http: httpx.Client, send: Callable[..., None]
) -> None:
    send("Subject: one\r\n\r\nx\r\n")
    first = http.get("/api/v1/messages").json()["messages"][0]["ID"]
    server.reset()
    send("Subject: two\r\n\r\nx\r\n")
    second = http.get("/api/v1/messages").json()["messages"][0]["ID"]
    assert first != second
    assert http.get(f"/api/v1/message/{first}").status_code == 404


def test_message_and_latest(
    server: MailServer, http: httpx.Client, send: Callable[..., None]
) -> None:
    send("Subject: older\r\n\r\nold\r\n")
    send(SIMPLE, to=["bob@example.com"])
    latest = http.get("/api/v1/message/latest").json()
    assert latest["Subject"] == "Hello there"
    assert latest["Text"] == "Hi Bob,\r\n  how   are you?\r\n"
    assert latest["HTML"] == ""
    assert latest["Date"] == "2026-12-01T10:00:00.000Z"
    assert latest["ReturnPath"] == "app@example.com"
    assert (latest["Attachments"], latest["Inline"]) == ([], [])
    by_id = http.get(f"/api/v1/message/{latest['ID']}").json()
    assert by_id == latest


def test_opening_a_message_marks_it_read_and_seen(
    server: MailServer, http: httpx.Client, send: Callable[..., None]
) -> None:
    send(SIMPLE, to=["bob@example.com"])
    assert http.get("/api/v1/messages").json()["unread"] == 1
    http.get("/api/v1/message/latest").raise_for_status()
    body = http.get("/api/v1/messages").json()
    assert body["unread"] == 0
    assert body["messages"][0]["Read"] is True
    # Read state is \Seen on the mailbox copy, for IMAP clients (and back).
    [item] = server.store.folder("bob@example.com", INBOX).items
    assert "\\Seen" in item.flags


def test_headers(http: httpx.Client, send: Callable[..., None]) -> None:
    send("Subject: =?utf-8?q?caf=C3=A9?=\r\nX-Thing: a\r\nx-thing: b\r\nMIME-Version: 1.0\r\n\r\nx")
    headers = http.get("/api/v1/message/latest/headers").json()
    assert list(headers) == sorted(headers)
    assert headers["Subject"] == ["café"]
    assert headers["X-Thing"] == ["a", "b"]
    assert headers["Mime-Version"] == ["1.0"]  # Go's canonical names, as Mailpit gives them


def test_raw_is_the_exact_bytes(http: httpx.Client, send: Callable[..., None]) -> None:
    send(SIMPLE)
    response = http.get("/api/v1/message/latest/raw")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert response.content == SIMPLE.encode()
    download = http.get("/api/v1/message/latest/raw", params={"dl": "1"})
    assert download.headers["content-disposition"].startswith("attachment;")


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/message/999999",
        "/api/v1/message/latest",
        "/api/v1/message/nope/headers",
        "/api/v1/message/%C3%A9/raw",
    ],
)
def test_unknown_message_is_404_json(http: httpx.Client, path: str) -> None:
    response = http.get(path)
    assert response.status_code == 404
    assert "no message" in response.json()["Error"]


def test_unknown_route_and_method_are_json_errors(http: httpx.Client) -> None:
    missing = http.get("/api/v1/nothing-here")
    assert missing.status_code == 404
    assert missing.json() == {"Error": "Not Found"}
    wrong = http.post("/api/v1/message/latest/raw")
    assert wrong.status_code == 405
    assert "Error" in wrong.json()


def test_health(http: httpx.Client) -> None:
    assert http.get("/livez").text == "ok"
    assert http.get("/readyz").status_code == 200


def test_every_response_says_nosniff(http: httpx.Client) -> None:
    assert http.get("/api/v1/messages").headers["x-content-type-options"] == "nosniff"
