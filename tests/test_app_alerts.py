"""The console's alerts, driven through Pilot with hand-built alert views: the overview's feed
and its count, the firing alerts under a model's panel, the alerts screen and its detail, and
the acknowledge, silence and lift-silence keys, which never hold the console up."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from typing import Any

import pytest
from alert_views import alert_entry, alerts_view, delivery, silence
from console_view import open_screen, panel_named, rendered, screen_lines, screen_text, table_keys
from factories import FIXED_TIME, model_snapshot, snapshot
from fake_alerting import FakeAlerting
from fake_feed import FakeFeed
from textual.app import App
from textual.color import Color
from textual.widgets import Input, Label

from neural_tui.alerts.view import AlertsView
from neural_tui.app.app import NeuralTuiApp
from neural_tui.screens.alerts import AlertsScreen
from neural_tui.screens.overview import OverviewScreen
from neural_tui.screens.silence import SilenceScreen
from neural_tui.widgets.alert_detail import AlertDetail
from neural_tui.widgets.alert_feed import FEED_ROWS, AlertFeed

USER = "dana"


def console(alerting: FakeAlerting, *models: str, keys: dict[str, str] | None = None
            ) -> NeuralTuiApp:
    names = models or ("fraud-detector", "churn")
    feed = FakeFeed(snapshot(*(model_snapshot(name) for name in names)))
    return NeuralTuiApp(feed, alerts=alerting.provide, alert_commands=alerting, user=USER,
                        keys=keys)


def run(app: NeuralTuiApp) -> Any:
    """`app.run_test` at 100x30, with the toasts that report on a command shown."""
    return app.run_test(size=(100, 30), notifications=True)


def incident() -> AlertsView:
    """A warning firing for 12 minutes, a critical for one, a pending one, a resolved one."""
    return alerts_view(
        alert_entry("drift_high", summary="drift 0.31 above 0.2", values={"drift_score": 0.31},
                    deliveries=(delivery("oncall-slack", "sent"),
                                delivery("mail", "retrying", attempts=3,
                                         detail="connection refused"))),
        alert_entry("p95_latency", severity="critical", since=FIXED_TIME - 60),
        alert_entry("error_rate", model="churn", state="pending", since=FIXED_TIME - 30),
        resolved=(alert_entry("quality_low", state="resolved", since=FIXED_TIME - 3000,
                              starts_at=FIXED_TIME - 4000, ends_at=FIXED_TIME - 3000),),
    )


def feed_text(app: App[Any]) -> str:
    return rendered(app, app.screen.query_one(AlertFeed))


def line_with(app: App[Any], text: str) -> str:
    return next(line for line in screen_lines(app) if text in line)


def foreground_of(app: App[Any], text: str) -> Color | None:
    """The colour the screen draws `text` in (the first segment that holds it)."""
    for strip in app.screen._compositor.render_strips():
        for segment in strip:
            if text in segment.text and segment.style is not None and segment.style.color:
                return Color.from_rich_color(segment.style.color)
    return None


def notified(app: App[Any]) -> str:
    """The text of the toasts on screen, their wrapped lines joined again."""
    parts = [line.split("▌", 1)[1] for line in screen_lines(app) if "▌" in line]
    return " ".join(" ".join(parts).split())


async def wait_for(pilot: Any, condition: Any) -> None:
    """Let the console run until `condition()` holds (a command finishes in its thread)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        await pilot.pause(0.02)
        if condition():
            return
    raise AssertionError("the console never got there")


# --- the overview's feed --------------------------------------------------------------------


async def test_the_feed_lists_firing_then_pending_then_resolved_alerts_newest_first() -> None:
    """The pending error_rate alert is the newest, yet the firing ones come before it."""
    async with run(console(FakeAlerting(incident()))) as pilot:
        await pilot.pause()
        lines = feed_text(pilot.app).splitlines()
        assert "ALERTS  2 firing (1 critical, 1 warning) · 1 pending" in lines[0]
        order = [name for line in lines[1:] for name in
                 ("error_rate", "p95_latency", "drift_high", "quality_low") if name in line]
        assert order == ["p95_latency", "drift_high", "error_rate", "quality_low"]
        assert "CRIT  firing    p95_latency · fraud-detector · 1m" in lines[1]
        assert "drift 0.31 above 0.2" in lines[2]
        assert "WARN  resolved  quality_low · fraud-detector · 50m" in lines[4]


