"""Dovecot's imaptest groups against fakemail, one test per group (skipped without imaptest).

The groups and the runner are those of ``python -m tests.conformance.imaptest`` (see there);
``.ci/run`` builds imaptest and runs that command, which fails loudly where this module skips.
"""

from __future__ import annotations

import pytest

from tests.conformance.imaptest import PENDING, find_imaptest, groups, run_fakemail

_IMAPTEST = find_imaptest()
_GROUPS = groups(_IMAPTEST) if _IMAPTEST else []

pytestmark = pytest.mark.skipif(
    _IMAPTEST is None, reason="imaptest not found ($FAKEMAIL_IMAPTEST, .ci/build-imaptest.sh)"
)


@pytest.mark.parametrize("group", _GROUPS or ["(imaptest not found)"])
def test_group(group: str) -> None:
    assert _IMAPTEST is not None
    result = run_fakemail(_IMAPTEST, group)
    if group in PENDING:
        assert not result.ok, f"{group} passes now: remove it from PENDING"
        pytest.xfail(PENDING[group])
    assert result.ok, result.details or f"{group} ran no command (a capability not advertised?)"
