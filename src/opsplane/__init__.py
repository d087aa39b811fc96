"""opsplane: a lightweight operations platform (agent, server, heap-dump analyzer)."""

__version__ = "0.1.0"
