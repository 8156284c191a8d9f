"""Browser tests: the web UI in headless Chromium (Debian's ``chromium``), driven by Playwright
for Python pointed at that browser, so nothing downloads a browser of its own.

Skipped, with the reason, only when no Chromium is installed; ``.ci/run`` installs it and sets
``FAKEMAIL_BROWSER_REQUIRED=1``, which turns that skip into a failure. Set ``FAKEMAIL_CHROMIUM``
to use another binary. Screenshots are saved under the directory
``FAKEMAIL_ARTIFACTS`` names, else ``build/browser-artifacts`` (git-ignored); the path is
printed at the end of the run.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from fakemail._server import MailServer

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

#: Bound on every wait for the page; generous for a loaded CI machine.
TIMEOUT_MS = 15_000

_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "chromium", "chromium-browser")


def artifacts_path(config: pytest.Config) -> Path:
    """Where the screenshots go (the same in every xdist worker and the controller)."""
    named = os.environ.get("FAKEMAIL_ARTIFACTS")
    return Path(named) if named else config.rootpath / "build" / "browser-artifacts"


def chromium_path() -> str | None:
    """The Chromium binary to drive, or ``None`` if there is none."""
    wanted = os.environ.get("FAKEMAIL_CHROMIUM")
    for candidate in (wanted,) if wanted else _CANDIDATES:
        found = shutil.which(candidate)
        if found:
            return found
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One headless Chromium per test module.

    Not per session: Playwright's sync API keeps an asyncio loop on the main thread while it
    runs, and the worker's later tests (``trio.run``, ``asyncio.run``) would run inside it.
    """
    executable = chromium_path()
    if executable is None:
        reason = "no Chromium found (apt-get install chromium, or set FAKEMAIL_CHROMIUM)"
        if os.environ.get("FAKEMAIL_BROWSER_REQUIRED") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def ui_server() -> Iterator[MailServer]:
    """A server with HTTP on, shared by a module's tests (emptied before each)."""
    server = MailServer(http_port=0)
    server.start()
    yield server
    server.stop()
    server.check()


@pytest.fixture
def server(ui_server: MailServer) -> MailServer:
    """The shared server, empty."""
    ui_server.clear()
    return ui_server


@pytest.fixture(scope="session")
def artifacts(pytestconfig: pytest.Config) -> Path:
    """Where screenshots go."""
    path = artifacts_path(pytestconfig)
    path.mkdir(parents=True, exist_ok=True)
    return path


class Console:
    """What the page said: console messages and dialogs, from every frame."""

    def __init__(self) -> None:
        self.messages: list[str] = []
        self.dialogs: list[str] = []
        self.errors: list[str] = []


@pytest.fixture
def console() -> Console:
    """The console of the ``page`` fixture."""
    return Console()


@pytest.fixture
def page(browser: Browser, server: MailServer, console: Console) -> Iterator[Page]:
    """A fresh page (1440x900) on the UI of an empty server."""
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.on("console", lambda message: console.messages.append(message.text))
    page.on("pageerror", lambda error: console.errors.append(str(error)))

    def on_dialog(dialog: Any) -> None:
        console.dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    assert server.http_url is not None
    page.goto(server.http_url + "/")
    page.wait_for_selector("#live[data-state='live']")
    yield page
    context.close()
    assert console.errors == [], "uncaught errors in the page's scripts"


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """Say where the screenshots are, if any were taken."""
    path = artifacts_path(config)
    if path.is_dir() and any(path.iterdir()):
        terminalreporter.write_line(f"browser test screenshots: {path}")
