"""A real terminal for tests: a detached tmux session running a plain shell, read as a user
reads the screen, and the installed `neural-tui` to run in it."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from realservers import POLL_SECONDS, require_binary

PROMPT = "console-test$"
"""The shell's prompt (capture-pane drops trailing spaces, so none is part of it)."""
SCREEN_TIMEOUT = 20.0


class Terminal:
    """One detached tmux session (80x24 unless `size` says otherwise) on its own server
    socket, running a plain shell in `directory` (default: the tests' own)."""

    def __init__(self, tmux: str, socket_name: str, *, size: tuple[int, int] = (80, 24),
                 directory: Path | None = None) -> None:
        self._base = [tmux, "-L", socket_name, "-f", "/dev/null"]
        self._size = size
        self._directory = directory

    def start(self) -> None:
        where = ["-c", str(self._directory)] if self._directory is not None else []
        self._tmux(
            "new-session", "-d", "-s", "console", "-x", str(self._size[0]),
            "-y", str(self._size[1]), *where, "env", f"PS1={PROMPT} ", "sh",
        )

    def stop(self) -> None:
        subprocess.run([*self._base, "kill-server"], capture_output=True, check=False)

    def type_line(self, line: str) -> None:
        self._tmux("send-keys", "-t", "console", "-l", line)
        self._tmux("send-keys", "-t", "console", "Enter")

    def press(self, key: str) -> None:
        self._tmux("send-keys", "-t", "console", key)

    def screen(self) -> str:
        return self._tmux("capture-pane", "-p", "-t", "console")

    def screen_escapes(self) -> str:
        """The screen with its colour and style escape sequences (`capture-pane -e`)."""
        return self._tmux("capture-pane", "-p", "-e", "-t", "console")

    def history(self) -> str:
        """The screen with everything scrolled off above it."""
        return self._tmux("capture-pane", "-p", "-S", "-", "-t", "console")

    def cursor_visible(self) -> bool:
        return self._tmux("display-message", "-p", "-t", "console", "#{cursor_flag}") == "1"

    def alternate_screen_on(self) -> bool:
        return self._tmux("display-message", "-p", "-t", "console", "#{alternate_on}") == "1"

    def wait_for(self, what: str, condition: Callable[[str], bool],
                 timeout: float = SCREEN_TIMEOUT) -> str:
        """Poll the screen until `condition` holds; fail with the last screen after
        `timeout` seconds."""
        deadline = time.monotonic() + timeout
        screen = self.screen()
        while not condition(screen):
            if time.monotonic() >= deadline:
                pytest.fail(f"{what} within {timeout} s; the screen was:\n{screen}")
            time.sleep(POLL_SECONDS)
            screen = self.screen()
        return screen

    def _tmux(self, *args: str) -> str:
        done = subprocess.run(
            [*self._base, *args], capture_output=True, text=True, check=True, timeout=10
        )
        return done.stdout.rstrip("\n")


def tmux_terminal(tmp_path: Path, *, size: tuple[int, int] = (80, 24),
                  directory: Path | None = None) -> Iterator[Terminal]:
    """A started terminal of the test's own (its tmux server named by pid and test), stopped
    after; for a fixture to yield from."""
    tmux = require_binary("tmux", "apt-get install tmux")
    session = Terminal(tmux, f"neural-tui-test-{os.getpid()}-{tmp_path.name}", size=size,
                       directory=directory)
    session.start()
    yield session
    session.stop()


def console_command() -> str:
    """`neural-tui` of the code under test, as a shell command (an installed script may run
    another checkout's code)."""
    root = Path(__file__).resolve().parents[1]
    return shlex.join(["env", f"PYTHONPATH={root}", sys.executable, "-m", "neural_tui"])


def console_script() -> str:
    """The installed `neural-tui` of the interpreter running the tests."""
    script = shutil.which("neural-tui", path=str(Path(sys.executable).parent))
    assert script is not None, f"neural-tui is not installed next to {sys.executable}"
    return script
