"""File notices to the server, through the spool (stream `files`), so none is lost offline.

Every state change is spooled *before* it is stored in the known-files table: a crash in
between repeats a notice (the server keys them by file) rather than losing one.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from opsplane.agent.files.known import FileRecord
from opsplane.agent.spool import AsyncSpool
from opsplane.agent.streams import FILES, encode_notices
from opsplane.protocol.files import FileEvent, FileNotice


class Notifier:
    """Builds a `FileNotice` from a file's record and appends it to the spool.

    Args:
        spool: The agent's spool; the link sends and the server acks the `files` stream.
        clock: Unix time source for `at`.
    """

    def __init__(self, spool: AsyncSpool, *, clock: Callable[[], float] = time.time) -> None:
        self.spool = spool
        self.clock = clock

    async def notify(
        self,
        event: FileEvent,
        record: FileRecord,
        *,
        sha256: str | None = None,
        error: str | None = None,
    ) -> FileNotice:
        notice = FileNotice(
            event=event,
            key=record.key,
            path=record.path,
            size=record.size,
            at=self.clock(),
            rule_id=record.rule_id,
            app=record.app,
            namespace=record.namespace,
            metadata=dict(record.metadata),
            upload_id=record.upload_id,
            sha256=sha256,
            error=error,
        )
        await self.spool.append(FILES, encode_notices([notice]), 1)
        return notice
