"""Serves the built single-page app (`make web` builds /web into `dist/`)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

from opsplane.server.deps import public
from opsplane.server.errors import NotFound

DIST = Path(__file__).parent / "dist"

_NOT_BUILT = """<!doctype html><meta charset="utf-8"><title>opsplane</title>
<p>The web UI is not built. Run <code>make web</code> (or <code>make run</code>).
The API is at <a href="/api/docs">/api/docs</a>.</p>"""

_RESERVED = ("api/", "prometheus/", "metrics", "healthz", "readyz")


def mount_web(app: FastAPI, dist: Path = DIST) -> None:
    """Static assets under /assets, and index.html for every other non-API path."""
    root = dist.resolve()
    # Listed once at start: no filesystem access per request, and no path ever leaves dist/.
    files = {p.name: p for p in root.iterdir() if p.is_file()} if root.is_dir() else {}
    index = files.get("index.html")
    if (root / "assets").is_dir():
        app.mount("/assets", StaticFiles(directory=root / "assets"), name="assets")

    @app.get("/{path:path}", include_in_schema=False)
    @public
    async def spa(path: str, request: Request) -> Response:
        if path.startswith(_RESERVED):
            raise NotFound(f"no such endpoint: /{path}")
        if path in files:
            return FileResponse(files[path])
        if index is None:
            return HTMLResponse(_NOT_BUILT)
        return FileResponse(index, headers={"cache-control": "no-cache"})
