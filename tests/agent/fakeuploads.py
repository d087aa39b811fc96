"""A stand-in for the server's upload API, exactly as the agent is promised it.

    POST /api/v1/uploads                        {"file_key", "path", "file_name", "size"}
    GET  /api/v1/uploads/{id}
    PUT  /api/v1/uploads/{id}/chunks?offset=N   raw body, at most chunk_size bytes
    POST /api/v1/uploads/{id}/complete          {"sha256"}

Uploads live in memory on the FakeServer object, so they survive its stop/start like a
real server's database does. Knobs: fail the next N requests with a status, corrupt the
stored data once (sha256 mismatch), slow chunks down, move the server's offset.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


@dataclass
class FakeUpload:
    upload_id: str
    node_id: str
    file_key: str
    path: str
    file_name: str
    size: int
    data: bytearray = field(default_factory=bytearray)
    state: str = "open"
    completes: int = 0
    sha256_mismatches: int = 0

    def answer(self, chunk_size: int) -> dict[str, Any]:
        return {
            "upload_id": self.upload_id,
            "file_id": f"file-{self.upload_id}",
            "offset": len(self.data),
            "size": self.size,
            "chunk_size": chunk_size,
            "state": self.state,
        }


class FakeUploads:
    """The upload routes; `node_for(credential)` says which node a bearer token is (or None)."""

    def __init__(self, node_for: Callable[[str], str | None]) -> None:
        self.node_for = node_for
        self.chunk_size = 256 * 1024
        self.max_body: int | None = None  # accept less than the chunk_size it advertises
        self.uploads: dict[str, FakeUpload] = {}
        self.fail_next = 0  # answer this many requests with `fail_status`
        self.fail_status = 503
        self.corrupt_next_complete = False  # flip a stored byte: the next complete mismatches
        self.chunk_delay = 0.0  # seconds each stored chunk takes
        self.bytes_received = 0
        self.requests: list[tuple[str, int]] = []  # (route name, status)
        self.active_puts = 0
        self.max_active_puts = 0
        self._ids = itertools.count(1)

    def routes(self) -> list[Route]:
        return [
            Route("/api/v1/uploads", self._open, methods=["POST"]),
            Route("/api/v1/uploads/{upload_id}", self._status, methods=["GET"]),
            Route("/api/v1/uploads/{upload_id}/chunks", self._chunk, methods=["PUT"]),
            Route("/api/v1/uploads/{upload_id}/complete", self._complete, methods=["POST"]),
        ]

    def by_key(self, file_key: str) -> FakeUpload:
        (upload,) = [u for u in self.uploads.values() if u.file_key == file_key]
        return upload

    def only(self) -> FakeUpload:
        assert len(self.uploads) == 1, list(self.uploads)
        return next(iter(self.uploads.values()))

    def count(self, route: str, status: int | None = None) -> int:
        return sum(1 for r, s in self.requests if r == route and status in (None, s))

    # Routes --------------------------------------------------------------------------------

    async def _open(self, request: Request) -> JSONResponse:
        node_id, refused = self._check(request)
        if refused is not None:
            return self._log("open", refused)
        body = await request.json()
        for upload in self.uploads.values():
            if upload.node_id == node_id and upload.file_key == body["file_key"]:
                return self._log("open", JSONResponse(upload.answer(self.chunk_size)))
        upload = FakeUpload(
            f"up-{next(self._ids)}",
            node_id,
            body["file_key"],
            body["path"],
            body["file_name"],
            int(body["size"]),
        )
        self.uploads[upload.upload_id] = upload
        return self._log("open", JSONResponse(upload.answer(self.chunk_size), status_code=201))

    async def _status(self, request: Request) -> JSONResponse:
        upload, refused = self._upload(request)
        if upload is None:
            return self._log("status", refused)
        return self._log("status", JSONResponse(upload.answer(self.chunk_size)))

    async def _chunk(self, request: Request) -> JSONResponse:
        upload, refused = self._upload(request)
        if upload is None:
            return self._log("chunk", refused)
        self.active_puts += 1
        self.max_active_puts = max(self.max_active_puts, self.active_puts)
        try:
            return self._log("chunk", await self._store(request, upload))
        finally:
            self.active_puts -= 1

    async def _store(self, request: Request, upload: FakeUpload) -> JSONResponse:
        body = await request.body()
        self.bytes_received += len(body)
        offset = int(request.query_params["offset"])
        if offset != len(upload.data) or upload.state == "complete":
            details = {"offset": len(upload.data)}
            return _error(409, "offset_mismatch", "offset is not the upload's", details)
        limit = self.max_body or self.chunk_size
        if len(body) > limit:
            return _error(413, "chunk_too_large", f"at most {limit} bytes")
        if offset + len(body) > upload.size:
            return _error(400, "past_end", "chunk goes past the declared size")
        if self.chunk_delay:
            await asyncio.sleep(self.chunk_delay)
            if offset != len(upload.data):  # a test moved the offset meanwhile
                details = {"offset": len(upload.data)}
                return _error(409, "offset_mismatch", "offset is not the upload's", details)
        upload.data += body
        return JSONResponse({"offset": len(upload.data)})

    async def _complete(self, request: Request) -> JSONResponse:
        upload, refused = self._upload(request)
        if upload is None:
            return self._log("complete", refused)
        sha256 = (await request.json())["sha256"]
        upload.completes += 1
        if len(upload.data) != upload.size:
            return self._log("complete", _error(409, "incomplete", "not all bytes are here"))
        if self.corrupt_next_complete:
            self.corrupt_next_complete = False
            upload.data[0] ^= 0xFF
        if hashlib.sha256(upload.data).hexdigest() != sha256:
            upload.data.clear()
            upload.sha256_mismatches += 1
            return self._log("complete", _error(422, "sha256_mismatch", "sha256 differs"))
        upload.state = "complete"
        answer = {"file_id": f"file-{upload.upload_id}", "state": "complete"}
        return self._log("complete", JSONResponse(answer))

    def _check(self, request: Request) -> tuple[str | None, JSONResponse | None]:
        if self.fail_next > 0:
            self.fail_next -= 1
            return None, _error(self.fail_status, "unavailable", "try again later")
        credential = request.headers.get("authorization", "").removeprefix("Bearer ")
        node_id = self.node_for(credential)
        if node_id is None:
            return None, _error(401, "unauthorized", "unknown credential")
        return node_id, None

    def _upload(self, request: Request) -> tuple[FakeUpload | None, JSONResponse]:
        node_id, refused = self._check(request)
        if refused is not None:
            return None, refused
        upload = self.uploads.get(request.path_params["upload_id"])
        if upload is None or upload.node_id != node_id:
            return None, _error(404, "not_found", "no such upload")
        return upload, JSONResponse({})

    def _log(self, route: str, response: JSONResponse) -> JSONResponse:
        self.requests.append((route, response.status_code))
        return response


def _error(status: int, code: str, message: str, details: Any = None) -> JSONResponse:
    error = {"code": code, "message": message, "details": details}
    return JSONResponse({"error": error}, status_code=status)