def near(color: Color | None, theme_color: str | None) -> bool:
    """Within a few steps of the theme's colour (the panel background is blended in)."""
    assert color is not None and theme_color is not None
    expected = Color.parse(theme_color)
    return abs(color.r - expected.r) + abs(color.g - expected.g) + abs(color.b - expected.b) < 8


async def test_the_feed_colours_each_alert_by_its_severity_and_mutes_the_quiet_ones() -> None:
    async with run(console(FakeAlerting(incident()))) as pilot:
        await pilot.pause()
        theme = pilot.app.current_theme
        assert near(foreground_of(pilot.app, "CRIT  firing"), theme.error)
        assert near(foreground_of(pilot.app, "WARN  firing"), theme.warning)
        resolved = foreground_of(pilot.app, "WARN  resolved")
        assert not near(resolved, theme.error)
        assert not near(resolved, theme.warning)


async def test_the_feed_shows_the_newest_few_and_says_how_many_more_there_are() -> None:
    many = alerts_view(*(alert_entry(f"rule_{i}", since=FIXED_TIME - i) for i in range(8)))
    async with run(console(FakeAlerting(many))) as pilot:
        await pilot.pause()
        text = feed_text(pilot.app)
        assert [f"rule_{i} " in text for i in range(8)] == [True] * FEED_ROWS + [False] * 3
        assert "… 3 more: press a for every alert" in text


async def test_with_nothing_firing_the_feed_says_so() -> None:
    async with console(FakeAlerting(alerts_view())).run_test() as pilot:
        await pilot.pause()
        assert "ALERTS  no alerts firing" in feed_text(pilot.app)


async def test_without_alerting_there_is_no_feed_and_no_alerts_key() -> None:
    feed = FakeFeed(snapshot(model_snapshot("churn")))
    async with NeuralTuiApp(feed).run_test() as pilot:
        await pilot.pause()
        assert not pilot.app.screen.query_one(AlertFeed).display
        assert "ALERTS" not in screen_text(pilot.app)
        assert "Alerts" not in screen_lines(pilot.app)[-1]
        await pilot.press("a")
        await pilot.pause()
        assert isinstance(pilot.app.screen, OverviewScreen)


async def test_a_newly_published_view_reaches_the_feed_without_a_new_snapshot() -> None:
    alerting = FakeAlerting(alerts_view())
    async with console(alerting).run_test() as pilot:
        await pilot.pause()
        alerting.view = incident()
        await wait_for(pilot, lambda: "2 firing" in feed_text(pilot.app))


# --- a model's panel ------------------------------------------------------------------------


async def test_a_panel_shows_its_models_firing_alerts_worst_first_and_takes_their_colour(
) -> None:
    async with console(FakeAlerting(incident())).run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        fraud = panel_named(pilot.app, "fraud-detector")
        assert "● 2 firing: p95_latency, drift_high" in rendered(pilot.app, fraud)
        assert fraud.has_class("-alert-critical")
        churn = panel_named(pilot.app, "churn")
        assert "firing" not in rendered(pilot.app, churn)
        assert not churn.has_class("-alert-warning")


async def test_a_panel_loses_its_alerts_once_they_resolve() -> None:
    alerting = FakeAlerting(incident())
    async with console(alerting).run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        alerting.view = alerts_view(resolved=incident().current)
        pilot.app.poll_alerts()
        await pilot.pause()
        fraud = panel_named(pilot.app, "fraud-detector")
        assert "firing" not in rendered(pilot.app, fraud)
        assert not fraud.has_class("-alert-critical")


# --- the alerts screen ----------------------------------------------------------------------


async def open_alerts(pilot: Any) -> AlertsScreen:
    return await open_screen(pilot, "a", AlertsScreen)


async def test_a_opens_every_alert_current_first_then_resolved_each_newest_first() -> None:
    async with run(console(FakeAlerting(incident()))) as pilot:
        await open_alerts(pilot)
        rows = [key.split(":")[0] for key in table_keys(pilot.app)]
        assert rows == ["current", "current", "current", "resolved"]
        names = [line_with(pilot.app, name) for name in
                 ("error_rate", "p95_latency", "drift_high", "quality_low")]
        assert [screen_lines(pilot.app).index(line) for line in names] == sorted(
            screen_lines(pilot.app).index(line) for line in names)
        assert "Alerts · 2 firing (1 critical, 1 warning) · 1 pending" in screen_text(pilot.app)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(pilot.app.screen, OverviewScreen)


