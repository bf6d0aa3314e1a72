"""Alerting end to end: a real `neural-tui --serve-metrics` process pages through the file
channel once, says so in `neural_alerts_firing`, does not page again after a restart, and
resolves when the condition is over."""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from alert_receivers import HANG, HttpReceiver
from headless_storage import log_records, samples
from realservers import LOOPBACK, RealServer, free_port

NEURAL_TUI = str(Path(sys.executable).with_name("neural-tui"))

CONFIG = """
[storage]
path = "storage"
[runtime]
cadence_seconds = 0.2
window_seconds = {window}
[alerts]
group_wait = "0s"
group_interval = "1s"
[alerts.channels.log]
type = "file"
path = "pages.jsonl"
[[alerts.rules]]
name = "errors"
when = "error_rate > 0.1"
severity = "critical"
channels = ["log"]
summary = "{{model}} fails {{error_rate}} of requests"
"""


def serve(tmp_path: Path, window: int = 3600, name: str = "neural-tui"
          ) -> tuple[RealServer, str]:
    config = tmp_path / "neural-tui.toml"
    config.write_text(CONFIG.format(window=window))
    port = free_port()
    url = f"http://{LOOPBACK}:{port}"
    server = RealServer(name, [NEURAL_TUI, "--serve-metrics", "--config", str(config),
                                       "--port", str(port)], tmp_path, f"{url}/healthz")
    server.start(ready_timeout=60)
    return server, url


def pages(tmp_path: Path) -> list[dict]:
    path = tmp_path / "pages.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def wait_until(check, what: str, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}")


FIRING = ("neural_alerts_firing", (("model", "fraud"), ("rule", "errors"),
                                   ("severity", "critical")))


def test_a_failing_model_pages_once_through_the_file_channel_even_across_a_restart(tmp_path):
    log_records(tmp_path / "storage", "fraud", 20, errors=10)
    server, url = serve(tmp_path)
    try:
        (page,) = wait_until(lambda: pages(tmp_path), "the page")
        assert page["status"] == "firing"
        (alert,) = page["alerts"]
        assert alert["labels"]["alertname"] == "errors"
        assert alert["annotations"]["summary"] == "fraud fails 0.3333 of requests"
        wait_until(lambda: samples(httpx.get(f"{url}/metrics", timeout=5).text).get(FIRING)
                   == 1.0, "neural_alerts_firing 1")
    finally:
        server.stop()
    saved = json.loads((tmp_path / "storage" / "alerts" / "state.json").read_text())
    assert [a["labels"]["alertname"] for a in saved["alerts"]] == ["errors"]

    server, url = serve(tmp_path)
    try:
        wait_until(lambda: samples(httpx.get(f"{url}/metrics", timeout=5).text).get(FIRING)
                   == 1.0, "the alert firing again after the restart")
        # A live incident of another model: its page comes from an evaluation after the
        # restart, and a second page of fraud's would have been written before it.
        log_records(tmp_path / "storage", "churn", 20, errors=10)
        wait_until(lambda: len(pages(tmp_path)) >= 2, "churn's page")
        paged = [(p["status"], p["alerts"][0]["labels"]["model"]) for p in pages(tmp_path)]
        assert paged == [("firing", "fraud"), ("firing", "churn")], (
            "a restart must not page again")
    finally:
        server.stop()


SENT = ("neural_alert_notifications_total", (("channel", "log"), ("outcome", "sent")))


def test_two_processes_on_one_storage_page_once_and_the_other_says_it_sends_none(tmp_path):
    log_records(tmp_path / "storage", "fraud", 20, errors=10)
    first, first_url = serve(tmp_path, name="first")
    try:
        second, second_url = serve(tmp_path, name="second")
        try:
            for url in (first_url, second_url):
                wait_until(lambda url=url: samples(httpx.get(f"{url}/metrics", timeout=5).text)
                           .get(FIRING) == 1.0, "the alert firing in both processes")
            wait_until(lambda: pages(tmp_path), "the page")
            muted = [server for server in (first, second)
                     if "this one evaluates alerts, sends none" in server.log_path.read_text()]
            assert len(muted) == 1
            muted_url = first_url if muted[0] is first else second_url
            sent = samples(httpx.get(f"{muted_url}/metrics", timeout=5).text)[SENT]
        finally:
            second.stop()
    finally:
        first.stop()
    assert sent == 0.0
    assert [p["status"] for p in pages(tmp_path)] == ["firing"]


