"""Heap-dump files on agents: watch rules (server -> agent) and file notices (agent -> server).

Notices travel on the spooled `files` stream, so none is lost while the server is away.
A file is identified on its node by `key` (stable across agent restarts: path, inode and
modification time), which the upload API uses to attach uploads to the server's record.
"""

from __future__ import annotations

from typing import Literal

import msgspec

AfterUpload = Literal["keep", "delete", "compress"]
FileEvent = Literal["created", "upload_started", "upload_completed", "upload_failed", "missing"]


class WatchRule(msgspec.Struct, frozen=True, forbid_unknown_fields=False):
    id: str
    name: str
    paths: tuple[str, ...]
    patterns: tuple[str, ...] = ("*.hprof", "*.hprof.gz")
    # e.g. "/data/dumps/{namespace}/{app}/*.hprof": placeholders become file metadata.
    path_template: str | None = None
    stable_seconds: float = 10.0
    after_upload: AfterUpload = "keep"


class FileNotice(msgspec.Struct, frozen=True, forbid_unknown_fields=False):
    event: FileEvent
    key: str
    path: str
    size: int
    at: float
    rule_id: str | None = None
    app: str | None = None
    namespace: str | None = None
    metadata: dict[str, str] = msgspec.field(default_factory=dict)
    upload_id: str | None = None
    sha256: str | None = None
    error: str | None = None


class FileBatch(msgspec.Struct, frozen=True, forbid_unknown_fields=False):
    first_seq: int
    seq: int
    notices: tuple[FileNotice, ...]