async def test_the_detail_shows_labels_values_since_and_every_notification_with_its_outcome(
) -> None:
    async with console(FakeAlerting(incident())).run_test(size=(100, 40)) as pilot:
        await open_alerts(pilot)
        await pilot.press("down", "down")
        await pilot.pause()
        detail = rendered(pilot.app, pilot.app.screen.query_one(AlertDetail))
        assert "drift_high · fraud-detector · WARN · firing for 12m" in detail
        assert "(since 2025-12-31 23:48:00 UTC)" in detail
        assert "labels: alertname=drift_high, model=fraud-detector, severity=warning" in detail
        assert "values: drift_score=0.31" in detail
        assert "oncall-slack  sent  2025-12-31 23:48:20 UTC  1 attempt" in detail
        assert "mail  retrying  2025-12-31 23:48:20 UTC  3 attempts  connection refused" in detail


async def test_the_detail_says_who_silenced_an_alert_until_when_and_why() -> None:
    view = alerts_view(alert_entry(silenced_by="s-1", acknowledged_by="sam"),
                       silences=(silence("s-1"),))
    async with console(FakeAlerting(view)).run_test(size=(100, 40)) as pilot:
        await open_alerts(pilot)
        detail = rendered(pilot.app, pilot.app.screen.query_one(AlertDetail))
        assert "silenced by s-1 until 2026-01-01 01:50:00 UTC (dana: retraining tonight)" in (
            detail)
        assert "acknowledged by sam" in detail
        assert "silenced" in line_with(pilot.app, "drift_high")


async def test_a_resolved_alert_shows_when_it_ended() -> None:
    async with console(FakeAlerting(incident())).run_test(size=(100, 40)) as pilot:
        await open_alerts(pilot)
        await pilot.press("down", "down", "down")
        await pilot.pause()
        detail = rendered(pilot.app, pilot.app.screen.query_one(AlertDetail))
        assert "started 2025-12-31 22:53:20 UTC · ended 2025-12-31 23:10:00 UTC" in detail
        assert "notifications: none sent yet" in detail


async def test_the_alerts_screen_follows_new_views_and_keeps_the_cursor_on_its_alert() -> None:
    alerting = FakeAlerting(incident())
    async with console(alerting).run_test(size=(100, 40)) as pilot:
        screen = await open_alerts(pilot)
        await pilot.press("down", "down")
        await pilot.pause()
        selected = screen.selected_entry
        assert selected is not None
        newer = alert_entry("newest", since=FIXED_TIME - 1)
        alerting.view = replace(incident(), current=(newer, *incident().current))
        pilot.app.poll_alerts()
        await pilot.pause()
        assert "newest" in screen_text(pilot.app)
        assert screen.selected_entry is not None
        assert screen.selected_entry.alert.labels["alertname"] == "drift_high"


async def test_with_no_alert_at_all_the_screen_says_where_they_will_appear() -> None:
    async with console(FakeAlerting(alerts_view())).run_test() as pilot:
        await open_alerts(pilot)
        assert "No alerts yet: rules fire here, newest first." in screen_text(pilot.app)


# --- acknowledge, silence, lift a silence ---------------------------------------------------


async def test_a_acknowledges_the_selected_alert_signed_by_the_user() -> None:
    alerting = FakeAlerting(incident())
    async with run(console(alerting)) as pilot:
        screen = await open_alerts(pilot)
        await pilot.press("down")
        await pilot.pause()
        fingerprint = screen.selected_entry.alert.fingerprint  # type: ignore[union-attr]
        await pilot.press("a")
        await wait_for(pilot, lambda: alerting.calls)
        assert alerting.calls == [("acknowledge", fingerprint, USER)]


async def test_a_slow_command_never_holds_the_console_up() -> None:
    gate = threading.Event()
    alerting = FakeAlerting(incident(), gate=gate)
    async with run(console(alerting)) as pilot:
        await open_alerts(pilot)
        await pilot.press("a")
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(pilot.app.screen, OverviewScreen)
        assert alerting.calls == []
        gate.set()
        await wait_for(pilot, lambda: alerting.calls)


async def test_a_failing_command_is_reported_and_the_console_goes_on() -> None:
    alerting = FakeAlerting(incident(), fail="disk full")
    async with run(console(alerting)) as pilot:
        await open_alerts(pilot)
        await pilot.press("a")
        await wait_for(pilot, lambda: "disk full" in notified(pilot.app))
        assert "acknowledged error_rate failed: disk full" in notified(pilot.app)
        assert pilot.app.is_running


