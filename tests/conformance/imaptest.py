"""Run Dovecot's imaptest scripted test groups against fakemail, one fresh server per group.

imaptest (https://github.com/dovecot/imaptest, MIT licence) is Dovecot's IMAP conformance
tester. Each file in its ``src/tests/`` directory is a *group*: a script of commands and the
replies a correct server gives. A group whose ``capabilities:`` the server does not advertise
runs no command at all, so the command totals matter as much as the failure count.

    python -m tests.conformance.imaptest [--imaptest PATH] [--dovecot] [GROUP ...]

``--imaptest`` (default: ``$FAKEMAIL_IMAPTEST``, else :data:`DEFAULT_BINARY`) is the built
binary; the groups are read from
the ``tests/`` directory beside it. ``--dovecot`` runs the same groups against a rootless
Dovecot too (``shared/reference/dovecot.sh``) and prints both columns. The exit status is 1
when a group fails, runs fewer commands than :data:`EXPECTED_IDLE` allows, or a server thread
recorded an error; 2 when imaptest cannot be found.

``tests/conformance/test_imaptest.py`` runs the same groups under pytest when imaptest is
available; ``.ci/run`` builds imaptest and runs this module.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from fakemail import MailServer

ENV_VAR = "FAKEMAIL_IMAPTEST"
"""The environment variable naming the imaptest binary."""

DEFAULT_BINARY = "/opt/imaptest/src/imaptest"
"""Where the development machines have it (``shared/tools/imaptest/build.sh``), if unset."""

TIMEOUT = 300.0
"""Seconds one group may take (a group takes well under one on an idle machine)."""

EXPECTED_IDLE: dict[str, str] = {
    "urlauth": "URLAUTH (RFC 4467) is not implemented (Dovecot's default setup runs none either)",
    "urlauth2": "URLAUTH (RFC 4467) is not implemented (Dovecot's default setup runs none either)",
    "urlauth-binary": "URLAUTH=BINARY (RFC 5524) is not implemented",
}
"""Groups expected to run no command, and why. Any other group that runs none fails."""

_NOT_ADVERTISED = "its capability is not advertised yet (issue 10)"
PENDING: dict[str, str] = {
    "append-binary": _NOT_ADVERTISED,
    "catenate": _NOT_ADVERTISED,
    "catenate-multiappend": _NOT_ADVERTISED,
    "fetch-binary-mime": _NOT_ADVERTISED,
    "fetch-binary-mime-base64": _NOT_ADVERTISED,
    "fetch-binary-mime-qp": _NOT_ADVERTISED,
    "multiappend": _NOT_ADVERTISED,
    "notify": _NOT_ADVERTISED,
    "search-context-update": _NOT_ADVERTISED,
    "search-context-update2": _NOT_ADVERTISED,
    "search-context-update3": _NOT_ADVERTISED,
    "search-partial": _NOT_ADVERTISED,
    "sort-partial": _NOT_ADVERTISED,
}
"""Work in progress: groups known not to pass yet, and why. Reported, but not a failure until
they pass (then a listed group fails the run, so that the list is kept true). Empty when
issue 10 is done."""

_SUMMARY = re.compile(
    r"^(?P<groups>\d+) test groups: (?P<failed>\d+) failed.*\n"
    r"base protocol: (?P<base_failed>\d+)/(?P<base>\d+) individual commands failed\n"
    r"extensions: (?P<ext_failed>\d+)/(?P<ext>\d+) individual commands failed",
    re.MULTILINE,
)
_LINE_LIMIT = 300  # imaptest echoes whole commands: some are 32 KB on one line


@dataclass(frozen=True)
class GroupResult:
    """What one imaptest group did against one server."""

    group: str
    commands: int
    failed_commands: int
    failed: bool
    #: imaptest's report of the failures (long lines shortened), or why it did not finish.
    details: str = ""

    @property
    def ok(self) -> bool:
        """No failure, and commands ran unless the group is expected to run none."""
        if self.failed or self.failed_commands:
            return False
        return self.commands > 0 or self.group in EXPECTED_IDLE


def find_imaptest(path: str | None = None) -> Path | None:
    """The imaptest binary: ``path``, ``$FAKEMAIL_IMAPTEST`` or :data:`DEFAULT_BINARY`."""
    binary = Path(path or os.environ.get(ENV_VAR) or DEFAULT_BINARY)
    return binary if binary.is_file() and os.access(binary, os.X_OK) else None


def groups(imaptest: Path) -> list[str]:
    """Every scripted test group beside the binary, in imaptest's own (sorted) order."""
    tests = imaptest.parent / "tests"
    # imaptest's directory scan reads every file that is not an .mbox: the groups.
    return sorted(p.name for p in tests.iterdir() if p.is_file() and p.suffix != ".mbox")


def _shorten(output: str) -> str:
    lines = [
        ln if len(ln) <= _LINE_LIMIT else ln[:_LINE_LIMIT] + " [...]" for ln in output.splitlines()
    ]
    return "\n".join(lines)


