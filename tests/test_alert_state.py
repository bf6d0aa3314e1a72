"""The alerting's saved state: a restart neither pages again nor forgets a silence, history
read at start-up does not page for an incident that is over, and a damaged file costs only
itself."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import pytest

from neural_tui.alerts.engine import AlertEngine
from neural_tui.alerts.notification import Notification
from neural_tui.alerts.store import (
    delete_silence,
    read_saved_view,
    save_silence,
)
from neural_tui.alerts.view import Silence
from neural_tui.config import AlertRuleSection, AlertsSection, ChannelSection, Duration, Settings
from neural_tui.runtime.snapshot import IngestStats, ModelSnapshot, Snapshot
from tests.factories import model_snapshot

T0 = 1_767_225_600.0


class Outbox:
    def __init__(self) -> None:
        self.sent: list[Notification] = []

    def submit(self, notification: Notification) -> None:
        self.sent.append(notification)


def settings(**timing: Any) -> Settings:
    rule = AlertRuleSection(name="slow", when="p95_latency_ms > 500", channels=("pager",))
    return Settings(alerts=AlertsSection(
        rules=(rule,), channels={"pager": ChannelSection(type="file")},
        group_wait=Duration(30), group_interval=Duration(60),
        repeat_interval=Duration(3600), **timing))


def start(storage: Path, **timing: Any) -> tuple[AlertEngine, Outbox]:
    outbox = Outbox()
    alerting = AlertEngine(settings(**timing), storage, delivery=outbox, clock=lambda: T0)
    alerting.load()
    return alerting, outbox


def at(seconds: float, *models: ModelSnapshot, catching_up: bool = False) -> Snapshot:
    return Snapshot(generated_at=T0 + seconds, models=models, ingest=IngestStats(0, {}),
                    catching_up=catching_up)


def slow() -> ModelSnapshot:
    return model_snapshot("fraud", latency_p95_ms=800.0)


def fast() -> ModelSnapshot:
    return model_snapshot("fraud", latency_p95_ms=40.0)


def run(alerting: AlertEngine, start_at: float, stop: float, step: float,
        *models: ModelSnapshot, catching_up: bool = False) -> None:
    moment = start_at
    while moment <= stop:
        alerting.on_snapshot(at(moment, *models, catching_up=catching_up))
        moment += step


def fired_and_sent(storage: Path) -> None:
    first, outbox = start(storage)
    run(first, 0, 100, 10, slow())
    assert len(outbox.sent) == 1
    first.close()


def test_a_restart_with_the_condition_still_holding_does_not_page_again(tmp_path):
    fired_and_sent(tmp_path)
    second, outbox = start(tmp_path)
    run(second, 200, 200, 10, slow(), catching_up=True)
    run(second, 300, 3500, 10, slow())
    assert outbox.sent == []
    (entry,) = second.view.current
    assert (entry.state, entry.since) == ("firing", T0)


def test_a_restarted_engine_still_repeats_on_the_original_schedule(tmp_path):
    fired_and_sent(tmp_path)
    second, outbox = start(tmp_path)
    run(second, 300, 3700, 10, slow())
    assert [n.created_at - T0 for n in outbox.sent] == [3660], (
        "sent at 30: due again from 3630, sent at the group's first flush after it")


def test_an_alert_that_ended_while_down_is_resolved_after_the_restart(tmp_path):
    fired_and_sent(tmp_path)
    second, outbox = start(tmp_path)
    run(second, 300, 300, 10, slow(), catching_up=True)
    run(second, 400, 500, 10, fast())
    assert [(n.status, n.alerts[0].ends_at) for n in outbox.sent] == [("resolved", T0 + 400)]


def test_an_acknowledgement_survives_a_restart(tmp_path):
    first, _ = start(tmp_path)
    run(first, 0, 100, 10, slow())
    first.acknowledge(first.view.current[0].alert.fingerprint, "ana")
    first.close()
    second, outbox = start(tmp_path)
    run(second, 200, 8000, 10, slow())
    assert second.view.current[0].acknowledged_by == "ana"
    assert outbox.sent == []


def test_a_silence_survives_a_restart(tmp_path):
    first, _ = start(tmp_path)
    silence = first.silence({"alertname": "slow"}, 3600, "maintenance", "ana")
    first.close()
    second, outbox = start(tmp_path)
    assert second.view.silences == (silence,)
    run(second, 0, 600, 10, slow())
    assert outbox.sent == []
    assert second.view.current[0].silenced_by == silence.id


async def test_a_silence_written_by_another_process_is_picked_up_and_lifted(tmp_path,
                                                                            monkeypatch):
    import asyncio

    import neural_tui.alerts.engine as engine_module

    monkeypatch.setattr(engine_module, "SILENCES_RELOAD_SECONDS", 0.05)
    alerting, outbox = start(tmp_path)
    watching = asyncio.create_task(alerting.run(every_seconds=0.05))
    try:
        folder = tmp_path / "alerts"
        silence = Silence("cli0001", {"model": "fraud"}, T0, T0 + 3600, "from the CLI", "bob")
        await asyncio.to_thread(save_silence, folder, silence)
        deadline = time.monotonic() + 30
        while not alerting.view.silences and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        assert alerting.view.silences == (silence,)
        run(alerting, 0, 100, 10, slow())
        assert outbox.sent == []
        assert await asyncio.to_thread(delete_silence, folder, "cli0001")
        deadline = time.monotonic() + 30
        while alerting.view.silences and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        assert alerting.view.silences == ()
        run(alerting, 110, 200, 10, slow())
        assert len(outbox.sent) == 1
    finally:
        watching.cancel()


def test_history_read_at_start_up_does_not_page_for_an_incident_that_is_over(tmp_path):
    alerting, outbox = start(tmp_path)
    run(alerting, 0, 600, 10, slow(), catching_up=True)
    run(alerting, 610, 1000, 10, fast())
    assert outbox.sent == []
    assert alerting.view.current == ()
    assert alerting.view.resolved == ()


def test_a_condition_still_holding_once_caught_up_fires_once(tmp_path):
    alerting, outbox = start(tmp_path)
    run(alerting, 0, 600, 10, slow(), catching_up=True)
    run(alerting, 610, 1000, 10, slow())
    assert [n.created_at - T0 for n in outbox.sent] == [640]


@pytest.mark.parametrize("damage", [
    lambda text: text[: len(text) // 2],
    lambda text: "",
    lambda text: "\x00" * 100,
    lambda text: json.dumps({"format": 1, "alerts": "many"}),
    lambda text: json.dumps({"format": 99}),
    lambda text: json.dumps([1, 2, 3]),
    lambda text: text.replace('"fired_at":', '"fired_at":"soon","x":'),
    lambda text: "[" * 100_000,
])
def test_a_damaged_state_file_is_one_log_line_set_aside_and_a_fresh_start(tmp_path, caplog,
                                                                          damage):
    fired_and_sent(tmp_path)
    state = tmp_path / "alerts" / "state.json"
    state.write_text(damage(state.read_text()))
    caplog.set_level(logging.ERROR, logger="neural_tui.alerts")
    second, outbox = start(tmp_path)
    (line,) = [r.getMessage() for r in caplog.records]
    assert "state.json: cannot be read" in line
    assert "alerting starts afresh" in line
    assert (tmp_path / "alerts" / "state.json.corrupt").exists()
    assert second.view.current == ()
    run(second, 200, 300, 10, slow())
    assert len(outbox.sent) == 1


def test_a_damaged_silence_file_costs_only_that_silence(tmp_path, caplog):
    first, _ = start(tmp_path)
    kept = first.silence({"alertname": "slow"}, 3600, "", "ana")
    first.close()
    (tmp_path / "alerts" / "silences" / "broken.json").write_text("{not json")
    caplog.set_level(logging.ERROR, logger="neural_tui.alerts")
    second, _ = start(tmp_path)
    assert second.view.silences == (kept,)
    assert any("broken.json: cannot be read" in r.getMessage() for r in caplog.records)


def test_the_state_is_written_atomically_leaving_no_temporary_file(tmp_path):
    fired_and_sent(tmp_path)
    names = sorted(p.name for p in (tmp_path / "alerts").iterdir())
    assert names == ["state.json"]
    saved = json.loads((tmp_path / "alerts" / "state.json").read_text())
    assert [a["labels"]["alertname"] for a in saved["alerts"]] == ["slow"]
    assert [s["channel"] for s in saved["sent"]] == ["pager"]


def test_the_saved_view_lists_what_a_running_engine_saved(tmp_path):
    first, _ = start(tmp_path)
    run(first, 0, 100, 10, slow())
    silence = first.silence({"model": "fraud"}, 3600, "", "ana")
    run(first, 110, 120, 10, fast())
    run(first, 130, 140, 10, slow())
    first.close()
    view = read_saved_view(tmp_path, now=T0 + 150)
    assert [(e.state, e.since) for e in view.current] == [("firing", T0 + 130)]
    assert [e.alert.ends_at for e in view.resolved] == [T0 + 110]
    assert view.silences == (silence,)
    assert read_saved_view(tmp_path, now=T0 + 10_000).silences == ()


def test_the_saved_view_of_a_storage_without_alerts_is_empty(tmp_path):
    view = read_saved_view(tmp_path, now=T0)
    assert (view.current, view.resolved, view.silences) == ((), (), ())


def test_a_silence_id_cannot_name_a_path_outside_the_folder(tmp_path):
    outside = tmp_path / "precious.json"
    outside.write_text("{}")
    assert not delete_silence(tmp_path / "alerts", "../precious")
    assert outside.exists()
    with pytest.raises(ValueError):
        save_silence(tmp_path / "alerts", Silence("../x", {"a": "b"}, 0, 1, "", ""))


def test_an_ended_silence_is_forgotten_and_its_file_deleted(tmp_path):
    first, _ = start(tmp_path)
    silence = first.silence({"alertname": "slow"}, 60, "", "ana")
    first.close()
    folder = tmp_path / "alerts" / "silences"
    assert [p.name for p in folder.iterdir()] == [f"{silence.id}.json"]
    second, _ = start(tmp_path)
    run(second, 0, 70, 10, fast())
    assert second.view.silences == ()
    second.close()
    assert list(folder.iterdir()) == []


def test_a_silence_that_ended_while_down_is_not_loaded_and_its_file_goes(tmp_path):
    folder = tmp_path / "alerts"
    save_silence(folder, Silence("old1", {"model": "fraud"}, T0 - 7200, T0 - 3600, "", "bob"))
    alerting, _ = start(tmp_path)
    assert alerting.view.silences == ()
    alerting.close()
    assert list((folder / "silences").iterdir()) == []


def test_nothing_is_written_to_the_storage_while_nothing_fires(tmp_path):
    alerting, _ = start(tmp_path)
    run(alerting, 0, 100, 10, fast())
    alerting.close()
    assert not (tmp_path / "alerts").exists()


def test_an_engine_that_another_process_sends_for_never_writes_the_state(tmp_path):
    """A console beside the headless sender: what fires and what was sent is the sender's to
    save; the console's own view of it (it sent nothing) must not overwrite that."""
    fired_and_sent(tmp_path)
    saved = (tmp_path / "alerts" / "state.json").read_bytes()
    follower, _ = start(tmp_path)
    follower.writes_state = False
    run(follower, 200, 400, 10, fast())
    run(follower, 410, 600, 10, slow())
    follower.close()
    assert (tmp_path / "alerts" / "state.json").read_bytes() == saved
