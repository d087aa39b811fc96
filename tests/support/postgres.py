"""A fresh PostgreSQL database per test, created on the CI server and dropped afterwards."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

import psycopg

from tests.support.env import PG_ADMIN_URL, port_open, require


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


@contextmanager
def fresh_database() -> Iterator[str]:
    """Yields the URL of an empty database that lives for the block."""
    parts = urlsplit(PG_ADMIN_URL)
    require(
        port_open(parts.hostname or "127.0.0.1", parts.port or 5432),
        f"PostgreSQL is not reachable at {parts.hostname}:{parts.port}",
    )
    name = f"opsplane_t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _with_database(PG_ADMIN_URL, name)
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
