"""`neural-tui dashboard` without a browser: which hosts count as this machine only, what each
tab's console is started with, and the bad flags refused before anything is served."""

from __future__ import annotations

import shlex
import socket
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from neural_tui import dashboard as dashboard_module
from neural_tui.cli import main
from neural_tui.dashboard import Dashboard, dashboard, is_loopback


@pytest.mark.parametrize("host", ["127.0.0.1", "127.8.9.10", "::1", "localhost"])
def test_loopback_hosts_are_this_machine_only(host: str) -> None:
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "", "192.168.1.20", "localhost.example.com",
                                  "127.0.0.1.example.com", "[::1]", "127.0.0.1 ", "lo\x00calhost",
                                  "example.com", "x" * 10_000])
def test_anything_else_is_beyond_loopback(host: str) -> None:
    assert not is_loopback(host)


def test_beyond_loopback_each_tab_is_readonly_unless_writes_are_allowed() -> None:
    forced = dashboard("0.0.0.0", 8052, ["--demo"], readonly=False, allow_writes=False)
    allowed = dashboard("0.0.0.0", 8052, ["--demo"], readonly=False, allow_writes=True)
    local = dashboard("127.0.0.1", 8052, ["--demo"], readonly=False, allow_writes=False)
    assert forced.console_args == ("--demo", "--readonly") and forced.readonly_forced
    assert allowed.console_args == ("--demo",) and not allowed.readonly_forced
    assert local.console_args == ("--demo",) and not local.readonly_forced


def test_the_tab_command_runs_this_interpreter_with_hostile_arguments_kept_whole() -> None:
    hostile = "/tmp/a b; rm -rf ~ $(id) `id` 'q\""
    board = dashboard("127.0.0.1", 8052, ["--storage", hostile], readonly=False,
                      allow_writes=False)
    assert board.command.startswith("exec ")
    assert shlex.split(board.command.removeprefix("exec ")) == [
        sys.executable, "-m", "neural_tui", "--storage", hostile]


@pytest.mark.parametrize(("host", "url"), [("127.0.0.1", "http://127.0.0.1:8052/"),
                                           ("::1", "http://[::1]:8052/")])
def test_the_url_printed_is_one_a_browser_opens(host: str, url: str) -> None:
    assert dashboard(host, 8052, [], readonly=False, allow_writes=False).url == url


def served(monkeypatch: pytest.MonkeyPatch, argv: list[str]) -> Dashboard:
    """The dashboard `neural-tui argv` would serve (nothing is served)."""
    boards: list[Dashboard] = []
    monkeypatch.setattr(dashboard_module, "serve_dashboard", lambda board: boards.append(board)
                        or 0)
    assert main(argv) == 0
    (board,) = boards
    return board


