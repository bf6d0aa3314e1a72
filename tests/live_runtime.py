"""A real `Runtime` run until its snapshots are live, for the tests of the start-up's catching
up and its progress."""

from __future__ import annotations

import asyncio

from neural_tui.runtime.pipeline import Runtime
from neural_tui.runtime.snapshot import Snapshot

LIVE_TIMEOUT_SECONDS = 30


async def snapshots_until_live(runtime: Runtime, look_every: float = 0.01) -> list[Snapshot]:
    """Every snapshot `runtime` publishes from its start to its first live one (not
    `catching_up`), looked for every `look_every` seconds; the runtime is stopped then."""
    seen: list[Snapshot] = []
    runtime.subscribe(seen.append)
    task = asyncio.create_task(runtime.run())
    try:
        async with asyncio.timeout(LIVE_TIMEOUT_SECONDS):
            while not seen or seen[-1].catching_up:
                await asyncio.sleep(look_every)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    return seen
