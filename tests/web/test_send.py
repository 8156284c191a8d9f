"""``POST /api/v1/send``: a JSON message stored as if sent over SMTP."""

from __future__ import annotations

import base64

import httpx
import pytest

from fakemail._server import MailServer

MESSAGE = {
    "From": {"Email": "app@example.com", "Name": "The App"},
    "To": [{"Email": "bob@example.com", "Name": "Bob"}],
    "Cc": [{"Email": "carol@example.com"}],
    "Bcc": ["secret@example.com"],
    "ReplyTo": [{"Email": "help@example.com"}],
    "Subject": "Welcome ✓",
    "Text": "Hello Bob",
    "HTML": "<p>Hello <b>Bob</b> <img src='cid:logo'></p>",
    "Attachments": [
        {"Content": base64.b64encode(b"%PDF-1").decode(), "Filename": "terms.pdf"},
        {
            "Content": base64.b64encode(b"\x89PNG").decode(),
            "Filename": "logo.png",
            "ContentID": "logo",
        },
    ],
    "Headers": {"X-Campaign": "spring"},
    "Tags": ["welcome"],
}


def test_send_stores_a_transaction(server: MailServer, http: httpx.Client) -> None:
    response = http.post("/api/v1/send", json=MESSAGE)
    assert response.status_code == 200, response.text
    id = response.json()["ID"]
    stored = server.assert_sent(subject="Welcome ✓")
    assert stored.envelope.protocol == "api"
    assert set(stored.recipients) == {"bob@example.com", "carol@example.com", "secret@example.com"}
    assert "secret@example.com" not in stored.raw.decode()  # Bcc: envelope only
    assert server.mailbox("secret@example.com").inbox.messages  # delivered like SMTP mail
    message = http.get(f"/api/v1/message/{id}").json()
    assert message["From"] == {"Name": "The App", "Address": "app@example.com"}
    assert message["Text"].strip() == "Hello Bob"
    assert message["Tags"] == ["welcome"]
    assert [a["FileName"] for a in message["Attachments"]] == ["terms.pdf"]
    [logo] = message["Inline"]
    assert (logo["FileName"], logo["ContentID"], logo["ContentType"]) == (
        "logo.png",
        "logo",
        "image/png",
    )
    part = http.get(f"/api/v1/message/{id}/part/{logo['PartID']}")
    assert part.content == b"\x89PNG"
    assert http.get(f"/api/v1/message/{id}/headers").json()["X-Campaign"] == ["spring"]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{", "malformed JSON"),
        (b"[]", "JSON object"),
        (b"{}", "From is required"),
        (b'{"From": {"Email": "nope"}, "To": [{"Email": "b@x.org"}]}', "From.Email"),
        (b'{"From": {"Email": "a@x.org"}}', "no recipients"),
        (b'{"From": {"Email": "a@x.org"}, "To": "b@x.org"}', "To must be a list"),
        (
            b'{"From": {"Email": "a@x.org"}, "To": [{"Email": "b@x.org"}],'
            b' "Attachments": [{"Filename": "f", "Content": "!!"}]}',
            "base64",
        ),
        (
            b'{"From": {"Email": "a@x.org"}, "To": [{"Email": "b@x.org"}],'
            b' "Headers": {"Bad\\r\\nName": "x"}}',
            "bad header",
        ),
        (
            b'{"From": {"Email": "a@x.org", "Name": "A\\r\\nBcc: x@y.org"},'
            b' "To": [{"Email": "b@x.org"}]}',
            "line breaks",
        ),
    ],
)
def test_bad_input_is_400_and_stores_nothing(
    server: MailServer, http: httpx.Client, body: bytes, reason: str
) -> None:
    response = http.post("/api/v1/send", content=body)
    assert response.status_code == 400
    assert reason in response.json()["Error"]
    assert server.messages == ()


def test_too_large_is_413(server: MailServer, http: httpx.Client) -> None:
    server.configure(max_message_size=1000)
    big = {**MESSAGE, "Attachments": [], "Text": "x" * 1500}
    response = http.post("/api/v1/send", json=big)
    assert response.status_code == 413
    huge = http.post("/api/v1/send", content=b"{" + b" " * 5000 + b"}")
    assert huge.status_code == 413
    assert server.messages == ()
