"""Real external servers for tests: start a binary on 127.0.0.1, wait until it is ready, stop it.

Tests that use a real Prometheus, Alertmanager or similar go through here, so that a missing
binary skips with an install hint on a laptop but fails under `CI=true`, and every server is
bounded in how long it may take to come up and go down.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest

LOOPBACK = "127.0.0.1"
POLL_SECONDS = 0.1


def free_port(host: str = LOOPBACK) -> int:
    """A TCP port nobody listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def require_binary(name: str, install_hint: str) -> str:
    """The path of `name`, or skip the test saying how to install it (fail instead under CI)."""
    path = shutil.which(name)
    if path is not None:
        return path
    reason = f"{name} not installed: {install_hint}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (a missing real server fails CI)")
    pytest.skip(reason)


CATCHING_UP = '"status": "catching up"'
"""What `/healthz` says while the exporter reads the history on disk at start."""
HEADLESS_ARGV = (sys.executable, "-m", "neural_tui", "--serve-metrics")
"""The headless exporter of the code under test (an installed script may be another's)."""


def headless_server(name: str, workdir: Path, storage: Path,
                    *options: str) -> tuple[RealServer, str]:
    """`neural-tui --serve-metrics` over `storage` (with `options`) on a free loopback port,
    not started yet, ready once `/healthz` answers; with its base URL."""
    port = free_port()
    url = f"http://{LOOPBACK}:{port}"
    argv = [*HEADLESS_ARGV, "--storage", str(storage), "--port", str(port), *options]
    return RealServer(name, argv, workdir, f"{url}/healthz"), url


class RealServer:
    """One external process, started in its own working directory, ready when a URL answers 200."""

    def __init__(self, name: str, argv: Sequence[str], workdir: Path, ready_url: str) -> None:
        self.name = name
        self.argv = list(argv)
        self.workdir = workdir
        self.ready_url = ready_url
        self.log_path = workdir / f"{name}.log"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, ready_timeout: float = 20.0) -> None:
        with self.log_path.open("wb") as log:
            self._process = subprocess.Popen(
                self.argv, cwd=self.workdir, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + ready_timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with {self._process.returncode} before it was ready:\n"
                    f"{self.log_tail()}"
                )
            if self._answers_ok():
                return
            time.sleep(POLL_SECONDS)
        self.stop()
        raise RuntimeError(
            f"{self.name} not ready at {self.ready_url} within {ready_timeout} s:\n"
            f"{self.log_tail()}"
        )

    @property
    def pid(self) -> int:
        """The running server's process id."""
        assert self._process is not None, f"{self.name} is not running"
        return self._process.pid

    def stop(self, grace_seconds: float = 5.0) -> None:
        """Terminate, and kill if it has not exited within the grace period."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=grace_seconds)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def log_tail(self, lines: int = 30) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def _answers_ok(self) -> bool:
        """200, and not the exporter's `/healthz` saying it still reads the history on disk:
        tests start from a caught-up exporter (a test of the catch-up itself waits on
        `/metrics`)."""
        try:
            answer = httpx.get(self.ready_url, timeout=1.0)
        except httpx.HTTPError:
            return False
        return answer.status_code == 200 and CATCHING_UP not in answer.text


PrometheusResult = list[dict[str, Any]]


class Prometheus:
    """A real Prometheus scraping fixed targets every second, and evaluating `rule_files`
    every second, queried over its HTTP API."""

    def __init__(self, binary: str, workdir: Path, targets: Sequence[str],
                 rule_files: Sequence[Path] = ()) -> None:
        port = free_port()
        self.url = f"http://{LOOPBACK}:{port}"
        config_path = workdir / "prometheus.yml"
        config_path.write_text(_scrape_config(targets, rule_files))
        self.server = RealServer(
            "prometheus",
            [
                binary,
                f"--config.file={config_path}",
                f"--storage.tsdb.path={workdir / 'tsdb'}",
                f"--web.listen-address={LOOPBACK}:{port}",
            ],
            workdir,
            ready_url=f"{self.url}/-/ready",
        )
        self._client = httpx.Client(base_url=self.url, timeout=5.0)

    def start(self) -> None:
        self.server.start()

    def stop(self) -> None:
        self._client.close()
        self.server.stop()

    def get(self, path: str) -> Any:
        """The `data` of a successful answer of the HTTP API at `path` (`/api/v1/rules`)."""
        response = self._client.get(path)
        response.raise_for_status()
        return response.json()["data"]

    def query(self, expr: str) -> PrometheusResult:
        """The instant-query result vector of `expr` (`/api/v1/query`)."""
        response = self._client.get("/api/v1/query", params={"query": expr})
        response.raise_for_status()
        body = response.json()
        if body["status"] != "success":
            raise RuntimeError(f"query {expr!r} failed: {body}")
        result: PrometheusResult = body["data"]["result"]
        return result

    def wait_for(
        self,
        expr: str,
        predicate: Callable[[PrometheusResult], bool],
        timeout: float = 10.0,
    ) -> PrometheusResult:
        """Poll `expr` until `predicate` holds on its result; fail with the last result if not."""
        deadline = time.monotonic() + timeout
        result = self.query(expr)
        while not predicate(result):
            if time.monotonic() >= deadline:
                pytest.fail(
                    f"{expr!r} did not reach the expected result within {timeout} s; "
                    f"last result: {result}\nprometheus log:\n{self.server.log_tail()}"
                )
            time.sleep(POLL_SECONDS * 2)
            result = self.query(expr)
        return result


def _scrape_config(targets: Sequence[str], rule_files: Sequence[Path]) -> str:
    """prometheus.yml for one job scraping `targets` every second, with `rule_files`.

    Written as JSON, which is valid YAML, so no YAML library is needed.
    """
    config = {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s",
                   "evaluation_interval": "1s"},
        "rule_files": [str(path) for path in rule_files],
        "scrape_configs": [
            {"job_name": "neural-tui", "static_configs": [{"targets": list(targets)}]}
        ],
    }
    return json.dumps(config, indent=2)


class Alertmanager:
    """A real Alertmanager, clustering off, routing every alert to one webhook receiver with
    resolved notifications, grouping within a second."""

    def __init__(self, binary: str, workdir: Path, webhook_url: str) -> None:
        port = free_port()
        self.url = f"http://{LOOPBACK}:{port}"
        config_path = workdir / "alertmanager.yml"
        config_path.write_text(_alertmanager_config(webhook_url))
        self.server = RealServer(
            "alertmanager",
            [
                binary,
                f"--config.file={config_path}",
                f"--storage.path={workdir / 'data'}",
                f"--web.listen-address={LOOPBACK}:{port}",
                "--cluster.listen-address=",
            ],
            workdir,
            ready_url=f"{self.url}/-/ready",
        )

    def start(self) -> None:
        self.server.start()

    def stop(self) -> None:
        self.server.stop()

    def alerts(self) -> list[dict[str, Any]]:
        """What `/api/v2/alerts` lists now (the alerts not yet resolved)."""
        response = httpx.get(f"{self.url}/api/v2/alerts", timeout=5.0)
        response.raise_for_status()
        listed: list[dict[str, Any]] = response.json()
        return listed


def _alertmanager_config(webhook_url: str) -> str:
    """alertmanager.yml as JSON (valid YAML): one route, one webhook receiver."""
    config = {
        "route": {"receiver": "hook", "group_by": ["alertname"], "group_wait": "1s",
                  "group_interval": "1s", "repeat_interval": "1h"},
        "receivers": [{"name": "hook", "webhook_configs": [
            {"url": webhook_url, "send_resolved": True}]}],
    }
    return json.dumps(config, indent=2)
