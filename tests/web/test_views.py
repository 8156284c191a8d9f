"""``/view/{ID}.html|.txt``, ``/part/{PartID}``, ``/api/v1/info`` and ``/api/v1/webui``."""

from __future__ import annotations

from collections.abc import Callable

import httpx

import fakemail
from fakemail._server import MailServer

HOSTILE_HTML = (
    "From: evil@example.com\r\nSubject: hostile\r\n"
    "Content-Type: multipart/related; boundary=b\r\n\r\n"
    "--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
    "<script>parent.document.title='owned'</script>"
    "<img src=x onerror=alert(1)><img src=\"cid:pic@x\"><a href='https://example.com/'>go</a>\r\n"
    "--b\r\nContent-Type: image/png\r\nContent-ID: <pic@x>\r\n"
    "Content-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n"
    '--b\r\nContent-Type: text/html\r\nContent-Disposition: attachment; filename="page.html"\r\n'
    "\r\n<script>alert(document.cookie)</script>\r\n"
    "--b--\r\n"
)


def test_html_view_is_sandboxed(http: httpx.Client, send: Callable[..., None]) -> None:
    send(HOSTILE_HTML)
    id = http.get("/api/v1/message/latest").json()["ID"]
    view = http.get(f"/view/{id}.html")
    assert view.status_code == 200
    assert view.headers["content-type"].startswith("text/html")
    csp = view.headers["content-security-policy"]
    assert csp.startswith("sandbox")
    assert "allow-scripts" not in csp
    assert "allow-same-origin" not in csp
    assert "default-src 'none'" in csp
    # Inline images point to their parts; links open elsewhere with embed=1.
    assert f'src="/api/v1/message/{id}/part/2"' in view.text
    embedded = http.get(f"/view/{id}.html", params={"embed": "1"}).text
    assert '<a target="_blank" rel="noreferrer noopener" href=' in embedded
    remote = http.get(f"/view/{id}.html", params={"remote": "1"})
    assert "img-src * data:" in remote.headers["content-security-policy"]
    assert http.get("/view/latest.txt").status_code == 404  # no text body


def test_text_view(http: httpx.Client, send: Callable[..., None]) -> None:
    send("Subject: t\r\n\r\nplain words\r\n")
    response = http.get("/view/latest.txt")
    assert response.text == "plain words\r\n"
    assert response.headers["content-type"].startswith("text/plain")
    assert http.get("/view/latest.html").status_code == 404
    assert http.get("/view/424242.txt").status_code == 404


def test_parts_are_sandboxed_files(http: httpx.Client, send: Callable[..., None]) -> None:
    send(HOSTILE_HTML)
    image = http.get("/api/v1/message/latest/part/2")
    assert image.headers["content-type"] == "image/png"
    assert image.content == b"\x89PNG\r\n\x1a\n"
    assert image.headers["content-disposition"] == "inline"
    page = http.get("/api/v1/message/latest/part/3")
    assert page.headers["content-disposition"].startswith('attachment; filename="page.html"')
    assert page.headers["content-security-policy"].startswith("sandbox")
    assert http.get("/api/v1/message/latest/part/9").status_code == 404
    assert http.get("/api/v1/message/latest/part/nope").status_code == 404


def test_info_and_webui(server: MailServer, http: httpx.Client, send: Callable[..., None]) -> None:
    send("Subject: one\r\nX-Tags: a\r\n\r\nx\r\n")
    info = http.get("/api/v1/info").json()
    assert info["Version"] == fakemail.__version__
    assert (info["Messages"], info["Unread"], info["Tags"]) == (1, 1, {"a": 1})
    assert info["RuntimeStats"]["SMTPAccepted"] == 1
    assert info["RuntimeStats"]["Uptime"] >= 0
    webui = http.get("/api/v1/webui").json()
    assert webui["MessageRelay"]["Enabled"] is False
    assert {"Label", "SpamAssassin", "ChaosEnabled", "DuplicatesIgnored"} <= set(webui)
