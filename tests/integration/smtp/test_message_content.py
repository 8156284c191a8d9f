"""What an app builds with the stdlib is what a test reads back from Message, after a real
SMTP trip: bodies with LF line ends, attachments, inline (cid:) parts."""

from __future__ import annotations

import re
import smtplib
from email.message import EmailMessage
from email.utils import make_msgid

from fakemail._server import MailServer

from .conftest import CLIENT_TIMEOUT

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
CSV = "name,city\r\nZoë,Zürich\r\n"


def newsletter() -> EmailMessage:
    """Text and HTML alternatives, the HTML showing an inline image, plus a CSV file."""
    message = EmailMessage()
    message["From"] = "news@example.com"
    message["To"] = "bob@example.com"
    message["Subject"] = "News"
    message.set_content("Hello Bob,\n\nthe news.\n" + "long line " * 20 + "\n")
    cid = make_msgid(domain="example.com")
    message.add_alternative(f'<p>Hello</p>\n<img src="cid:{cid[1:-1]}">\n', subtype="html")
    message.get_payload()[1].add_related(PNG, "image", "png", cid=cid, filename="logo.png")
    message.add_attachment(CSV.encode("utf-8"), "text", "csv", filename="people.csv")
    message.get_payload()[-1].set_param("charset", "utf-8")
    return message


def send(server: MailServer, message: EmailMessage) -> None:
    with smtplib.SMTP(*server.smtp, timeout=CLIENT_TIMEOUT) as client:
        client.send_message(message)


def test_bodies_are_what_the_app_wrote(smtp_server: MailServer) -> None:
    original = newsletter()
    send(smtp_server, original)
    [message] = smtp_server.messages
    plain = original.get_body(preferencelist=("plain",))
    html = original.get_body(preferencelist=("html",))
    assert plain is not None
    assert html is not None
    assert message.text == plain.get_content()
    assert message.html == html.get_content()
    assert "\r" not in message.text
    assert b"Hello Bob,\r\n\r\nthe news.\r\n" in message.raw  # raw stays as received
    # A filter and a plain assert on the same mail agree.
    smtp_server.assert_sent(body=plain.get_content())
    smtp_server.assert_sent(body=re.compile(r"Bob,\n\nthe news\.\n"))
    smtp_server.assert_sent(body=lambda text: text == plain.get_content())


def test_inline_parts_beside_attachments(smtp_server: MailServer) -> None:
    send(smtp_server, newsletter())
    [message] = smtp_server.messages
    [logo] = message.inline
    assert logo.content_type == "image/png"
    assert logo.content == PNG
    assert logo.filename == "logo.png"
    assert logo.text is None
    assert message.html is not None
    assert f'src="cid:{logo.content_id}"' in message.html  # cid: URLs name content_id
    [sheet] = message.attachments
    assert sheet.filename == "people.csv"
    assert sheet.charset == "utf-8"
    assert sheet.text == CSV
    assert sheet.content_id is None
