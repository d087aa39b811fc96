"""Session tokens: short-lived JWTs signed with the server's key."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

import jwt

from opsplane.server.db import utcnow

ALGORITHM = "HS256"
AUDIENCE = "opsplane"


def issue_session_token(
    *, user_id: int, key: str, ttl: timedelta, epoch: int = 0
) -> tuple[str, datetime]:
    """A signed session for `user_id`; `epoch` is the user's session epoch now (a password
    change moves it on, which ends every session issued before)."""
    now = utcnow()
    expires = now + ttl
    claims = {
        "sub": str(user_id),
        "aud": AUDIENCE,
        "iat": int(now.timestamp()),
        "exp": int(expires.timestamp()),
        "jti": secrets.token_hex(8),
        "ep": epoch,
    }
    return jwt.encode(claims, key, algorithm=ALGORITHM), expires


def session_claims(token: str, *, key: str) -> tuple[int, int] | None:
    """(user id, session epoch) of a valid, unexpired token, or None."""
    try:
        claims = jwt.decode(token, key, algorithms=[ALGORITHM], audience=AUDIENCE)
        return int(claims["sub"]), int(claims.get("ep", 0))
    except (jwt.PyJWTError, KeyError, ValueError, TypeError):
        return None
