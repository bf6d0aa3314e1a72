"""The real headless process against hostile storage: it keeps reading, and SIGTERM ends it in
seconds even while a reader thread is stuck in the file system."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from headless_storage import log_records, samples
from realservers import LOOPBACK, free_port

EXIT_SECONDS = 15.0
"""How long a SIGTERM'd process may take to exit (it takes well under a second)."""


def start(argv_script: str, tmp_path: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", argv_script], cwd=tmp_path,
                            stderr=subprocess.PIPE)


def headless_script(storage: Path, port: int, prelude: str = "") -> str:
    argv = ["--serve-metrics", "--storage", str(storage), "--port", str(port)]
    return f"{prelude}\nimport sys\nfrom neural_tui.cli import main\nsys.exit(main({argv!r}))\n"


def wait_until(condition: object, process: subprocess.Popen[bytes], what: str) -> None:
    assert callable(condition)
    for _ in range(300):
        if condition():
            return
        if process.poll() is not None:
            stderr = process.stderr.read().decode() if process.stderr else ""
            raise AssertionError(f"exited with {process.returncode} before {what}: {stderr}")
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def metric(url: str, name: str, labels: dict[str, str]) -> float | None:
    try:
        text = httpx.get(f"{url}/metrics", timeout=5).text
    except httpx.HTTPError:
        return None
    return samples(text).get((name, tuple(sorted(labels.items()))))


def stop_within(process: subprocess.Popen[bytes], seconds: float) -> int:
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=seconds)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_a_fifo_beside_a_log_is_reported_once_the_log_is_read_and_sigterm_ends_it(
    tmp_path: Path,
) -> None:
    storage = tmp_path / "storage"
    log_records(storage, "fraud", 40)
    os.mkfifo(storage / "predictions" / "x.jsonl")
    port = free_port()
    url = f"http://{LOOPBACK}:{port}"
    process = start(headless_script(storage, port), tmp_path)
    try:
        fraud = {"model": "fraud", "version": "1.0"}
        wait_until(lambda: metric(url, "neural_predictions_total", fraud) == 40, process,
                   "the 40 records")
        wait_until(lambda: metric(url, "neural_ingest_errors_total",
                                  {"reason": "read_error"}) == 1, process, "the read error")
        log_records(storage, "fraud", 5, start=40)
        wait_until(lambda: metric(url, "neural_predictions_total", fraud) == 45, process,
                   "5 more records")
        assert metric(url, "neural_ingest_errors_total", {"reason": "read_error"}) == 1
    finally:
        assert stop_within(process, EXIT_SECONDS) == 0


def test_sigterm_ends_the_process_while_a_reader_thread_is_stuck_in_a_syscall(
    tmp_path: Path,
) -> None:
    """A stuck worker is simulated for real: its read opens a FIFO that no one writes to, a
    blocking `open` that never returns (as a hung network mount would)."""
    storage = tmp_path / "storage"
    log_records(storage, "fraud", 3)
    stuck_on = tmp_path / "never-written.fifo"
    os.mkfifo(stuck_on)
    entered = tmp_path / "stuck"
    prelude = (
        "import os, pathlib\n"
        "def stuck_read(*args, **kwargs):\n"
        f"    pathlib.Path({str(entered)!r}).touch()\n"
        f"    open({str(stuck_on)!r}, 'rb')\n"
        "os.preadv = stuck_read\n"
    )
    port = free_port()
    process = start(headless_script(storage, port, prelude), tmp_path)
    try:
        wait_until(entered.exists, process, "a reader thread to be stuck")
        wait_until(lambda: metric(f"http://{LOOPBACK}:{port}", "neural_active_models", {})
                   is not None, process, "the exporter to answer")
    finally:
        assert stop_within(process, EXIT_SECONDS) == 0


def test_healthz_is_unhealthy_while_the_predictions_folder_cannot_be_listed(tmp_path):
    """A `predictions` that is a file: the tool cannot see its records, and says so until it
    can; once the folder is there, it is healthy again."""
    storage = tmp_path / "storage"
    storage.mkdir()
    (storage / "predictions").write_text("not a folder\n")
    port = free_port()
    url = f"http://{LOOPBACK}:{port}"
    process = start(headless_script(storage, port), tmp_path)
    try:
        def unhealthy() -> bool:
            try:
                answer = httpx.get(f"{url}/healthz", timeout=5)
            except httpx.HTTPError:
                return False
            return answer.status_code == 503 and answer.json()["status"] == "unhealthy"

        wait_until(unhealthy, process, "/healthz unhealthy")
        body = httpx.get(f"{url}/healthz", timeout=5).json()
        assert "cannot list" in " ".join(body["reasons"])
        assert "Not a directory" in " ".join(body["reasons"])

        (storage / "predictions").unlink()
        (storage / "predictions").mkdir()

        def healthy() -> bool:
            try:
                return httpx.get(f"{url}/healthz", timeout=5).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(healthy, process, "/healthz ok again")
    finally:
        assert stop_within(process, EXIT_SECONDS) == 0
