"""fakemail: real SMTP, IMAP and POP3 test servers over one inspectable in-memory mail store.

The public API; everything else lives in private modules.

Importing ``fakemail`` (which pytest does at start-up, to load the plugin) loads only the
exceptions, the version and :func:`hookimpl`; the other names are imported on first use
(PEP 562), so that a test run that never asks for a mail server never pays for the servers,
trio and the protocol engines.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

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
from fakemail._version import __version__
from fakemail.hookspecs import hookimpl

if TYPE_CHECKING:
    from fakemail._config import Options, User
    from fakemail._faults import FaultEngine, FiredFault, Rule, parse_rule, rule_from_json
    from fakemail._faulttypes import Fault, FaultPoint
    from fakemail._mailbox import Folder, Mailbox
    from fakemail._message import Attachment, Envelope, Headers, Message
    from fakemail._sasl import Credentials
    from fakemail._server import Endpoint, MailServer
    from fakemail._smtptypes import Reply, SmtpSessionInfo
    from fakemail._store import (
        Change,
        FolderSnapshot,
        MailItem,
        MailStore,
        StoreError,
        Transaction,
    )
    from fakemail._transcript import Transcript

#: Where each lazily imported public name lives.
_LAZY = {
    "Attachment": "fakemail._message",
    "Change": "fakemail._store",
    "Credentials": "fakemail._sasl",
    "Endpoint": "fakemail._server",
    "Envelope": "fakemail._message",
    "Fault": "fakemail._faulttypes",
    "FaultEngine": "fakemail._faults",
    "FaultPoint": "fakemail._faulttypes",
    "FiredFault": "fakemail._faults",
    "Folder": "fakemail._mailbox",
    "FolderSnapshot": "fakemail._store",
    "Headers": "fakemail._message",
    "MailItem": "fakemail._store",
    "MailServer": "fakemail._server",
    "MailStore": "fakemail._store",
    "Mailbox": "fakemail._mailbox",
    "Message": "fakemail._message",
    "Options": "fakemail._config",
    "Reply": "fakemail._smtptypes",
    "Rule": "fakemail._faults",
    "SmtpSessionInfo": "fakemail._smtptypes",
    "StoreError": "fakemail._store",
    "Transaction": "fakemail._store",
    "Transcript": "fakemail._transcript",
    "User": "fakemail._config",
    "parse_rule": "fakemail._faults",
    "rule_from_json": "fakemail._faults",
}


if not TYPE_CHECKING:  # type checkers see the imports above, and no catch-all attribute

    def __getattr__(name: str) -> Any:
        module = _LAZY.get(name)
        if module is None:
            raise AttributeError(f"module 'fakemail' has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        globals()[name] = value  # the next lookup is an ordinary one
        return value

    def __dir__() -> list[str]:
        return sorted({*globals(), *_LAZY})


__all__ = [
    "ArchiveError",
    "Attachment",
    "Change",
    "ConfigError",
    "Credentials",
    "Endpoint",
    "Envelope",
    "FakemailError",
    "Fault",
    "FaultEngine",
    "FaultPoint",
    "FiredFault",
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
    "Rule",
    "ServerError",
    "SmtpSessionInfo",
    "StoreError",
    "Transaction",
    "Transcript",
    "User",
    "WaitTimeout",
    "__version__",
    "hookimpl",
    "parse_rule",
    "rule_from_json",
]
