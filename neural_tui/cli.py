"""The `neural-tui` command: the console by default, headless with `--serve-metrics`, and
one-shot subcommands for scripts and CI.

Exit codes: 0 fine; 1 `health` found a problem (or `drift --fail-on-drift` found drift);
2 bad usage, bad config or bad input, with one line naming the file and key (under `--json`,
also as `{"error": ..., "exit_code": 2}` on stdout, for a script that reads only stdout).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import re
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, get_args

from neural_tui import __version__
from neural_tui.config import (
    BOUNDS,
    Bound,
    ColorMode,
    ConfigError,
    Settings,
    StorageSection,
    TargetSection,
    ThemeName,
    check_fleet,
    find_config,
    load_settings,
    parse_duration,
    target_name,
)
from neural_tui.errors import UsageError
from neural_tui.runtime.replay_clock import DEFAULT_SPEED, MAX_SPEED, MIN_SPEED
from neural_tui.safe_text import PlainFormatter, plain

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_BROKEN_PIPE = 1
"""What a command exits with when its reader closed the pipe before reading everything."""
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(_times_joined(sys.argv[1:] if argv is None else argv))
    if args.handler is not _run_main:
        _log_to_stderr("WARNING")
    try:
        _check_flags_read(args)
        _check_replay_flags(args)
        return int(args.handler(args))
    except (ConfigError, UsageError) as exc:
        message = plain(str(exc))
        print(f"neural-tui: {message}", file=sys.stderr)
        if getattr(args, "json", False):
            print(json.dumps({"error": message, "exit_code": EXIT_USAGE}))
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return _reader_went_away()


TIME_FLAGS = ("--from", "--to")
"""Flags whose value may start with a minus (`--from -3h`), which argparse takes for a flag."""


def _times_joined(argv: Sequence[str]) -> list[str]:
    """`argv` with `--from -3h` written `--from=-3h`, as argparse reads it."""
    joined: list[str] = []
    values = iter(argv)
    for arg in values:
        if arg == "--":
            joined += [arg, *values]
            break
        joined.append(arg)
        if arg in TIME_FLAGS:
            value = next(values, None)
            if value is not None and value.startswith("-") and value not in ("-", "--"):
                joined[-1] = f"{arg}={value}"
            elif value is not None:
                joined.append(value)
    return joined


def _reader_went_away() -> int:
    """Exit quietly when the reader of stdout stopped reading (`neural-tui rules | head`), as
    other commands in a pipe do: stdout is pointed at /dev/null so the interpreter's own flush
    at exit cannot raise a second time."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return EXIT_BROKEN_PIPE


def _common_options(default: object) -> argparse.ArgumentParser:
    """`--config` and `--storage`, accepted before and after a subcommand.

    The subcommands' copies default to `SUPPRESS`, so that a flag given before the subcommand
    is not overwritten by the subcommand's own default.
    """
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", type=Path, default=default, help="TOML config file "
                        "(default: $NEURAL_TUI_CONFIG, else ./neural-tui.toml if present)")
    common.add_argument("--storage", type=Path, default=default, help="storage directory "
                        "(default: [storage] path, else ./monitoring_data)")
    return common


def _fleet_options(after_command: bool) -> argparse.ArgumentParser:
    """`--target` and `--prometheus`, for the commands that read remote sources.

    A subcommand's `--target`s are kept apart (`targets_after`) and added to those given
    before it, which argparse would otherwise replace.
    """
    fleet = argparse.ArgumentParser(add_help=False)
    fleet.add_argument("--target", action="append", metavar="URL",
                       dest="targets_after" if after_command else "targets",
                       default=argparse.SUPPRESS if after_command else [],
                       help="a remote /metrics endpoint to poll, beside [[targets]] (repeat "
                       "for more)")
    fleet.add_argument("--prometheus", metavar="URL",
                       default=argparse.SUPPRESS if after_command else None,
                       help="a Prometheus server to read the fleet from (overrides "
                       "[prometheus] url)")
    return fleet


