"""Agent settings: one frozen object built by the CLI and passed down (nothing read at import)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit


@dataclasses.dataclass(frozen=True, kw_only=True)
class AgentSettings:
    """Everything the agent needs that is not pushed by the server.

    Args:
        server: Base URL of the server, `http(s)://host:port` (a path prefix is kept).
        state_dir: Directory holding the credential, last config, spool and file states.
        enroll_token: Enrollment token; used only when the state dir holds no credential.
        name: Node name to register with; defaults to the hostname.
    """

    server: str
    state_dir: Path
    enroll_token: str | None = None
    name: str | None = None
    # Reconnect backoff: full jitter over base * 2**attempt, capped.
    backoff_base: float = 0.5
    backoff_cap: float = 30.0
    # A link that stayed up this long resets the backoff to its base.
    stable_after: float = 30.0
    # After the server said it is restarting (close code 1012), redials wait at most this
    # long (full jitter) until the next welcome, instead of the growing backoff.
    restart_backoff_cap: float = 5.0
    # Spool: per-stream byte cap (the oldest records go first past it) and frame sizing.
    spool_max_bytes: int = 256 * 1024 * 1024
    max_points_per_frame: int = 5000
    max_records_per_frame: int = 100
    max_batches_in_flight: int = 4
    # The link is considered dead when an ack takes longer than this.
    ack_timeout: float = 60.0
    # Heartbeat problem threshold: more spool records pending than this is worth a look.
    backlog_warning_records: int = 100
    open_timeout: float = 10.0
    http_timeout: float = 15.0
    # Heap dumps: seconds between scans of the watch rules' directories.
    file_poll_interval: float = 1.0
    # Uploads: largest chunk sent (the server's chunk_size, if smaller, wins), retries
    # without progress before giving up on a file, and their backoff.
    upload_chunk_max: int = 4 * 1024 * 1024
    upload_max_failures: int = 10
    upload_backoff_base: float = 1.0
    upload_backoff_cap: float = 60.0
    # Finished files gone from disk are forgotten after this many seconds.
    files_retention: float = 30 * 86400.0

    def link_url(self) -> str:
        """The WebSocket URL of the link endpoint, derived from the server's base URL."""
        return _with_path(_ws_scheme(self.server), "/api/v1/agent/link")

    def register_url(self) -> str:
        return _with_path(http_url(self.server), "/api/v1/agents/register")

    def api_url(self) -> str:
        """The server's HTTP base URL (uploads live under `/api/v1/uploads` below it)."""
        return _with_path(http_url(self.server), "")


def _ws_scheme(url: str) -> str:
    parts = urlsplit(url)
    scheme = {"http": "ws", "https": "wss", "ws": "ws", "wss": "wss"}.get(parts.scheme)
    if scheme is None:
        raise ValueError(f"server URL must start with http:// or https://, got {url!r}")
    return urlunsplit(parts._replace(scheme=scheme))


def _with_path(url: str, path: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=parts.path.rstrip("/") + path, query="", fragment=""))


def http_url(url: str) -> str:
    """Normalise ws:// style input back to http:// for the REST calls."""
    parts = urlsplit(url)
    scheme = {"ws": "http", "wss": "https"}.get(parts.scheme, parts.scheme)
    return urlunsplit(parts._replace(scheme=scheme))
