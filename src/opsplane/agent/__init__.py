"""The opsplane agent: one per host, dials the server, spools and ships telemetry, runs commands.

Imports only light dependencies (psutil, websockets, msgspec, httpx, structlog) and never
anything from `opsplane.server`, so the bare `pip install opsplane` is enough to run it.
"""
