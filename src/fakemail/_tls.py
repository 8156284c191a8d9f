"""Throwaway TLS: a test CA and a server certificate, made once per process with trustme.

The certificate names ``localhost``, ``127.0.0.1`` and ``::1`` as subject alternative names and
has the subject CN ``localhost`` (some clients check one, some the other).
"""

from __future__ import annotations

import atexit
import os
import re
import ssl
import tempfile
import threading
from pathlib import Path
from typing import Final, final

__all__ = ["HANDSHAKE_TIMEOUT", "TlsCertificates", "certificates", "handshake_failure"]

#: Seconds a client may take over a TLS handshake before the connection is dropped.
HANDSHAKE_TIMEOUT: Final = 30.0

# TLS alerts a client sends when it does not trust the server's certificate (RFC 8446 §6.2).
_UNTRUSTED: Final = ("UNKNOWN_CA", "BAD_CERTIFICATE", "CERTIFICATE_UNKNOWN")
_SOURCE_LINE: Final = re.compile(r"\s*\(_ssl\.c:\d+\)$")

_lock = threading.Lock()
_shared: TlsCertificates | None = None


@final
class TlsCertificates:
    """A CA and a server certificate it signed, with ready :class:`ssl.SSLContext` factories."""

    def __init__(self) -> None:
        import trustme  # imported here: the only trustme import, and only when TLS is needed

        self._ca = trustme.CA(organization_name="fakemail test CA")
        self._leaf = self._ca.issue_cert("localhost", "127.0.0.1", "::1", common_name="localhost")
        self._ca_file: Path | None = None
        self._file_lock = threading.Lock()
        self._server_context: ssl.SSLContext | None = None

    @property
    def ca_pem(self) -> bytes:
        """The CA certificate, PEM-encoded."""
        pem: bytes = self._ca.cert_pem.bytes()
        return pem

    @property
    def ca_path(self) -> Path:
        """A file holding the CA certificate (PEM), removed at interpreter exit."""
        with self._file_lock:
            if self._ca_file is None:
                fd, name = tempfile.mkstemp(prefix="fakemail-ca-", suffix=".pem")
                with os.fdopen(fd, "wb") as fh:
                    fh.write(self.ca_pem)
                self._ca_file = Path(name)
                atexit.register(self._ca_file.unlink, missing_ok=True)
            return self._ca_file

    def write_ca(self, path: str | os.PathLike[str]) -> Path:
        """Write the CA certificate (PEM) to ``path`` and return it."""
        target = Path(path)
        target.write_bytes(self.ca_pem)
        return target

    def server_context(self) -> ssl.SSLContext:
        """The server-side context presenting the certificate (TLS 1.2+), built once and
        shared (an :class:`ssl.SSLContext` may serve many connections and threads)."""
        with self._file_lock:
            if self._server_context is None:
                context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
                context.minimum_version = ssl.TLSVersion.TLSv1_2
                self._leaf.configure_cert(context)
                self._server_context = context
            return self._server_context

    def client_context(self) -> ssl.SSLContext:
        """A client-side context that trusts the test CA and checks host names."""
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
        self._ca.configure_trust(context)
        return context


def certificates() -> TlsCertificates:
    """The process-wide certificates, created on first use (key generation takes ~10 ms)."""
    global _shared
    with _lock:
        if _shared is None:
            _shared = TlsCertificates()
        return _shared


def handshake_failure(error: BaseException) -> str:
    """A transcript note saying why a server-side handshake failed (the alert or reason from
    the :class:`ssl.SSLError` behind ``error``), with a hint at the test CA when the client
    refused the certificate."""
    cause: BaseException | None = error
    while cause is not None and not isinstance(cause, ssl.SSLError):
        cause = cause.__cause__ or cause.__context__
    if cause is None:
        return f"TLS handshake failed: {error or type(error).__name__}"
    note = f"TLS handshake failed: {_SOURCE_LINE.sub('', str(cause))}"
    if any(alert in (cause.reason or "") for alert in _UNTRUSTED):
        note += (
            " -- the client does not trust the test certificate: give it the test CA "
            "(fakemail.ca_path, a PEM file, or fakemail.client_ssl_context())"
        )
    return note
