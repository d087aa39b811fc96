"""Resumable uploads: open (or resume) an upload for a file, append chunks, verify and store.

The bytes received so far are `<data_dir>/uploads/<upload_id>.part`; the upload row's
`offset` is the length acknowledged to the client (after fsync). A chunk is accepted only at
exactly that offset, so a client that lost an answer asks (`GET`) and continues from there.
Database writes go through `write_session` (SQLite: one writer at a time); no transaction is
held open while a chunk streams to disk.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from opsplane.server.audit import service as audit
from opsplane.server.audit.service import Actor
from opsplane.server.blobs import BlobStore
from opsplane.server.db import Database
from opsplane.server.dumps import files, processing, retries
from opsplane.server.dumps.chunks import ChunkTooLarge, discard, part_size, receive_chunk, sha256_of
from opsplane.server.dumps.files import FileFacts
from opsplane.server.dumps.models import FileStatus, Upload
from opsplane.server.dumps.states import FileState, Step
from opsplane.server.errors import Conflict, Invalid, NotFound

_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
DONE = (FileState.uploaded.value, FileState.analyzing.value, FileState.analyzed.value)


class UploadNotFound(NotFound):
    code = "upload_not_found"


class OffsetMismatch(Conflict):
    code = "offset_mismatch"


class Sha256Mismatch(Invalid):
    code = "sha256_mismatch"


@dataclass(frozen=True, slots=True)
class UploadView:
    upload_id: str
    file_id: int
    offset: int
    size: int
    chunk_size: int
    state: str


def view(row: Upload) -> UploadView:
    return UploadView(row.id, row.file_id, row.offset, row.size, row.chunk_size, row.state)


def blob_key(file: FileStatus) -> str:
    name = _SAFE_NAME.sub("_", file.file_name).strip("._") or "dump.hprof"
    return f"dumps/{file.id}/{name[:200]}"


class Uploads:
    def __init__(
        self,
        *,
        db: Database,
        blobs: BlobStore,
        area: Path,
        chunk_size: int,
        max_bytes: int,
        on_stored: Callable[[int], object],
    ) -> None:
        self.db, self.blobs, self.area = db, blobs, area
        self.chunk_size, self.max_bytes = chunk_size, max_bytes
        self.on_stored = on_stored  # file id of a verified, stored dump: analyse it
        self._locks: dict[str, asyncio.Lock] = {}

    def part(self, upload_id: str) -> Path:
        return self.area / f"{upload_id}.part"

    async def _get(self, session: AsyncSession, upload_id: str, node_id: str | None) -> Upload:
        row = await session.get(Upload, upload_id, populate_existing=True)
        if row is None or row.state == "abandoned":  # abandoned: the file changed size
            raise UploadNotFound(f"upload {upload_id} not found")
        if node_id is not None:  # an agent sees only its own node's uploads
            file = await session.get(FileStatus, row.file_id)
            if file is None or file.node_id != node_id:
                raise UploadNotFound(f"upload {upload_id} not found")
        return row

    async def get(self, upload_id: str, *, node_id: str | None) -> UploadView:
        async with self.db.session() as session:
            return view(await self._get(session, upload_id, node_id))

    async def open(self, facts: FileFacts, *, size: int, by: Actor) -> tuple[UploadView, bool]:
        """Find the file's resumable upload or start one: (upload, created)."""
        if size > self.max_bytes:
            raise ChunkTooLarge(f"file is larger than the {self.max_bytes} bytes allowed")
        async with self.db.write_session() as session:
            file, _ = await files.ensure_file(session, facts)
            existing = await self._current(session, file.id)
            if file.status in DONE or file.blob_key:
                if existing is not None and existing.state == "complete":
                    return view(existing), False
                return view(await self._completed_marker(session, file)), False
            if existing is not None and existing.state == "open" and existing.size == size:
                self._start_uploading(file)
                await processing.running_or_start(session, file_id=file.id, step=Step.upload)
                return view(existing), False
            if existing is not None:  # the file changed size: start over
                existing.state = "abandoned"
                await discard(self.part(existing.id))
            row = Upload(
                id=uuid.uuid4().hex, file_id=file.id, size=size, chunk_size=self.chunk_size
            )
            session.add(row)
            file.size = size
            self._start_uploading(file)
            await processing.running_or_start(session, file_id=file.id, step=Step.upload)
            await audit.record(
                session,
                by=by,
                action="dumps.upload.open",
                target_type="dump_file",
                target_id=file.id,
                summary=f"upload of {file.file_name} from {file.node_name} ({size} bytes)",
                after={"upload_id": row.id, "size": size},
            )
            return view(row), True

    @staticmethod
    def _start_uploading(file: FileStatus) -> None:
        if file.status in (FileState.created.value, FileState.failed.value):
            files.move(file, FileState.uploading)

    async def latest(self, session: AsyncSession, file_id: int) -> Upload | None:
        """The file's newest upload (its offset shows the progress)."""
        return await self._current(session, file_id)

    async def _current(self, session: AsyncSession, file_id: int) -> Upload | None:
        row: Upload | None = await session.scalar(
            select(Upload)
            .where(Upload.file_id == file_id, Upload.state != "abandoned")
            .order_by(Upload.created_at.desc())
            .limit(1)
        )
        return row

    async def _completed_marker(self, session: AsyncSession, file: FileStatus) -> Upload:
        row = Upload(
            id=uuid.uuid4().hex,
            file_id=file.id,
            size=file.size,
            offset=file.size,
            chunk_size=self.chunk_size,
            state="complete",
            sha256=file.sha256,
        )
        session.add(row)
        await session.flush()
        return row

    def _lock(self, upload_id: str) -> asyncio.Lock:
        return self._locks.setdefault(upload_id, asyncio.Lock())

    async def write(
        self,
        upload_id: str,
        *,
        offset: int,
        body: AsyncIterator[bytes],
        length: int | None,
        node_id: str | None,
    ) -> int:
        """Append one chunk at `offset`; returns the new offset once the bytes are on disk."""
        async with self._lock(upload_id):
            async with self.db.session() as session:
                row = await self._get(session, upload_id, node_id)
                size, current, state = row.size, row.offset, row.state
            if state != "open":
                raise Conflict(f"upload {upload_id} is {state}", code="upload_closed")
            if offset != current:
                raise OffsetMismatch(
                    f"expected offset {current}, got {offset}", details={"offset": current}
                )
            limit = min(self.chunk_size, size - offset)
            if length is not None and length > limit:
                raise ChunkTooLarge(
                    f"chunk of {length} bytes is over the {limit} allowed here",
                    details={"limit": limit},
                )
            written = await receive_chunk(self.part(upload_id), offset, body, limit=limit)
            async with self.db.write_session() as session:
                await session.execute(
                    update(Upload)
                    .where(Upload.id == upload_id, Upload.offset == offset)
                    .values(offset=offset + written)
                )
            return offset + written

    async def complete(self, upload_id: str, *, sha256: str, node_id: str | None, by: Actor) -> int:
        """Verify the whole file's sha256, store it as a blob; returns the file id."""
        async with self._lock(upload_id):
            async with self.db.session() as session:
                row = await self._get(session, upload_id, node_id)
                file_id, size, offset, state = row.file_id, row.size, row.offset, row.state
                stored_sha = row.sha256
            if state == "complete":
                if stored_sha and stored_sha != sha256.lower():
                    raise Sha256Mismatch("the stored file has another sha256")
                return file_id
            if offset != size:
                raise Conflict(
                    f"upload has {offset} of {size} bytes",
                    code="upload_incomplete",
                    details={"offset": offset},
                )
            part, stored = self.part(upload_id), False
            if await part_size(part) != size:
                part, stored = await self._already_stored(file_id, size), True
            actual = await sha256_of(part)
            if actual != sha256.lower():
                await self._mismatch(upload_id, file_id, expected=sha256, actual=actual)
                raise Sha256Mismatch(
                    "sha256 of the received bytes does not match; upload again from 0",
                    details={"expected": sha256.lower(), "actual": actual, "offset": 0},
                )
            await self._store(row_id=upload_id, file_id=file_id, sha=actual, by=by, move=not stored)
        self.on_stored(file_id)
        return file_id

    async def _mismatch(self, upload_id: str, file_id: int, *, expected: str, actual: str) -> None:
        await discard(self.part(upload_id))
        async with self.db.write_session() as session:
            await session.execute(update(Upload).where(Upload.id == upload_id).values(offset=0))
            await processing.finish_running(
                session,
                file_id=file_id,
                step=Step.upload,
                ok=False,
                error=f"sha256 mismatch: expected {expected}, got {actual}",
                error_type="sha256_mismatch",
            )
            await processing.start(session, file_id=file_id, step=Step.upload)

    async def _already_stored(self, file_id: int, size: int) -> Path:
        """The blob, when a crash came after the part file was moved in but before the
        database said so; Conflict `upload_lost` when there is nothing to finish."""
        async with self.db.session() as session:
            key = blob_key(await files.get_file(session, file_id))
        if await self.blobs.size(key) != size:
            raise Conflict("upload data is missing; start again", code="upload_lost")
        path, _ = await self.blobs.local_copy(key, self.area)
        return path

    async def _store(
        self, *, row_id: str, file_id: int, sha: str, by: Actor, move: bool = True
    ) -> None:
        async with self.db.session() as session:
            file = await files.get_file(session, file_id)
            key = blob_key(file)
        if move:
            await self.blobs.put_file(key, self.part(row_id))
        async with self.db.write_session() as session:
            row = await self._get(session, row_id, None)
            file = await files.get_file_for_update(session, file_id)
            row.state, row.sha256, row.offset = "complete", sha, row.size
            file.blob_key, file.sha256, file.size = key, sha, row.size
            if file.status not in DONE:
                files.move(file, FileState.uploaded)
            await processing.finish_running(
                session, file_id=file_id, step=Step.upload, ok=True, details={"sha256": sha}
            )
            await retries.step_succeeded(session, file_id=file_id, step=Step.upload)
            await audit.record(
                session,
                by=by,
                action="dumps.upload.complete",
                target_type="dump_file",
                target_id=file_id,
                summary=f"{file.file_name} from {file.node_name} stored ({row.size} bytes)",
                after={"sha256": sha, "blob": key},
            )
