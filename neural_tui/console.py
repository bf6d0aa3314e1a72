"""Opening the Textual console on storage or on demo traffic."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

from neural_tui.config import Settings
from neural_tui.runtime.pipeline import Runtime
from neural_tui.sources.tail import TailSource


def open_console(settings: Settings, *, demo: bool = False) -> int:
    """Run the console until the user quits; log lines stay in the snapshot, off the screen."""
    logging.getLogger().addHandler(logging.NullHandler())
    logging.getLogger("neural_tui").propagate = False
    if demo:
        from neural_tui.demo import DemoTraffic

        with tempfile.TemporaryDirectory(prefix="neural-tui-demo-") as tmp:
            storage = Path(tmp)
            traffic = DemoTraffic(storage)
            traffic.start()
            try:
                return _run(settings, storage, label="demo traffic")
            finally:
                traffic.stop()
    return _run(settings, settings.storage.path, label=str(settings.storage.path))


def _run(settings: Settings, storage: Path, *, label: str) -> int:
    from neural_tui.app.app import NeuralTuiApp

    source = TailSource(storage, poll_interval=settings.runtime.poll_interval_seconds)
    app = NeuralTuiApp(Runtime(settings, [source]), source_label=label,
                       engine_interval_seconds=settings.analysis.interval_seconds,
                       health=settings.health, keys=settings.keys)
    app.run()
    return 0
