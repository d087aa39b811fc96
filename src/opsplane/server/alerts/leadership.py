"""Which server process evaluates rules and escalates: one per cluster.

On PostgreSQL the leader is the process holding a session-level advisory lock on its own
connection; the others try again every few seconds and take over when the leader's
connection goes away (crash, stop, network). On SQLite there is only one process: it always
leads. A process that becomes leader takes the alert state over from the database.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import structlog
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from opsplane.server.db import Database

log = structlog.get_logger(__name__)

# pg advisory lock key: "opsplane alerts" folded into a signed 64-bit integer.
LOCK_KEY = int.from_bytes(b"opsalert", "big") - 2**63


class Leadership:
    def __init__(self, db: Database, *, retry_every: float = 5.0) -> None:
        self.db = db
        self.retry_every = retry_every
        self.is_leader = db.is_sqlite
        self._conn: AsyncConnection | None = None
        self.on_elected: Callable[[], Awaitable[None]] | None = None

    async def _try_acquire(self) -> bool:
        conn = await self.db.engine.connect()
        try:
            got = bool(await conn.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": LOCK_KEY}))
            await conn.commit()  # keep the session lock, end the transaction
        except BaseException:  # cancelled at shutdown too: never leave the connection to GC
            await asyncio.shield(conn.close())
            raise
        if not got:
            await conn.close()
            return False
        self._conn = conn
        return True

    async def _still_held(self) -> bool:
        assert self._conn is not None
        try:
            await self._conn.execute(text("SELECT 1"))
            await self._conn.commit()
            return True
        except Exception:
            log.warning("lost the alerting leader connection")
            with contextlib.suppress(Exception):
                await self._conn.close()
            self._conn = None
            return False

    async def elect(self) -> bool:
        """One attempt, at start (before the state is restored, so no take-over needed)."""
        if not self.db.is_sqlite and self._conn is None:
            try:
                self.is_leader = await self._try_acquire()
            except Exception:
                log.exception("leader election failed")
        return self.is_leader

    async def run(self) -> None:
        if self.db.is_sqlite:
            return
        try:
            while True:
                await asyncio.sleep(self.retry_every)
                if self._conn is None:
                    try:
                        elected = await self._try_acquire()
                    except Exception:
                        log.exception("leader election failed")
                        elected = False
                    if elected:
                        log.info("this process now evaluates alert rules")
                        if self.on_elected is not None:
                            await self.on_elected()
                        self.is_leader = True
                else:
                    self.is_leader = await self._still_held()
        finally:
            await self.release()

    async def release(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                # Really close the database session (a pooled connection would keep the lock).
                await self._conn.invalidate()
                await self._conn.close()
            self._conn = None
        self.is_leader = self.db.is_sqlite
