"""Simulated agents: thousands of light agents in one asyncio process, for benchmarks.

They speak the real link protocol (enrollment over HTTP, hello, heartbeats, metric batches
acked by sequence, command results) but fake the host: no psutil, no spool on disk, no
thread per agent. `Simulator` is the async API; `opsplane simulate` prints JSON summaries.
"""

from opsplane.simulator.fleet import Simulator, SimulatorConfig

__all__ = ["Simulator", "SimulatorConfig"]
