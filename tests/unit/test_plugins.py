"""The per-server plugin manager: validation, defaults, firstresult, blocking, routing, auth."""

from __future__ import annotations

import hashlib
import hmac
import importlib.metadata
import sys
import types
from collections.abc import Iterator, Sequence
from datetime import datetime, timezone
from typing import Any

import pluggy
import pytest

from fakemail._backend import Backend, Refusal
from fakemail._config import Options, User
from fakemail._message import Envelope, Message
from fakemail._plugins import DefaultPlugin, Plugins, published
from fakemail._sasl import Challenge, Credentials, password_credentials, start_mechanism
from fakemail._server import MailServer
from fakemail._smtptypes import Reply, SmtpSessionInfo
from fakemail.hookspecs import hookimpl

SESSION = SmtpSessionInfo(peer=("127.0.0.1", 1), helo="client", is_tls=False, auth_user=None)


def plugins_with(*plugins: object, options: Options | None = None) -> Plugins:
    current = options or Options()
    return Plugins(lambda: current, plugins)


def envelope(*recipients: str) -> Envelope:
    return Envelope("app@example.com", recipients)


def cram_md5(username: str, password: str) -> Credentials:
    mechanism = start_mechanism("CRAM-MD5", hostname="localhost")
    assert mechanism is not None
    challenge = mechanism.step(None)
    assert isinstance(challenge, Challenge)
    digest = hmac.new(password.encode(), challenge.data, hashlib.md5).hexdigest()
    result = mechanism.step(f"{username} {digest}".encode())
    assert isinstance(result, Credentials)
    return result


# ------------------------------------------------------------------ validation


def test_unknown_hook_is_rejected() -> None:
    class Typo:
        @hookimpl
        def fakemail_smtp_rcpt(self, address: str) -> None:
            """Misspelt hook name."""

    with pytest.raises(pluggy.PluginValidationError, match="unknown hook 'fakemail_smtp_rcpt'"):
        plugins_with(Typo())
    with pytest.raises(pluggy.PluginValidationError):
        MailServer(plugins=[Typo()])


def test_wrong_argument_names_are_rejected() -> None:
    class WrongArgs:
        @hookimpl
        def fakemail_route(self, rcpt: str) -> list[str]:
            return [rcpt]

    with pytest.raises(pluggy.PluginValidationError, match="rcpt"):
        plugins_with(WrongArgs())


def test_rejected_plugin_added_later_is_not_left_registered() -> None:
    class Typo:
        @hookimpl
        def fakemail_nope(self) -> None:
            """Unknown hook."""

    plugins = plugins_with()
    typo = Typo()
    with pytest.raises(pluggy.PluginValidationError):
        plugins.add(typo, temporary=True)
    assert not plugins.manager.is_registered(typo)
    plugins.add(object())  # the manager still accepts good plugins
    plugins.remove_temporary()


def test_unmarked_methods_are_not_hooks() -> None:
    class Unmarked:
        def fakemail_route(self, recipient: str) -> list[str]:
            return ["elsewhere@example.com"]  # pragma: no cover - must not be called

    plugins = plugins_with(Unmarked())
    assert not plugins.has_plugins("fakemail_route")
    assert plugins.route(envelope("a@x.org")) == ["a@x.org"]


def test_implementations_may_take_fewer_arguments() -> None:
    class Partial:
        @hookimpl
        def fakemail_smtp_rcpt_to(self, address: str) -> Reply | None:
            return Reply(550, "5.1.1 no") if address.startswith("bad") else None

    plugins = plugins_with(Partial())
    assert plugins.smtp_rcpt_to(SESSION, "bad@x.org", ()) == Reply(550, "5.1.1 no")
    assert plugins.smtp_rcpt_to(SESSION, "good@x.org", ()) is None


# ------------------------------------------------------------------ defaults


