"""Headless mode end to end: a real `neural-tui --serve-metrics` process over real storage."""

from __future__ import annotations

import gzip
import json
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from headless_storage import log_records, samples, write_files_as_the_old_module
from realservers import LOOPBACK, RealServer, free_port

NEURAL_TUI = str(Path(sys.executable).with_name("neural-tui"))


@pytest.fixture
def headless(tmp_path: Path) -> Iterator[tuple[RealServer, str, Path]]:
    storage = tmp_path / "storage"
    log_records(storage, "fraud", 120, errors=4)
    log_records(storage, "churn", 30)
    with (storage / "predictions" / "hand-written.jsonl").open("w") as f:
        f.write('{"timestamp": 1700000000, "prediction_id": "h1", "model_name": "churn",'
                ' "model_version": "1.0", "input_features": {"x": NaN}, "prediction": 0,'
                ' "latency_ms": 5}\n')
        f.write("this is not json\n")
        f.write('{"timestamp": "yesterday", "prediction_id": "h2"}\n')
    port = free_port()
    url = f"http://{LOOPBACK}:{port}"
    server = RealServer("neural-tui", [NEURAL_TUI, "--serve-metrics", "--storage", str(storage),
                                       "--port", str(port)], tmp_path, f"{url}/healthz")
    server.start()
    yield server, url, storage
    server.stop()


def wait_for_metric(url: str, name: str, labels: dict[str, str], value: float) -> None:
    """Poll /metrics until a sample has the value (the runtime publishes once a second)."""
    key = (name, tuple(sorted(labels.items())))
    last = None
    for _ in range(100):
        last = samples(httpx.get(f"{url}/metrics", timeout=5).text).get(key)
        if last == value:
            return
        time.sleep(0.1)
    pytest.fail(f"{name}{labels} stayed {last}, expected {value}")


def test_totals_equal_the_valid_records_on_disk(headless):
    _, url, _ = headless
    fraud = {"model": "fraud", "version": "1.0"}
    wait_for_metric(url, "neural_predictions_total", fraud, 124)
    values = samples(httpx.get(f"{url}/metrics", timeout=5).text)
    assert values[("neural_errors_total", tuple(sorted({**fraud, "error_type": "timeout"}
                                                        .items())))] == 4
    assert values[("neural_predictions_total", (("model", "churn"), ("version", "1.0")))] == 31
    assert values[("neural_prediction_latency_seconds_count",
                   tuple(sorted(fraud.items())))] == 120
    assert values[("neural_ingest_records_total", ())] == 155
    assert values[("neural_ingest_errors_total", (("reason", "not_json"),))] == 1
    assert values[("neural_ingest_errors_total", (("reason", "not_a_record"),))] == 1
    assert values[("neural_active_models", ())] == 2


def test_new_records_are_counted_live(headless):
    _, url, storage = headless
    wait_for_metric(url, "neural_predictions_total", {"model": "churn", "version": "1.0"}, 31)
    log_records(storage, "churn", 9, start=1000)
    wait_for_metric(url, "neural_predictions_total", {"model": "churn", "version": "1.0"}, 40)


def test_metrics_are_gzipped_when_asked_and_healthz_answers(headless):
    _, url, _ = headless
    with httpx.stream("GET", f"{url}/metrics", headers={"Accept-Encoding": "gzip"},
                      timeout=5) as response:
        assert response.headers["Content-Encoding"] == "gzip"
        body = gzip.decompress(b"".join(response.iter_raw()))
    assert b"neural_predictions_total" in body
    health = httpx.get(f"{url}/healthz", timeout=5)
    assert health.status_code == 200
    body = json.loads(health.text)
    assert body["status"] == "ok"
    assert body["reasons"] == []
    assert [source["status"] for source in body["sources"]] == ["ok"]


def test_sigterm_stops_it_cleanly_and_it_never_imported_textual(tmp_path):
    storage = tmp_path / "s"
    log_records(storage, "m", 3)
    modules_file = tmp_path / "modules.txt"
    port = free_port()
    argv = ["--serve-metrics", "--storage", str(storage), "--port", str(port)]
    script = (
        "import sys, atexit, pathlib\n"
        f"out = pathlib.Path({str(modules_file)!r})\n"
        "atexit.register(lambda: out.write_text(' '.join(sys.modules)))\n"
        "from neural_tui.cli import main\n"
        f"sys.exit(main({argv!r}))\n"
    )
    process = subprocess.Popen([sys.executable, "-c", script], stderr=subprocess.PIPE)
    try:
        server = RealServer("probe", [], tmp_path, f"http://{LOOPBACK}:{port}/healthz")
        for _ in range(200):
            if server._answers_ok():
                break
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            time.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
    finally:
        if process.poll() is None:
            process.kill()
    loaded = set(modules_file.read_text().split())
    assert "neural_tui.headless" in loaded
    assert not any(m == "textual" or m.startswith("textual.") for m in loaded)


def test_a_busy_port_is_one_line_and_exit_2(tmp_path):
    with socket.socket() as taken:
        taken.bind((LOOPBACK, 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run([NEURAL_TUI, "--serve-metrics", "--storage", str(tmp_path),
                                 "--port", str(port)], capture_output=True, text=True,
                                timeout=30, check=False)
    assert result.returncode == 2
    assert f"127.0.0.1:{port}" in result.stderr
    assert result.stderr.strip().count("\n") == 0


@pytest.mark.parametrize(("make", "words"), [
    (lambda path: None, "storage directory does not exist"),
    (lambda path: path.write_text("a file\n"), "storage is not a directory"),
])
def test_a_storage_that_is_not_a_directory_is_one_line_and_exit_2(tmp_path, make, words):
    storage = tmp_path / "storage"
    make(storage)
    result = subprocess.run([NEURAL_TUI, "--serve-metrics", "--storage", str(storage),
                             "--port", str(free_port())], capture_output=True, text=True,
                            timeout=15, check=False)
    assert result.returncode == 2
    assert result.stderr == f"neural-tui: {storage}: {words}\n"


def test_records_one_level_down_are_logged_once_with_the_right_storage(tmp_path):
    storage = tmp_path / "storage"
    write_files_as_the_old_module(storage / "predictions" / "predictions", 3)
    port = free_port()
    server = RealServer("neural-tui", [NEURAL_TUI, "--serve-metrics", "--storage", str(storage),
                                       "--port", str(port)], tmp_path,
                        f"http://{LOOPBACK}:{port}/healthz")
    server.start()
    try:
        for _ in range(100):
            if "use --storage" in server.log_path.read_text():
                break
            time.sleep(0.1)
        log = server.log_path.read_text()
    finally:
        server.stop()
    warnings = [line for line in log.splitlines() if "use --storage" in line]
    assert len(warnings) == 1
    assert warnings[0].endswith(f"WARNING neural_tui.headless: {storage}: no record in "
                                f"{storage}/predictions/, but 1 .jsonl file in "
                                f"{storage}/predictions/predictions/: use --storage "
                                f"{storage}/predictions")


@pytest.mark.real_server
def test_a_real_prometheus_scraping_headless_sees_the_same_total(headless, start_prometheus):
    _, url, _ = headless
    wait_for_metric(url, "neural_predictions_total", {"model": "fraud", "version": "1.0"}, 124)
    prometheus = start_prometheus([url.removeprefix("http://")])
    result = prometheus.wait_for(
        'neural_predictions_total{model="fraud"}',
        lambda r: len(r) == 1 and float(r[0]["value"][1]) == 124,
        timeout=20,
    )
    assert result[0]["metric"]["version"] == "1.0"
