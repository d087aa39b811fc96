"""Cursor pagination shared by every list endpoint: `?limit=&cursor=` -> `{items, next_cursor}`.

A cursor is the opaque, url-safe encoding of the last row's sort key and id, so pages stay
stable while rows are inserted.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel

from opsplane.server.errors import Invalid

MAX_LIMIT = 500

LimitQuery = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size.")]
CursorQuery = Annotated[
    str | None, Query(max_length=512, description="`next_cursor` of the previous page.")
]


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


def encode_cursor(*key: Any) -> str:
    raw = json.dumps(list(key), separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None, arity: int) -> list[Any] | None:
    """The key encoded in `cursor`, or None for the first page; Invalid if it was tampered with."""
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key = json.loads(raw)
    except (binascii.Error, ValueError):
        raise Invalid("cursor is not one this server issued", code="bad_cursor") from None
    if not isinstance(key, list) or len(key) != arity:
        raise Invalid("cursor is not one this server issued", code="bad_cursor")
    return key
