"""A fakemail server in its own process, like Dovecot, so client and server don't share a GIL.

Protocol on stdin/stdout: it prints one JSON line with the endpoints, then for each line
``fill N USER`` it empties the store, delivers N benchmark messages to USER and prints ``ok``.
"""

from __future__ import annotations

import json
import sys

from benchmarks._common import varied_messages
from fakemail import MailServer


def main() -> None:
    """Serve until stdin closes."""
    with MailServer() as server:
        endpoints = {name: list(endpoint) for name, endpoint in server.endpoints.items()}
        print(json.dumps(endpoints), flush=True)
        for line in sys.stdin:
            command, count, user = line.split()
            assert command == "fill"
            server.clear()
            for raw in varied_messages(int(count)):
                server.deliver(raw, to=user)
            print("ok", flush=True)


if __name__ == "__main__":
    main()
