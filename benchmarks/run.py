"""Run the benchmarks and print Markdown tables: ``python -m benchmarks.run [--quick] [--only X]``.

Every measurement is a median of repeated runs, side by side with its baseline measured in the
same run (bare aiosmtpd for SMTP; Dovecot for POP3 and IMAP when it is installed).
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time

from benchmarks._common import machine, table

GROUPS = {
    "smtp": "benchmarks.bench_smtp",
    "pytest": "benchmarks.bench_pytest",
    "pop3": "benchmarks.bench_pop3",
    "imap": "benchmarks.bench_imap",
    "http": "benchmarks.bench_http",
    "ui": "benchmarks.bench_ui",
}


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run the chosen groups, print the tables."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (a smoke run)")
    parser.add_argument("--only", action="append", choices=sorted(GROUPS), help="run a group")
    args = parser.parse_args(argv)
    print(f"Machine: {machine()}\n", flush=True)
    for name in args.only or list(GROUPS):
        started = time.perf_counter()
        module = importlib.import_module(GROUPS[name])
        rows, notes = module.run(args.quick), getattr(module, "NOTES", [])
        print(f"## {name} ({time.perf_counter() - started:.0f} s)\n")
        print(table(rows))
        for note in notes:
            print(f"\n{note}")
        print(flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
