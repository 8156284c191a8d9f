"""Changing mail over HTTP: read state, deletion, tags, search; bad input changes nothing."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from fakemail._server import MailServer
from fakemail._store import INBOX


def _ids(http: httpx.Client, path: str = "/api/v1/messages", **params: str) -> list[str]:
    response = http.get(path, params=params)
    response.raise_for_status()
    return [m["ID"] for m in response.json()["messages"]]


@pytest.fixture
def three(http: httpx.Client, send: Callable[..., None]) -> list[str]:
    """Three messages: newest first, as the list shows them."""
    for n in range(3):
        send(f"Subject: number {n}\r\nFrom: n{n}@example.com\r\n\r\nbody {n}\r\n")
    return _ids(http)


def test_mark_read_by_id_and_all(http: httpx.Client, three: list[str]) -> None:
    response = http.put("/api/v1/messages", json={"IDs": [three[0]], "Read": True})
    assert (response.status_code, response.text) == (200, "ok")
    assert http.get("/api/v1/messages").json()["unread"] == 2
    http.put("/api/v1/messages", json={"Read": True}).raise_for_status()  # no IDs: all
    assert http.get("/api/v1/messages").json()["unread"] == 0
    http.put("/api/v1/messages", json={"Search": "subject:number 1", "Read": False})
    body = http.get("/api/v1/messages").json()
    assert body["unread"] == 1
    assert [m["Read"] for m in body["messages"]] == [True, False, True]


def test_delete_by_id_and_all(server: MailServer, http: httpx.Client, three: list[str]) -> None:
    http.request("DELETE", "/api/v1/messages", json={"IDs": [three[1]]}).raise_for_status()
    assert _ids(http) == [three[0], three[2]]
    assert len(server.messages) == 2
    assert len(server.store.folder("user@example.com", INBOX)) == 2  # the copy went too
    http.delete("/api/v1/messages").raise_for_status()  # no body: every message
    assert _ids(http) == []
    assert server.messages == ()


@pytest.mark.parametrize(
    ("method", "body"),
    [
        ("PUT", b"{not json"),
        ("PUT", b'{"IDs": "1", "Read": true}'),
        ("PUT", b'{"IDs": [1], "Read": true}'),
        ("PUT", b'{"IDs": [], "Read": "yes"}'),
        ("PUT", b"[]"),
        ("DELETE", b"{not json"),
        ("DELETE", b'{"IDs": [null]}'),
    ],
)
def test_bad_bodies_are_400_and_change_nothing(
    http: httpx.Client, three: list[str], method: str, body: bytes
) -> None:
    response = http.request(method, "/api/v1/messages", content=body)
    assert response.status_code == 400
    assert response.json()["Error"]
    after = http.get("/api/v1/messages").json()
    assert (after["total"], after["unread"]) == (3, 3)


def test_search_and_delete_by_search(http: httpx.Client, three: list[str]) -> None:
    assert _ids(http, "/api/v1/search", query="subject:number -n2@example.com") == three[1:]
    body = http.get("/api/v1/search", params={"query": "body", "limit": "1"}).json()
    assert (body["messages_count"], body["total"], len(body["messages"])) == (3, 3, 1)
    assert http.get("/api/v1/search").status_code == 400  # query is required
    bad_zone = http.get("/api/v1/search", params={"query": "x", "tz": "Mars/Olympus"})
    assert bad_zone.status_code == 400
    http.delete("/api/v1/search", params={"query": "from:n0@example.com"}).raise_for_status()
    assert _ids(http) == three[:2]


def test_tags(server: MailServer, http: httpx.Client, three: list[str]) -> None:
    assert http.get("/api/v1/tags").json() == []
    ok = http.put("/api/v1/tags", json={"IDs": three[:2], "Tags": ["Invoice", "urgent"]})
    assert (ok.status_code, ok.text) == (200, "ok")
    assert http.get("/api/v1/tags").json() == ["Invoice", "urgent"]
    assert _ids(http, "/api/v1/search", query="tag:invoice") == three[:2]
    # Tags are IMAP keywords on the copies (and back).
    flags = {item.flags for item in server.store.folder("user@example.com", INBOX).items}
    assert frozenset({"Invoice", "urgent"}) in flags
    http.put("/api/v1/tags/urgent", json={"Name": "later"}).raise_for_status()
    http.delete("/api/v1/tags/Invoice").raise_for_status()
    assert http.get("/api/v1/tags").json() == ["later"]
    assert http.put("/api/v1/tags", json={"IDs": three}).status_code == 400  # Tags required
    assert http.put("/api/v1/tags/later", json={}).status_code == 400  # Name required
    assert http.get("/api/v1/tags").json() == ["later"]


def test_tags_from_x_tags_and_plus_addressing(
    http: httpx.Client, send: Callable[..., None]
) -> None:
    send("X-Tags: alpha, Beta\r\nSubject: t\r\n\r\nx\r\n", to=["bob+signup@example.com"])
    assert http.get("/api/v1/message/latest").json()["Tags"] == ["alpha", "Beta", "signup"]
