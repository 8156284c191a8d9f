#!/usr/bin/env bash
# Drive `fakemail serve` from a shell script: start it on free ports, send a message over SMTP
# with STARTTLS (verifying the test CA), read it back over POP3, and stop the server.
# Needs: fakemail, curl, jq.
set -euo pipefail

workdir=$(mktemp -d)

# Free ports, reported on the single line that --json prints when ready.
coproc FAKEMAIL {
    exec fakemail serve --json --ca-cert "$workdir/ca.pem" --free-ports --no-imap --no-imaps
}
server_pid=$FAKEMAIL_PID
trap 'kill "$server_pid"; wait "$server_pid"; rm -rf "$workdir"' EXIT

read -r ready <&"${FAKEMAIL[0]}"    # blocks until every listener accepts connections
smtp_port=$(jq -r .listeners.smtp.port <<<"$ready")
pop3_port=$(jq -r .listeners.pop3.port <<<"$ready")

printf 'From: me@example.com\r\nTo: you@example.com\r\nSubject: Hello from a script\r\n\r\nIt works.\r\n' \
    >"$workdir/mail.eml"
curl --silent --show-error --ssl-reqd --cacert "$workdir/ca.pem" \
    --url "smtp://127.0.0.1:$smtp_port" \
    --mail-from me@example.com --mail-rcpt you@example.com --upload-file "$workdir/mail.eml"

# Any password works unless --user accounts are configured; the user name is the address.
message=$(curl --silent --show-error --ssl-reqd --cacert "$workdir/ca.pem" \
    --user you@example.com:anything "pop3://127.0.0.1:$pop3_port/1")
if grep -q '^Subject: Hello from a script' <<<"$message"; then
    echo "round trip OK: SMTP in, POP3 out"
else
    echo "the message did not come back" >&2
    exit 1
fi