def build_parser() -> argparse.ArgumentParser:
    common = _common_options(argparse.SUPPRESS)
    parser = argparse.ArgumentParser(
        prog="neural-tui", parents=[_common_options(None), _fleet_options(False)],
        description="Watch machine-learning models in production from a terminal.",
    )
    parser.add_argument("--version", action="version", version=f"neural-tui {__version__}")
    parser.add_argument("--demo", action="store_true",
                        help="run on built-in synthetic traffic in a temporary directory")
    parser.add_argument("--serve-metrics", action="store_true",
                        help="run headless and serve Prometheus /metrics and /healthz")
    parser.add_argument("--host", help="headless bind address (default: [server] host, "
                        "127.0.0.1); before dashboard, its address")
    parser.add_argument("--port", help="headless port (default: [server] port, 9108); "
                        "before dashboard, its port")
    parser.add_argument("--log-level", choices=["DEBUG", "INFO", "WARNING", "ERROR"],
                        help="headless log level (default: INFO; the console keeps log lines "
                        "on screen)")
    _look_options(parser, None)
    _replay_options(parser)
    parser.set_defaults(handler=_run_main)

    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    init = commands.add_parser("init", parents=[common], help="write a starter config")
    init.add_argument("--model-name", default="model", help="model name (default: model)")
    init.add_argument("--model-version", default="1.0", help="model version (default: 1.0)")
    init.add_argument("--output", type=Path, default=Path("neural-tui.toml"),
                      help="where to write the config (default: ./neural-tui.toml)")
    init.add_argument("--force", action="store_true", help="overwrite an existing config")
    init.add_argument("--json", action="store_true", help="machine-readable output")
    init.set_defaults(handler=_run_init)

    fleet = _fleet_options(True)
    for name, handler, summary, parents in (
        ("status", _run_status, "per-model totals, throughput, latency and errors, local and "
         "remote", [common, fleet]),
        ("health", _run_health, "check every model and target; exit 1 when one is unhealthy",
         [common, fleet]),
        ("slo", _run_slo, "each SLO per model: compliance, error budget, burn rates, alerts",
         [common]),
    ):
        command = commands.add_parser(name, parents=parents, help=summary)
        command.add_argument("--model", help="only this model")
        command.add_argument("--json", action="store_true", help="machine-readable output")
        command.set_defaults(handler=handler)

    for name, handler, summary in (
        ("drift", _run_drift, "which features drifted against the reference, worst first"),
        ("quality", _run_quality, "data quality of the newest window against the reference"),
    ):
        command = commands.add_parser(name, parents=[common], help=summary)
        command.add_argument("--model", help="only this model")
        command.add_argument("--json", action="store_true", help="machine-readable output")
        command.add_argument("--reference", type=Path, metavar="FILE",
                             help="JSONL records to compare with (default: the model's "
                             "[[models]] reference, else its first [drift] reference_rows "
                             "records)")
        command.add_argument("--window", type=int, metavar="N",
                             help="the newest N records are the current window (default: "
                             "[drift] window, 1000)")
        if name == "drift":
            command.add_argument("--fail-on-drift", action="store_true",
                                 help="exit 1 when a feature or the predictions drifted")
        command.set_defaults(handler=handler)

    rules = commands.add_parser("rules", parents=[common],
                                help="Prometheus recording and alerting rules for the SLOs")
    rules.set_defaults(handler=_run_rules)
    _add_alerts_command(commands, common)
    _add_dashboard_command(commands, common)
    return parser


DASHBOARD_HOST = "127.0.0.1"
DASHBOARD_PORT = 8052
"""The old Dash dashboard's port, so bookmarks keep working."""
DASHBOARD_PORTS = Bound(1, 65535)
"""Not 0 (`server.port`'s "any free port"): the URL printed for browsers must name the port."""


