"""HTTP: the Mailpit-compatible API over 10,000 stored messages, and the event stream's latency.

Targets (issue 8): ``GET /api/v1/messages?limit=50`` with 10,000 stored <= 20 ms median; SMTP
``250`` -> websocket ``new`` event <= 10 ms median; a search over 10,000 <= 100 ms; the memory
a stored message costs is the same with the HTTP listener on as off. The server runs in this
process (as under pytest); the clients are httpx, smtplib and websockets over loopback.
"""

from __future__ import annotations

import json
import smtplib
import statistics
import threading
import time
import tracemalloc

import httpx
from websockets.sync.client import connect

from benchmarks._common import Row, varied_messages
from fakemail import Envelope, MailServer

NOTES: list[str] = [
    "`list, cached page` repeats one page (summaries are computed once per message and kept);"
    " `list, new page` asks for a different page each time, so each of its 50 messages is"
    " summarised for the first time. `search, first` builds each message's search text once"
    " (kept on the message); `search` rows are medians of later searches.",
]


def _fill(server: MailServer, count: int) -> None:
    envelope = Envelope("sender@example.com", ("user@example.org",))
    for raw in varied_messages(count):
        server.store.record(raw, envelope, ["user@example.org"])


def _median_ms(client: httpx.Client, path: str, runs: int, **params: object) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        client.get(path, params=params).raise_for_status()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def _event_latency(server: MailServer, runs: int) -> float:
    """Median ms from smtplib's return (the 250 received) to the websocket ``new`` event."""
    assert server.http is not None
    arrived: dict[str, float] = {}
    seen = threading.Condition()
    ready = threading.Event()
    url = f"ws://{server.http.host}:{server.http.port}/api/events"
    with connect(url) as connection:

        def read() -> None:
            ready.set()
            for frame in connection:
                event = json.loads(frame)
                if event["Type"] == "new":
                    with seen:
                        arrived[event["Data"]["Subject"]] = time.perf_counter()
                        seen.notify_all()

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        ready.wait()
        deltas = []
        with smtplib.SMTP(*server.smtp) as client:
            for n in range(runs):
                subject = f"latency {n}"
                client.sendmail("a@example.com", ["b@example.com"], f"Subject: {subject}\r\n\r\nx")
                accepted = time.perf_counter()
                with seen:
                    if not seen.wait_for(lambda s=subject: s in arrived, timeout=10):
                        raise RuntimeError(f"no websocket event for {subject!r} within 10 s")
                deltas.append(arrived[subject] - accepted)
    return statistics.median(deltas) * 1000


def _bytes_per_message(http_port: int | None, count: int) -> float:
    with MailServer(http_port=http_port) as server:
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        _fill(server, count)
        after = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
    return (after - before) / count


def run(quick: bool) -> list[Row]:
    """Rows: list, search, event latency, memory per message."""
    count = 2_000 if quick else 10_000
    runs = 11 if quick else 51
    rows: list[Row] = []
    with MailServer(http_port=0) as server:
        _fill(server, count)
        assert server.http_url is not None
        with httpx.Client(base_url=server.http_url, timeout=60) as client:
            client.get("/api/v1/messages", params={"limit": 50}).raise_for_status()
            cached = _median_ms(client, "/api/v1/messages", runs, limit=50)
            rows.append(Row(f"list, cached page ({count} stored)", "ms", cached, target="<= 20"))
            pages = []
            for n in range(1, runs + 1):
                start = time.perf_counter()
                client.get("/api/v1/messages", params={"limit": 50, "start": 50 * n})
                pages.append(time.perf_counter() - start)
            rows.append(
                Row(f"list, new page ({count} stored)", "ms", statistics.median(pages) * 1000)
            )
            start = time.perf_counter()
            client.get("/api/v1/search", params={"query": "invoice"}).raise_for_status()
            rows.append(Row("search, first", "ms", (time.perf_counter() - start) * 1000))
            for query in ("invoice", "from:sender3 -is:read", 'subject:"number 99"'):
                ms = _median_ms(client, "/api/v1/search", runs, query=query)
                rows.append(Row(f"search `{query}` ({count})", "ms", ms, target="<= 100"))
        rows.append(
            Row("SMTP 250 -> websocket new", "ms", _event_latency(server, runs), target="<= 10")
        )
    off = _bytes_per_message(None, count // 4)
    on = _bytes_per_message(0, count // 4)
    rows.append(Row("bytes per stored message, HTTP on", "B", on, off, "HTTP off", target="same"))
    return rows
