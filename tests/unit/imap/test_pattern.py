"""LIST pattern matching: the automaton agrees with the backtracking regex it replaced, and
takes time linear in the name where the regex took exponential time."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from fakemail._imap._pattern import Pattern

_ALPHABET = st.sampled_from("ab/*%")


def reference(pattern: str, name: str, *, ignore_case: bool = False) -> bool:
    """The regex translation LIST used before (exponential on near misses)."""
    regex = "".join(".*" if c == "*" else "[^/]*" if c == "%" else re.escape(c) for c in pattern)
    flags = re.DOTALL | (re.IGNORECASE if ignore_case else 0)
    return re.fullmatch(regex, name, flags) is not None


@given(st.text(_ALPHABET, max_size=8), st.text(st.sampled_from("ab/"), max_size=10))
def test_agrees_with_the_regex(pattern: str, name: str) -> None:
    assert Pattern(pattern, "/").matches(name) == reference(pattern, name)


@given(st.text(st.sampled_from("aB/%*"), max_size=6), st.text(st.sampled_from("Ab/"), max_size=8))
def test_ignore_case(pattern: str, name: str) -> None:
    matched = Pattern(pattern, "/", ignore_case=True).matches(name)
    assert matched == reference(pattern, name, ignore_case=True)


def test_examples() -> None:
    assert Pattern("*", "/").matches("")
    assert Pattern("%", "/").matches("INBOX")
    assert not Pattern("%", "/").matches("a/b")
    assert Pattern("a/%", "/").matches("a/b")
    assert Pattern("*b", "/").matches("a/b")
    assert not Pattern("", "/").matches("a")
    assert Pattern("Foo.*", ".").matches("Foo.Bar.Baz")


def test_near_miss() -> None:
    # Issue 11 §1: as a regex, each "*a" multiplied the time on this name (hours here); the
    # automaton takes one step per character.
    assert not Pattern("*a" * 30 + "q", "/").matches("a" * 100)
    assert Pattern("*a" * 30 + "*", "/").matches("a" * 100)
    assert not Pattern("%a" * 30 + "q", "/").matches("a/" * 50)