def _add_dashboard_command(commands: Any, common: argparse.ArgumentParser) -> None:
    """`dashboard`: the console in a browser, taking the console's own flags.

    Its flags default to `SUPPRESS`, as `_common_options` explains, so that each may be given
    before `dashboard` or after it (after wins). `--host` and `--port` given before it are the
    dashboard's too: without `--serve-metrics` there is no other address they could be.
    """
    board = commands.add_parser("dashboard", parents=[common, _fleet_options(True)],
                                help="serve the console to web browsers (one session per tab)")
    board.add_argument("--host", default=argparse.SUPPRESS,
                       help=f"bind address (default: {DASHBOARD_HOST}, this machine only)")
    board.add_argument("--port", default=argparse.SUPPRESS,
                       help=f"port (default: {DASHBOARD_PORT})")
    board.add_argument("--demo", action="store_true", default=argparse.SUPPRESS,
                       help="serve consoles on built-in synthetic traffic")
    board.add_argument("--allow-writes", action="store_true",
                       help="let browsers acknowledge and silence alerts when --host is not "
                       "loopback (else those consoles are --readonly)")
    _look_options(board, argparse.SUPPRESS)
    board.set_defaults(handler=_run_dashboard)


def _look_options(parser: argparse.ArgumentParser, default: object) -> None:
    """The console's `[console]` keys as flags (the dashboard takes them too, with `default`
    `SUPPRESS`)."""
    look = parser.add_argument_group("console")
    look.add_argument("--theme", choices=get_args(ThemeName), default=default,
                      help="colour theme (default: [console] theme, dark)")
    look.add_argument("--color", choices=get_args(ColorMode), default=default,
                      help="colours to use (default: [console] color, auto; NO_COLOR is none)")
    look.add_argument("--ascii", action="store_true", default=default,
                      help="ASCII only: no braille, block or box-drawing characters")
    look.add_argument("--readonly", action="store_true", default=default,
                      help="no acknowledgements or silences from this console")
    look.add_argument("--refresh", metavar="SECONDS", default=default,
                      help="the most often a screen redraws (default: [console] "
                      "refresh_seconds, 1)")


def _replay_options(parser: argparse.ArgumentParser) -> None:
    """`--replay` and the range and speed it plays."""
    replay = parser.add_argument_group("replay")
    replay.add_argument("--replay", action="store_true",
                        help="play the storage's history again in the console, faster; its "
                        "alerts are shown, never sent")
    replay.add_argument("--speed", metavar="X",
                        help=f"replay X times faster than real time ({MIN_SPEED:g} to "
                        f"{MAX_SPEED:g}; default {DEFAULT_SPEED:g})")
    replay.add_argument("--from", dest="replay_from", metavar="TIME",
                        help="replay from TIME: ISO 8601 (2026-11-30T14:00:00Z; without a "
                        "zone, UTC), unix seconds, or back from now (-3h, -1d12h) (default: "
                        "the first record)")
    replay.add_argument("--to", dest="replay_to", metavar="TIME",
                        help="replay up to TIME, written as for --from (default: the last "
                        "record)")


def _add_alerts_command(commands: Any, common: argparse.ArgumentParser) -> None:
    """`alerts` lists; its actions `silence`, `unsilence` and `test` change or try things."""
    alerts = commands.add_parser("alerts", parents=[common],
                                 help="current and past alerts, silences, a test notification")
    alerts.add_argument("--model", help="only this model's alerts")
    alerts.add_argument("--json", action="store_true", help="machine-readable output")
    alerts.add_argument("--severity", action="append", default=[], metavar="LEVEL",
                        help="only info, warning or critical (repeat, or separate by commas)")
    alerts.add_argument("--since", metavar="WHEN",
                        help="what fired since: a duration back (2h, 1d) or a time "
                        "(2026-12-02T03:00:00Z, unix seconds)")
    alerts.set_defaults(handler=_run_alerts)
    actions = alerts.add_subparsers(title="actions", metavar="ACTION")
    silence = actions.add_parser("silence", parents=[common],
                                 help="mute a rule's or an SLO's alerts (on one model) for a while")
    silence.add_argument("--rule", help="the rule (alertname) to mute; with --slo, only that "
                         "rule of the SLO (default: every alert of the SLO)")
    silence.add_argument("--model", help="only on this model (default: every model)")
    silence.add_argument("--slo", metavar="NAME",
                         help="only the alerts of this SLO (its burn-rate and no-data alerts)")
    silence.add_argument("--for", dest="duration", required=True, metavar="DURATION",
                         help="how long: 30m, 2h, 1d12h (at most 90d)")
    silence.add_argument("--comment", required=True, help="why (shown wherever it mutes)")
    silence.add_argument("--author", help="who asks (default: the login name)")
    silence.add_argument("--json", action="store_true", help="machine-readable output")
    silence.set_defaults(handler=_run_alerts_silence)
    unsilence = actions.add_parser("unsilence", parents=[common], help="lift a silence")
    unsilence.add_argument("silence_id", metavar="ID", help="the silence's id (see `alerts`)")
    unsilence.add_argument("--json", action="store_true", help="machine-readable output")
    unsilence.set_defaults(handler=_run_alerts_unsilence)
    test = actions.add_parser("test", parents=[common],
                              help="send a test notification; exit 1 if it failed")
    test.add_argument("channel", metavar="CHANNEL", help="a name from [alerts.channels]")
    test.add_argument("--json", action="store_true", help="machine-readable output")
    test.set_defaults(handler=_run_alerts_test)


