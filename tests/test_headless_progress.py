"""A real `neural-tui --serve-metrics` over a storage that takes a while to read: it logs its
progress and `caught up`, and `/healthz` answers 200 `catching up` (with the progress) until it
has caught up, then `ok`."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
from realservers import headless_server

RECORDS = 300_000
LINE = ('{{"timestamp": {t:.3f}, "prediction_id": "p{i}", "model_name": "fraud", '
        '"model_version": "1", "input_features": {{"x": {x}, "y": {y}}}, "prediction": 1, '
        '"latency_ms": 5.0}}\n')


def write_large_history(storage: Path) -> None:
    """`RECORDS` records in four files: seconds of reading, not milliseconds."""
    predictions = storage / "predictions"
    predictions.mkdir(parents=True)
    start = time.time() - 3600
    per_file = RECORDS // 4
    for part in range(4):
        first = part * per_file
        (predictions / f"part-{part}.jsonl").write_text("".join(
            LINE.format(t=start + i * 0.01, i=i, x=i % 13, y=i % 7)
            for i in range(first, first + per_file)))


def test_healthz_says_catching_up_with_progress_until_caught_up_and_the_log_says_so(tmp_path):
    storage = tmp_path / "storage"
    write_large_history(storage)
    server, url = headless_server("headless", tmp_path, storage)
    server.ready_url = f"{url}/metrics"  # up, not caught up: the test watches the catch-up
    server.start()
    answers = []
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            response = httpx.get(f"{url}/healthz", timeout=5)
            answers.append((response.status_code, response.json()))
            if answers[-1][1]["status"] == "ok":
                break
            time.sleep(0.02)
        log = server.log_path.read_text()
        deadline = time.monotonic() + 10
        while "caught up:" not in log and time.monotonic() < deadline:
            time.sleep(0.1)
            log = server.log_path.read_text()
    finally:
        server.stop()
    while answers and answers[0][1]["status"] == "stale":  # before the first snapshot
        answers.pop(0)
    catching_up = [body for code, body in answers if body["status"] == "catching up"]
    assert catching_up, f"no /healthz said catching up: {answers[:3]}"
    assert {code for code, _ in answers} == {200}
    with_progress = [body["progress"] for body in catching_up if body["progress"]]
    assert with_progress
    assert all(0 <= p["fraction"] <= 1 and p["text"].endswith(")") for p in with_progress)
    assert answers[-1][1]["status"] == "ok"
    assert answers[-1][1]["progress"] is None
    assert answers[-1][1]["records"] == RECORDS
    lines = log.splitlines()
    progress = [n for n, line in enumerate(lines) if "catching up: " in line]
    caught_up = [n for n, line in enumerate(lines) if f"caught up: {RECORDS:,} records" in line]
    assert progress, log
    assert "records, " in lines[progress[0]] and "/s" in lines[progress[0]]
    assert caught_up and caught_up[0] > progress[-1], log
