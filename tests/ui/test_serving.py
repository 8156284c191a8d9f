"""The UI page and its assets over real HTTP: types, caching, policies."""

from __future__ import annotations

import re

import httpx
import pytest

ASSETS = {
    "app.js": "text/javascript",
    "api.js": "text/javascript",
    "dom.js": "text/javascript",
    "events.js": "text/javascript",
    "source.js": "text/javascript",
    "view.js": "text/javascript",
    "vlist.js": "text/javascript",
    "app.css": "text/css",
    "icon.svg": "image/svg+xml",
}


def test_page_is_served_with_its_policy(http: httpx.Client) -> None:
    response = http.get("/")

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy
    assert response.headers["x-frame-options"] == "DENY"
    assert '<script type="module" src="ui/static/app.js">' in response.text


@pytest.mark.parametrize(("name", "media_type"), ASSETS.items())
def test_assets_have_their_types(http: httpx.Client, name: str, media_type: str) -> None:
    response = http.get(f"/ui/static/{name}")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith(media_type)
    assert response.headers["cache-control"] == "no-cache"


def test_every_asset_the_page_and_modules_name_is_served(http: httpx.Client) -> None:
    # Nothing is fetched from anywhere else: every reference is a local module or file.
    page = http.get("/").text
    names = set(re.findall(r'(?:src|href)="ui/static/([^"]+)"', page))
    for name in list(names):
        if name.endswith(".js"):
            names |= set(re.findall(r'from "\./([^"]+)"', http.get(f"/ui/static/{name}").text))
    assert names >= {"app.js", "app.css", "view.js", "vlist.js"}
    for name in names:
        assert http.get(f"/ui/static/{name}").status_code == 200, name
    assert "http://" not in page.replace("http://www.w3.org", "")
    assert "https://" not in page


def test_revalidation_answers_304(http: httpx.Client) -> None:
    first = http.get("/ui/static/app.js")
    again = http.get("/ui/static/app.js", headers={"If-None-Match": first.headers["etag"]})

    assert again.status_code == 304
    assert again.content == b""


def test_unknown_asset_is_404(http: httpx.Client) -> None:
    assert http.get("/ui/static/nope.js").status_code == 404
    assert http.get("/ui/static/..%2F_ui.py").status_code == 404