FLEET_COMMANDS = "the console, dashboard, --serve-metrics, status and health"
"""Where `--target` and `--prometheus` are read; anywhere else they are refused."""


def settings_from(args: argparse.Namespace) -> Settings:
    """The config file's settings with command-line overrides applied."""
    settings = with_fleet(load_settings(find_config(args.config)), args)
    if args.storage is not None:
        settings = replace(settings, storage=StorageSection(path=args.storage))
    window = getattr(args, "window", None)
    if window is not None:
        _check_option("--window", "drift.window", window)
        settings = replace(settings, drift=replace(settings.drift, window=window))
    settings = _with_look(settings, args)
    if args.handler is not _run_main:
        return settings
    server = settings.server
    if args.host is not None:
        server = replace(server, host=args.host)
    if args.port is not None:
        server = replace(server, port=port_number(args.port, BOUNDS["server.port"]))
    return replace(settings, server=server)


PORT_DIGITS = re.compile(r"[0-9]{1,6}")
"""A port as typed: ASCII digits, few enough to be read (not `8_052`, ` 8052`, nor digits of
other scripts, all of which `int` reads)."""


def port_number(text: str, bound: Bound, why: str = "") -> int:
    """The `--port` given, a whole number within `bound`. Anything else (`abc`, `8052abc`,
    `-1`, empty, a thousand digits) is named as typed, quoted and cut to 40 characters."""
    if not PORT_DIGITS.fullmatch(text):
        raise UsageError(f"--port {text[:40]!r}: must be a whole number {bound.describe()}{why}")
    if not bound.accepts(int(text)):
        raise UsageError(f"--port {int(text)}: must be {bound.describe()}{why}")
    return int(text)


def refresh_seconds(text: str) -> float:
    """The `--refresh` given, a number within `console.refresh_seconds`' bound."""
    bound = BOUNDS["console.refresh_seconds"]
    try:
        seconds = float(text)
    except ValueError:
        raise UsageError(f"--refresh {text[:40]!r}: must be a number of seconds "
                         f"{bound.describe()}") from None
    if not bound.accepts(seconds):
        raise UsageError(f"--refresh {text.strip()[:40]}: must be {bound.describe()}")
    return seconds


def _with_look(settings: Settings, args: argparse.Namespace) -> Settings:
    """`[console]` with the flags given on the command line in place of its keys."""
    given_refresh = getattr(args, "refresh", None)
    refresh = None if given_refresh is None else refresh_seconds(given_refresh)
    flags: dict[str, Any] = {
        "theme": getattr(args, "theme", None), "color": getattr(args, "color", None),
        "ascii": getattr(args, "ascii", None), "readonly": getattr(args, "readonly", None),
        "refresh_seconds": refresh}
    given = {key: value for key, value in flags.items() if value is not None}
    return replace(settings, console=replace(settings.console, **given)) if given else settings


