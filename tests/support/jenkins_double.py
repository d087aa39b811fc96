"""A Jenkins stand-in speaking the REST API the way python-jenkins calls it.

    GET  /crumbIssuer/api/json                       CSRF crumb (then required on POSTs)
    POST /job/NAME/buildWithParameters?K=V...        201, Location: <base>/queue/item/N/
    GET  /queue/item/N/api/json?depth=0              "why" while queued, then "executable"
    GET  /job/NAME/B/api/json?depth=0                building / result / url
    GET  /job/NAME/B/consoleText                     the build's log
    GET  /job/NAME/B/artifact/report.html            what the job "archived"

HTTP Basic auth is checked when `user`/`token` are set (401 otherwise, as Jenkins does). A
queued item turns into a build after `queue_polls` polls. What the build does is up to the
test: `on_build(build)` runs in a thread when the build starts (e.g. download the dump and
call back), and the build ends when `finish(number, result)` is called (or `on_build`
returns a result).
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

CRUMB = {
    "_class": "hudson.security.csrf.DefaultCrumbIssuer",
    "crumb": "c0ffee",
    "crumbRequestField": "Jenkins-Crumb",
}


@dataclass
class Build:
    job: str
    number: int
    params: dict[str, str]
    building: bool = True
    result: str | None = None
    console: list[str] = field(default_factory=list)
    artifacts: dict[str, bytes] = field(default_factory=dict)


@dataclass
class JenkinsDouble:
    user: str | None = None
    token: str | None = None
    queue_polls: int = 1
    on_build: Callable[[Build, JenkinsDouble], str | None] | None = None
    builds: dict[int, Build] = field(default_factory=dict)
    queue: dict[int, dict[str, Any]] = field(default_factory=dict)
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> JenkinsDouble:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def finish(self, number: int, result: str = "SUCCESS") -> None:
        with self.lock:
            build = self.builds[number]
            build.console.append(f"Finished: {result}")
            build.building, build.result = False, result

    def authorized(self, header: str | None) -> bool:
        if self.user is None:
            return True
        expected = base64.b64encode(f"{self.user}:{self.token}".encode()).decode()
        return header == f"Basic {expected}"

    # -- what the handler calls ------------------------------------------------------------

    def enqueue(self, job: str, params: dict[str, str]) -> int:
        with self.lock:
            item = len(self.queue) + 1
            self.queue[item] = {"job": job, "params": params, "polls": 0, "build": None}
            return item

    def queue_item(self, item: int) -> dict[str, Any] | None:
        with self.lock:
            entry = self.queue.get(item)
            if entry is None:
                return None
            entry["polls"] += 1
            if entry["build"] is None and entry["polls"] > self.queue_polls:
                number = len(self.builds) + 1
                build = Build(entry["job"], number, entry["params"])
                build.console.append(
                    f"Started by remote API; FILE_ID={entry['params'].get('FILE_ID')}"
                )
                self.builds[number] = build
                entry["build"] = number
                threading.Thread(target=self._run, args=(build,), daemon=True).start()
        answer: dict[str, Any] = {
            "_class": "hudson.model.Queue$WaitingItem",
            "id": item,
            "cancelled": False,
            "task": {"name": entry["job"], "url": f"{self.url}/job/{entry['job']}/"},
        }
        if entry["build"] is None:
            answer["why"] = "Waiting for next available executor"
            answer["executable"] = None
        else:
            answer["_class"] = "hudson.model.Queue$LeftItem"
            answer["executable"] = {
                "_class": "hudson.model.FreeStyleBuild",
                "number": entry["build"],
                "url": f"{self.url}/job/{entry['job']}/{entry['build']}/",
            }
        return answer

    def _run(self, build: Build) -> None:
        if self.on_build is None:
            return
        try:
            result = self.on_build(build, self)
        except Exception as exc:  # the job script failed
            build.console.append(f"ERROR: {exc}")
            result = "FAILURE"
        if result is not None:
            self.finish(build.number, result)

    def build_json(self, job: str, number: int) -> dict[str, Any] | None:
        with self.lock:
            build = self.builds.get(number)
            if build is None or build.job != job:
                return None
            return {
                "_class": "hudson.model.FreeStyleBuild",
                "number": number,
                "building": build.building,
                "result": build.result,
                "url": f"{self.url}/job/{job}/{number}/",
                "fullDisplayName": f"{job} #{number}",
                "actions": [
                    {
                        "_class": "hudson.model.ParametersAction",
                        "parameters": [{"name": k, "value": v} for k, v in build.params.items()],
                    }
                ],
            }


def _handler(double: JenkinsDouble) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _send(
            self,
            status: int,
            body: bytes = b"",
            ctype: str = "application/json",
            headers: dict[str, str] | None = None,
        ) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("X-Jenkins", "2.440.3")
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)

        def _json(self, value: Any) -> None:
            self._send(200, json.dumps(value).encode())

        def _record(self) -> tuple[list[str], dict[str, str]] | None:
            parts = urlsplit(self.path)
            with double.lock:
                double.requests.append(
                    (self.command, self.path, {k.lower(): v for k, v in self.headers.items()})
                )
            if not double.authorized(self.headers.get("Authorization")):
                self._send(401, b"<html>Unauthorized</html>", "text/html")
                return None
            return [p for p in parts.path.split("/") if p], dict(parse_qsl(parts.query))

        def do_GET(self) -> None:
            got = self._record()
            if got is None:
                return
            path, _ = got
            if path == ["crumbIssuer", "api", "json"]:
                return self._json(CRUMB)
            if len(path) == 5 and path[:2] == ["queue", "item"] and path[3:] == ["api", "json"]:
                item = double.queue_item(int(path[2]))
                return self._json(item) if item else self._send(404, b"", "text/html")
            if len(path) >= 3 and path[0] == "job":
                return self._job_get(path[1], int(path[2]), path[3:])
            self._send(404, b"<html>Not Found</html>", "text/html")

        def _job_get(self, job: str, number: int, rest: list[str]) -> None:
            if rest == ["api", "json"]:
                info = double.build_json(job, number)
                return self._json(info) if info else self._send(404, b"", "text/html")
            build = double.builds.get(number)
            if build is None:
                return self._send(404, b"", "text/html")
            if rest == ["consoleText"]:
                return self._send(200, "\n".join(build.console).encode(), "text/plain")
            if rest[:1] == ["artifact"] and "/".join(rest[1:]) in build.artifacts:
                return self._send(200, build.artifacts["/".join(rest[1:])], "text/html")
            self._send(404, b"", "text/html")

        def do_POST(self) -> None:
            got = self._record()
            if got is None:
                return
            path, query = got
            length = int(self.headers.get("Content-Length") or 0)
            form = dict(parse_qsl(self.rfile.read(length).decode())) if length else {}
            if self.headers.get(CRUMB["crumbRequestField"]) != CRUMB["crumb"]:
                return self._send(403, b"No valid crumb was included in the request", "text/html")
            if len(path) == 3 and path[0] == "job" and path[2] == "buildWithParameters":
                item = double.enqueue(path[1], {**query, **form})
                location = f"{double.url}/queue/item/{item}/"
                return self._send(201, b"", "text/html", {"Location": location})
            self._send(404, b"", "text/html")

        def log_message(self, format: str, *args: Any) -> None:
            return None

    return Handler
