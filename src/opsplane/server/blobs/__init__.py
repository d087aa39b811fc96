"""Blob storage for large payloads (heap dumps, reports): a BlobStore interface and backends."""

from opsplane.server.blobs.base import BlobNotFound, BlobStore, check_key
from opsplane.server.blobs.local import LocalBlobStore

__all__ = ["BlobNotFound", "BlobStore", "LocalBlobStore", "check_key"]
