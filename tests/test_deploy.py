"""The deployment files in `deploy/`: the systemd unit and the Kubernetes sidecar run the
headless exporter with flags the real command line accepts, name one path for each thing
(config, storage, port), and the probe and scrape paths answer on the exporter their command
line starts."""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from realservers import LOOPBACK, RealServer, free_port, require_binary

from neural_tui import ModelMonitor
from neural_tui.cli import EXIT_USAGE, build_parser, port_number
from neural_tui.config import BOUNDS, load_settings
from neural_tui.prometheus_rules import render_rules

ROOT = Path(__file__).resolve().parent.parent
UNIT = ROOT / "deploy" / "systemd" / "neural-tui-exporter.service"
MANIFEST = ROOT / "deploy" / "kubernetes" / "sidecar.yaml"
NEURAL_TUI = [sys.executable, "-m", "neural_tui.cli"]
EXPORTED = 'neural_predictions_total{model="churn",version="1.0"} 1.0'


# --- The systemd unit -------------------------------------------------------------------------

def unit_entries(text: str) -> list[tuple[str, str, str]]:
    """(section, key, value) of every assignment, as systemd reads the file: comments skipped,
    a line ending in a backslash continued on the next one."""
    entries, section, pending = [], "", ""
    for raw in text.splitlines():
        line = pending + raw.strip()
        pending = ""
        if not line or line[0] in "#;":
            continue
        if line.endswith("\\"):
            pending = line[:-1] + " "
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        entries.append((section, key.strip(), value.strip()))
    return entries


def unit_values(key: str, section: str = "Service") -> list[str]:
    return [value for s, k, value in unit_entries(UNIT.read_text(encoding="utf-8"))
            if (s, k) == (section, key)]


def unit_value(key: str, section: str = "Service") -> str:
    values = unit_values(key, section)
    assert len(values) == 1, f"{section}.{key}: {values}"
    return values[0]


def exec_start() -> list[str]:
    return shlex.split(unit_value("ExecStart"))


# --- The Kubernetes manifest ------------------------------------------------------------------

def manifest() -> dict[str, dict[str, Any]]:
    """The manifest's objects by kind."""
    documents = [d for d in yaml.safe_load_all(MANIFEST.read_text(encoding="utf-8")) if d]
    by_kind = {document["kind"]: document for document in documents}
    assert len(by_kind) == len(documents)
    return by_kind


def pod_spec() -> dict[str, Any]:
    spec: dict[str, Any] = manifest()["Deployment"]["spec"]["template"]["spec"]
    return spec


def container(name: str) -> dict[str, Any]:
    return next(c for c in pod_spec()["containers"] if c["name"] == name)


def sidecar_argv() -> list[str]:
    exporter = container("neural-tui-exporter")
    return [*exporter["command"], *exporter["args"]]


def mount_path(container_name: str, volume: str) -> str:
    mounts = [m for m in container(container_name)["volumeMounts"] if m["name"] == volume]
    assert len(mounts) == 1, f"{container_name} mounts {volume!r} {len(mounts)} times"
    return str(mounts[0]["mountPath"])


def volume(name: str) -> dict[str, Any]:
    return next(v for v in pod_spec()["volumes"] if v["name"] == name)


def configmap_toml() -> str:
    data: dict[str, str] = manifest()["ConfigMap"]["data"]
    assert list(data) == ["neural-tui.toml"]
    return data["neural-tui.toml"]


# --- Both ---------------------------------------------------------------------------------------

def parsed(argv: list[str], capsys: pytest.CaptureFixture[str]) -> argparse.Namespace:
    """`argv` (without the program) as `neural-tui`'s own parser reads it, every flag spelt
    out (an abbreviation that works today could become ambiguous with the next flag)."""
    parser = build_parser()
    parser.allow_abbrev = False
    try:
        return parser.parse_args(argv)
    except SystemExit:
        pytest.fail(f"neural-tui refuses {argv}: {capsys.readouterr().err}")


