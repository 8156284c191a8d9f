"""The plugin manager of one server, fakemail's default hook implementations, and a typed facade.

One :class:`pluggy.PluginManager` per server, never global: two servers in one process (or one
server reconfigured per test) never see each other's plugins.
"""

from __future__ import annotations

import functools
import importlib.metadata
import os
from collections.abc import Callable, Generator, Iterable, Sequence
from typing import TYPE_CHECKING, Any, final

import pluggy

from fakemail import hookspecs
from fakemail._config import Options
from fakemail._message import Envelope, Message, normalize_address
from fakemail._smtptypes import Reply, SmtpSessionInfo

if TYPE_CHECKING:
    from fakemail._faulttypes import Fault, FaultPoint
    from fakemail._sasl import Credentials
    from fakemail._server import MailServer

__all__ = ["DefaultPlugin", "Plugins"]

ENTRY_POINT_GROUP = "fakemail"


@final
class DefaultPlugin:
    """fakemail's own behaviour, registered like any plugin and run last.

    The defaults are wrappers, not ``trylast`` implementations: pluggy calls a ``trylast``
    implementation registered later *after* an earlier one, so a plugin's own ``trylast``
    fallback would never be asked. A wrapper answers only when no implementation did.
    """

    def __init__(self, options: Callable[[], Options]) -> None:
        self._options = options

    @hookspecs.hookimpl(wrapper=True)
    def fakemail_authenticate(
        self, username: str, credentials: Credentials
    ) -> Generator[None, bool | None, bool]:
        """Any credentials when no users are configured; otherwise a configured user's login
        name with its password."""
        decided = yield
        if decided is not None:
            return decided
        options = self._options()
        if not options.checks_credentials:
            return True
        user = options.user_named(username)
        return user is not None and credentials.verify(user.password)

    @hookspecs.hookimpl(wrapper=True)
    def fakemail_route(
        self, recipient: str
    ) -> Generator[None, Sequence[str] | None, Sequence[str]]:
        """Each recipient's copy goes to the recipient's own account."""
        decided = yield
        return [recipient] if decided is None else decided


@functools.cache
def published() -> tuple[importlib.metadata.EntryPoint, ...]:
    """Plugins published under the ``fakemail`` entry-point group, found once per process:
    scanning every installed distribution took longer than the rest of a server's start-up.
    (``published.cache_clear()`` makes the next server look again.)"""
    return tuple(
        point
        for dist in importlib.metadata.distributions()
        for point in dist.entry_points
        if point.group == ENTRY_POINT_GROUP
    )


@final
class Plugins:
    """The server's plugin manager, with typed, keyword-only calls to each hook."""

    def __init__(self, options: Callable[[], Options], plugins: Iterable[object] = ()) -> None:
        self.manager = pluggy.PluginManager("fakemail")
        self.manager.add_hookspecs(hookspecs)
        self.manager.register(DefaultPlugin(options), name="fakemail-defaults")
        blocked = os.environ.get("FAKEMAIL_DISABLE_PLUGINS", "")
        for name in filter(None, (n.strip() for n in blocked.split(","))):
            self.manager.set_blocked(name)
        for point in published():
            if not self.manager.is_blocked(point.name) and not self.manager.has_plugin(point.name):
                self.manager.register(point.load(), name=point.name)
        for plugin in plugins:
            self.manager.register(plugin)
        self.manager.check_pending()
        self._temporary: list[object] = []
        self._defaults_only: dict[str, bool] = {}

    def has_plugins(self, hook: str) -> bool:
        """Whether any plugin besides fakemail's defaults implements ``hook`` (cached until
        registration changes): hot paths skip building hook arguments when none does."""
        known = self._defaults_only.get(hook)
        if known is None:
            impls = getattr(self.manager.hook, hook).get_hookimpls()
            known = self._defaults_only[hook] = all(
                isinstance(impl.plugin, DefaultPlugin) for impl in impls
            )
        return not known

    def add(self, plugin: object, *, temporary: bool = False) -> None:
        """Register a plugin; temporary ones are removed by :meth:`remove_temporary`."""
        if self.manager.is_registered(plugin):
            return
        self.manager.register(plugin)
        self._defaults_only.clear()
        try:
            self.manager.check_pending()
        except Exception:
            self.manager.unregister(plugin)  # a rejected plugin must not stay half-registered
            raise
        if temporary:
            self._temporary.append(plugin)

    def remove(self, plugin: object) -> None:
        """Unregister a plugin (no error if it is not registered)."""
        if self.manager.is_registered(plugin):
            self.manager.unregister(plugin)
            self._defaults_only.clear()

    def remove_temporary(self) -> None:
        """Unregister the plugins added for one test."""
        for plugin in self._temporary:
            if self.manager.is_registered(plugin):
                self.manager.unregister(plugin)
        self._temporary.clear()
        self._defaults_only.clear()

    @property
    def _hook(self) -> Any:
        return self.manager.hook

    def server_started(self, server: MailServer) -> None:
        """Notify plugins that ``server`` is running."""
        self._hook.fakemail_server_started(server=server)

    def server_stopping(self, server: MailServer) -> None:
        """Notify plugins that ``server`` is stopping."""
        self._hook.fakemail_server_stopping(server=server)

    def smtp_mail_from(
        self, session: SmtpSessionInfo, address: str, options: Sequence[str]
    ) -> Reply | None:
        """Ask plugins about MAIL FROM."""
        result: Reply | None = self._hook.fakemail_smtp_mail_from(
            session=session, address=address, options=options
        )
        return result

    def smtp_rcpt_to(
        self, session: SmtpSessionInfo, address: str, options: Sequence[str]
    ) -> Reply | None:
        """Ask plugins about RCPT TO."""
        result: Reply | None = self._hook.fakemail_smtp_rcpt_to(
            session=session, address=address, options=options
        )
        return result

    def smtp_data(self, session: SmtpSessionInfo, envelope: Envelope, raw: bytes) -> Reply | None:
        """Ask plugins about a complete message."""
        result: Reply | None = self._hook.fakemail_smtp_data(
            session=session, envelope=envelope, raw=raw
        )
        return result

    def fault(self, point: FaultPoint) -> Fault | None:
        """Ask plugins whether a fault fires at ``point``."""
        result: Fault | None = self._hook.fakemail_fault(point=point)
        return result

    def authenticate(self, protocol: str, username: str, credentials: Credentials) -> bool:
        """Whether the login is accepted."""
        return bool(
            self._hook.fakemail_authenticate(
                protocol=protocol, username=username, credentials=credentials
            )
        )

    def route(self, envelope: Envelope) -> list[str]:
        """Mailboxes receiving a copy of a message with this envelope, in order, de-duplicated."""
        if not self.has_plugins("fakemail_route"):
            return list(dict.fromkeys(normalize_address(r) for r in envelope.recipients))
        mailboxes: dict[str, None] = {}
        for recipient in envelope.recipients:
            for address in self._hook.fakemail_route(recipient=recipient, envelope=envelope):
                mailboxes[normalize_address(address)] = None
        return list(mailboxes)

    def message_stored(self, message: Message, mailboxes: Sequence[str]) -> None:
        """Notify plugins that a message was stored."""
        if self.has_plugins("fakemail_message_stored"):
            self._hook.fakemail_message_stored(message=message, mailboxes=tuple(mailboxes))