async def test_a_resolved_alert_cannot_be_acknowledged() -> None:
    alerting = FakeAlerting(incident())
    async with run(console(alerting)) as pilot:
        await open_alerts(pilot)
        await pilot.press("down", "down", "down", "a")
        await pilot.pause(0.1)
        assert alerting.calls == []
        assert "Select a firing or pending alert to acknowledge." in notified(pilot.app)


async def silence_dialog(pilot: Any, *downs: str) -> SilenceScreen:
    await open_alerts(pilot)
    await pilot.press(*downs, "s")
    await pilot.pause()
    dialog = pilot.app.screen
    assert isinstance(dialog, SilenceScreen)
    return dialog


async def test_s_silences_the_rule_on_the_model_for_the_duration_with_the_comment() -> None:
    alerting = FakeAlerting(incident())
    async with run(console(alerting)) as pilot:
        await silence_dialog(pilot, "down", "down")
        assert "alerts matching alertname=drift_high, model=fraud-detector" in screen_text(
            pilot.app)
        duration = pilot.app.screen.query_one("#silence-duration", Input)
        duration.value = "90m"
        await pilot.press(*"retraining")
        await pilot.press("enter")
        await wait_for(pilot, lambda: alerting.calls)
        assert alerting.calls == [("silence", {"alertname": "drift_high",
                                               "model": "fraud-detector"},
                                   5400, "retraining", USER)]
        assert isinstance(pilot.app.screen, AlertsScreen)


async def test_silencing_an_slo_burn_alert_mutes_that_slo_only() -> None:
    burn = alert_entry("slo_burn_rate", severity="critical",
                       labels={"slo": "availability", "long_window": "1h"})
    alerting = FakeAlerting(alerts_view(burn))
    async with run(console(alerting)) as pilot:
        await silence_dialog(pilot)
        await pilot.press(*"known", "enter")
        await wait_for(pilot, lambda: alerting.calls)
        await wait_for(pilot, lambda: "silenced" in notified(pilot.app))
        assert "silenced slo_burn_rate availability for 2h" in notified(pilot.app)
    assert alerting.calls[0][1] == {"alertname": "slo_burn_rate", "model": "fraud-detector",
                                    "slo": "availability"}


async def test_the_detail_names_the_slo_a_silence_mutes() -> None:
    burn = alert_entry("slo_burn_rate", severity="critical", silenced_by="s-1",
                       labels={"slo": "availability[/]\x1b[31m"})
    view = alerts_view(burn, silences=(silence("s-1", matchers={
        "slo": "availability[/]\x1b[31m", "model": "fraud-detector"}),))
    async with console(FakeAlerting(view)).run_test(size=(120, 40)) as pilot:
        await open_alerts(pilot)
        detail = rendered(pilot.app, pilot.app.screen.query_one(AlertDetail))
        assert ("silenced by s-1 on SLO availability[/]\u241b[31m until 2026-01-01 01:50:00 UTC "
                "(dana: retraining tonight)") in detail


@pytest.mark.parametrize(("duration", "comment", "error"), [
    ("soon", "why", "duration 'soon' is not like 2h, 90m or 1d12h"),
    ("0m", "why", "the duration must be from 1m to 90d"),
    ("9" * 400 + "d", "why", "is not like 2h, 90m or 1d12h"),
    ("2h", "   ", "a silence needs a comment saying why"),
])
async def test_a_wrong_duration_or_a_missing_comment_keeps_the_dialog_open_and_says_why(
    duration: str, comment: str, error: str
) -> None:
    alerting = FakeAlerting(incident())
    async with run(console(alerting)) as pilot:
        dialog = await silence_dialog(pilot)
        dialog.query_one("#silence-duration", Input).value = duration
        dialog.query_one("#silence-comment", Input).value = comment
        await pilot.press("enter")
        await pilot.pause()
        assert pilot.app.screen is dialog
        assert error in str(dialog.query_one("#silence-error", Label).render())
        assert alerting.calls == []


async def test_escape_closes_the_silence_dialog_without_silencing() -> None:
    alerting = FakeAlerting(incident())
    async with run(console(alerting)) as pilot:
        await silence_dialog(pilot)
        await pilot.press(*"oops", "escape")
        await pilot.pause(0.1)
        assert isinstance(pilot.app.screen, AlertsScreen)
        assert alerting.calls == []


async def test_u_lifts_the_silence_of_a_silenced_alert() -> None:
    alerting = FakeAlerting(alerts_view(alert_entry(silenced_by="s-1"), silences=(silence(),)))
    async with run(console(alerting)) as pilot:
        await open_alerts(pilot)
        await pilot.press("u")
        await wait_for(pilot, lambda: alerting.calls)
        assert alerting.calls == [("unsilence", "s-1")]
        await wait_for(pilot, lambda: "lifted silence s-1" in notified(pilot.app))


