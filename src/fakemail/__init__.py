"""fakemail: real SMTP, IMAP and POP3 test servers over one inspectable in-memory mail store.

The public API; everything else lives in private modules.
"""

from __future__ import annotations

from fakemail._config import Options, User
from fakemail._exceptions import (
    ArchiveError,
    ConfigError,
    FakemailError,
    LocalProtocolError,
    MailAssertionError,
    PortInUse,
    ProtocolError,
    RelayError,
    RemoteProtocolError,
    ServerError,
    WaitTimeout,
)
from fakemail._mailbox import Folder, Mailbox
from fakemail._message import Attachment, Envelope, Headers, Message
from fakemail._sasl import Credentials
from fakemail._server import Endpoint, MailServer
from fakemail._smtptypes import Reply, SmtpSessionInfo
from fakemail._store import Change, FolderSnapshot, MailItem, MailStore, StoreError
from fakemail._transcript import Transcript
from fakemail._version import __version__
from fakemail.hookspecs import hookimpl

__all__ = [
    "ArchiveError",
    "Attachment",
    "Change",
    "ConfigError",
    "Credentials",
    "Endpoint",
    "Envelope",
    "FakemailError",
    "Folder",
    "FolderSnapshot",
    "Headers",
    "LocalProtocolError",
    "MailAssertionError",
    "MailItem",
    "MailServer",
    "MailStore",
    "Mailbox",
    "Message",
    "Options",
    "PortInUse",
    "ProtocolError",
    "RelayError",
    "RemoteProtocolError",
    "Reply",
    "ServerError",
    "SmtpSessionInfo",
    "StoreError",
    "Transcript",
    "User",
    "WaitTimeout",
    "__version__",
    "hookimpl",
]
