"""Under pytest-xdist each worker has its own session server; reports still get the sections."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


def test_one_server_per_worker(mailtester: pytest.Pytester) -> None:
    records = mailtester.mkdir("records")
    mailtester.makepyfile(
        f"""
        import json
        import os
        import uuid
        from pathlib import Path

        import pytest
        from mailhelpers import send

        RECORDS = Path({str(records)!r})


        @pytest.mark.parametrize("n", range(12))
        def test_send(fakemail, n):
            # Every test sees only its own mail, whatever the other worker does meanwhile.
            assert fakemail.messages == ()
            send(fakemail, to=f"user{{n}}@example.com", subject=f"mail {{n}}")
            message = fakemail.assert_sent()
            assert message.recipients == (f"user{{n}}@example.com",)
            record = {{
                "worker": os.environ["PYTEST_XDIST_WORKER"],
                "server": id(fakemail),
                "port": fakemail.smtp.port,
            }}
            (RECORDS / f"{{uuid.uuid4()}}.json").write_text(json.dumps(record))


        @pytest.mark.parametrize("n", range(4))
        @pytest.mark.fakemail(require_auth=True, users={{"a@example.com": "pw"}})
        def test_marked(fakemail, n):
            assert fakemail.options.require_auth


        @pytest.mark.parametrize("n", range(4))
        def test_unmarked(fakemail, n):
            assert not fakemail.options.require_auth
        """
    )
    result = mailtester.runpytest_subprocess("-n", "2", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=20)
    found = [json.loads(p.read_text()) for p in Path(records).iterdir()]
    assert len(found) == 12
    by_worker: dict[str, set[tuple[int, int]]] = {}
    for record in found:
        by_worker.setdefault(record["worker"], set()).add((record["server"], record["port"]))
    assert set(by_worker) == {"gw0", "gw1"}
    # One server per worker, on different ports.
    assert all(len(servers) == 1 for servers in by_worker.values())
    ports = {port for servers in by_worker.values() for _, port in servers}
    assert len(ports) == 2


def test_report_sections_under_xdist(mailtester: pytest.Pytester) -> None:
    mailtester.makepyfile(
        """
        import pytest
        from mailhelpers import send


        @pytest.mark.parametrize("n", range(2))
        def test_fails(fakemail, n):
            send(fakemail, subject=f"mail {n}")
            fakemail.assert_sent(subject="missing")
        """
    )
    result = mailtester.runpytest_subprocess("-n", "2", "-p", "no:cacheprovider")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines_random(
        [
            "E       Filters: subject='missing'",
            "#1 * subject 'mail 0'",
            "#1 * subject 'mail 1'",
            "*- fakemail: captured mail -*",
            "*- fakemail: transcripts -*",
        ]
    )
