"""Session tokens: short-lived JWTs signed with the server's key."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

import jwt

from opsplane.server.db import utcnow

ALGORITHM = "HS256"
AUDIENCE = "opsplane"


def issue_session_token(*, user_id: int, key: str, ttl: timedelta) -> tuple[str, datetime]:
    now = utcnow()
    expires = now + ttl
    claims = {
        "sub": str(user_id),
        "aud": AUDIENCE,
        "iat": int(now.timestamp()),
        "exp": int(expires.timestamp()),
        "jti": secrets.token_hex(8),
    }
    return jwt.encode(claims, key, algorithm=ALGORITHM), expires


def user_id_from_session_token(token: str, *, key: str) -> int | None:
    """The user id of a valid, unexpired token, or None."""
    try:
        claims = jwt.decode(token, key, algorithms=[ALGORITHM], audience=AUDIENCE)
        return int(claims["sub"])
    except (jwt.PyJWTError, KeyError, ValueError):
        return None
