"""Filters, for any message and any filter value: a string, the equivalent anchored regex and
the equivalent callable agree; ``matches`` agrees with ``misses``; ``select`` keeps order."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from email.message import EmailMessage
from email.policy import SMTP

from hypothesis import given
from hypothesis import strategies as st

from fakemail._matching import Criteria
from fakemail._message import Envelope, Message

WORDS = st.text(st.sampled_from("abcXYZ 0äß€-"), min_size=1, max_size=12).map(str.strip)
LOCAL = st.text(st.sampled_from("abcXYZ09."), min_size=1, max_size=8).filter(
    lambda s: not s.startswith(".") and not s.endswith(".") and ".." not in s
)
ADDRESSES = st.builds(lambda local, domain: f"{local}@{domain}.example", LOCAL, LOCAL)


def make(subject: str, recipients: list[str], body: str) -> Message:
    email = EmailMessage(policy=SMTP)
    email["Subject"] = subject
    email["To"] = ", ".join(recipients)
    email.set_content(body)
    envelope = Envelope("app@example.com", tuple(recipients))
    return Message(email.as_bytes(), envelope, datetime(2024, 1, 1, tzinfo=timezone.utc), 1)


def agree(name: str, message: Message, value: str, *, casefold: bool = False) -> bool:
    """The three forms of one filter give the same answer; that answer."""
    flags = re.IGNORECASE if casefold else 0
    fold = str.casefold if casefold else str
    forms = [
        value,
        re.compile(rf"\A{re.escape(value)}\Z", flags),
        lambda seen: fold(seen) == fold(value),
    ]
    answers = []
    for form in forms:
        criteria = Criteria.build(**{name: form})
        answers.append(criteria.matches(message))
        assert criteria.matches(message) == (criteria.misses(message) == [])
    assert len(set(answers)) == 1, (name, value, answers)
    return answers[0]


@given(WORDS, st.lists(ADDRESSES, min_size=1, max_size=3), WORDS, WORDS, ADDRESSES)
def test_filter_forms_agree(
    subject: str, recipients: list[str], body: str, other: str, stranger: str
) -> None:
    message = make(subject, recipients, body)
    assert message.subject is not None
    assert agree("subject", message, message.subject)
    assert agree("subject", message, other) == (other == message.subject)
    for address in recipients:
        assert agree("to", message, address.upper(), casefold=True)  # addresses ignore case
    assert agree("to", message, stranger, casefold=True) == (
        stranger.casefold() in {r.casefold() for r in recipients}
    )
    assert Criteria.build(body=body).matches(message)


@given(st.lists(st.tuples(WORDS, ADDRESSES), max_size=6), WORDS)
def test_select_keeps_the_matches_in_order(pairs: list[tuple[str, str]], wanted: str) -> None:
    messages = [make(subject, [to], "x") for subject, to in pairs]
    criteria = Criteria.build(subject=wanted)
    assert criteria.select(messages) == [m for m in messages if m.subject == wanted]