def test_each_tab_gets_the_console_flags_given_to_dashboard(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = tmp_path / "neural-tui.toml"
    config.write_text("", encoding="utf-8")
    board = served(monkeypatch, [
        "dashboard", "--config", str(config), "--storage", str(tmp_path), "--demo",
        "--target", "http://10.0.0.5:9108/metrics", "--prometheus", "http://10.0.0.9:9090",
        "--theme", "light", "--color", "256", "--ascii", "--readonly", "--refresh", "2.5",
        "--host", "127.0.0.2", "--port", "9000"])
    assert (board.host, board.port) == ("127.0.0.2", 9000)
    assert board.console_args == (
        "--config", str(config), "--storage", str(tmp_path),
        "--prometheus", "http://10.0.0.9:9090", "--theme", "light", "--color", "256",
        "--refresh", "2.5", "--target", "http://10.0.0.5:9108/metrics",
        "--demo", "--ascii", "--readonly")


CONSOLE_FLAGS = [["--storage", "data"], ["--demo"], ["--target", "http://10.0.0.5:9108/metrics"],
                 ["--prometheus", "http://10.0.0.9:9090"], ["--theme", "light"],
                 ["--color", "256"], ["--ascii"], ["--readonly"], ["--refresh", "2.5"],
                 ["--host", "127.0.0.2"], ["--port", "9000"]]
"""Every flag the console and the dashboard both take, with a value other than its default."""


def test_each_flag_given_before_dashboard_reaches_each_tab_as_if_given_after_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "neural-tui.toml"
    config.write_text("", encoding="utf-8")
    flags = ["--config", str(config), *[arg for flag in CONSOLE_FLAGS for arg in flag]]
    after = served(monkeypatch, ["dashboard", *flags])
    before = served(monkeypatch, [*flags, "dashboard"])
    assert before == after
    assert (before.host, before.port) == ("127.0.0.2", 9000)
    assert "--theme" in before.console_args and "--readonly" in before.console_args


@pytest.mark.parametrize("flags", CONSOLE_FLAGS, ids=lambda flags: flags[0])
def test_no_flag_before_dashboard_is_dropped(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, flags: list[str]
) -> None:
    """Each flag alone before `dashboard` changes what is served (`neural-tui --theme light
    dashboard` served a dark console)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NEURAL_TUI_CONFIG", raising=False)
    default = served(monkeypatch, ["dashboard"])
    before = served(monkeypatch, [*flags, "dashboard"])
    assert before == served(monkeypatch, ["dashboard", *flags])
    assert before != default


def test_a_flag_given_before_and_after_dashboard_takes_the_value_after(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    board = served(monkeypatch, ["--theme", "light", "--port", "9001", "dashboard",
                                 "--theme", "dark", "--port", "9002"])
    assert board.port == 9002
    assert board.console_args == ("--theme", "dark")


@pytest.mark.parametrize("flags", [["--serve-metrics"], ["--log-level", "DEBUG"],
                                   ["--log-level", "INFO"]])
def test_a_headless_flag_before_dashboard_is_refused_naming_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path,
    flags: list[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(dashboard_module, "serve_dashboard",
                        lambda board: pytest.fail("served despite a flag it does not read"))
    assert main([*flags, "dashboard"]) == 2
    assert capsys.readouterr().err == \
        f"neural-tui: {flags[0]}: not with dashboard (only without a subcommand)\n"


@pytest.mark.parametrize(("flags", "command"), [
    (["--theme", "light"], "status"), (["--readonly"], "alerts silence"),
    (["--demo"], "rules"), (["--port", "9000"], "health"), (["--refresh", "2"], "slo"),
])
def test_a_console_flag_before_a_command_that_does_not_read_it_is_refused_naming_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path,
    flags: list[str], command: str
) -> None:
    monkeypatch.chdir(tmp_path)
    argv = [*flags, *command.split()]
    if command == "alerts silence":
        argv += ["--rule", "r", "--for", "1h", "--comment", "c"]
    assert main(argv) == 2
    assert capsys.readouterr().err == (f"neural-tui: {flags[0]}: not with {command} (only "
                                       "without a subcommand, or with dashboard)\n")


def test_an_ipv6_host_written_as_in_a_url_is_served_as_that_address(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    board = served(monkeypatch, ["dashboard", "--host", "[::1]"])
    assert (board.host, board.url, board.readonly_forced) == ("::1", "http://[::1]:8052/", False)


def test_by_default_the_dashboard_listens_on_loopback_port_8052_with_no_flags(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NEURAL_TUI_CONFIG", raising=False)
    board = served(monkeypatch, ["dashboard"])
    assert (board.host, board.port, board.console_args) == ("127.0.0.1", 8052, ())


@pytest.mark.parametrize(("flags", "says"), [
    (["--port", "70000"], "--port 70000: must be between 1 and 65535"),
    (["--port", "65536"], "--port 65536: must be between 1 and 65535"),
    (["--port=-1"], "--port '-1': must be a whole number between 1 and 65535"),
    (["--port", "0"], "--port 0: must be between 1 and 65535 (not 0: the URL to open is "
                      "printed)"),
    (["--port", "abc"], "--port 'abc': must be a whole number between 1 and 65535"),
    (["--port", "8052abc"], "--port '8052abc': must be a whole number"),
    (["--port", ""], "--port '': must be a whole number"),
    (["--port", " 8052"], "--port ' 8052': must be a whole number"),
    (["--port", "8_052"], "--port '8_052': must be a whole number"),
    (["--port", "\uff18\uff10\uff15\uff12"], "must be a whole number"),
    (["--port", "9" * 5000], f"--port '{'9' * 40}': must be a whole number"),
    (["--port", "\x1b[31m"], "--port '\\x1b[31m': must be a whole number"),
    (["--port", "abc", "--theme", "light"], "--port 'abc'"),
    (["--host", ""], "--host '': name an address"),
    (["--host", "  "], "--host '': name an address"),
    (["--host", "127.0.0.1 evil.example"], "--host '127.0.0.1 evil.example': not an address"),
    (["--host", "local\nhost"], "--host 'local\\nhost': not an address"),
    (["--host", "lo\x00calhost"], "--host 'lo\\x00calhost': not an address"),
    (["--host", "x" * 10_000], f"--host '{'x' * 40}': not an address"),
    (["--refresh", "0"], "--refresh 0"),
    (["--refresh", "nan"], "--refresh nan"),
    (["--refresh", "abc"], "--refresh 'abc': must be a number of seconds"),
    (["--target", "ftp://x"], "--target"),
])
def test_a_bad_flag_is_one_line_and_exit_2_before_anything_is_served(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path,
    flags: list[str], says: str
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(dashboard_module, "serve_dashboard",
                        lambda board: pytest.fail("served despite a bad flag"))
    assert main(["dashboard", *flags]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and says in error, error
    assert "usage:" not in error and "\x1b" not in error


@pytest.mark.parametrize("flags", [["--port", "abc"], ["--port=-1"], ["--host", "a b"]])
def test_a_bad_flag_before_dashboard_is_one_line_and_exit_2_too(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path,
    flags: list[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(dashboard_module, "serve_dashboard",
                        lambda board: pytest.fail("served despite a bad flag"))
    assert main([*flags, "dashboard"]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and error.startswith(f"neural-tui: {flags[0][:6]}"), error


def test_a_port_taken_is_one_line_and_exit_2_and_no_url_is_printed(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["dashboard", "--port", str(port)]) == 2
    out, err = capsys.readouterr()
    assert "http://" not in out
    assert err == f"neural-tui: --host 127.0.0.1 --port {port}: cannot listen there " \
        "(Address already in use)\n"


@pytest.mark.parametrize("host", ["nosuchhost.invalid", "10.255.255.1", "999.1.1.1",
                                  "a" * 64 + ".example", "2001:db8::1"])
def test_an_address_not_of_this_machine_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    host: str
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["dashboard", "--host", host, "--port", "18052"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"neural-tui: --host {host} --port 18052: cannot listen there (")
    assert err.count("\n") == 1


def test_a_name_whose_resolver_never_answers_is_one_line_and_exit_2_not_a_hang(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(dashboard_module, "RESOLVE_SECONDS", 0.2)
    released = threading.Event()

    def silent_resolver(*args: Any, **kwargs: Any) -> list[Any]:
        released.wait(30)
        raise OSError("released")

    monkeypatch.setattr(socket, "getaddrinfo", silent_resolver)
    try:
        assert main(["dashboard", "--host", "slow.example", "--port", "18052"]) == 2
    finally:
        released.set()
    assert capsys.readouterr().err == ("neural-tui: --host slow.example --port 18052: cannot "
                                       "listen there (no answer resolving it within 0.2 s)\n")
