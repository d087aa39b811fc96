"""Password hashing (argon2) and high-entropy secrets (sha256: they need no slow hash)."""

from __future__ import annotations

import asyncio
import functools
import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the user does not exist, so timing does not reveal names."""
    return _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _dummy_hash(), password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


async def hash_password_async(password: str) -> str:
    """argon2 takes tens of milliseconds of CPU by design: keep it off the event loop."""
    return await asyncio.to_thread(hash_password, password)


async def verify_password_async(password_hash: str | None, password: str) -> bool:
    return await asyncio.to_thread(verify_password, password_hash, password)


def new_secret(prefix: str, nbytes: int = 32) -> str:
    """A random secret with a readable prefix (e.g. `opt_...` for API tokens)."""
    return f"{prefix}_{secrets.token_urlsafe(nbytes)}"


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def same_digest(secret: str, expected_hex: str) -> bool:
    return hmac.compare_digest(digest(secret), expected_hex)


def random_password() -> str:
    return secrets.token_urlsafe(15)
