"""HMAC-signed, expiring capabilities: report links, and the per-file tokens a Jenkins job
uses to download its dump and to call back.

A signature covers a purpose, the file id, a version and the expiry, under a key derived
from the server's secret key; changing any of them (or rotating the secret) invalidates it.
"""

from __future__ import annotations

import hashlib
import hmac
import time

REPORT = "report-link"
JENKINS_CALLBACK = "jenkins-callback"
JENKINS_DOWNLOAD = "jenkins-download"


class Signer:
    def __init__(self, signing_key: str) -> None:
        self._key = hmac.new(signing_key.encode(), b"opsplane.dumps.v1", hashlib.sha256).digest()

    def sign(self, purpose: str, file_id: int, version: int, expires: int) -> str:
        message = f"{purpose}:{file_id}:{version}:{expires}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def token(self, purpose: str, file_id: int, version: int, expires: int) -> str:
        """`<expires>.<version>.<signature>`: one query parameter carrying everything."""
        return f"{expires}.{version}.{self.sign(purpose, file_id, version, expires)}"

    def check(
        self, purpose: str, file_id: int, token: str, *, now: float | None = None
    ) -> tuple[int, int] | None:
        """(version, expires) of a valid, unexpired token for this purpose and file, else None."""
        try:
            expires_s, version_s, signature = token.split(".", 2)
            expires, version = int(expires_s), int(version_s)
        except ValueError:
            return None
        expected = self.sign(purpose, file_id, version, expires)
        if not hmac.compare_digest(expected, signature):
            return None
        if expires < (time.time() if now is None else now):
            return None
        return version, expires
