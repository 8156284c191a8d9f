"""The one flag rule shared by the test API and IMAP STORE/APPEND."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fakemail._exceptions import ConfigError
from fakemail._flags import RECENT, SYSTEM_FLAGS, normalize_flag, normalize_flags

_ATOM_CHARS = st.characters(
    min_codepoint=0x21, max_codepoint=0x7E, blacklist_characters='(){%*"\\]'
)


@given(st.sampled_from(SYSTEM_FLAGS), st.lists(st.booleans(), min_size=9, max_size=9))
def test_system_flags_in_any_case_are_canonical(flag: str, upper: list[bool]) -> None:
    mixed = "".join(c.upper() if up else c.lower() for c, up in zip(flag, upper, strict=False))
    assert normalize_flag(mixed) == flag
    assert normalize_flags([mixed, flag]) == {flag}


@given(st.text(_ATOM_CHARS, min_size=1))
def test_atoms_are_keywords_kept_as_written(keyword: str) -> None:
    assert normalize_flag(keyword) == keyword
    assert normalize_flag(normalize_flag(keyword)) == keyword


@pytest.mark.parametrize(
    ("flag", "error"),
    [
        ("\\Bogus", r"unknown system flag \\Bogus; system flags are \\Answered"),
        ("\\recent", r"\\Recent cannot be set"),
        ("two words", "not a valid keyword"),
        ("[bracket]", "not a valid keyword"),
        ("caf\u00e9", "not a valid keyword"),
        ("", "not a valid keyword"),
        ("\\", "unknown system flag"),
    ],
)
def test_bad_flags(flag: str, error: str) -> None:
    with pytest.raises(ConfigError, match=error):
        normalize_flag(flag)
    with pytest.raises(ConfigError, match=error):
        normalize_flags([flag])


def test_recent_may_be_searched_for() -> None:
    assert normalize_flag("\\RECENT", settable=False) == RECENT


@pytest.mark.parametrize(
    ("flags", "error"),
    [
        (["Seen"], r"'Seen' would be a keyword; the system flag is '\\\\Seen'"),
        (["flagged"], r"the system flag is '\\\\Flagged'"),
        ("\\Seen", "takes a list of flags, got the string"),
        ([1], "a flag is a string"),
    ],
)
def test_api_refuses_likely_mistakes(flags: object, error: str) -> None:
    with pytest.raises(ConfigError, match=error):
        normalize_flags(flags)  # type: ignore[arg-type]
