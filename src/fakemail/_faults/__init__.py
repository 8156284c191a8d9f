"""Faults: rules that make SMTP, IMAP and POP3 sessions fail on purpose, reproducibly.

:mod:`._rules` (the rule value and its JSON form), :mod:`._syntax` (the string syntax),
:mod:`._stages` (where faults fire), :mod:`._engine` (matching; the ``fakemail_fault`` plugin).
The hosts never import this package: they ask the hook (see :mod:`fakemail._faulttypes`).
"""

from __future__ import annotations

from fakemail._faults._engine import FaultEngine, FiredFault
from fakemail._faults._rules import Rule, rule_from_json
from fakemail._faults._stages import STAGES
from fakemail._faults._syntax import format_rule, parse_rule

__all__ = [
    "STAGES",
    "FaultEngine",
    "FiredFault",
    "Rule",
    "format_rule",
    "parse_rule",
    "rule_from_json",
]
