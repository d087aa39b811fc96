"""The server's upload API as the agent calls it, with its answers turned into exceptions.

    POST /api/v1/uploads                        open (or find) the upload of a file
    GET  /api/v1/uploads/{id}                   where to resume
    PUT  /api/v1/uploads/{id}/chunks?offset=N   one chunk, raw bytes
    POST /api/v1/uploads/{id}/complete          {"sha256"}: the server verifies the whole file

Authenticated with the agent's own link credential (bearer).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import msgspec

from opsplane import __version__
from opsplane.agent.files.bandwidth import TokenBucket

# Pieces a chunk is sent in when a bandwidth limit applies (small: smooth pacing).
PIECE = 64 * 1024
_UPLOADS = "/api/v1/uploads"
# 409 codes after which the upload must be looked up afresh rather than given up.
_REOPEN_CODES = frozenset({"upload_closed", "upload_incomplete", "upload_lost"})


class UploadSession(msgspec.Struct, frozen=True, forbid_unknown_fields=False):
    upload_id: str
    offset: int
    size: int
    chunk_size: int
    state: str = "open"
    file_id: Any = None

    @property
    def complete(self) -> bool:
        return self.state == "complete"


class UploadError(Exception):
    """Base of the upload API's answers that are not a plain success."""


class Transient(UploadError):
    """Try again later: network trouble, 5xx, 429. `reachable` False: no server answered."""

    def __init__(self, message: str, *, reachable: bool) -> None:
        super().__init__(message)
        self.reachable = reachable


class Rejected(UploadError):
    """The server refused for good (bad request, bad credential): retrying will not help."""


class UnknownUpload(UploadError):
    """The server does not know this upload (404), or closed it or lost its data (409):
    open it again (`POST` finds the file's current upload, or says it is complete)."""


class OffsetMismatch(UploadError):
    def __init__(self, offset: int) -> None:
        super().__init__(f"server is at offset {offset}")
        self.offset = offset


class ShaMismatch(UploadError):
    """The server's sha256 of what it stored differs; it reset the upload to offset 0."""


class ChunkTooLarge(UploadError):
    """413: send smaller chunks."""


class UploadClient:
    """Calls the upload API of one server.

    Args:
        base_url: The server's base URL (http or https).
        credential: The agent's link credential.
        timeout: Seconds for connect, each read and each write.
        transport: HTTP transport (tests); the network by default.
    """

    def __init__(
        self,
        base_url: str,
        credential: str,
        *,
        timeout: float = 15.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._http = httpx.AsyncClient(
            base_url=base_url,
            headers={
                "Authorization": f"Bearer {credential}",
                "User-Agent": f"opsplane-agent/{__version__}",
            },
            timeout=timeout,
            transport=transport,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def open(self, *, file_key: str, path: str, file_name: str, size: int) -> UploadSession:
        body = {"file_key": file_key, "path": path, "file_name": file_name, "size": size}
        answer = await self._call("POST", _UPLOADS, json=body)
        return msgspec.convert(answer, UploadSession)

    async def status(self, upload_id: str) -> UploadSession:
        return msgspec.convert(await self._call("GET", f"{_UPLOADS}/{upload_id}"), UploadSession)

    async def put_chunk(self, upload_id: str, offset: int, data: bytes, bucket: TokenBucket) -> int:
        """Send one chunk at `offset`; returns the server's new offset."""
        content: bytes | AsyncIterator[bytes] = data
        if bucket.limited():
            content = _paced(data, bucket)
        answer = await self._call(
            "PUT",
            f"{_UPLOADS}/{upload_id}/chunks",
            params={"offset": offset},
            content=content,
            # Explicit length: a paced body would otherwise go out chunked-encoded.
            headers={"Content-Type": "application/octet-stream", "Content-Length": str(len(data))},
        )
        return int(answer["offset"])

    async def complete(self, upload_id: str, sha256: str) -> None:
        await self._call("POST", f"{_UPLOADS}/{upload_id}/complete", json={"sha256": sha256})

    async def _call(self, method: str, url: str, **kwargs: Any) -> Any:
        try:
            response = await self._http.request(method, url, **kwargs)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise Transient(f"server unreachable: {_describe(exc)}", reachable=False) from exc
        except httpx.TransportError as exc:
            raise Transient(f"network error: {_describe(exc)}", reachable=True) from exc
        if response.is_success:
            return response.json()
        raise _error_for(response)


def _error_for(response: httpx.Response) -> UploadError:
    status = response.status_code
    error = _error_body(response)
    code = str(error.get("code", ""))
    message = f"HTTP {status} {code}: {error.get('message', '')}".rstrip(": ")
    offset = (error.get("details") or {}).get("offset")
    if status == 409 and code == "offset_mismatch" and isinstance(offset, int):
        return OffsetMismatch(offset)
    if status == 422 and code == "sha256_mismatch":
        return ShaMismatch(message)
    if status == 413:
        return ChunkTooLarge(message)
    if status == 404 or (status == 409 and code in _REOPEN_CODES):
        return UnknownUpload(message)
    if status == 429 or status >= 500:
        return Transient(message, reachable=True)
    return Rejected(message)


def _error_body(response: httpx.Response) -> dict[str, Any]:
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        return {}
    return error if isinstance(error, dict) else {}


async def _paced(data: bytes, bucket: TokenBucket) -> AsyncIterator[bytes]:
    view = memoryview(data)
    for start in range(0, len(view), PIECE):
        piece = view[start : start + PIECE]
        await bucket.take(len(piece))
        yield bytes(piece)


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