def option(argv: list[str], flag: str) -> str:
    """The value given to `flag`, which must be given exactly once."""
    positions = [i for i, word in enumerate(argv) if word == flag]
    assert len(positions) == 1, f"{flag} given {len(positions)} times in {argv}"
    return argv[positions[0] + 1]


def test_the_unit_runs_the_headless_exporter_with_flags_the_parser_accepts(capsys):
    program, *argv = exec_start()

    args = parsed(argv, capsys)

    assert Path(program).name == "neural-tui"
    assert args.serve_metrics is True
    assert args.config == Path("/etc/neural-tui/neural-tui.toml")
    assert args.storage == Path("/var/lib/model-server/monitoring_data")
    assert args.host == "127.0.0.1"
    assert port_number(args.port, BOUNDS["server.port"]) == 9108


def test_the_unit_reads_the_storage_read_only_and_writes_only_its_alerts_folder():
    storage = option(exec_start(), "--storage")
    alerts = f"{storage}/alerts"
    prepare = shlex.split(unit_value("ExecStartPre"))

    assert unit_value("ProtectSystem") == "strict"
    assert unit_values("ReadOnlyPaths") == [storage]
    assert unit_values("ReadWritePaths") == [alerts]
    assert unit_value("AssertPathIsDirectory", "Unit") == storage
    assert prepare[0] == "+/usr/bin/install"
    assert prepare[-1] == alerts
    assert option(prepare, "-o") == unit_value("User")


def test_the_unit_runs_as_a_dedicated_user_without_privileges_and_restarts_on_failure():
    assert unit_value("User") == unit_value("Group") == "neural-tui"
    assert unit_value("NoNewPrivileges") == "yes"
    assert unit_value("CapabilityBoundingSet") == ""
    assert unit_value("Restart") == "on-failure"
    assert unit_value("RestartPreventExitStatus") == str(EXIT_USAGE)


def test_systemd_analyze_verify_accepts_the_unit(tmp_path):
    """Verified with the program path pointed at this environment's `neural-tui`, as verify
    checks that the executable exists; every other line is the file's."""
    analyze = require_binary("systemd-analyze", "apt-get install systemd")
    program = exec_start()[0]
    installed = str(Path(sys.executable).with_name("neural-tui"))
    unit = tmp_path / UNIT.name
    unit.write_text(UNIT.read_text(encoding="utf-8").replace(program, installed),
                    encoding="utf-8")

    verified = subprocess.run([analyze, "verify", "--man=no", str(unit)], capture_output=True,
                              text=True, timeout=60)

    assert verified.returncode == 0, verified.stderr
    assert [line for line in (verified.stdout + verified.stderr).splitlines()
            if UNIT.name in line] == []


def test_the_manifest_holds_the_config_and_the_deployment():
    assert sorted(manifest()) == ["ConfigMap", "Deployment"]
    assert [c["name"] for c in pod_spec()["containers"]] == ["model-server",
                                                             "neural-tui-exporter"]


def test_the_sidecar_runs_the_headless_exporter_with_flags_the_parser_accepts(capsys):
    program, *argv = sidecar_argv()

    args = parsed(argv, capsys)

    assert program == "neural-tui"
    assert args.serve_metrics is True
    assert args.host == "0.0.0.0"  # the kubelet probes, and Prometheus scrapes, the pod's IP


def test_the_sidecar_reads_the_config_file_the_configmap_mounts():
    config = Path(option(sidecar_argv(), "--config"))
    mounted = volume("config")

    assert Path(mount_path("neural-tui-exporter", "config")) == config.parent
    assert mounted["configMap"]["name"] == manifest()["ConfigMap"]["metadata"]["name"]
    assert config.name in manifest()["ConfigMap"]["data"]


