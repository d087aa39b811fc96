"""A real HTTP endpoint on loopback: records what is POSTed (a webhook receiver double) and
serves `exposition` on GET (a scrape target whose value the test sets).

`statuses` scripts the answers (e.g. [503, 200]: fail once, then accept); after the script
runs out every request gets `default_status`.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    at: float
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    statuses: list[int] = field(default_factory=list)
    default_status: int = 200
    response_body: bytes = b'{"ok": true}'
    # Served on GET (so the same double can be a scrape target: `name value` lines).
    exposition: str = ""
    requests: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> Receiver:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", 0))
                body = self.rfile.read(length)
                with outer.lock:
                    outer.requests.append(
                        Received(
                            time.time(),
                            self.path,
                            {k.lower(): v for k, v in self.headers.items()},
                            body,
                        )
                    )
                    status = outer.statuses.pop(0) if outer.statuses else outer.default_status
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(outer.response_body)))
                self.end_headers()
                self.wfile.write(outer.response_body)

            def do_GET(self) -> None:
                body = outer.exposition.encode()
                self.send_response(200)
                self.send_header("content-type", "text/plain; version=0.0.4")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def bodies(self) -> list[Any]:
        with self.lock:
            return [r.json() for r in self.requests]

    def wait(self, count: int = 1, timeout: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.requests) >= count:
                    return list(self.requests)
            time.sleep(0.01)
        raise TimeoutError(f"expected {count} requests, got {len(self.requests)}")


def running_receiver(**kwargs: Any) -> Iterator[Receiver]:
    receiver = Receiver(**kwargs).start()
    try:
        yield receiver
    finally:
        receiver.stop()