def test_defaults_are_registered_and_run_last() -> None:
    calls: list[str] = []

    class Fallback:
        @hookimpl(trylast=True)
        def fakemail_route(self, recipient: str) -> list[str] | None:
            calls.append(recipient)
            return ["fallback@x.org"] if recipient == "lost@x.org" else None

        @hookimpl(trylast=True)
        def fakemail_authenticate(self, username: str) -> bool | None:
            calls.append(username)
            return None

    plugins = plugins_with(Fallback())
    defaults = plugins.manager.get_plugin("fakemail-defaults")
    assert isinstance(defaults, DefaultPlugin)
    for hook in ("fakemail_route", "fakemail_authenticate"):
        impls = getattr(plugins.manager.hook, hook).get_hookimpls()
        assert [impl.plugin for impl in impls if impl.plugin is defaults]
    # Even a plugin's own trylast fallback is asked before the defaults answer...
    assert plugins.route(envelope("lost@x.org")) == ["fallback@x.org"]
    # ...and the defaults answer when it abstains.
    assert plugins.route(envelope("a@x.org")) == ["a@x.org"]
    assert plugins.authenticate("smtp", "u@x.org", password_credentials("u@x.org", "pw"))
    assert calls == ["lost@x.org", "a@x.org", "u@x.org"]


def test_has_plugins_ignores_the_defaults_and_tracks_registration() -> None:
    class Route:
        @hookimpl
        def fakemail_route(self, recipient: str) -> list[str]:
            return ["x@y.org"]

    plugins = plugins_with()
    assert not plugins.has_plugins("fakemail_route")
    assert not plugins.has_plugins("fakemail_smtp_data")
    route = Route()
    plugins.add(route, temporary=True)
    assert plugins.has_plugins("fakemail_route")
    assert not plugins.has_plugins("fakemail_smtp_data")
    plugins.remove_temporary()
    assert not plugins.has_plugins("fakemail_route")


def test_smtp_hooks_without_plugins_abstain() -> None:
    plugins = plugins_with()
    assert plugins.smtp_mail_from(SESSION, "a@x.org", ()) is None
    assert plugins.smtp_rcpt_to(SESSION, "a@x.org", ()) is None
    assert plugins.smtp_data(SESSION, envelope("a@x.org"), b"x") is None


# ------------------------------------------------------------------ firstresult


def test_firstresult_last_registered_wins_and_none_abstains() -> None:
    calls: list[str] = []

    class Named:
        def __init__(self, name: str, reply: Reply | None) -> None:
            self.name = name
            self.reply = reply

        @hookimpl
        def fakemail_smtp_data(self, raw: bytes) -> Reply | None:
            calls.append(self.name)
            return self.reply

    plugins = plugins_with(
        Named("first", Reply(554, "first")),
        Named("second", Reply(451, "second")),
        Named("third", None),
    )
    assert plugins.smtp_data(SESSION, envelope("a@x.org"), b"x") == Reply(451, "second")
    assert calls == ["third", "second"]  # LIFO; "first" is never asked


def test_hook_arguments() -> None:
    seen: dict[str, Any] = {}

    class Spy:
        @hookimpl
        def fakemail_smtp_mail_from(
            self, session: SmtpSessionInfo, address: str, options: Sequence[str]
        ) -> None:
            seen["mail"] = (session, address, tuple(options))

        @hookimpl
        def fakemail_smtp_data(
            self, session: SmtpSessionInfo, envelope: Envelope, raw: bytes
        ) -> None:
            seen["data"] = (session, envelope, raw)

        @hookimpl
        def fakemail_message_stored(self, message: Message, mailboxes: Sequence[str]) -> None:
            seen["stored"] = (message, mailboxes)

    plugins = plugins_with(Spy())
    env = envelope("a@x.org")
    assert plugins.smtp_mail_from(SESSION, "s@x.org", ("SIZE=10",)) is None
    assert plugins.smtp_data(SESSION, env, b"raw") is None
    store_message = Message(b"x", env, datetime.now(timezone.utc))
    plugins.message_stored(store_message, ["a@x.org"])
    assert seen == {
        "mail": (SESSION, "s@x.org", ("SIZE=10",)),
        "data": (SESSION, env, b"raw"),
        "stored": (store_message, ("a@x.org",)),
    }


# ------------------------------------------------------------------ entry points and blocking


