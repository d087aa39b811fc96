"""Channel secrets encrypted at rest: Fernet with a key derived (HKDF) from the server key.

Rotating the server's secret key makes stored channel secrets unreadable: they must be
entered again (the channel reports `secrets_unreadable`).
"""

from __future__ import annotations

import base64
import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


class SecretsUnreadable(Exception):
    pass


class SecretBox:
    def __init__(self, signing_key: str) -> None:
        raw = HKDF(
            algorithm=hashes.SHA256(),
            length=32,
            salt=b"opsplane",
            info=b"alerts.channel-secrets.v1",
        ).derive(signing_key.encode())
        self._fernet = Fernet(base64.urlsafe_b64encode(raw))

    def seal(self, secrets: dict[str, Any]) -> str:
        if not secrets:
            return ""
        return self._fernet.encrypt(json.dumps(secrets).encode()).decode()

    def open(self, token: str) -> dict[str, Any]:
        if not token:
            return {}
        try:
            value: dict[str, Any] = json.loads(self._fernet.decrypt(token.encode()))
        except InvalidToken:
            raise SecretsUnreadable("channel secrets were sealed with another key") from None
        return value