def with_fleet(settings: Settings, args: argparse.Namespace) -> Settings:
    """`settings` polling the `--target`s too, and reading the `--prometheus` given.

    Each flag is checked as the config key it stands for, and its error names the flag, never
    the URL (which may hold credentials): a target by its place among the `--target`s.
    """
    urls = [*getattr(args, "targets", []), *getattr(args, "targets_after", [])]
    prometheus = getattr(args, "prometheus", None)
    if not urls and prometheus is None:
        return settings
    if args.handler not in _FLEET_HANDLERS:
        flag = "--target" if urls else "--prometheus"
        raise UsageError(f"{flag}: only for {FLEET_COMMANDS}")
    where = settings.source or Path("the command line")
    configured = {target_name(t) for t in settings.targets}
    flagged: dict[str, str] = {}
    added = []
    for place, url in enumerate(urls, start=1):
        flag = f"--target #{place}" if len(urls) > 1 else "--target"
        target = TargetSection(url=url)
        _check_flag(flag, Settings(targets=(target,)))
        name = target_name(target)
        if name in configured:
            raise UsageError(f"{flag}: duplicate target name {name!r} (a [[targets]] entry of "
                             f"{where} has it; give that entry a name)")
        if name in flagged:
            raise UsageError(f"{flag}: duplicate target name {name!r} ({flagged[name]} has it: "
                             "a --target is named by its host:port, so endpoints sharing one "
                             "go in [[targets]] entries with a name each)")
        flagged[name] = flag
        added.append(target)
    settings = replace(settings, targets=(*settings.targets, *added))
    if prometheus is not None:
        section = replace(settings.prometheus, url=prometheus)
        _check_flag("--prometheus", Settings(prometheus=section))
        settings = replace(settings, prometheus=section)
    try:
        check_fleet(settings, where)
    except ConfigError as exc:
        raise UsageError(f"--target: {_without_key(str(exc))}") from None
    return settings


def _check_flag(flag: str, settings: Settings) -> None:
    """`config.check_fleet` on what one flag sets, its error worded for that flag."""
    try:
        check_fleet(settings, Path(flag))
    except ConfigError as exc:
        message = _without_key(str(exc))
        if ".name'" in str(exc):
            message = f"the name taken from its host and port {message}"
        raise UsageError(f"{flag}: {message}") from None


def _without_key(message: str) -> str:
    """A config error's message without the file and key it names."""
    return message.split("': ", 1)[-1]


def _check_option(flag: str, key: str, value: float) -> None:
    """A numeric option obeys the bound of the config key it overrides."""
    bound = BOUNDS[key]
    if not bound.accepts(value):
        raise UsageError(f"{flag} {value}: must be {bound.describe()}")


REPLAY_FLAGS = (("--speed", "speed"), ("--from", "replay_from"), ("--to", "replay_to"))


def _check_replay_flags(args: argparse.Namespace) -> None:
    """`--replay` runs the console alone: never with a subcommand, `--serve-metrics`, `--demo`
    or a remote source; its range and speed only come with it."""
    if not getattr(args, "replay", False):
        given = [flag for flag, name in REPLAY_FLAGS if getattr(args, name, None) is not None]
        if given:
            raise UsageError(f"{given[0]}: only with --replay")
        return
    if args.handler is not _run_main:
        raise UsageError("--replay: not with a subcommand (it opens the console)")
    refused: tuple[tuple[str, bool], ...] = (
        ("--serve-metrics", args.serve_metrics), ("--demo", args.demo),
        ("--target", bool(args.targets)), ("--prometheus", args.prometheus is not None))
    for flag, present in refused:
        if present:
            raise UsageError(f"--replay: not with {flag} (a replay plays local storage in "
                             "the console)")


def replay_speed(text: str) -> float:
    """The `--speed` given, within its bounds."""
    try:
        speed = float(text)
    except ValueError:
        speed = math.nan
    if not (math.isfinite(speed) and MIN_SPEED <= speed <= MAX_SPEED):
        raise UsageError(f"--speed {text[:40]!r}: must be a number from {MIN_SPEED:g} to "
                         f"{MAX_SPEED:g}")
    return speed


