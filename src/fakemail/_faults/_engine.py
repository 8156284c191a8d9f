"""The fault engine: a server's rules, matched at each fault point; a plugin on ``fakemail_fault``.

The engine registers itself with the server's plugin manager only while it holds a rule, so a
server without rules pays one ``has_plugins`` check per point and nothing more. Rules are
indexed by protocol and stage: a point whose stage no rule names costs one dict lookup.

Determinism: each rule draws its probability from its own :class:`random.Random`, seeded with
the engine's seed and the rule's id, so the same points in the same order fire the same way
in every run, whatever other rules do. Ids restart at 1 when the rules are cleared (at each
test's reset), so a test's rules are numbered and seeded the same in every run.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import random
import re
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Final, final

from fakemail._exceptions import ConfigError
from fakemail._faults._rules import Rule, rule_from_json
from fakemail._faults._stages import ANY, CONNECT, STAGES
from fakemail._faults._syntax import parse_rule
from fakemail._faulttypes import Fault, FaultPoint
from fakemail._plugins import Plugins
from fakemail.hookspecs import hookimpl

__all__ = ["FaultEngine", "FiredFault"]

#: Firings kept for reports (the oldest are dropped first).
FIRED_KEPT: Final = 1000
_IMAP_REPLIES: Final = frozenset({"NO", "BAD", "BYE"})


@final
@dataclass(frozen=True, slots=True)
class FiredFault:
    """A fault that fired: which rule, where and when."""

    #: The rule's id.
    rule: int
    #: ``"rcpt 451 (rule 2)"``.
    label: str
    protocol: str
    #: The session's transcript number.
    session: int
    peer: str
    at: datetime

    def __str__(self) -> str:
        return f"{self.protocol} session #{self.session} from {self.peer}: {self.label}"


def _pattern(value: str | None) -> re.Pattern[str] | None:
    return None if value is None else re.compile(fnmatch.translate(value.lower()))


@final
class _Live:
    """One added rule and what it counts."""

    __slots__ = (
        "added",
        "address",
        "fault",
        "fired",
        "mailbox",
        "occurrences",
        "random",
        "rule",
        "user",
    )

    def __init__(self, rule: Rule, seed: int) -> None:
        self.rule = rule
        self.fault = rule.fault()
        self.address = _pattern(rule.address)
        self.user = _pattern(rule.user)
        self.mailbox = _pattern(rule.mailbox)
        self.added = time.monotonic()
        self.occurrences = 0
        self.fired = 0
        self.random = random.Random()
        self.reseed(seed)

    def reseed(self, seed: int) -> None:
        self.random.seed(f"{seed}:{self.rule.id}")

    def matches(self, point: FaultPoint, now: float) -> bool:
        rule = self.rule
        if self.address is not None and not any(
            self.address.match(a.lower()) for a in point.addresses
        ):
            return False
        if self.user is not None and (
            point.user is None or not self.user.match(point.user.lower())
        ):
            return False
        if self.mailbox is not None and (
            point.mailbox is None or not self.mailbox.match(point.mailbox.lower())
        ):
            return False
        elapsed = now - self.added
        return elapsed >= rule.after and (rule.until is None or elapsed < rule.until)

    def occurs(self) -> bool:
        """Count an occurrence; whether the rule fires on it. Called under the engine lock."""
        rule = self.rule
        self.occurrences += 1
        n = self.occurrences
        if rule.nth is not None and n != rule.nth:
            return False
        if rule.every is not None and n % rule.every:
            return False
        if rule.times is not None and self.fired >= rule.times:
            return False
        # Drawn last, and only for occurrences that got here: the same points give the same
        # draws in every run.
        return rule.probability is None or self.random.random() < rule.probability


@final
class FaultEngine:
    """The fault rules of one server (:attr:`MailServer.faults <fakemail.MailServer.faults>`).

    ::

        rule = server.faults.add("smtp:rcpt:451:times=1")
        rule = server.faults.add(protocol="imap", stage="fetch", reply="NO", code="UNAVAILABLE")
        with server.faults.add("pop3:retr:ERR"):
            ...                         # the rule is removed at the end of the block

    Thread-safe: rules are added from the test thread and matched on server threads.
    """

    def __init__(self, plugins: Plugins, seed: int | None = None) -> None:
        self._plugins = plugins
        self._lock = threading.Lock()
        self._live: tuple[_Live, ...] = ()
        # Replaced whole (copy on write): server threads read it without the lock.
        self._index: dict[tuple[str, str], tuple[_Live, ...]] = {}
        self._next_id = 1
        self._seed = random.SystemRandom().randrange(2**32) if seed is None else seed
        self._fired: deque[FiredFault] = deque(maxlen=FIRED_KEPT)

    # ------------------------------------------------------------------ rules

    @property
    def rules(self) -> tuple[Rule, ...]:
        """The rules added and not removed, in order (by id)."""
        return tuple(live.rule for live in self._live)

    def add(self, rule: Rule | str | Mapping[str, Any] | None = None, /, **fields: Any) -> Rule:
        """Add a rule: a :class:`~fakemail.Rule`, its string syntax
        (``"smtp:rcpt:451:times=1"``), its JSON object, or its fields as keywords; keywords
        given with a rule override its fields. Returns the added rule, with its id.

        Raises :class:`~fakemail.ConfigError` naming a malformed field.
        """
        made = _as_rule(rule, fields)
        with self._lock:
            made = dataclasses.replace(made, id=self._next_id, _engine=self)
            self._next_id += 1
            was_empty = not self._live
            self._set((*self._live, _Live(made, self._seed)))
        if was_empty:
            self._plugins.add(self)
        return made

    def fail(self, stage: str, reply: int | str | None = None, /, **fields: Any) -> Rule:
        """Add a rule that fails ``stage`` with ``reply`` (by default once: ``times=1``).

        ``fail("rcpt", 451)``; ``fail("imap:fetch", "NO")``; ``fail("pop3:retr", "ERR")``;
        ``fail("data", action="cut")``. The protocol is the prefix before ``:``, or else the
        reply's (an SMTP code, IMAP NO/BAD/BYE, POP3 ERR); SMTP when there is no reply.
        """
        protocol, _, named = stage.rpartition(":") if isinstance(stage, str) else ("", "", stage)
        if not protocol:
            text = str(reply).upper().lstrip("-")
            protocol = "imap" if text in _IMAP_REPLIES else "pop3" if text == "ERR" else "smtp"
        fields.setdefault("times", 1)
        if reply is not None:
            fields["reply"] = reply
        return self.add(protocol=protocol, stage=named, **fields)

    def remove(self, rule: Rule | int) -> None:
        """Remove a rule (given as returned by :meth:`add`, or by id); no error if gone."""
        ident = rule.id if isinstance(rule, Rule) else rule
        with self._lock:
            kept = tuple(live for live in self._live if live.rule.id != ident)
            emptied = bool(self._live) and not kept
            self._set(kept)
        if emptied:
            self._plugins.remove(self)

    def clear(self) -> None:
        """Remove every rule and forget what fired; ids start again at 1 (the seed stays)."""
        with self._lock:
            had = bool(self._live)
            self._set(())
            self._next_id = 1
            self._fired.clear()
        if had:
            self._plugins.remove(self)

    def _set(self, live: tuple[_Live, ...]) -> None:
        """Install ``live`` and its index. Called under the lock."""
        index: dict[tuple[str, str], tuple[_Live, ...]] = {}
        for protocol, stages in STAGES.items():
            for stage in (*stages, ANY):
                found = tuple(
                    one
                    for one in live
                    if one.rule.protocol == protocol
                    and (one.rule.stage == stage or (one.rule.stage == ANY and stage != CONNECT))
                )
                if found:
                    index[protocol, stage] = found
        self._live = live
        self._index = index

    # ------------------------------------------------------------------ seed and history

    @property
    def seed(self) -> int:
        """The seed of the rules' probability draws (printed by ``fakemail serve`` and in
        failing tests' reports); set it to replay a run exactly."""
        return self._seed

    @seed.setter
    def seed(self, value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"fault seed must be an int, got {value!r}")
        with self._lock:
            self._seed = value
            for live in self._live:
                live.reseed(value)

    @property
    def fired(self) -> tuple[FiredFault, ...]:
        """The faults that fired since the rules were last cleared, oldest first (the last
        :data:`FIRED_KEPT`)."""
        with self._lock:
            return tuple(self._fired)

    def fired_count(self, rule: Rule | int) -> int:
        """How many times ``rule`` (or the rule with that id) fired; 0 once removed."""
        ident = rule.id if isinstance(rule, Rule) else rule
        for live in self._live:
            if live.rule.id == ident:
                return live.fired
        return 0

    # ------------------------------------------------------------------ the hook

    @hookimpl
    def fakemail_fault(self, point: FaultPoint) -> Fault | None:
        """The first rule (by id) that fires at ``point``; every matching rule counts it."""
        candidates = self._index.get((point.protocol, point.stage))
        if candidates is None:
            if point.stage == CONNECT:
                return None
            # A stage no rule names (an IMAP command added later, say): only "*" rules.
            candidates = self._index.get((point.protocol, ANY))
            if candidates is None:
                return None
        now = time.monotonic()
        chosen: _Live | None = None
        with self._lock:
            for live in candidates:
                if live.matches(point, now) and live.occurs() and chosen is None:
                    chosen = live
            if chosen is None:
                return None
            chosen.fired += 1
            rule = chosen.rule
            assert rule.id is not None
            self._fired.append(
                FiredFault(
                    rule.id,
                    chosen.fault.label,
                    point.protocol,
                    point.session,
                    point.peer,
                    datetime.now(timezone.utc),
                )
            )
        return chosen.fault


def _as_rule(rule: Rule | str | Mapping[str, Any] | None, fields: dict[str, Any]) -> Rule:
    if rule is None:
        return rule_from_json(fields)
    if isinstance(rule, str):
        made = parse_rule(rule)
    elif isinstance(rule, Mapping):
        made = rule_from_json(rule)
    elif isinstance(rule, Rule):
        made = rule
    else:
        raise ConfigError(f"fault rule: expected a Rule, a string or a JSON object, got {rule!r}")
    if not fields:
        return made
    return rule_from_json({**made.to_json(), **fields})
