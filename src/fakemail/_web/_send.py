"""Mailpit's ``POST /api/v1/send``: a message given as JSON, stored as if sent over SMTP.

The body is Mailpit's: ``From {Email, Name}`` (required), ``To``/``Cc``/``ReplyTo``
(``[{Email, Name}]``), ``Bcc`` (``[Email]``), ``Subject``, ``Text``, ``HTML``,
``Attachments [{Content (base64), Filename, ContentType, ContentID}]`` (a ContentID makes the
part inline), ``Headers {name: value}``, ``Tags [name]``. The message is built with the
stdlib's ``email`` package, routed by the plugins and stored like an SMTP transaction (its
envelope says ``protocol="api"``). Answers ``{"ID": ...}``; a body that is not such JSON is
``400``, one larger than ``max_message_size`` ``413``, and neither changes the store.
"""

from __future__ import annotations

import base64
import binascii
import email.policy
import email.utils
import mimetypes
from email.message import EmailMessage
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from fakemail._message import Envelope
from fakemail._web._body import json_body
from fakemail._web._context import WebContext
from fakemail._web._json import JSONResponse, error

__all__ = ["SendError", "build_message", "routes"]

#: JSON is larger than the message it describes (base64, escapes): the body may be this many
#: times ``max_message_size`` before it is refused unread.
_JSON_OVERHEAD: Final = 2


class SendError(ValueError):
    """The JSON does not describe a message; the text says why."""


def _text(body: dict[str, Any], name: str) -> str:
    value = body.get(name, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise SendError(f"{name} must be a string")
    return value


def _address(value: object, where: str) -> tuple[str, str]:
    if not isinstance(value, dict):
        raise SendError(f"{where} must be an object {{Email, Name}}")
    address = value.get("Email")
    name = value.get("Name") or ""
    if not isinstance(address, str) or "@" not in address or not isinstance(name, str):
        raise SendError(f"{where}.Email must be an email address")
    if any(c in address + name for c in "\r\n"):
        raise SendError(f"{where} must not contain line breaks")
    return name, address.strip()


def _addresses(body: dict[str, Any], name: str) -> list[tuple[str, str]]:
    values = body.get(name) or []
    if not isinstance(values, list):
        raise SendError(f"{name} must be a list")
    return [_address(value, f"{name}[{index}]") for index, value in enumerate(values)]


def _bcc(body: dict[str, Any]) -> list[str]:
    values = body.get("Bcc") or []
    if not isinstance(values, list) or not all(isinstance(v, str) and "@" in v for v in values):
        raise SendError("Bcc must be a list of email addresses")
    return [v.strip() for v in values]


def _attach(message: EmailMessage, item: object, index: int) -> None:
    where = f"Attachments[{index}]"
    if not isinstance(item, dict):
        raise SendError(f"{where} must be an object")
    filename = item.get("Filename")
    if not isinstance(filename, str) or not filename:
        raise SendError(f"{where}.Filename is required")
    try:
        content = base64.b64decode(str(item.get("Content", "")), validate=True)
    except (binascii.Error, ValueError):
        raise SendError(f"{where}.Content must be base64") from None
    content_type = item.get("ContentType") or mimetypes.guess_type(filename)[0]
    maintype, _, subtype = str(content_type or "application/octet-stream").partition("/")
    content_id = item.get("ContentID") or ""
    if not isinstance(content_id, str):
        raise SendError(f"{where}.ContentID must be a string")
    headers = {"Content-ID": f"<{content_id.strip('<>')}>"} if content_id else {}
    message.add_attachment(
        content,
        maintype=maintype,
        subtype=subtype or "octet-stream",
        filename=filename,
        disposition="inline" if content_id else "attachment",
        headers=[f"{k}: {v}" for k, v in headers.items()],
    )


def build_message(body: object) -> tuple[EmailMessage, str, list[str]]:
    """``(message, sender, recipients)`` from Mailpit's send JSON; :class:`SendError` if the
    JSON does not describe a message."""
    if not isinstance(body, dict):
        raise SendError("the body must be a JSON object")
    if "From" not in body:
        raise SendError("From is required")
    sender = _address(body["From"], "From")
    to, cc, reply_to = (_addresses(body, n) for n in ("To", "Cc", "ReplyTo"))
    bcc = _bcc(body)
    recipients = [a for _, a in to] + [a for _, a in cc] + bcc
    if not recipients:
        raise SendError("no recipients: give To, Cc or Bcc")
    message = EmailMessage(policy=email.policy.SMTP)
    message["From"] = email.utils.formataddr(sender)
    for name, values in (("To", to), ("Cc", cc), ("Reply-To", reply_to)):
        if values:
            message[name] = ", ".join(email.utils.formataddr(v) for v in values)
    message["Subject"] = _text(body, "Subject")
    message["Date"] = email.utils.formatdate(localtime=True)
    message["Message-ID"] = email.utils.make_msgid(domain="fakemail.local")
    headers = body.get("Headers") or {}
    if not isinstance(headers, dict):
        raise SendError("Headers must be an object {name: value}")
    for name, value in headers.items():
        if not isinstance(value, str) or not name or any(c in name for c in ": \r\n"):
            raise SendError(f"Headers: bad header {name!r}")
        del message[name]
        message[name] = value
    tags = body.get("Tags") or []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise SendError("Tags must be a list of strings")
    if tags:
        message["X-Tags"] = ", ".join(tags)
    text, html = _text(body, "Text"), _text(body, "HTML")
    message.set_content(text)
    if html:
        message.add_alternative(html, subtype="html")
    attachments = body.get("Attachments") or []
    if not isinstance(attachments, list):
        raise SendError("Attachments must be a list")
    for index, item in enumerate(attachments):
        _attach(message, item, index)
    return message, sender[1], recipients


def routes(ctx: WebContext) -> list[BaseRoute]:
    """``/api/v1/send``."""

    async def send(request: Request) -> Response:
        limit = ctx.options.max_message_size
        body = await json_body(request, limit * _JSON_OVERHEAD)
        try:
            message, sender, recipients = build_message(body)
            raw = message.as_bytes()
        except (SendError, ValueError, TypeError, LookupError) as failure:
            return error(400, str(failure))
        if len(raw) > limit:
            return error(413, f"the message is larger than {limit} bytes")
        auth = ctx.options.http_auth
        envelope = Envelope(
            sender=sender,
            recipients=tuple(recipients),
            auth_user=auth[0] if auth is not None else None,
            protocol="api",
        )
        stored = ctx.backend.deliver(raw, envelope)
        return JSONResponse({"ID": ctx.store.id_of(stored)})

    return [Route("/api/v1/send", send, methods=["POST"])]
