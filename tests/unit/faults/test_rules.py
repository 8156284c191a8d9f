"""Fault rules without sockets: validation, the string syntax, JSON, and seeded matching."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fakemail import ConfigError, FaultPoint, Rule, parse_rule, rule_from_json
from fakemail._config import Options
from fakemail._faults import FaultEngine
from fakemail._plugins import Plugins


def _engine(seed: int = 7) -> FaultEngine:
    return FaultEngine(Plugins(Options), seed=seed)


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("smtp:rcptt:451", "stage"),
        ("ftp:rcpt:451", "protocol"),
        ("smtp:rcpt:299", "reply"),
        ("smtp:rcpt:451:p=1.5", "probability"),
        ("smtp:rcpt:451:times=0", "times"),
        ("smtp:rcpt:451:code=5.1.1", "code"),
        ("imap:fetch:451", "reply"),
        ("imap:connect:NO", "reply"),
        ("pop3:retr:NO", "reply"),
        ("smtp:rcpt:cut", "action"),
        ("smtp:rcpt:refuse", "action"),
        ("smtp:rcpt:pass", "action"),
        ("smtp:rcpt:451:throttle=0", "throttle"),
        ("smtp:rcpt:451:until=1:after=2", "until"),
        ("smtp:rcpt:close:close", "close"),
    ],
)
def test_malformed_rules_name_the_field(text: str, field: str) -> None:
    with pytest.raises(ConfigError, match=rf"fault rule: {field} "):
        parse_rule(text)


@pytest.mark.parametrize(
    "text", ["smtp", "smtp:rcpt", "smtp:rcpt:451:nope=1", "smtp:rcpt:451:times=x"]
)
def test_bad_syntax(text: str) -> None:
    with pytest.raises(ConfigError, match="fault rule"):
        parse_rule(text)


def test_string_syntax() -> None:
    rule = parse_rule("smtp:rcpt:550:code=5.1.1:address=*@bounce.test:times=2:text=No: such")
    assert rule == Rule(
        "smtp", "rcpt", reply=550, code="5.1.1", address="*@bounce.test", times=2, text="No: such"
    )
    assert parse_rule("smtp:connect:delay=500ms").delay == 0.5
    assert parse_rule("smtp:helo:421").stage == "ehlo"
    assert parse_rule("pop3:retr:-ERR:code=sys/temp") == Rule(
        "pop3", "retr", reply="ERR", code="SYS/TEMP"
    )
    assert parse_rule("imap:fetch:cut").action == "cut"


_RULES = st.sampled_from(
    [
        "smtp:rcpt:451:times=1",
        "smtp:message:552:code=5.2.2:text=Mailbox full: sorry",
        "smtp:mail:421",
        "smtp:*:delay=0.25:p=0.5",
        "smtp:data:cut:nth=3",
        "imap:fetch:NO:code=UNAVAILABLE:every=2",
        "imap:connect:BYE",
        "imap:select:BAD:mailbox=Arch*",
        "pop3:retr:ERR:code=SYS/TEMP:after=1:until=5",
        "pop3:stls:tls-fail",
        "smtp:connect:throttle=1000",
        "smtp:rcpt:451:close:user=bob*",
    ]
)


@given(_RULES)
def test_string_and_json_forms_round_trip(text: str) -> None:
    rule = parse_rule(text)
    assert parse_rule(str(rule)) == rule
    assert rule_from_json(rule.to_json()) == rule


def test_json_names_unknown_fields() -> None:
    with pytest.raises(ConfigError, match="fault rule: colour is not a rule field"):
        rule_from_json({"protocol": "smtp", "stage": "rcpt", "colour": 1})
    with pytest.raises(ConfigError, match="fault rule: stage is missing"):
        rule_from_json({"protocol": "smtp"})


def _run(seed: int, probability: float, points: int) -> list[int]:
    engine = _engine(seed)
    engine.add(Rule("smtp", "rcpt", reply=451, probability=probability))
    engine.add(Rule("smtp", "rcpt", reply=452, probability=probability))
    fired = []
    for n in range(points):
        fault = engine.fakemail_fault(FaultPoint("smtp", "rcpt", session=n))
        fired.append(0 if fault is None else int(str(fault.reply)))
    return fired


@given(
    seed=st.integers(0, 2**32),
    probability=st.floats(0, 1),
    points=st.integers(0, 60),
)
def test_a_seeded_probabilistic_rule_fires_on_the_same_points_every_run(
    seed: int, probability: float, points: int
) -> None:
    assert _run(seed, probability, points) == _run(seed, probability, points)


def test_probability_fires_about_as_often_as_asked() -> None:
    fired = _run(1, 0.3, 1000)
    assert 200 < sum(1 for f in fired if f == 451) < 400


def test_engine_registers_only_while_it_has_rules() -> None:
    plugins = Plugins(Options)
    engine = FaultEngine(plugins)
    assert not plugins.has_plugins("fakemail_fault")
    rule = engine.add("smtp:rcpt:451")
    assert plugins.has_plugins("fakemail_fault")
    engine.remove(rule)
    assert not plugins.has_plugins("fakemail_fault")
    engine.add("smtp:rcpt:451")
    engine.clear()
    assert not plugins.has_plugins("fakemail_fault")
    assert engine.add("smtp:rcpt:451").id == 1  # ids start again after clear


def test_stage_index_and_patterns() -> None:
    engine = _engine()
    engine.add("smtp:rcpt:550:address=*@bounce.test")
    engine.add("imap:*:NO")
    assert engine.fakemail_fault(FaultPoint("smtp", "mail", addresses=("a@bounce.test",))) is None
    assert engine.fakemail_fault(FaultPoint("smtp", "rcpt", addresses=("a@x.test",))) is None
    hit = engine.fakemail_fault(FaultPoint("smtp", "rcpt", addresses=("A@Bounce.Test",)))
    assert hit is not None
    assert hit.label == "rcpt 550 (rule 1)"
    assert engine.fakemail_fault(FaultPoint("imap", "connect")) is None  # * is not the greeting
    assert engine.fakemail_fault(FaultPoint("imap", "fetch")) is not None