async def test_u_on_an_alert_without_a_silence_asks_nothing() -> None:
    alerting = FakeAlerting(incident())
    async with run(console(alerting)) as pilot:
        await open_alerts(pilot)
        await pilot.press("u")
        await pilot.pause(0.1)
        assert alerting.calls == []
        assert "The selected alert is not silenced." in notified(pilot.app)


async def test_a_silence_that_is_already_gone_is_reported_as_not_lifted() -> None:
    alerting = FakeAlerting(alerts_view(alert_entry(silenced_by="s-9")), unsilence_finds=False)
    async with run(console(alerting)) as pilot:
        await open_alerts(pilot)
        await pilot.press("u")
        await wait_for(pilot, lambda: "lifted silence s-9 failed: no active silence s-9" in
                       notified(pilot.app))


async def test_the_alert_keys_follow_the_configured_keymap() -> None:
    alerting = FakeAlerting(incident())
    keys = {"app.alerts": "exclamation_mark", "alerts.acknowledge": "y"}
    async with run(console(alerting, keys=keys)) as pilot:
        await pilot.pause()
        await pilot.press("a")
        await pilot.pause()
        assert isinstance(pilot.app.screen, OverviewScreen)
        await pilot.press("exclamation_mark")
        await pilot.pause()
        assert isinstance(pilot.app.screen, AlertsScreen)
        await pilot.press("y")
        await wait_for(pilot, lambda: alerting.calls)
        assert alerting.calls[0][0] == "acknowledge"


# --- untrusted text -------------------------------------------------------------------------

HOSTILE = ["[bold red]x[/]", "\x1b[31mred", "\x1b]0;pwned\x07", "\x9b2J", "[link=http://e]y"]


def visible(text: str) -> str:
    return (text.replace("\x1b", "\u241b").replace("\x07", "\u2407")
            .replace("\x9b", "<U+009B>"))


@pytest.mark.parametrize("hostile", HOSTILE)
async def test_hostile_labels_values_and_summaries_are_shown_literally_everywhere(
    hostile: str
) -> None:
    paging = alert_entry(hostile, model=hostile, summary=hostile, since=FIXED_TIME - 900)
    muted = alert_entry("muted", model=hostile, labels={hostile: hostile}, values={hostile: 1.0},
                        silenced_by=hostile, deliveries=(delivery(hostile, detail=hostile),))
    view = alerts_view(paging, muted,
                       silences=(silence(hostile, comment=hostile, author=hostile),))
    alerting = FakeAlerting(view)
    async with console(alerting, hostile).run_test(size=(160, 50)) as pilot:
        await pilot.pause()
        overview = "".join(seg.text for strip in pilot.app.screen._compositor.render_strips()
                           for seg in strip)
        await open_alerts(pilot)
        alerts = "".join(seg.text for strip in pilot.app.screen._compositor.render_strips()
                         for seg in strip)
        await pilot.press("s")
        await pilot.pause()
        dialog = "".join(seg.text for strip in pilot.app.screen._compositor.render_strips()
                         for seg in strip)
        for text in (overview, alerts, dialog):
            assert not any(char in text for char in "\x1b\x07\x9b")
        assert visible(hostile) in overview
        assert f"● 1 firing: {visible(hostile)}" in overview
        assert f"values: {visible(hostile)}=1" in alerts
        assert f"({visible(hostile)}: {visible(hostile)})" in alerts
        assert f"model={visible(hostile)}" in dialog


def test_the_feed_says_nan_and_infinite_values_by_name() -> None:
    from neural_tui.app.alert_formatting import format_alert_value

    assert [format_alert_value(v) for v in (float("nan"), float("inf"), -float("inf"), 1e300,
                                            0.31)] == ["NaN", "inf", "-inf", "1e+300", "0.31"]


async def test_the_feed_names_the_slo_of_each_burn_alert() -> None:
    """Every SLO of a model shares the rule name `slo_burn_rate`: the SLO tells them apart."""
    burns = [alert_entry("slo_burn_rate", severity="critical", labels={"slo": name})
             for name in ("availability", "latency-250ms")]
    async with run(console(FakeAlerting(alerts_view(*burns)))) as pilot:
        await pilot.pause()
        text = feed_text(pilot.app)
    assert "slo_burn_rate availability" in text
    assert "slo_burn_rate latency-250ms" in text