def test_the_storage_is_the_volume_the_model_server_writes():
    storage = option(sidecar_argv(), "--storage")
    model_server_env = {e["name"]: e["value"] for e in container("model-server")["env"]}

    assert mount_path("neural-tui-exporter", "monitoring-data") == storage
    assert mount_path("model-server", "monitoring-data") == storage
    assert "emptyDir" in volume("monitoring-data")
    assert model_server_env["MONITORING_STORAGE"] == storage


def test_the_probes_and_the_scrape_annotations_name_the_exporters_port():
    port = int(option(sidecar_argv(), "--port"))
    exporter = container("neural-tui-exporter")
    named = {p["name"]: p["containerPort"] for p in exporter["ports"]}
    annotations = manifest()["Deployment"]["spec"]["template"]["metadata"]["annotations"]

    assert "readinessProbe" not in exporter, "the sidecar's readiness would be the pod's"
    for probe in ("livenessProbe", "startupProbe"):
        check = exporter[probe]["httpGet"]
        assert check["path"] == "/healthz"
        assert named.get(check["port"], check["port"]) == port
    assert annotations == {"prometheus.io/scrape": "true", "prometheus.io/port": str(port),
                           "prometheus.io/path": "/metrics"}


def test_every_container_has_resource_requests_and_limits():
    for each in pod_spec()["containers"]:
        resources = each["resources"]
        assert set(resources["requests"]) == set(resources["limits"]) == {"cpu", "memory"}


def test_the_configmap_config_loads_and_its_slos_make_prometheus_rules(tmp_path):
    config = tmp_path / "neural-tui.toml"
    config.write_text(configmap_toml(), encoding="utf-8")

    settings = load_settings(config)

    assert [slo.name for slo in settings.slo] == ["availability", "p95-under-250ms"]
    assert "slo:sli_error:ratio_rate30d" in render_rules(settings)


def localized(argv: list[str], config: Path, storage: Path, port: int) -> list[str]:
    """`argv` with its config, storage, host and port pointed at this test's."""
    replaced = {"--config": str(config), "--storage": str(storage), "--host": LOOPBACK,
                "--port": str(port)}
    local = list(argv)
    for flag, value in replaced.items():
        option(argv, flag)
        local[argv.index(flag) + 1] = value
    return local


def scrape_until(url: str, line: str) -> httpx.Response:
    """The first scrape of `url` that holds `line` (the exporter reads the storage after it
    starts answering), or the last one after 20 s."""
    deadline = time.monotonic() + 20
    response = httpx.get(url, timeout=10)
    while line not in response.text and time.monotonic() < deadline:
        time.sleep(0.1)
        response = httpx.get(url, timeout=10)
    return response


@pytest.mark.parametrize("source", ["systemd", "kubernetes"])
def test_the_probe_and_scrape_paths_answer_on_the_exporter_the_command_line_starts(
        tmp_path, source):
    argv = exec_start()[1:] if source == "systemd" else sidecar_argv()[1:]
    config, storage, port = tmp_path / "neural-tui.toml", tmp_path / "storage", free_port()
    config.write_text(configmap_toml(), encoding="utf-8")
    with ModelMonitor("churn", "1.0", storage_path=storage) as monitor:
        monitor.log_prediction("p-1", {"x": 1.0}, 0, latency_ms=20.0)
    url = f"http://{LOOPBACK}:{port}"
    annotations = manifest()["Deployment"]["spec"]["template"]["metadata"]["annotations"]
    probe = container("neural-tui-exporter")["livenessProbe"]["httpGet"]["path"]
    exporter = RealServer("neural-tui", [*NEURAL_TUI, *localized(argv, config, storage, port)],
                          tmp_path, f"{url}{probe}")

    exporter.start(ready_timeout=60)
    try:
        metrics = scrape_until(f"{url}{annotations['prometheus.io/path']}", EXPORTED)
        health = httpx.get(f"{url}{probe}", timeout=10)
    finally:
        exporter.stop()

    assert (health.status_code, health.json()["status"]) == (200, "ok")
    assert metrics.status_code == 200
    assert EXPORTED in metrics.text
