"""The live agent config: pushed by the server, persisted, and watched by the loops it paces."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from opsplane.protocol.session import AgentConfig

MIN_INTERVAL = 0.1
"""Seconds; anything faster is a mistake that would only burn CPU on host and server."""


class ConfigError(ValueError):
    """A pushed config the agent will not apply; the message goes back to the server."""


def validate(config: AgentConfig) -> AgentConfig:
    """Refuse configs that cannot work at all.

    Watch rules are not checked here: one bad rule must not keep the rest of a config (or
    the other rules) from applying; the watcher skips it and reports it as a problem.
    """
    for field in ("heartbeat_interval", "metrics_interval"):
        value = getattr(config, field)
        if not value >= MIN_INTERVAL:  # also rejects NaN
            raise ConfigError(f"{field} must be at least {MIN_INTERVAL} s, got {value}")
    check = config.threshold_check_interval
    if not (check == 0 or check >= MIN_INTERVAL):
        raise ConfigError(
            f"threshold_check_interval must be 0 (off) or at least {MIN_INTERVAL} s, got {check}"
        )
    if not config.upload_concurrency >= 1:
        raise ConfigError(f"upload_concurrency must be at least 1, got {config.upload_concurrency}")
    rate = config.upload_bytes_per_second
    if rate is not None and not rate > 0:
        raise ConfigError(f"upload_bytes_per_second must be positive or null, got {rate}")
    return config


class LiveConfig:
    """Holds the current config; loops sleep on it to pick up new intervals at once.

    Args:
        initial: Config to start with (the last one persisted, or the defaults).
        persist: Called in a thread with each newly applied config (None: not persisted).
    """

    def __init__(
        self, initial: AgentConfig, persist: Callable[[AgentConfig], None] | None = None
    ) -> None:
        self.current = initial
        self._persist = persist
        self._changed = asyncio.Event()

    async def apply(self, config: AgentConfig) -> bool:
        """Validate, persist and switch to `config`; returns False when nothing changed."""
        validate(config)
        if config == self.current:
            return False
        if self._persist is not None:
            await asyncio.to_thread(self._persist, config)
        self.current = config
        # Waking every waiter, then handing out a fresh event, avoids lost wake-ups.
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()
        return True

    async def sleep(self, seconds: float) -> bool:
        """Sleep up to `seconds`; returns True early when a new config was applied."""
        try:
            async with asyncio.timeout(max(0.0, seconds)):
                await self._changed.wait()
        except TimeoutError:
            return False
        return True
