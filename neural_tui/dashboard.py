"""`neural-tui dashboard`: the console in a browser, for the old module's web dashboard users.

textual-serve runs one console process per browser tab (each its own session, its own
runtime) and draws it with the JavaScript it ships. The page is ours (`dashboard_page/`, given
through textual-serve's documented `templates_path`): textual-serve's own asks Google Fonts for
its font, ours takes that font from textual-serve's static files, so a browser asks nothing of
any host but this server. The tab's console gets the same flags as a console in a terminal.
Anyone who reaches a non-loopback address can drive the console, so there it is read-only
unless asked otherwise.
"""

from __future__ import annotations

import ipaddress
import shlex
import socket
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web
from textual_serve.server import Server

from neural_tui.errors import UsageError

PAGE_TEMPLATES = Path(__file__).resolve().parent / "dashboard_page"
"""The folder of the page's template, `app_index.html`, which textual-serve renders."""
RESOLVE_SECONDS = 10.0
"""How long `--host` may take to resolve: a resolver that never answers must not hang the
command."""


def is_loopback(host: str) -> bool:
    """Whether `host` is reachable from this machine only (`localhost`, 127.0.0.0/8, ::1).

    Anything else, a wildcard (`0.0.0.0`, `::`, empty) or a name among them, is not.
    """
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Dashboard:
    """Where to serve and what each tab runs: `console_args` are the console's own flags."""

    host: str
    port: int
    console_args: tuple[str, ...]
    readonly_forced: bool
    """True when the host is beyond loopback and `--allow-writes` was not given."""

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    @property
    def command(self) -> str:
        """The shell command textual-serve starts per tab; `exec`, so the console is the tab's
        only process and textual-serve's quit reaches it directly."""
        argv = [sys.executable, "-m", "neural_tui", *self.console_args]
        return "exec " + shlex.join(argv)


def dashboard(host: str, port: int, console_args: Sequence[str], *, readonly: bool,
              allow_writes: bool) -> Dashboard:
    """The dashboard for `console_args`, with `--readonly` added when the host is beyond
    loopback and writes were not allowed (and not already read-only)."""
    forced = not readonly and not allow_writes and not is_loopback(host)
    args = (*console_args, "--readonly") if forced else tuple(console_args)
    return Dashboard(host=host, port=port, console_args=args, readonly_forced=forced)


class _ConsoleServer(Server):
    """textual-serve's server, announcing itself in one line instead of its banner (which
    would show the command, and the paths in it, to whoever reads the log)."""

    def __init__(self, board: Dashboard) -> None:
        super().__init__(board.command, host=board.host, port=board.port, title="neural-tui",
                         templates_path=PAGE_TEMPLATES)
        self._board = board

    async def handle_index(self, request: web.Request) -> web.StreamResponse:
        """The page, its websocket and scripts addressed by the host the browser asked for:
        bound to a wildcard (`0.0.0.0`), the server's own address means nothing to a browser."""
        self.public_url = f"{request.scheme}://{request.host}"
        response: web.StreamResponse = await super().handle_index(request)
        return response

    async def on_startup(self, app: web.Application) -> None:
        note = " (read-only: beyond loopback; --allow-writes to change)" \
            if self._board.readonly_forced else ""
        print(f"neural-tui dashboard: {self._board.url}{note}; Ctrl+C stops", flush=True)


def serve_dashboard(board: Dashboard) -> int:
    """Serve until SIGINT or SIGTERM; the tabs' consoles are told to quit on the way out.

    An address that cannot be listened on (unknown name, port taken, not this machine's) is
    bad usage, named by its flags.
    """
    try:
        _check_listenable(board.host, board.port)
        _ConsoleServer(board).serve()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise UsageError(f"--host {board.host} --port {board.port}: cannot listen there "
                         f"({reason})") from None
    return 0


def _check_listenable(host: str, port: int) -> None:
    """Bind each address `host` names, and let go: so the URL is printed only when the server
    can listen (textual-serve announces itself before it binds)."""
    for family, kind, proto, _, address in _addresses(host, port):
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)


def _addresses(host: str, port: int) -> list[tuple[Any, ...]]:
    """The addresses `host` names, resolved in a thread of its own so that a resolver which
    never answers costs `RESOLVE_SECONDS`, not the command; an OSError when it fails."""
    found: list[tuple[Any, ...]] = []
    failed: list[str] = []

    def resolve() -> None:
        try:
            found.extend(socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM,
                                            flags=socket.AI_PASSIVE))
        except (OSError, ValueError) as exc:
            failed.append(getattr(exc, "strerror", None) or str(exc))

    resolver = threading.Thread(target=resolve, name="dashboard-resolve", daemon=True)
    resolver.start()
    resolver.join(RESOLVE_SECONDS)
    if resolver.is_alive():
        raise OSError(f"no answer resolving it within {RESOLVE_SECONDS:g} s")
    if failed:
        raise OSError(failed[0])
    return found