def replay_time(flag: str, text: str, now: float) -> float:
    """The unix time a `--from` or `--to` names: ISO 8601, unix seconds, or a duration back
    from `now` with or without its minus sign (`-3h`, `3h`). A bad value is named as typed."""
    from neural_tui.alerts_report import MAX_SINCE_SECONDS, parse_since

    stripped = text.strip()
    shown = repr(stripped[:40])
    back = stripped[1:] if stripped.startswith("-") else stripped
    try:
        seconds = parse_duration(back)
        if seconds is None:
            return parse_since(stripped, now, flag=flag)
    except UsageError:
        raise UsageError(f"{flag} {shown}: not a time back from now (-3h, -1d12h), an ISO time "
                         "(2026-11-30T14:00:00Z; no zone: UTC) or unix seconds") from None
    except (OverflowError, ValueError, OSError):
        raise UsageError(f"{flag} {shown}: not a time neural-tui can read") from None
    if seconds > MAX_SINCE_SECONDS:
        raise UsageError(f"{flag} {shown}: at most 3650d back")
    return now - seconds


def _run_replay(args: argparse.Namespace, settings: Settings) -> int:
    from neural_tui.console import open_replay

    now = time.time()
    start = None if args.replay_from is None else replay_time("--from", args.replay_from, now)
    end = None if args.replay_to is None else replay_time("--to", args.replay_to, now)
    speed = DEFAULT_SPEED if args.speed is None else replay_speed(args.speed)
    return open_replay(settings, settings.storage.path, start=start, end=end, speed=speed)


