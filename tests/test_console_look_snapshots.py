"""Every screen at every terminal size the console promises (80x24 compact, 120x40, 160x48,
200x60 tiled), and in the light theme, ASCII only and read-only, compared with checked-in
SVG screenshots.

Regenerate after an intended change with
`pytest tests/test_console_look_snapshots.py --snapshot-update` and review the SVGs.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import pytest
from look_scenes import console, open_view

from neural_tui.config import ConsoleSection

SIZES = [(80, 24), (120, 40), (160, 48), (200, 60)]
VIEWS = ["overview", "drift", "quality", "slo", "alerts"]


@pytest.mark.parametrize("size", SIZES, ids=lambda size: f"{size[0]}x{size[1]}")
@pytest.mark.parametrize("view", VIEWS)
def test_every_screen_at_every_size(snap_compare: Any, view: str, size: tuple[int, int]
                                    ) -> None:
    assert snap_compare(console(), terminal_size=size, run_before=partial(open_view, view=view))


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=lambda size: f"{size[0]}x{size[1]}")
@pytest.mark.parametrize("view", ["silence", "help"])
def test_every_dialog_compact_and_large(snap_compare: Any, view: str, size: tuple[int, int]
                                        ) -> None:
    assert snap_compare(console(), terminal_size=size, run_before=partial(open_view, view=view))


@pytest.mark.parametrize("view", ["overview", "drift"])
def test_the_light_theme(snap_compare: Any, view: str) -> None:
    assert snap_compare(console(ConsoleSection(theme="light")), terminal_size=(120, 40),
                        run_before=partial(open_view, view=view))


@pytest.mark.parametrize("view", ["overview", "drift"])
def test_ascii_only(snap_compare: Any, view: str) -> None:
    assert snap_compare(console(ConsoleSection(ascii=True)), terminal_size=(80, 24),
                        run_before=partial(open_view, view=view))


def test_a_readonly_alerts_screen(snap_compare: Any) -> None:
    assert snap_compare(console(ConsoleSection(readonly=True)), terminal_size=(120, 40),
                        run_before=partial(open_view, view="alerts"))