def test_an_incident_over_before_start_up_never_pages_and_a_new_one_resolves(tmp_path):
    log_records(tmp_path / "storage", "fraud", 20, errors=10)
    time.sleep(3.0)
    server, url = serve(tmp_path, window=2)
    try:
        wait_until(lambda: ("neural_predictions_total",
                            (("model", "fraud"), ("version", "1.0")))
                   in samples(httpx.get(f"{url}/metrics", timeout=5).text), "the history read")
        live_from = time.time()
        log_records(tmp_path / "storage", "fraud", 5, start=100, errors=5)
        wait_until(lambda: pages(tmp_path), "the page of the live incident")
        statuses = wait_until(lambda: [p["status"] for p in pages(tmp_path)]
                              if len(pages(tmp_path)) >= 2 else None, "the resolution")
        assert statuses == ["firing", "resolved"]
        started = datetime.fromisoformat(pages(tmp_path)[0]["alerts"][0]["startsAt"])
        assert started.timestamp() >= live_from - 1.0, "the incident of the history paged"
    finally:
        server.stop()


SLO_CONFIG = """
[storage]
path = "storage"
[runtime]
cadence_seconds = 0.2
[[slo]]
name = "availability"
type = "availability"
target = 0.99
window = "1h"
[alerts]
group_wait = "0s"
group_interval = "1s"
slo_channels = ["log"]
[alerts.channels.log]
type = "file"
path = "pages.jsonl"
"""


def test_an_slo_burning_its_budget_pages_through_the_slo_channels(tmp_path):
    log_records(tmp_path / "storage", "fraud", 30, errors=15)
    config = tmp_path / "neural-tui.toml"
    config.write_text(SLO_CONFIG)
    port = free_port()
    url = f"http://{LOOPBACK}:{port}"
    server = RealServer("neural-tui", [NEURAL_TUI, "--serve-metrics", "--config", str(config),
                                       "--port", str(port)], tmp_path, f"{url}/healthz")
    server.start(ready_timeout=60)
    try:
        found = wait_until(lambda: [a for p in pages(tmp_path) for a in p["alerts"]],
                           "the burn-rate page")
        labels = found[0]["labels"]
        assert (labels["alertname"], labels["slo"], labels["model"], labels["severity"]) == (
            "slo_burn_rate", "availability", "fraud", "critical")
        metrics = samples(httpx.get(f"{url}/metrics", timeout=5).text)
        assert metrics[("neural_alerts_firing", (("model", "fraud"), ("rule", "slo_burn_rate"),
                                                 ("severity", "critical")))] >= 1
    finally:
        server.stop()


HOOK_CONFIG = """
[storage]
path = "storage"
[runtime]
cadence_seconds = 0.2
[alerts]
group_wait = "0s"
group_interval = "1s"
[alerts.channels.hook]
type = "webhook"
url = "{url}"
timeout_seconds = 60
[[alerts.rules]]
name = "errors"
when = "error_rate > 0.1"
channels = ["hook"]
"""


def test_a_webhook_receiver_that_never_answers_does_not_slow_ingest(tmp_path):
    log_records(tmp_path / "storage", "fraud", 20, errors=10)
    with HttpReceiver(default=HANG) as receiver:
        config = tmp_path / "neural-tui.toml"
        config.write_text(HOOK_CONFIG.format(url=f"{receiver.url}/hook"))
        port = free_port()
        url = f"http://{LOOPBACK}:{port}"
        server = RealServer("neural-tui", [NEURAL_TUI, "--serve-metrics", "--config",
                                           str(config), "--port", str(port)],
                            tmp_path, f"{url}/healthz")
        server.start(ready_timeout=60)
        try:
            wait_until(lambda: receiver.count() == 1, "the page reaching the hung receiver")
            counted = ("neural_predictions_total", (("model", "fraud"), ("version", "1.0")))
            before = wait_until(lambda: samples(httpx.get(f"{url}/metrics", timeout=5).text)
                                .get(counted), "the history counted")
            for batch in range(1, 6):
                log_records(tmp_path / "storage", "fraud", 10, start=100 * batch)
                wait_until(lambda batch=batch: samples(
                    httpx.get(f"{url}/metrics", timeout=5).text).get(counted)
                    == before + 10 * batch,
                    f"batch {batch} counted while the receiver hangs", timeout=30)
            metrics = samples(httpx.get(f"{url}/metrics", timeout=5).text)
            hook_sent = ("neural_alert_notifications_total",
                         (("channel", "hook"), ("outcome", "sent")))
            assert metrics[hook_sent] == 0.0
        finally:
            server.stop()
