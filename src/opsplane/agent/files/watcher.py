"""The watcher: poll the watch rules' directories and announce each finished dump once.

A file is finished ("stable") when its size and mtime have not changed for the rule's
`stable_seconds` AND no process holds it open for writing. Only then does the agent
compute its key, spool a `created` notice, remember it in the known-files table and hand
it to the uploader. Rules come from the live config: a pushed change applies on the next
poll, which the change itself triggers.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import structlog

from opsplane.agent.config import LiveConfig
from opsplane.agent.files.known import FileRecord, KnownFiles, file_key
from opsplane.agent.files.notices import Notifier
from opsplane.agent.files.openfiles import FileId, held_for_writing
from opsplane.agent.files.scan import CompiledRule, Found, RuleError, restat, scan
from opsplane.protocol.files import WatchRule

log = structlog.get_logger(__name__)

# A file held open is looked at again after this long (or its stable time, if shorter).
HELD_RECHECK = 5.0


@dataclasses.dataclass
class _Observation:
    found: Found
    since: float  # monotonic time the current size/mtime was first seen
    looked_up: bool = False  # its key was checked against the known-files table
    settled: bool = False  # known already (announced, or our own output): nothing to do
    next_check: float = 0.0

    @property
    def key(self) -> str:
        return file_key(self.found.path, self.found.inode, self.found.mtime_ns)

    @property
    def file_id(self) -> FileId:
        return (self.found.dev, self.found.inode)


class Watcher:
    """Finds finished files and announces them.

    Args:
        config: Live config; its `watch_rules` are re-read at every poll.
        known: The known-files table (a file in it, in any state, is never announced again).
        notifier: Spools the `created` notices.
        on_announced: Called with each announced file's key (queues its upload).
        poll_interval: Seconds between scans.
        proc_root: The proc filesystem, for the open-for-writing check.
        clock: Monotonic time source.
    """

    def __init__(
        self,
        *,
        config: LiveConfig,
        known: KnownFiles,
        notifier: Notifier,
        on_announced: Callable[[str], object],
        poll_interval: float = 1.0,
        proc_root: Path = Path("/proc"),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.known = known
        self.notifier = notifier
        self.on_announced = on_announced
        self.poll_interval = poll_interval
        self.proc_root = proc_root
        self.clock = clock
        self._seen: dict[str, _Observation] = {}
        # The rules last compiled, what they compiled to, and the ones that would not.
        self._rules: tuple[tuple[WatchRule, ...], list[CompiledRule], list[str]] = ((), [], [])
        self._problems: list[str] = []

    async def run(self) -> None:
        while True:
            try:
                await self.poll_once()
            except Exception:
                # A bug or an odd filesystem must not stop watching for good.
                log.exception("watch poll failed")
            await self.config.sleep(self.poll_interval)

    def problems(self) -> list[str]:
        return list(self._problems)

    async def poll_once(self) -> list[FileRecord]:
        """One scan; returns the files announced by it."""
        rules, rule_problems = self._compiled_rules()
        result = await asyncio.to_thread(scan, rules)
        self._problems = rule_problems + result.problems
        self._observe(result.found)
        await self._settle_known()
        candidates = self._candidates()
        return await self._announce_finished(candidates) if candidates else []

    def _compiled_rules(self) -> tuple[list[CompiledRule], list[str]]:
        rules = self.config.current.watch_rules
        if rules != self._rules[0]:
            compiled, problems = [], []
            for rule in rules:
                try:
                    compiled.append(CompiledRule(rule))
                except RuleError as exc:
                    problems.append(f"watch rule {rule.name!r} skipped: {exc}")
            self._rules = (rules, compiled, problems)
            log.info("watch rules applied", rules=[rule.name for rule in rules])
        return self._rules[1], list(self._rules[2])

    def _observe(self, found: dict[str, Found]) -> None:
        now = self.clock()
        for path in self._seen.keys() - found.keys():
            del self._seen[path]
        for path, current in found.items():
            seen = self._seen.get(path)
            if seen is None or not current.same_file(seen.found):
                self._seen[path] = _Observation(current, since=now)
            else:
                seen.found = current  # same file; its rule may have been edited

    async def _settle_known(self) -> None:
        fresh = [seen for seen in self._seen.values() if not seen.looked_up]
        if not fresh:
            return
        known = await self.known.known(seen.key for seen in fresh)
        for seen in fresh:
            seen.looked_up = True
            seen.settled = seen.key in known

    def _candidates(self) -> list[_Observation]:
        now = self.clock()
        return [
            seen
            for seen in self._seen.values()
            if not seen.settled
            and seen.found.size > 0  # an empty dump is a failed one, or not started
            and now - seen.since >= seen.found.rule.rule.stable_seconds
            and now >= seen.next_check
        ]

    async def _announce_finished(self, candidates: Sequence[_Observation]) -> list[FileRecord]:
        held, now_on_disk = await asyncio.to_thread(self._check_writers, candidates)
        now = self.clock()
        announced = []
        for seen in candidates:
            current = now_on_disk[seen.found.path]
            if seen.file_id in held:
                seen.next_check = now + min(HELD_RECHECK, seen.found.rule.rule.stable_seconds)
            elif current is None:
                self._seen.pop(seen.found.path, None)
            elif not current.same_file(seen.found):
                # It changed after the scan: the stable time starts again.
                self._seen[seen.found.path] = _Observation(current, since=now)
            else:
                announced.append(await self._announce(seen))
        return announced

    def _check_writers(
        self, candidates: Sequence[_Observation]
    ) -> tuple[set[FileId], dict[str, Found | None]]:
        held = held_for_writing(
            {seen.file_id for seen in candidates}, proc_root=self.proc_root, skip_pid=os.getpid()
        )
        # Stat again *after* the /proc scan: a writer that closed the file in between has
        # also finished writing it, and the size to announce is the final one.
        return held, {seen.found.path: restat(seen.found) for seen in candidates}

    async def _announce(self, seen: _Observation) -> FileRecord:
        found = seen.found
        metadata = found.rule.metadata(found)
        record = FileRecord(
            key=seen.key,
            path=found.path,
            size=found.size,
            inode=found.inode,
            mtime_ns=found.mtime_ns,
            state="announced",
            rule_id=found.rule.rule.id,
            app=metadata.get("app"),
            namespace=metadata.get("namespace"),
            metadata=metadata,
            after_upload=found.rule.rule.after_upload,
        )
        await self.notifier.notify("created", record)
        record = await self.known.put(record)
        seen.settled = True
        log.info("file announced", path=found.path, size=found.size, key=record.key)
        self.on_announced(record.key)
        return record
