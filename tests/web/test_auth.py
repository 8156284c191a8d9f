"""``http_auth``: HTTP Basic auth (RFC 7617) on every route, changeable at runtime."""

from __future__ import annotations

import httpx

from fakemail._server import MailServer


def test_basic_auth(server: MailServer, http: httpx.Client) -> None:
    server.configure(http_auth=("ann", "pa:ss wörd"))
    refused = http.get("/api/v1/messages")
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"].startswith("Basic ")
    assert refused.json() == {"Error": "authentication required"}
    assert http.get("/api/v1/messages", auth=("ann", "wrong")).status_code == 401
    assert http.get("/api/v1/messages", auth=("bob", "pa:ss wörd")).status_code == 401
    bad = http.get("/api/v1/messages", headers={"Authorization": "Basic %%%"})
    assert bad.status_code == 401
    allowed = http.get("/api/v1/messages", auth=("ann", "pa:ss wörd"))
    assert allowed.status_code == 200, (allowed.headers, allowed.text)
    server.reset()  # back to the defaults: no credentials needed
    assert http.get("/api/v1/messages").status_code == 200
