"""An OpenAI-compatible chat completions endpoint (`POST /v1/chat/completions`) on loopback.

Answers with `reply` (or `reply(request_json)`), records every request, checks the bearer key
when `key` is set (401 otherwise, in OpenAI's error format), and can fail on purpose:
`statuses` scripts the first answers (e.g. [500] fails once).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class OpenAIDouble:
    reply: str | Callable[[dict[str, Any]], str] = "The heap is full."
    key: str | None = None
    statuses: list[int] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def start(self) -> OpenAIDouble:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def answer(self, request: dict[str, Any]) -> dict[str, Any]:
        text = self.reply(request) if callable(self.reply) else self.reply
        return {
            "id": f"chatcmpl-{len(self.requests)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": request.get("model", ""),
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "message": {"role": "assistant", "content": text},
                }
            ],
            "usage": {"prompt_tokens": 100, "completion_tokens": 50, "total_tokens": 150},
        }


def _handler(double: OpenAIDouble) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _send(self, status: int, value: Any) -> None:
            body = json.dumps(value).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            request = json.loads(self.rfile.read(length) or b"{}")
            double.requests.append(request)
            double.headers.append({k.lower(): v for k, v in self.headers.items()})
            if self.path.rstrip("/") != "/v1/chat/completions":
                return self._send(404, {"error": {"message": "not found", "type": "invalid"}})
            if double.key and self.headers.get("Authorization") != f"Bearer {double.key}":
                return self._send(
                    401,
                    {
                        "error": {
                            "message": "Incorrect API key provided",
                            "type": "invalid_request_error",
                            "code": "invalid_api_key",
                        }
                    },
                )
            if double.statuses:
                status = double.statuses.pop(0)
                if status != 200:
                    return self._send(
                        status, {"error": {"message": "overloaded", "type": "server_error"}}
                    )
            self._send(200, double.answer(request))

        def log_message(self, format: str, *args: Any) -> None:
            return None

    return Handler
