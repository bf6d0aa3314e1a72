"""`status` and `health` with real headless exporters as `--target`s, and a headless exporter
that polls targets: real processes on 127.0.0.1, real HTTP."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from headless_storage import log_records, samples
from realservers import LOOPBACK, RealServer, free_port, headless_server

NEURAL_TUI = str(Path(sys.executable).with_name("neural-tui"))
COMMAND_SECONDS = 60
"""A hang guard for a one-shot command, far above what it should take."""


def start_exporter(tmp_path: Path, name: str, model: str, n: int, errors: int = 0,
                   extra: tuple[str, ...] = ()) -> tuple[RealServer, str]:
    storage = tmp_path / name
    log_records(storage, model, n, errors=errors)
    server, url = headless_server(name, tmp_path, storage, *extra)
    server.start()
    wait_until(lambda: samples(httpx.get(f"{url}/metrics", timeout=5).text).get(
        ("neural_predictions_total", (("model", model), ("version", "1.0")))) == n + errors)
    return server, url


def wait_until(condition: Any) -> None:
    for _ in range(200):
        if condition():
            return
        time.sleep(0.1)
    pytest.fail("the exporter never got there")


@pytest.fixture(scope="module")
def exporters(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """Two headless exporters fed different traffic: fraud 120 + 4 errors, churn 30 (read
    only, so the tests share them)."""
    tmp_path = tmp_path_factory.mktemp("exporters")
    first, first_url = start_exporter(tmp_path, "host-a", "fraud", 120, errors=4)
    try:
        second, second_url = start_exporter(tmp_path, "host-b", "churn", 30)
        try:
            yield first_url, second_url
        finally:
            second.stop()
    finally:
        first.stop()


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections (the kernel completes them) and never answers."""
    listener = socket.socket()
    listener.bind((LOOPBACK, 0))
    listener.listen(16)
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()


def run(tmp_path: Path, *argv: str) -> tuple[int, Any]:
    done = subprocess.run([NEURAL_TUI, *argv], cwd=tmp_path,
                          capture_output=True, text=True, timeout=COMMAND_SECONDS, check=False)
    return done.returncode, json.loads(done.stdout)


def test_status_over_two_real_exporters_gives_each_ones_totals(tmp_path, exporters):
    first, second = exporters
    code, out = run(tmp_path, "status", "--json", "--target", f"{first}/metrics",
                    "--target", f"{second}/metrics")
    assert code == 0
    models = {(m["name"], m["source"]): m for m in out["models"]}
    fraud = models[("fraud", f"target {first.removeprefix('http://')}")]
    churn = models[("churn", f"target {second.removeprefix('http://')}")]
    assert (fraud["predictions_total"], fraud["errors_total"]) == (124, {"timeout": 4})
    assert (churn["predictions_total"], churn["errors_total"]) == (30, {})
    assert fraud["throughput_rps"] is None  # one scrape: no rate yet
    assert [t["up"] for t in out["targets"]] == [True, True]
    assert out["storage"] is None


def test_health_with_a_real_exporter_and_a_refused_port_names_the_down_target(tmp_path,
                                                                            exporters):
    first, _ = exporters
    closed = free_port()
    code, out = run(tmp_path, "health", "--json", "--target", f"{first}/metrics",
                    "--target", f"http://{LOOPBACK}:{closed}/metrics")
    assert code == 1
    (down,) = (t for t in out["targets"] if not t["up"])
    assert down["target"] == f"{LOOPBACK}:{closed}"
    assert down["detail"].startswith(f"target {LOOPBACK}:{closed} down: cannot connect")
    assert out["problems"] == [down["detail"]]
    assert [(m["name"], m["healthy"]) for m in out["models"]] == [("fraud", True)]


def test_health_does_not_hang_on_a_target_that_never_answers(tmp_path, exporters,
                                                            silent_port):
    first, _ = exporters
    config = tmp_path / "neural-tui.toml"
    config.write_text(f"[[targets]]\nurl = 'http://{LOOPBACK}:{silent_port}/metrics'\n"
                      "name = 'silent'\ntimeout = 1\n", encoding="utf-8")
    code, out = run(tmp_path, "health", "--json", "--config", str(config),
                    "--target", f"{first}/metrics")
    assert code == 1
    assert out["problems"] == ["target silent down: timed out after 1 s"]
    assert sorted((t["target"], t["up"]) for t in out["targets"]) == [
        (first.removeprefix("http://"), True), ("silent", False)]


def test_a_headless_exporter_polls_its_targets_and_healthz_lists_them_without_failing(
        tmp_path, exporters):
    first, _ = exporters
    closed = free_port()
    server, url = start_exporter(tmp_path, "poller", "local", 5, extra=(
        "--target", f"{first}/metrics", "--target", f"http://{LOOPBACK}:{closed}/metrics"))
    try:
        def both_polled() -> bool:
            return len(httpx.get(f"{url}/healthz", timeout=5).json()["targets"]) == 2

        wait_until(both_polled)
        answer = httpx.get(f"{url}/healthz", timeout=5)
        metrics = samples(httpx.get(f"{url}/metrics", timeout=5).text)
    finally:
        server.stop()
    assert answer.status_code == 200
    body = answer.json()
    assert body["status"] == "ok"
    assert sorted((t["name"], t["up"]) for t in body["targets"]) == sorted([
        (first.removeprefix("http://"), True), (f"{LOOPBACK}:{closed}", False)])
    assert {labels: value for (name, labels), value in metrics.items()
            if name == "neural_target_up"} == {
        (("target", first.removeprefix("http://")),): 1.0,
        (("target", f"{LOOPBACK}:{closed}"),): 0.0}


HANGING_DNS = (
    "import socket, sys, time\n"
    "real = socket.getaddrinfo\n"
    "def getaddrinfo(host, *args, **kwargs):\n"
    "    if host in ('hang.test', b'hang.test'):\n"
    "        time.sleep(600)\n"
    "    return real(host, *args, **kwargs)\n"
    "socket.getaddrinfo = getaddrinfo\n"
    "from neural_tui.cli import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)
"""The command line, in a process where the name `hang.test` takes ten minutes to resolve."""


def test_health_ends_at_its_deadline_though_a_targets_dns_never_answers(tmp_path):
    config = tmp_path / "neural-tui.toml"
    config.write_text("[[targets]]\nurl = 'http://hang.test:9100/metrics'\nname = 'hang'\n"
                      "timeout = 1\n", encoding="utf-8")
    done = subprocess.run([sys.executable, "-c", HANGING_DNS, "health", "--json",
                           "--config", str(config)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=COMMAND_SECONDS, check=False)
    assert done.returncode == 1, done.stderr
    assert json.loads(done.stdout)["problems"] == [
        "no model in storage or from the remote sources", "target hang down: timed out after 1 s"]
