"""What the UI stream sends for the `dumps` topic: counts by state and the newest files."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from opsplane.server.context import ServerContext
from opsplane.server.dumps import files
from opsplane.server.dumps.models import FileStatus
from opsplane.server.dumps.views import file_read
from opsplane.server.stream.hub import SnapshotBuilder


def dumps_snapshot_builder(ctx: ServerContext) -> SnapshotBuilder:
    async def build(topic: str) -> dict[str, Any]:
        async with ctx.db.session() as session:
            counts = dict(
                (
                    await session.execute(
                        select(FileStatus.status, func.count()).group_by(FileStatus.status)
                    )
                ).all()
            )
            newest, _ = await files.list_files(session, limit=20, where=files.FileFilter())
        return {
            "by_status": {str(k): int(v) for k, v in counts.items()},
            "newest": [file_read(f).model_dump(mode="json") for f in newest],
        }

    return build