def run_group(
    imaptest: Path, group: str, host: str, port: int, user: str, password: str
) -> GroupResult:
    """Run one group against the IMAP server at ``host:port`` and read imaptest's summary."""
    command = [
        str(imaptest),
        f"host={host}",
        f"port={port}",
        f"user={user}",
        f"pass={password}",
        f"test={imaptest.parent / 'tests' / group}",
    ]
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, errors="replace", timeout=TIMEOUT, check=False
        )
    except subprocess.TimeoutExpired as timeout:
        output = timeout.stdout if isinstance(timeout.stdout, str) else ""
        return GroupResult(
            group, 0, 0, True, f"timed out after {TIMEOUT:.0f} s\n{_shorten(output)}"
        )
    output = done.stdout + done.stderr
    summary = _SUMMARY.search(output)
    if summary is None:
        return GroupResult(
            group, 0, 0, True, f"no summary (exit {done.returncode})\n{_shorten(output)}"
        )
    commands = int(summary["base"]) + int(summary["ext"])
    failed_commands = int(summary["base_failed"]) + int(summary["ext_failed"])
    failed = int(summary["failed"]) > 0 or done.returncode != 0
    # imaptest reports failures on stdout and errors on stderr: keep both, less the summary.
    report = (output[: summary.start()] + output[summary.end() :]).strip()
    details = _shorten(report) if failed or failed_commands else ""
    return GroupResult(group, commands, failed_commands, failed, details)


@contextmanager
def fresh_fakemail() -> Iterator[tuple[str, int]]:
    """A new fakemail server (default options) for one group; its thread errors are raised."""
    server = MailServer()
    server.start()
    try:
        yield server.imap.host, server.imap.port
    finally:
        server.stop()
    server.check()


def run_fakemail(imaptest: Path, group: str) -> GroupResult:
    """One group against a fresh fakemail server; a server-thread error fails the group."""
    try:
        with fresh_fakemail() as (host, port):
            result = run_group(imaptest, group, host, port, "imaptest@example.org", "secret")
    except Exception as error:  # MailServer.check(): fakemail's own bug while serving
        return GroupResult(group, 0, 0, True, f"server error: {error!r}")
    return result


def _dovecot_runner(imaptest: Path) -> tuple[Callable[[str], GroupResult], Callable[[], None]]:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from benchmarks._common import Dovecot  # the repository's benchmark tooling

    dovecot = Dovecot()

    def run(group: str) -> GroupResult:
        return run_group(imaptest, group, "127.0.0.1", dovecot.imap_port, "imaptest", "secret")

    return run, dovecot.stop


def verdict(result: GroupResult) -> str:
    """``ok``, ``idle`` (expected), ``pending`` (known, listed in :data:`PENDING`) or ``FAILED``.

    A :data:`PENDING` group that passes is ``FAILED`` too: take it off the list.
    """
    if result.group in PENDING:
        return "FAILED" if result.ok else "pending"
    if not result.ok:
        return "FAILED"
    return "ok" if result.commands else "idle"


def _problem(result: GroupResult) -> str:
    if result.group in PENDING and result.ok:
        return f"passes now: remove it from PENDING ({PENDING[result.group]})"
    if result.details:
        return result.details
    return "ran no command (is a capability not advertised?)"


def _table(results: Sequence[GroupResult], baseline: dict[str, GroupResult]) -> str:
    lines = [
        f"{'group':32} {'commands':>8} {'failed':>6}  {'result':8} dovecot"
        if baseline
        else f"{'group':32} {'commands':>8} {'failed':>6}  result"
    ]
    for r in results:
        line = f"{r.group:32} {r.commands:8} {r.failed_commands:6}  {verdict(r):8}"
        if r.group in baseline:
            b = baseline[r.group]
            line += f" {b.commands} ({b.failed_commands} failed)"
        lines.append(line.rstrip())
    return "\n".join(lines)


def _totals(name: str, results: Sequence[GroupResult]) -> str:
    failed = sum(1 for r in results if r.failed or r.failed_commands)
    commands = sum(r.commands for r in results)
    failed_commands = sum(r.failed_commands for r in results)
    return (
        f"{name}: {len(results)} groups, {failed} failed; "
        f"{commands} commands, {failed_commands} failed"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """The command line: run the groups, print a table and the failures; 0 when all pass."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--imaptest", help=f"the imaptest binary (default: ${ENV_VAR})")
    parser.add_argument("--dovecot", action="store_true", help="run Dovecot beside, for comparison")
    parser.add_argument("group", nargs="*", help="groups to run (default: all)")
    args = parser.parse_args(argv)
    imaptest = find_imaptest(args.imaptest)
    if imaptest is None:
        print(f"imaptest: no imaptest binary (--imaptest or ${ENV_VAR})", file=sys.stderr)
        return 2
    names = args.group or groups(imaptest)
    results = [run_fakemail(imaptest, name) for name in names]
    baseline: dict[str, GroupResult] = {}
    if args.dovecot:
        run, stop = _dovecot_runner(imaptest)
        try:
            baseline = {name: run(name) for name in names}
        finally:
            stop()
    print(_table(results, baseline))
    for r in results:
        if verdict(r) in ("FAILED", "pending"):
            print(f"\n=== {r.group}: {verdict(r)}\n{_problem(r)}")
    print()
    print(_totals("fakemail", results))
    if baseline:
        print(_totals("dovecot ", list(baseline.values())))
    pending = [r.group for r in results if verdict(r) == "pending"]
    if pending:
        print(f"NOT YET PASSING (listed in PENDING, issue 10): {len(pending)} groups")
    failed = [r.group for r in results if verdict(r) == "FAILED"]
    if failed:
        print(f"FAILED: {' '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
