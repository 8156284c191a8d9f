"""The web UI in a real browser: live list, message views, search, delete, hostile mail."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from fakemail._message import Envelope
from fakemail._server import MailServer
from tests.browser.conftest import Console

expect = pytest.importorskip("playwright.sync_api", reason="playwright is not installed").expect

if TYPE_CHECKING:
    from playwright.sync_api import Page, Route


#: A 1x1 GIF.
GIF = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00"
    b"\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)


def mail(subject: str, *, html: str | None = None, attach: bool = False) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Acme Shop <orders@acme.example>"
    message["To"] = "Bob <bob@example.com>"
    message["Subject"] = subject
    message.set_content(f"Hello Bob,\n\n{subject}: https://example.com/track?o=1\n")
    if html is not None:
        message.add_alternative(html, subtype="html")
        if "cid:logo@acme" in html:
            related = message.get_payload()[1]
            related.add_related(GIF, maintype="image", subtype="gif", cid="<logo@acme>")
    if attach:
        message.add_attachment(
            b"%PDF-1.4 test", maintype="application", subtype="pdf", filename="invoice.pdf"
        )
    return message


def send(server: MailServer, message: EmailMessage, *bcc: str) -> None:
    with smtplib.SMTP(*server.smtp, timeout=10) as client:
        client.send_message(message, "orders@acme.example", ["bob@example.com", *bcc])


def row(page: Page, subject: str) -> str:
    return f".row:has(.row-subject:text-is({subject!r}))"


def open_message(page: Page, subject: str) -> None:
    page.click(row(page, subject))
    page.wait_for_selector(f".msg-subject:text-is({subject!r})")


def test_mail_appears_live_without_reload(page: Page, server: MailServer) -> None:
    page.wait_for_selector("#list-empty:not([hidden])")
    page.evaluate("window.notReloaded = true")

    send(server, mail("Your order has shipped"))

    page.wait_for_selector(row(page, "Your order has shipped") + ".unread")
    assert page.evaluate("window.notReloaded") is True
    assert page.text_content("#list-meta") == "1 message · 1 unread"

    send(server, mail("Second one"))

    page.wait_for_selector(row(page, "Second one"))
    subjects = page.locator(".row:not([hidden]) .row-subject").all_text_contents()
    assert subjects == ["Second one", "Your order has shipped"]  # newest first
    assert page.evaluate("window.notReloaded") is True


def test_open_message_views(page: Page, server: MailServer, artifacts: Path) -> None:
    html = (
        "<img src='cid:logo@acme' alt='logo'><h1>Order shipped</h1>"
        "<p>Track it <a href='https://example.com/t'>here</a></p>"
    )
    send(server, mail("Shipped", html=html, attach=True), "audit@example.com")
    for n in range(3):
        send(server, mail(f"Other {n}"))
    page.wait_for_selector(row(page, "Shipped"))
    page.screenshot(path=str(artifacts / "list.png"))

    with page.expect_response(lambda response: "/part/" in response.url) as inline:
        open_message(page, "Shipped")
    # The inline image (cid:) loads from its part: the frame's policy allows the message's own
    # parts, and nothing else.
    assert inline.value.status == 200
    assert inline.value.body() == GIF

    # Opening marks it read, in the list too.
    page.wait_for_selector(row(page, "Shipped") + ":not(.unread)")
    # HTML first, in the sandboxed frame.
    frame_el = page.wait_for_selector("iframe.html-frame")
    assert frame_el.get_attribute("sandbox") == "allow-popups allow-popups-to-escape-sandbox"
    frame = page.frame_locator("iframe.html-frame")
    assert frame.locator("h1").text_content() == "Order shipped"
    page.screenshot(path=str(artifacts / "message.png"))

    page.click(".tab[data-tab=text]")
    assert "Shipped: https://example.com/track?o=1" in page.text_content(".text-body")
    assert page.get_attribute(".text-body a", "href") == "https://example.com/track?o=1"

    page.click(".tab[data-tab=headers]")
    page.wait_for_selector(".kv.headers th:text-is('Subject')")

    page.click(".tab[data-tab=source]")
    source = page.wait_for_selector("pre.source").text_content() or ""
    assert "Content-Type: multipart/mixed" in source

    page.click(".tab[data-tab=attachments]")
    link = page.wait_for_selector(".attachment a:text-is('Download')")
    assert link.get_attribute("download") == "invoice.pdf"
    with page.expect_download() as download:
        link.click()
    assert Path(download.value.path()).read_bytes() == b"%PDF-1.4 test"

    page.click(".tab[data-tab=links]")
    links = page.locator(".links a").all_text_contents()
    assert "https://example.com/t" in links

    page.click(".tab[data-tab=envelope]")
    page.wait_for_selector(".rcpts")
    assert page.text_content(".kv tr:has(th:text-is('MAIL FROM')) td") == "orders@acme.example"
    assert page.locator(".rcpts .chip.bcc").count() == 1
    assert "audit@example.com" in (page.text_content(".rcpts") or "")

    page.keyboard.press("8")  # the transcript tab, from the keyboard
    transcript = page.wait_for_selector("pre.transcript").text_content() or ""
    assert "RCPT TO:<AUDIT@EXAMPLE.COM>" in transcript.upper()

    with page.expect_download() as eml:
        page.click("#download-eml")
    assert b"Subject: Shipped" in Path(eml.value.path()).read_bytes()


def test_search(page: Page, server: MailServer) -> None:
    send(server, mail("Password reset"))
    send(server, mail("Weekly report"))
    page.wait_for_selector(row(page, "Weekly report"))

    page.keyboard.press("/")
    page.keyboard.type("subject:reset")
    page.keyboard.press("Enter")

    page.wait_for_selector("#list-title:text-is('Search: subject:reset')")
    expect(page.locator(".row:not([hidden]):not(.loading)")).to_have_count(1)
    assert page.text_content(".row:not([hidden]) .row-subject") == "Password reset"
    assert "q=subject%3Areset" in page.url

    page.keyboard.press("Escape")  # leaves the search box, clears the search
    page.wait_for_selector(row(page, "Weekly report"))


def test_delete_one_and_all(page: Page, server: MailServer) -> None:
    for subject in ("One", "Two", "Three"):
        send(server, mail(subject))
    page.wait_for_selector(row(page, "One"))

    open_message(page, "Two")
    page.click(".msg-actions .btn.danger")

    page.wait_for_selector(row(page, "Two"), state="detached")
    assert len(server.messages) == 2
    # The next message is opened.
    page.wait_for_selector(".msg-subject:text-is('One')")

    page.click("#delete-all")
    page.click("#confirm-ok")
    page.wait_for_selector("#list-empty:not([hidden])")
    assert server.messages == ()


def test_folder_view_shows_flags_and_appended_mail(page: Page, server: MailServer) -> None:
    send(server, mail("Over SMTP"))
    server.deliver(
        b"From: bob@example.com\r\nSubject: Saved draft\r\n\r\nDraft body\r\n",
        to="bob@example.com",
        folder="Drafts",
        flags=["\\Draft", "\\Flagged"],
    )
    page.click(".nav-item.folder:has-text('Drafts')")

    page.wait_for_selector(row(page, "Saved draft"))
    assert page.locator(".row .icon-star").count() == 1
    page.click(row(page, "Saved draft"))

    page.wait_for_selector(".msg-subject:text-is('Saved draft')")
    assert "Draft body" in (page.text_content("pre.source") or "")
    assert "\\Draft" in (page.text_content(".msg-tags") or "")

    page.click(".nav-item.folder:has-text('Inbox')")
    open_message(page, "Over SMTP")


def test_sessions_show_recent_transcripts(page: Page, server: MailServer) -> None:
    send(server, mail("In a session"))
    page.wait_for_selector(row(page, "In a session"))

    page.click("#nav-sessions")

    page.wait_for_selector("#nav-sessions.active")
    page.wait_for_selector(".session.active:has(.chip.proto:text-is('smtp'))")
    transcript = page.wait_for_selector("pre.transcript").text_content() or ""
    assert "Subject: In a session" in transcript
    assert "S: 221" in transcript


def test_mark_unread_and_read(page: Page, server: MailServer) -> None:
    send(server, mail("Toggle me"))
    open_message(page, "Toggle me")
    page.wait_for_selector(row(page, "Toggle me") + ":not(.unread)")

    page.keyboard.press("u")

    page.wait_for_selector(row(page, "Toggle me") + ".unread")
    assert not server.store.transactions[0].read


HOSTILE_HTML = """
<script>console.log("XSS-RAN script"); top.document.title = "pwned"</script>
<img src="x" onerror="console.log('XSS-RAN onerror'); alert(1)">
<svg onload="console.log('XSS-RAN svg')"></svg>
<a id="js" href="javascript:console.log('XSS-RAN link');alert(2)">click me</a>
<iframe srcdoc="<script>console.log('XSS-RAN srcdoc')</script>"></iframe>
<form action="http://evil.example/"><input name=q><button id="go">go</button></form>
<meta http-equiv="refresh" content="0;url=javascript:alert(3)">
<object data="javascript:alert(4)"></object>
<img src="http://remote.example/pixel.gif">
<p>visible text</p>
"""


def test_hostile_mail_runs_no_script(page: Page, server: MailServer, console: Console) -> None:
    hostile = mail("<img src=x onerror=alert(9)>", html=HOSTILE_HTML, attach=True)
    hostile.replace_header("From", '"<script>alert(8)</script>" <evil@example.com>')
    remote_hits: list[str] = []

    def remote(route: Route) -> None:
        remote_hits.append(route.request.url)
        route.fulfill(status=200, content_type="image/gif", body=b"GIF89a")

    page.route("http://remote.example/**", remote)
    send(server, hostile)

    # Subject and sender are text in the list, not markup.
    hostile_row = page.wait_for_selector(
        ".row:has(.row-subject:text-is('<img src=x onerror=alert(9)>'))"
    )
    assert "<script>alert(8)</script>" in (hostile_row.text_content() or "")
    hostile_row.click()
    page.wait_for_selector("#load-remote")
    frame = page.frame_locator("iframe.html-frame")
    frame.locator("text=visible text").wait_for()
    frame.locator("#js").click()
    frame.locator("#go").click()
    page.keyboard.press("2")
    page.keyboard.press("1")
    frame.locator("text=visible text").wait_for()

    assert remote_hits == [], "remote content loaded before it was asked for"
    assert not [m for m in console.messages if "XSS-RAN" in m]
    assert console.dialogs == []
    assert page.title() != "pwned"

    # Asked for, the remote image loads; still no script runs.
    with page.expect_request("http://remote.example/pixel.gif"):
        page.click("#load-remote")
    frame.locator("text=visible text").wait_for()
    assert not [m for m in console.messages if "XSS-RAN" in m]
    assert console.dialogs == []


def test_ten_thousand_messages_render_only_visible_rows(page: Page, server: MailServer) -> None:
    count = 10_000
    for n in range(count):
        raw = f"From: a@example.com\r\nTo: b@example.com\r\nSubject: Message {n}\r\n\r\nbody\r\n"
        server.store.record(raw.encode(), Envelope("a@example.com", ("b@example.com",)), [])
    page.reload()
    page.wait_for_selector(row(page, f"Message {count - 1}"))
    assert page.text_content("#list-meta") == f"{count:,} messages · {count:,} unread"
    assert page.locator(".row").count() < 100

    page.focus("#list")
    page.keyboard.press("End")

    page.wait_for_selector(row(page, "Message 0"))
    assert page.locator(".row").count() < 100


def _many_parts(count: int) -> bytes:
    parts = b"".join(
        b"--b\r\nContent-Type: application/octet-stream\r\n"
        b'Content-Disposition: attachment; filename="f%d.bin"\r\n\r\nx\r\n' % n
        for n in range(count)
    )
    return (
        b"Subject: many parts\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
        + parts
        + b"--b--\r\n"
    )


def test_hostile_structures_do_not_break_the_list(page: Page, server: MailServer) -> None:
    huge_subject = "\r\n ".join(["long " * 10] * 2_000)  # a 100 kB header, folded
    raws = [
        b"Subject: " + huge_subject.encode() + b"\r\n\r\nbody\r\n",
        _many_parts(10_000),
        b"Subject: bad charset\r\nContent-Type: text/plain; charset=x-no-such-charset\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n\r\n\xff\xfe caf\xe9\r\n",
        b"Subject: =?x-bogus?q?encoded?=\r\nFrom: =?utf-8?b?!!!?= <x@example.com>\r\n\r\nhi\r\n",
        b"Subject: binary\r\n\r\n\x00\x01\x02\r\n",
    ]
    with smtplib.SMTP(*server.smtp, timeout=30) as client:
        for raw in raws:
            client.sendmail("a@example.com", ["bob@example.com"], raw)
    send(server, mail("After the hostile ones"))

    page.wait_for_selector(row(page, "After the hostile ones"))
    expect(page.locator(".row:not([hidden]):not(.loading)")).to_have_count(len(raws) + 1)

    open_message(page, "many parts")
    page.keyboard.press("5")
    page.wait_for_selector(".tab-note:has-text('more parts not shown')")
    assert page.locator(".attachment").count() == 500

    open_message(page, "bad charset")
    assert "caf" in (page.text_content(".text-body") or "")

    page.click(".row:has(.row-subject:text-matches('^long long'))")
    page.wait_for_selector(".msg-subject:text-matches('^long long')")
    page.keyboard.press("3")
    page.wait_for_selector(".kv.headers th:text-is('Subject')")
    assert page.locator(".kv.headers .muted:has-text('more characters')").count() == 1
