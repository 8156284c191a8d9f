"""The websocket event stream ``/api/events``: Mailpit's event types, pushed, no polling."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

import fakemail
from fakemail._server import MailServer
from tests._helpers import TIMEOUT


class Events:
    """A websocket client reading events until one of the wanted type arrives."""

    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection

    def next(self, kind: str) -> Any:
        """The ``Data`` of the next event of type ``kind`` (others are skipped)."""
        while True:
            event = json.loads(self.connection.recv(timeout=TIMEOUT))
            assert set(event) == {"Type", "Data"}
            if event["Type"] == kind:
                return event["Data"]


@pytest.fixture
def events(server: MailServer) -> Iterator[Events]:
    assert server.http is not None
    url = f"ws://{server.http.host}:{server.http.port}/api/events"
    with connect(url, open_timeout=TIMEOUT) as connection:
        yield Events(connection)


def test_stats_on_connect(events: Events) -> None:
    assert events.next("stats") == {"Total": 0, "Unread": 0, "Version": fakemail.__version__}


def test_new_update_delete_truncate(
    events: Events, http: httpx.Client, send: Callable[..., None]
) -> None:
    events.next("stats")
    send("Subject: live\r\n\r\nhello\r\n")
    new = events.next("new")
    assert (new["Subject"], new["Read"], new["Snippet"]) == ("live", False, "hello")
    assert events.next("stats")["Total"] == 1
    http.put("/api/v1/messages", json={"IDs": [new["ID"]], "Read": True}).raise_for_status()
    assert events.next("update") == {"ID": new["ID"], "Read": True, "Tags": []}
    http.put("/api/v1/tags", json={"IDs": [new["ID"]], "Tags": ["x"]}).raise_for_status()
    assert events.next("update") == {"ID": new["ID"], "Read": True, "Tags": ["x"]}
    send("Subject: second\r\n\r\nx\r\n")
    second = events.next("new")
    http.request("DELETE", "/api/v1/messages", json={"IDs": [new["ID"]]}).raise_for_status()
    assert events.next("delete") == {"ID": new["ID"]}
    http.delete("/api/v1/messages").raise_for_status()
    assert events.next("truncate") is None
    assert second["ID"] != new["ID"]


def test_reset_is_a_truncate(server: MailServer, events: Events) -> None:
    events.next("stats")
    server.reset()
    assert events.next("truncate") is None


def _read_until_closed(connection: ClientConnection) -> None:
    while True:
        connection.recv(timeout=TIMEOUT)


def test_server_stop_closes_the_stream(make_server: Callable[..., MailServer]) -> None:
    server = make_server(http_port=0)
    assert server.http is not None
    url = f"ws://{server.http.host}:{server.http.port}/api/events"
    with connect(url, open_timeout=TIMEOUT) as connection:
        json.loads(connection.recv(timeout=TIMEOUT))  # stats
        server.stop()
        with pytest.raises(ConnectionClosed) as info:
            _read_until_closed(connection)
        assert info.value.rcvd is not None
        assert info.value.rcvd.code == 1001  # going away
