"""Static checks of the public API's types, run by mypy (pyproject ``files``), not pytest.

``assert_type`` fails the type check when a signature's declared type changes.
"""

from __future__ import annotations

from typing_extensions import assert_type

from fakemail import MailServer, Message


def check_assertions(server: MailServer) -> None:
    """``assert_sent`` gives one message, or with ``count`` a list of them."""
    assert_type(server.assert_sent(to="bob@example.com"), Message)
    assert_type(server.assert_sent(count=2, subject="Hi"), list[Message])
    assert_type(server.assert_count(0), list[Message])
    assert_type(server.wait_for(2, to="bob@example.com"), list[Message])
    assert_type(server.find(subject="Hi"), list[Message])
    assert_type(server.assert_no_mail(within=0.5, to="bob@example.com"), None)
