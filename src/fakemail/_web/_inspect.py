"""fakemail's own inspection API (``/api/fakemail/...``): what Mailpit's model has no room for.

* ``GET /api/fakemail/accounts``: every account with its folders and their counts;
* ``GET /api/fakemail/accounts/{address}/folders/{folder}``: one folder's messages with their
  UIDs and IMAP flags (newest first, paged by ``start``/``limit`` as Mailpit's list is);
* ``GET /api/fakemail/message/{ID}``: one transaction's SMTP envelope, links, how much remote
  content its HTML refers to, the mailbox copies it became (with their flags: what an IMAP
  client did to the mail) and its session transcript;
* ``GET /api/fakemail/accounts/{address}/folders/{folder}/uid/{uid}/raw``: one copy's raw
  message, also for mail that is no SMTP transaction (IMAP ``APPEND``, ``deliver()``);
* ``GET /api/fakemail/transcripts?limit=N``: the most recent protocol sessions, newest first.

The web UI is built on these and Mailpit's ``/api/v1``; tests may call them too.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from fakemail._message import Message, find_links
from fakemail._store import FolderSnapshot, MailItem, StoreError, Transaction
from fakemail._transcript import Transcript
from fakemail._web._context import WebContext
from fakemail._web._json import JSONResponse, error
from fakemail._web._mailpit import rfc3339
from fakemail._web._paging import BadRequest, page, query_int
from fakemail._web._parts import bodies
from fakemail._web._remote import count_remote

__all__ = ["routes"]

#: Transcripts listed when ``limit`` is not given.
DEFAULT_TRANSCRIPTS = 20


def _folder_json(folder: FolderSnapshot) -> dict[str, Any]:
    return {
        "name": folder.name,
        "special_use": folder.special_use,
        "messages": len(folder.items),
        "unseen": sum(1 for item in folder.items if "\\Seen" not in item.flags),
        "uidvalidity": folder.uidvalidity,
        "uidnext": folder.uidnext,
    }


def _safe(get: Any) -> Any:
    # A hostile header must not break a folder listing: an unreadable field is shown as none.
    try:
        return get()
    except Exception:
        return None


def _static_item(message: Message) -> dict[str, Any]:
    # Decoding header fields costs ~1 ms a message: done once per (immutable) message.
    return {
        "subject": _safe(lambda: message.subject),
        "from": _safe(lambda: message.from_),
        "size": message.size,
    }


def _item_json(ctx: WebContext, item: MailItem) -> dict[str, Any]:
    message = item.message
    return {
        "uid": item.uid,
        # Mail put in over IMAP APPEND (or by deliver()) is no SMTP transaction: no HTTP ID.
        "id": ctx.store.id_of(message),
        "flags": sorted(item.flags),
        "internal_date": rfc3339(item.internal_date),
        **message.derived("ui.folder_item", _static_item),
    }


def transcript_of(ctx: WebContext, message: Message) -> Transcript | None:
    """The SMTP session that sent ``message``: the last one from the same client address and
    port that started before the message arrived (a port is in use by one connection at a
    time), if it is still kept."""
    peer = message.envelope.client_address
    if peer is None or message.envelope.protocol != "smtp":
        return None
    wanted = f"{peer[0]}:{peer[1]}"
    for transcript in reversed(ctx.backend.transcripts.transcripts):
        if (
            transcript.protocol in ("smtp", "smtps")
            and transcript.peer == wanted
            and transcript.started_at <= message.received_at
        ):
            return transcript
    return None


_MAIL_FROM = re.compile(r"C: MAIL FROM:", re.IGNORECASE)


def transaction_lines(lines: list[str], seq: int) -> list[str]:
    """The lines of one transaction in a session's transcript, after the session's opening
    (greeting, EHLO, STARTTLS, AUTH): a client that sent many messages over one connection
    shows each with its own MAIL FROM ... 250 exchange. The transaction is the one whose
    reply says ``queued as <seq>`` (fakemail's reply); without that, every line is given."""
    done = re.compile(rf"S: 250[ -].*\bqueued as {seq}\b")
    end = next((i for i, line in enumerate(lines) if done.match(line)), None)
    if end is None:
        return lines
    start = next((i for i in range(end, -1, -1) if _MAIL_FROM.match(lines[i])), 0)
    opening = next((i for i, line in enumerate(lines) if _MAIL_FROM.match(line)), start)
    picked = lines[:opening]
    if start > opening:
        picked.append(f"... {start - opening} lines of earlier transactions not shown")
    picked += lines[start : end + 1]
    if end + 1 < len(lines):
        picked.append(f"... {len(lines) - end - 1} more lines of this session not shown")
    return picked


def _copies(ctx: WebContext, message: Message) -> list[dict[str, Any]]:
    found = []
    for address in ctx.store.accounts:
        for folder in ctx.store.folders(address):
            for item in folder.items:
                if item.message is message:
                    found.append(
                        {
                            "account": address,
                            "folder": folder.name,
                            "uid": item.uid,
                            "flags": sorted(item.flags),
                        }
                    )
    return found


def _transcript_json(transcript: Transcript) -> dict[str, Any]:
    return {
        "id": transcript.id,
        "protocol": transcript.protocol,
        "peer": transcript.peer,
        "started": rfc3339(transcript.started_at),
        "lines": transcript.text.splitlines(),
    }


def inspect_json(ctx: WebContext, transaction: Transaction) -> dict[str, Any]:
    """The body of ``GET /api/fakemail/message/{ID}``."""
    message = transaction.message
    envelope = message.envelope
    peer = envelope.client_address
    transcript = transcript_of(ctx, message)
    # The bodies as the HTTP API decodes them (the MIME index: fast also with 10,000 parts).
    decoded = bodies(message)
    return {
        "id": transaction.id,
        "envelope": {
            "mail_from": envelope.sender,
            "rcpt_to": list(envelope.recipients),
            "auth_user": envelope.auth_user,
            "tls": envelope.is_tls,
            "peer": f"{peer[0]}:{peer[1]}" if peer else None,
            "helo": envelope.helo,
            "protocol": envelope.protocol,
            "mail_options": list(envelope.mail_options),
            "received": rfc3339(message.received_at),
        },
        "links": list(find_links(decoded.text, decoded.html)),
        # References to other servers in the HTML body, which the UI blocks until asked.
        "remote_content": count_remote(decoded.html),
        "copies": _copies(ctx, message),
        "transcript": transaction_lines(transcript.text.splitlines(), message.seq)
        if transcript
        else [],
    }


def routes(ctx: WebContext) -> list[BaseRoute]:
    """The ``/api/fakemail`` inspection routes."""

    async def accounts(request: Request) -> Response:
        users = {user.address: user.login for user in ctx.options.users}
        return JSONResponse(
            [
                {
                    "address": address,
                    "login": users.get(address),
                    "folders": [_folder_json(f) for f in ctx.store.folders(address)],
                }
                for address in ctx.store.accounts
            ]
        )

    async def folder(request: Request) -> Response:
        address = request.path_params["address"]
        name = request.path_params["folder"]
        try:
            snapshot = ctx.store.folder(address, name)
        except StoreError:
            return error(404, f"no folder {name!r} in account {address!r}")
        newest_first = snapshot.items[::-1]
        start, items = page(newest_first, request.query_params)
        return JSONResponse(
            {
                **_folder_json(snapshot),
                "total": len(newest_first),
                "start": start,
                "messages": [_item_json(ctx, item) for item in items],
            }
        )

    async def raw(request: Request) -> Response:
        address = request.path_params["address"]
        name = request.path_params["folder"]
        uid = request.path_params["uid"]
        try:
            snapshot = ctx.store.folder(address, name)
        except StoreError:
            return error(404, f"no folder {name!r} in account {address!r}")
        item = next((i for i in snapshot.items if i.uid == uid), None)
        if item is None:
            return error(404, f"no message with UID {uid} in {name!r}")
        return Response(item.message.raw, media_type="text/plain; charset=utf-8")

    async def message(request: Request, transaction: Transaction) -> Response:
        return JSONResponse(inspect_json(ctx, transaction))

    async def transcripts(request: Request) -> Response:
        limit = query_int(request.query_params, "limit", DEFAULT_TRANSCRIPTS)
        if limit < 0:
            raise BadRequest(f"limit must not be negative, got {limit}")
        kept = ctx.backend.transcripts.transcripts[::-1]
        return JSONResponse([_transcript_json(t) for t in kept[:limit]])

    return [
        Route("/api/fakemail/accounts", accounts, methods=["GET"]),
        # Before the folder route, whose {folder:path} would take ".../uid/1/raw" as a name.
        Route(
            "/api/fakemail/accounts/{address}/folders/{folder:path}/uid/{uid:int}/raw",
            raw,
            methods=["GET"],
        ),
        Route("/api/fakemail/accounts/{address}/folders/{folder:path}", folder, methods=["GET"]),
        Route("/api/fakemail/message/{id}", ctx.by_id(message), methods=["GET"]),
        Route("/api/fakemail/transcripts", transcripts, methods=["GET"]),
    ]