def _run_main(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    if args.replay:
        return _run_replay(args, settings)
    if args.serve_metrics:
        from neural_tui.headless import serve

        if args.prometheus is not None:
            raise UsageError("--prometheus: not with --serve-metrics, which exports local "
                             "models and the state of the targets only (the console, status "
                             "and health read Prometheus)")

        _log_to_stderr(args.log_level or "INFO")
        return serve(settings, demo=args.demo)
    from neural_tui.console import open_console

    return open_console(settings, demo=args.demo)


def _log_to_stderr(level: str) -> None:
    """Log lines on stderr, with any control character from log content made visible."""
    handler = logging.StreamHandler()
    handler.setFormatter(PlainFormatter(LOG_FORMAT))
    logging.basicConfig(level=level, handlers=[handler], force=True)


def _run_init(args: argparse.Namespace) -> int:
    from neural_tui.starter import write_starter

    written = write_starter(
        args.output,
        model_name=args.model_name,
        model_version=args.model_version,
        storage=args.storage or Path("monitoring_data"),
        force=args.force,
    )
    if args.json:
        print(json.dumps({"config": str(written.config), "storage": str(written.storage)}))
    else:
        print(f"wrote {written.config}; records go to {written.storage}/predictions/")
    return EXIT_OK


def _run_status(args: argparse.Namespace) -> int:
    from neural_tui.reports import print_status

    return print_status(settings_from(args), model=args.model, as_json=args.json)


def _run_health(args: argparse.Namespace) -> int:
    from neural_tui.reports import print_health

    return print_health(settings_from(args), model=args.model, as_json=args.json)


def _run_slo(args: argparse.Namespace) -> int:
    from neural_tui.slo_report import print_slo

    return print_slo(settings_from(args), model=args.model, as_json=args.json)


def _run_drift(args: argparse.Namespace) -> int:
    from neural_tui.reports import print_drift

    return print_drift(settings_from(args), model=args.model, as_json=args.json,
                       reference=args.reference, fail_on_drift=args.fail_on_drift)


def _run_quality(args: argparse.Namespace) -> int:
    from neural_tui.reports import print_quality

    return print_quality(settings_from(args), model=args.model, as_json=args.json,
                         reference=args.reference)


def _run_rules(args: argparse.Namespace) -> int:
    from neural_tui.prometheus_rules import print_rules

    return print_rules(settings_from(args))


def _run_alerts(args: argparse.Namespace) -> int:
    from neural_tui.alerts_report import print_alerts

    return print_alerts(settings_from(args), model=args.model, as_json=args.json,
                        severities=args.severity, since=args.since)


def _run_alerts_silence(args: argparse.Namespace) -> int:
    from neural_tui.alerts.silencing import login_name
    from neural_tui.alerts_report import silence_alerts

    return silence_alerts(settings_from(args), rule=args.rule, model=args.model, slo=args.slo,
                          duration=args.duration, comment=args.comment,
                          author=args.author if args.author is not None else login_name(),
                          as_json=args.json)


def _run_alerts_unsilence(args: argparse.Namespace) -> int:
    from neural_tui.alerts_report import unsilence_alerts

    return unsilence_alerts(settings_from(args), silence_id=args.silence_id, as_json=args.json)


def _run_alerts_test(args: argparse.Namespace) -> int:
    from neural_tui.alerts_report import test_channel

    return test_channel(settings_from(args), channel=args.channel, as_json=args.json)


def _run_dashboard(args: argparse.Namespace) -> int:
    from neural_tui.dashboard import dashboard, serve_dashboard

    host = _dashboard_host(DASHBOARD_HOST if args.host is None else args.host)
    port = DASHBOARD_PORT if args.port is None else port_number(
        args.port, DASHBOARD_PORTS, " (not 0: the URL to open is printed)")
    settings = settings_from(args)
    board = dashboard(host, port, _console_args(args),
                      readonly=settings.console.readonly, allow_writes=args.allow_writes)
    return serve_dashboard(board)


HOST_LENGTH = 253
"""The longest host name DNS allows."""


def _dashboard_host(host: str) -> str:
    """The host to bind, once checked to be one a browser can be told: named (empty would
    bind every interface and print `http://:8052/`), and without spaces or control characters
    (a resolver may read `127.0.0.1 x` as `127.0.0.1`; the URL printed would not). An IPv6
    address may be written as in a URL, `[::1]`."""
    if not host.strip():
        raise UsageError("--host '': name an address (0.0.0.0 or :: for every interface)")
    if len(host) > HOST_LENGTH or any(c.isspace() or not c.isprintable() for c in host):
        raise UsageError(f"--host {host[:40]!r}: not an address or a host name (no spaces or "
                         f"control characters, at most {HOST_LENGTH} characters)")
    if host.startswith("[") and host.endswith("]"):
        return host[1:-1]
    return host


def _console_args(args: argparse.Namespace) -> list[str]:
    """The console's flags as given to `dashboard`, for each browser tab's console."""
    argv: list[str] = []
    for flag, value in (("--config", args.config), ("--storage", args.storage),
                        ("--prometheus", getattr(args, "prometheus", None)),
                        ("--theme", args.theme), ("--color", args.color),
                        ("--refresh", args.refresh)):
        if value is not None:
            argv += [flag, str(value)]
    for url in [*args.targets, *getattr(args, "targets_after", [])]:
        argv += ["--target", url]
    for flag, on in (("--demo", getattr(args, "demo", False)), ("--ascii", args.ascii),
                     ("--readonly", args.readonly)):
        if on:
            argv.append(flag)
    return argv


_FLEET_HANDLERS = (_run_main, _run_status, _run_dashboard, _run_health)
"""The handlers of `FLEET_COMMANDS`."""

CONSOLE_FLAGS = (("--demo", "demo"), ("--host", "host"), ("--port", "port"),
                 ("--theme", "theme"), ("--color", "color"), ("--ascii", "ascii"),
                 ("--readonly", "readonly"), ("--refresh", "refresh"))
"""Flags read by the console, `--serve-metrics` and `dashboard` only."""
HEADLESS_FLAGS = (("--serve-metrics", "serve_metrics"), ("--log-level", "log_level"))
"""Flags read without a subcommand only."""


def _check_flags_read(args: argparse.Namespace) -> None:
    """A flag given before a subcommand that has no use for it is refused, never dropped."""
    if args.handler is _run_main:
        return
    command = args.handler.__name__.removeprefix("_run_").replace("_", " ")
    refused = HEADLESS_FLAGS if args.handler is _run_dashboard else HEADLESS_FLAGS + CONSOLE_FLAGS
    for flag, name in refused:
        if getattr(args, name, None) not in (None, False):
            where = "without a subcommand" if (flag, name) in HEADLESS_FLAGS \
                else "without a subcommand, or with dashboard"
            raise UsageError(f"{flag}: not with {command} (only {where})")


if __name__ == "__main__":
    raise SystemExit(main())