@pytest.fixture
def entry_point_plugin(monkeypatch: pytest.MonkeyPatch) -> Iterator[types.ModuleType]:
    """A plugin module published under the ``fakemail`` entry-point group as ``rerouter``."""
    module = types.ModuleType("fakemail_test_rerouter")

    @hookimpl
    def fakemail_route(recipient: str) -> list[str]:
        return ["rerouted@example.com"]

    module.fakemail_route = fakemail_route  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, module.__name__, module)
    point = importlib.metadata.EntryPoint("rerouter", module.__name__, "fakemail")
    other = importlib.metadata.EntryPoint("unrelated", "no_such_module", "other_group")

    class Distribution:
        entry_points = (point, other)
        metadata = {"name": "fakemail-test-rerouter"}
        version = "1.0"

    monkeypatch.setattr(importlib.metadata, "distributions", lambda: [Distribution()])
    published.cache_clear()  # found once per process: look again, and again after the test
    yield module
    published.cache_clear()


def test_entry_point_plugins_are_loaded(
    entry_point_plugin: types.ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FAKEMAIL_DISABLE_PLUGINS", raising=False)
    plugins = plugins_with()
    assert plugins.manager.get_plugin("rerouter") is entry_point_plugin
    assert plugins.route(envelope("a@x.org")) == ["rerouted@example.com"]


@pytest.mark.parametrize("value", ["rerouter", " other , rerouter ,", "rerouter,rerouter"])
def test_fakemail_disable_plugins(
    entry_point_plugin: types.ModuleType, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("FAKEMAIL_DISABLE_PLUGINS", value)
    plugins = plugins_with()
    assert plugins.manager.get_plugin("rerouter") is None
    assert plugins.manager.is_blocked("rerouter")
    assert plugins.route(envelope("a@x.org")) == ["a@x.org"]


# ------------------------------------------------------------------ temporary plugins


def test_temporary_plugins_are_removed_permanent_ones_kept() -> None:
    class Reject:
        def __init__(self, code: int) -> None:
            self.code = code

        @hookimpl
        def fakemail_smtp_rcpt_to(self) -> Reply:
            return Reply(self.code, "no")

    permanent, temporary = Reject(550), Reject(450)
    plugins = plugins_with()
    plugins.add(permanent)
    plugins.add(temporary, temporary=True)
    plugins.add(temporary, temporary=True)  # registering twice is a no-op
    assert plugins.smtp_rcpt_to(SESSION, "a@x.org", ()) == Reply(450, "no")
    plugins.remove_temporary()
    assert not plugins.manager.is_registered(temporary)
    assert plugins.manager.is_registered(permanent)
    assert plugins.smtp_rcpt_to(SESSION, "a@x.org", ()) == Reply(550, "no")
    plugins.remove_temporary()  # idempotent
    assert plugins.manager.is_registered(permanent)


def test_server_add_plugin_and_reset() -> None:
    class Route:
        @hookimpl
        def fakemail_route(self) -> list[str]:
            return ["x@y.org"]

    server = MailServer()
    route = Route()
    server.add_plugin(route, temporary=True)
    assert server._backend.plugins.manager.is_registered(route)
    server.reset()
    assert not server._backend.plugins.manager.is_registered(route)


# ------------------------------------------------------------------ routing


def test_route_without_plugins_normalises_and_deduplicates() -> None:
    plugins = plugins_with()
    assert plugins.route(envelope("a@X.org", "b@x.org", "<a@x.ORG>")) == ["a@x.org", "b@x.org"]
    assert plugins.route(envelope()) == []


def test_route_plugin_results_are_merged_in_order_without_duplicates() -> None:
    class Team:
        @hookimpl
        def fakemail_route(self, recipient: str, envelope: Envelope) -> list[str] | None:
            assert recipient in envelope.recipients
            if recipient == "team@x.org":
                return ["a@x.org", "B@X.ORG", "a@X.org"]
            if recipient == "void@x.org":
                return []
            return None  # the default: the recipient's own mailbox

    plugins = plugins_with(Team())
    result = plugins.route(envelope("c@x.org", "team@x.org", "void@x.org", "b@x.org", "a@x.org"))
    assert result == ["c@x.org", "a@x.org", "B@x.org", "b@x.org"]
    assert plugins.route(envelope("void@x.org")) == []


# ------------------------------------------------------------------ authentication


def test_any_password_without_users() -> None:
    plugins = plugins_with()
    assert plugins.authenticate("smtp", "who@x.org", password_credentials("who@x.org", "x"))
    assert plugins.authenticate("imap", "anyone", cram_md5("anyone", "whatever"))


def test_configured_users() -> None:
    options = Options(users={"Alice@Example.com": "s3cret"})
    plugins = plugins_with(options=options)

    def auth(username: str, credentials: Credentials) -> bool:
        return plugins.authenticate("pop3", username, credentials)

    assert auth("Alice@Example.com", password_credentials("Alice@Example.com", "s3cret"))
    assert auth("Alice@example.COM", password_credentials("Alice@example.COM", "s3cret"))
    assert not auth("alice@example.com", password_credentials("alice@example.com", "s3cret"))
    assert not auth("Alice@Example.com", password_credentials("Alice@Example.com", "wrong"))
    assert not auth("bob@example.com", password_credentials("bob@example.com", "s3cret"))
    assert auth("Alice@Example.com", cram_md5("Alice@Example.com", "s3cret"))
    assert not auth("Alice@Example.com", cram_md5("Alice@Example.com", "wrong"))


def test_login_names() -> None:
    options = Options(users=[User("a@x.org", "pw", login="alice"), User("b@x.org", "pw2")])
    plugins = plugins_with(options=options)
    assert plugins.authenticate("imap", "alice", password_credentials("alice", "pw"))
    assert plugins.authenticate("imap", "alice", cram_md5("alice", "pw"))
    assert not plugins.authenticate("imap", "alice", password_credentials("alice", "pw2"))
    assert not plugins.authenticate("imap", "a@x.org", password_credentials("a@x.org", "pw"))
    assert plugins.authenticate("smtp", "b@X.org", password_credentials("b@X.org", "pw2"))


def test_accept_any_accepts_anything() -> None:
    plugins = plugins_with(options=Options(require_auth=True, auth_accept_any=True))
    assert plugins.authenticate("smtp", "a@x.org", password_credentials("a@x.org", "pw"))
    assert plugins.authenticate("pop3", "robot", cram_md5("robot", "anything"))


def test_defaults_read_the_current_options() -> None:
    backend = Backend(Options())
    credentials = password_credentials("a@x.org", "pw")
    assert backend.log_in("smtp", credentials) == "a@x.org"
    backend.options = Options(users={"a@x.org": "other"})
    assert backend.log_in("smtp", credentials) is Refusal.CREDENTIALS
    backend.options = Options(users={"a@x.org": "pw"})
    assert backend.log_in("smtp", credentials) == "a@x.org"


def test_authenticate_plugin_decides_or_abstains() -> None:
    class Gate:
        @hookimpl
        def fakemail_authenticate(self, protocol: str, username: str) -> bool | None:
            if username == "robot":
                return True
            if protocol == "pop3":
                return False
            return None

    plugins = plugins_with(Gate(), options=Options(users={"a@x.org": "pw"}))
    credentials = password_credentials("a@x.org", "pw")
    assert plugins.authenticate("imap", "robot", password_credentials("robot", "any"))
    assert not plugins.authenticate("pop3", "a@x.org", credentials)
    assert plugins.authenticate("imap", "a@x.org", credentials)  # left to the defaults


def test_failing_authenticate_plugin_means_no_and_is_recorded() -> None:
    class Broken:
        @hookimpl
        def fakemail_authenticate(self) -> bool:
            raise RuntimeError("plugin bug")

    backend = Backend(Options(), (Broken(),))
    refused = backend.log_in("smtp", password_credentials("a@x.org", "x"))
    assert refused is Refusal.CREDENTIALS
    errors = backend.take_errors()
    assert [str(e) for e in errors] == ["plugin bug"]
    assert backend.take_errors() == []
