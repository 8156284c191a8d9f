"""Hostile mail lists and displays through the API without breaking JSON."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx

from fakemail._server import MailServer


def _store(server: MailServer, raw: bytes) -> None:
    # Straight into the store: some of these could not pass through smtplib unchanged.
    from fakemail._message import Envelope

    server.store.record(raw, Envelope("evil@example.com", ("victim@example.com",)), [])


def test_hostile_messages_list_and_show(server: MailServer, http: httpx.Client) -> None:
    many_parts = b"".join(
        b"--b\r\nContent-Type: application/octet-stream\r\n"
        b'Content-Disposition: attachment; filename="f%d.bin"\r\n\r\nx\r\n' % n
        for n in range(10_000)
    )
    hostile = [
        b"Subject: <script>alert(1)</script>\r\nContent-Type: text/html\r\n\r\n"
        b"<img src=x onerror=alert(1)><a href='javascript:alert(1)'>x</a>\r\n",
        b"Subject: \xff\xfe bad \xc3\r\nFrom: \xe9vil <\xff@x>\r\n"
        b"Content-Type: text/plain; charset=no-such-charset\r\n\r\n\xff\xfe\x80\r\n",
        b"Subject: =?bogus?q?=FF?=\r\nContent-Type: text/plain; charset=utf-8\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n!!!not base64!!!\r\n",
        b"X-Huge: " + b"a" * 1_000_000 + b"\r\nTo: <\r\nSubject: huge\r\n\r\nx\r\n",
        b"Content-Type: multipart/mixed; boundary=b\r\nSubject: parts\r\n\r\n"
        + many_parts
        + b"--b--\r\n",
        b"\r\n",  # no header at all
    ]
    for raw in hostile:
        _store(server, raw)
    # Correctness, not speed (benchmarks measure that): a generous bound for a loaded machine.
    slow = 120
    listed = http.get("/api/v1/messages", timeout=slow)
    assert listed.status_code == 200
    body = json.loads(listed.content.decode("utf-8"))  # valid UTF-8 JSON
    assert body["total"] == len(hostile)
    for summary in body["messages"]:
        for path in ("", "/headers"):
            response = http.get(f"/api/v1/message/{summary['ID']}{path}", timeout=slow)
            assert response.status_code == 200, response.text
            json.loads(response.content.decode("utf-8"))
    parts = http.get("/api/v1/message/latest", timeout=slow).json()
    assert parts["Subject"] == ""
    many = next(m for m in body["messages"] if m["Subject"] == "parts")
    assert many["Attachments"] == 10_000


def test_script_subject_is_data_not_markup(http: httpx.Client, send: Callable[..., None]) -> None:
    send("Subject: <script>alert(1)</script>\r\n\r\nx\r\n")
    response = http.get("/api/v1/messages")
    assert response.headers["content-type"] == "application/json"
    assert response.json()["messages"][0]["Subject"] == "<script>alert(1)</script>"
