"""File notices in: agents' batches from the bus (`ingest.files`) and external watchers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import structlog

from opsplane.protocol.files import FileNotice
from opsplane.server.audit import service as audit
from opsplane.server.audit.service import Actor
from opsplane.server.bus.subjects import IngestFiles
from opsplane.server.dumps import notices
from opsplane.server.dumps.files import FileFacts
from opsplane.server.dumps.models import FileStatus
from opsplane.server.dumps.retries import Exhausted
from opsplane.server.errors import DomainError

if TYPE_CHECKING:
    from opsplane.server.dumps.pipeline import DumpPipeline

log = structlog.get_logger(__name__)


def facts_of(node_id: str, node_name: str, notice: FileNotice) -> FileFacts:
    return FileFacts(
        node_name=node_name,
        file_key=notice.key,
        path=notice.path,
        size=notice.size,
        node_id=node_id,
        app=notice.app,
        namespace=notice.namespace,
        meta=dict(notice.metadata),
        rule_id=notice.rule_id,
    )


class NoticeIngest:
    def __init__(self, pipeline: DumpPipeline) -> None:
        self.pipeline = pipeline

    async def on_files(self, subject: str, message: Any) -> None:
        """One agent batch, in one transaction; the link acks it only after we return."""
        assert isinstance(message, IngestFiles)
        node = message.node
        exhausted: list[Exhausted | None] = []
        policy = self.pipeline.config.retry_policy
        async with self.pipeline.db.write_session() as session:
            for item in message.batch.notices:
                notice = notices.Notice(item.event, facts_of(node.id, node.name, item), item.error)
                try:
                    async with session.begin_nested():
                        applied = await notices.apply(session, notice, policy=policy)
                except DomainError as exc:  # a notice the state machine refuses: skip it
                    log.warning(
                        "file notice ignored", node=node.name, key=item.key, error=exc.message
                    )
                    continue
                exhausted.append(applied.exhausted)
        await self.pipeline.notify(exhausted)
        self.pipeline.touch()

    async def apply_one(self, notice: notices.Notice, *, by: Actor) -> FileStatus:
        """An external watcher's notice (audited)."""
        async with self.pipeline.db.write_session() as session:
            applied = await notices.apply(session, notice, policy=self.pipeline.config.retry_policy)
            await audit.record(
                session,
                by=by,
                action="dumps.file.notify",
                target_type="dump_file",
                target_id=applied.file.id,
                summary=f"{notice.event}: {notice.facts.path} on {notice.facts.node_name}",
                after={"event": notice.event, "status": applied.file.status},
            )
            row = applied.file
        await self.pipeline.notify([applied.exhausted])
        self.pipeline.touch()
        return row
