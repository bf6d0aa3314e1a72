"""The config file: typed settings, and one clear line for every mistake."""

from __future__ import annotations

import re
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import get_type_hints

import pytest

from neural_tui.cli import main
from neural_tui.config import (
    BOUNDS,
    SLO_BOUNDS,
    ConfigError,
    Duration,
    Secret,
    Settings,
    load_settings,
    parse_duration,
)
from neural_tui.runtime.snapshot import MAX_LATENCY_BOUNDS, latency_bounds_seconds


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "neural-tui.toml"
    path.write_text(text, encoding="utf-8")
    return path


def assert_refused_at_load(path: Path, key: str, what: str) -> None:
    """Loading `path` stops with one line naming the file, the key and what is wrong."""
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: key '{key}'")
    assert what in message
    assert "\n" not in message


def test_no_config_gives_defaults():
    settings = load_settings(None)
    assert settings == Settings()
    assert settings.storage.path == Path("monitoring_data")
    assert settings.server.host == "127.0.0.1"


def test_fixed_keys_are_read_into_typed_settings(tmp_path):
    path = write(tmp_path, """
[storage]
path = "data"
[server]
host = "0.0.0.0"
port = 9200
[[models]]
name = "fraud"
version = "2.1"
reference = "ref/fraud.jsonl"
[[models]]
name = "churn"
""")
    settings = load_settings(path)
    assert settings.storage.path == tmp_path / "data"
    assert (settings.server.host, settings.server.port) == ("0.0.0.0", 9200)
    assert [m.name for m in settings.models] == ["fraud", "churn"]
    assert settings.models[0].reference == tmp_path / "ref" / "fraud.jsonl"
    assert settings.models[1].version == ""
    assert settings.source == path


@pytest.mark.parametrize(("text", "key", "what"), [
    ("[storage]\npth = 'x'\n", "storage.pth", "unknown key"),
    ("[sever]\nport = 1\n", "sever", "unknown key"),
    ("[server]\nport = '9000'\n", "server.port", "must be an integer"),
    ("[server]\nport = 70000\n", "server.port", "between 0 and 65535"),
    ("[runtime]\nwindow_seconds = 1" + "0" * 400 + "\n", "runtime.window_seconds", "finite"),
    ("[server]\nport = true\n", "server.port", "must be an integer"),
    ("[runtime]\ncadence_seconds = 0\n", "runtime.cadence_seconds", "between 0.1 and 60"),
    ("[runtime]\npoll_interval_seconds = 0.001\n", "runtime.poll_interval_seconds",
     "between 0.01 and 60"),
    ("[runtime]\ncadence_seconds = nan\n", "runtime.cadence_seconds", "finite"),
    ("[[models]]\nversion = '1'\n", "models[0].name", "is required"),
    ("[[models]]\nname = 'a'\ncolour = 1\n", "models[0].colour", "unknown key"),
    ("[[models]]\nname = 'a'\n[[models]]\nname = 'a'\n", "models[1].name", "duplicate"),
    ("storage = 'x'\n", "storage", "must be a table"),
    ("[drift]\nwindow = 0\n", "drift.window", "greater than 0"),
    ("[drift]\nreference_rows = -5\n", "drift.reference_rows", "greater than 0"),
    ("[drift]\nalpha = 1.0\n", "drift.alpha", "between 0 and 1"),
    ("[drift]\npsi_threshold = 0\n", "drift.psi_threshold", "greater than 0"),
    ("[drift]\ndataset_drift_share = 1.5\n", "drift.dataset_drift_share", "at most 1"),
    ("[drift]\ncorrection = 'holm'\n", "drift.correction", "must be one of"),
    ("[drift]\nwindw = 10\n", "drift.windw", "unknown key"),
    ("[drift.tests]\namount = 't-test'\n", "drift.tests.amount", "must be one of"),
    ("[drift.kinds]\nzip = 'text'\n", "drift.kinds.zip", "must be one of"),
    ("[quality]\nrange_tolerance = -0.1\n", "quality.range_tolerance", "between 0 and"),
    ("[quality]\noutlier_method = 'zscore'\n", "quality.outlier_method", "must be one of"),
    ("[quality.weights]\nmissing = -1\n", "quality.weights.missing", "between 0 and"),
    ("[quality.weights]\nsyntax = 1\n", "quality.weights.syntax", "unknown key"),
    ("[quality.weights]\nmissing = 0\ntype_violations = 0\nout_of_range = 0\noutliers = 0\n"
     "new_categories = 0\nschema = 0\n", "quality.weights", "must not all be 0"),
    ("[analysis]\ninterval_seconds = 0\n", "analysis.interval_seconds", "greater than 0"),
    ("[analysis]\nevery_records = 1.5\n", "analysis.every_records", "must be an integer"),
])
def test_a_mistake_stops_at_load_naming_file_and_key(tmp_path, text, key, what):
    assert_refused_at_load(write(tmp_path, text), key, what)


@pytest.mark.parametrize(("text", "key", "guess"), [
    ("[health]\nmax_error_rat = 0.1\n", "health.max_error_rat", "max_error_rate"),
    ("[sever]\nport = 1\n", "sever", "server"),
    ("[[models]]\nname = 'm'\nrefrence = 'r.jsonl'\n", "models[0].refrence", "reference"),
])
def test_an_unknown_key_close_to_a_known_one_names_it(tmp_path, text, key, guess):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert str(caught.value) == f"{path}: key '{key}': unknown key; did you mean '{guess}'?"


def test_an_unknown_key_like_no_known_one_gets_no_guess(tmp_path):
    path = write(tmp_path, "[health]\nbanana = 1\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert str(caught.value) == f"{path}: key 'health.banana': unknown key"


def test_invalid_toml_names_the_file_and_position(tmp_path):
    path = write(tmp_path, "[storage\npath = 1\n")
    with pytest.raises(ConfigError, match=rf"^{path}: invalid TOML: .*line 1"):
        load_settings(path)


def test_missing_config_file_is_one_line(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(tmp_path / "absent.toml")


def test_environment_references_are_expanded(tmp_path, monkeypatch):
    monkeypatch.setenv("NT_DATA", "/srv/monitoring")
    settings = load_settings(write(tmp_path, "[storage]\npath = '${NT_DATA}/m1'\n"))
    assert settings.storage.path == Path("/srv/monitoring/m1")


def test_an_unset_environment_reference_names_the_key_not_a_value(tmp_path, monkeypatch):
    monkeypatch.delenv("NT_UNSET_SECRET", raising=False)
    path = write(tmp_path, "[server]\nhost = '${NT_UNSET_SECRET}'\n")
    with pytest.raises(ConfigError, match=r"key 'server.host': environment variable "
                                          r"NT_UNSET_SECRET is not set"):
        load_settings(path)


def test_type_errors_never_echo_the_value(tmp_path):
    path = write(tmp_path, "[server]\nport = 'hunter2-token'\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert "hunter2" not in str(caught.value)


def test_a_secret_is_masked_when_printed_and_revealed_on_request():
    secret = Secret("xoxb-real-token")
    assert "xoxb" not in repr(secret)
    assert "xoxb" not in str(secret)
    assert "xoxb" not in f"{secret}"
    assert secret.reveal() == "xoxb-real-token"


def test_drift_quality_and_schedule_sections_are_read(tmp_path):
    settings = load_settings(write(tmp_path, """
[analysis]
interval_seconds = 30
every_records = 500
[drift]
window = 2000
reference_rows = 5000
alpha = 0.01
correction = "bh"
[drift.tests]
amount = "psi"
[drift.kinds]
zip_code = "categorical"
[quality]
outlier_method = "iqr"
[quality.weights]
missing = 1.0
"""))
    assert (settings.analysis.interval_seconds, settings.analysis.every_records) == (30.0, 500)
    assert (settings.drift.window, settings.drift.reference_rows) == (2000, 5000)
    assert (settings.drift.alpha, settings.drift.correction) == (0.01, "bh")
    assert settings.drift.tests == {"amount": "psi"}
    assert settings.drift.kinds == {"zip_code": "categorical"}
    assert settings.quality.outlier_method == "iqr"
    assert settings.quality.weights.missing == 1.0
    assert settings.quality.weights.schema == 0.15


def test_the_example_config_loads_and_documents_the_defaults():
    example = Path(__file__).resolve().parent.parent / "config.example.toml"
    settings = load_settings(example)
    defaults = Settings()
    assert settings.analysis == defaults.analysis
    assert settings.drift == defaults.drift
    assert settings.quality == defaults.quality
    assert settings.runtime == defaults.runtime
    assert settings.health == defaults.health


def test_the_example_config_documents_every_key():
    from neural_tui.config import ModelSection, SLOSection

    text = (Path(__file__).resolve().parent.parent / "config.example.toml").read_text()

    def documented(section: str, cls: type) -> list[str]:
        missing = []
        hints = get_type_hints(cls)
        for spec in fields(cls):
            if is_dataclass(hints[spec.name]):
                missing += documented(f"{section}.{spec.name}", hints[spec.name])
            elif str(hints[spec.name]).startswith("dict"):
                if f"[{section}.{spec.name}]" not in text:
                    missing.append(f"{section}.{spec.name}")
            elif not re.search(rf"^(# )?{spec.name} = ", text, re.MULTILINE):
                missing.append(f"{section}.{spec.name}")
        return missing

    sections = get_type_hints(Settings)
    undocumented = [key for spec in fields(Settings) if is_dataclass(sections[spec.name])
                    for key in documented(spec.name, sections[spec.name])]
    assert undocumented == []
    assert [key for key in documented("models", ModelSection)] == []
    assert [key for key in documented("slo", SLOSection)] == []


UPPER_BOUNDS = [
    # key, the largest accepted value, a value just above it
    ("server.port", 65535, 65536),
    ("prometheus.interval", 3600, 3601),
    ("prometheus.timeout", 60, 61),
    ("prometheus.rate_window", 86400, 86401),
    ("runtime.cadence_seconds", 60, 60.5),
    ("runtime.window_seconds", 3600, 1e12),
    ("console.refresh_seconds", 60, 61),
    ("runtime.series_seconds", 3600, 1_000_000_000),
    ("runtime.poll_interval_seconds", 60, 61),
    ("runtime.max_models", 1000, 1001),
    ("runtime.max_features", 10000, 10001),
    ("health.max_error_rate", 1, 1.01),
    ("health.max_latency_p95_ms", 3_600_000, 3_600_001),
    ("health.max_silence_seconds", 2_592_000, 2_592_001),
    ("health.max_drifted_share", 1, 1.5),
    ("health.min_quality_score", 1, 1.5),
    ("health.min_accuracy", 1, 1.5),
    ("analysis.interval_seconds", 86_400, 86_401),
    ("analysis.every_records", 10_000_000, 10_000_001),
    ("drift.window", 100_000, 100_001),
    ("drift.reference_rows", 100_000, 100_001),
    ("drift.alpha", 0.999, 1),
    ("drift.psi_threshold", 100, 101),
    ("drift.wasserstein_threshold", 100, 101),
    ("drift.jensen_shannon_threshold", 1, 1.01),
    ("drift.min_effect_size", 1, 1.01),
    ("drift.small_reference_rows", 100_000, 100_001),
    ("drift.numeric_distinct_values", 1000, 1001),
    ("drift.dataset_drift_share", 1, 1.01),
    ("drift.concept_delta", 1, 1.01),
    ("drift.concept_threshold", 1_000_000, 1_000_001),
    ("quality.range_tolerance", 100, 101),
    ("quality.mad_threshold", 1000, 1001),
    ("quality.iqr_factor", 1000, 1001),
    *((f"quality.weights.{name}", 1000, 1001) for name in
      ("missing", "type_violations", "out_of_range", "outliers", "new_categories", "schema")),
    ("alerts.group_wait", 3600, 3601),
    ("alerts.group_interval", 86_400, 86_401),
    ("alerts.repeat_interval", 2_592_000, 2_592_001),
]

EXCLUDED_UPPER = {"drift.alpha": 1}
"""Keys whose upper limit itself is refused: the error names the limit, not the highest value."""


def numeric_keys(cls: type = Settings, prefix: str = "") -> list[str]:
    """Every key of the config whose value is a number (optional or not)."""
    keys = []
    hints = get_type_hints(cls)
    for spec in fields(cls):
        hint = hints[spec.name]
        if is_dataclass(hint):
            keys += numeric_keys(hint, f"{prefix}{spec.name}.")  # type: ignore[arg-type]
        elif hint in (int, float, float | None, int | None, Duration, Duration | None):
            keys.append(f"{prefix}{spec.name}")
    return keys


def config_with(tmp_path: Path, key: str, value: float) -> Path:
    section, name = key.rsplit(".", 1)
    (tmp_path / "storage" / "predictions").mkdir(parents=True, exist_ok=True)
    return write(tmp_path, f"[storage]\npath = 'storage'\n[{section}]\n{name} = {value!r}\n")


def test_every_numeric_key_has_an_upper_bound():
    assert sorted(numeric_keys()) == sorted(key for key, _, _ in UPPER_BOUNDS)
    assert sorted(BOUNDS) == sorted(key for key, _, _ in UPPER_BOUNDS)


@pytest.mark.parametrize(("key", "highest", "above"), UPPER_BOUNDS)
def test_a_value_above_the_upper_bound_is_exit_2_with_one_line(tmp_path, capsys, key, highest,
                                                                above):
    path = config_with(tmp_path, key, above)
    assert main(["status", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"neural-tui: {path}: key '{key}': must be ")
    assert f" {EXCLUDED_UPPER.get(key, highest)}" in err
    assert err.count("\n") == 1


@pytest.mark.parametrize(("key", "highest", "above"), UPPER_BOUNDS)
def test_a_value_at_the_upper_bound_is_accepted(tmp_path, capsys, key, highest, above):
    path = config_with(tmp_path, key, highest)
    assert main(["status", "--config", str(path), "--json"]) == 0, capsys.readouterr().err


def test_the_example_config_states_every_bound():
    example = Path(__file__).resolve().parent.parent / "config.example.toml"
    lines = example.read_text().splitlines()
    section = ""
    unstated = []
    for index, line in enumerate(lines):
        if header := re.match(r"^\[\[?([\w.]+)\]\]?$", line):
            section = header.group(1)
        key = re.match(r"^(?:# )?(\w+) = ", line)
        bounds = {**BOUNDS, **{f"slo.{name}": bound for name, bound in SLO_BOUNDS.items()}}
        if key is None or f"{section}.{key.group(1)}" not in bounds:
            continue
        bound = bounds[f"{section}.{key.group(1)}"]
        if bound.describe().lower() not in comment_above(lines, index).lower():
            unstated.append(f"{section}.{key.group(1)}")
    assert unstated == []


def comment_above(lines: list[str], index: int) -> str:
    """The nearest block of prose comment lines above `lines[index]`, skipping key lines and
    section headers between (so keys of one table can share a comment)."""
    block: list[str] = []
    for line in reversed(lines[:index]):
        prose = line.startswith("#") and not re.match(r"^# \w+ = ", line)
        if prose:
            block.append(line)
        elif block:
            break
    return " ".join(reversed(block))


def test_keys_map_binding_ids_quoted_or_dotted_to_keys(tmp_path):
    path = write(tmp_path, '[keys]\n"app.quit" = "ctrl+x"\nmodel.quality = "y,f2"\n')
    assert load_settings(path).keys == {"app.quit": "ctrl+x", "model.quality": "y,f2"}


def test_an_unknown_binding_id_is_exit_2_naming_it_with_the_closest_id(tmp_path, capsys):
    path = write(tmp_path, '[keys]\n"app.quitt" = "x"\n')
    assert main(["status", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"neural-tui: {path}: key 'keys.app.quitt': unknown binding id, "
                          "did you mean 'app.quit'?")
    assert err.count("\n") == 1


def test_a_binding_without_a_key_is_refused(tmp_path):
    path = write(tmp_path, '[keys]\n"app.help" = "f1,"\n')
    with pytest.raises(ConfigError, match=r"key 'keys.app.help': must name one key or more"):
        load_settings(path)


def test_the_example_config_names_every_binding_id():
    from neural_tui.keymap import BINDING_IDS

    text = (Path(__file__).resolve().parent.parent / "config.example.toml").read_text()
    assert [binding_id for binding_id in BINDING_IDS if binding_id not in text] == []


SLO = "[[slo]]\nname = 'api'\ntype = 'availability'\ntarget = 0.99\n"
"""A valid SLO; each case below appends to it or replaces a line of it."""


@pytest.mark.parametrize(("text", "key", "what"), [
    ("[[slo]]\ntype = 'availability'\ntarget = 0.99\n", "slo[0].name", "is required"),
    (SLO.replace("'api'", "' '"), "slo[0].name", "must not be empty"),
    (SLO + SLO, "slo[1].name", "duplicate SLO name"),
    (SLO.replace("availability", "uptime"), "slo[0].type", "must be one of"),
    (SLO.replace("0.99", "1.0"), "slo[0].target", "between 0 and 1 (both excluded)"),
    (SLO.replace("0.99", "0"), "slo[0].target", "between 0 and 1 (both excluded)"),
    (SLO.replace("0.99", "nan"), "slo[0].target", "finite"),
    (SLO + "window = '30 days'\n", "slo[0].window", "must be a duration"),
    (SLO + "window = '90s'\n", "slo[0].window", "must be a duration"),
    (SLO + "window = '59m'\n", "slo[0].window", "between 1h and 90d"),
    (SLO + "window = '91d'\n", "slo[0].window", "between 1h and 90d"),
    (SLO + "window = '" + "9" * 5000 + "d'\n", "slo[0].window", "must be a duration"),
    (SLO + "window = 30\n", "slo[0].window", "must be a string"),
    (SLO + "model = ''\n", "slo[0].model", "must not be empty"),
    (SLO.replace("availability", "latency"), "slo[0].threshold_ms", "is required for a latency"),
    (SLO + "threshold_ms = 100.0\n", "slo[0].threshold_ms", "applies only to a latency SLO"),
    (SLO.replace("availability", "latency") + "threshold_ms = 0\n", "slo[0].threshold_ms",
     "greater than 0 and at most 3600000"),
    (SLO.replace("availability", "latency") + "threshold_ms = 1e300\n", "slo[0].threshold_ms",
     "at most 3600000"),
    (SLO.replace("availability", "throughput"), "slo[0].min_rps",
     "is required for a throughput SLO"),
    (SLO + "min_rps = 1.0\n", "slo[0].min_rps", "applies only to a throughput SLO"),
    (SLO.replace("availability", "throughput") + "min_rps = -1\n", "slo[0].min_rps",
     "greater than 0"),
    (SLO + "min_events = -1\n", "slo[0].min_events", "between 0 and 10000000"),
    (SLO + "min_events = 10000001\n", "slo[0].min_events", "between 0 and 10000000"),
    (SLO + "min_events = 2.5\n", "slo[0].min_events", "must be an integer"),
    (SLO + "windw = '1h'\n", "slo[0].windw", "did you mean 'window'"),
    (SLO + "[[slo]]\nname = 'b'\ntype = 'accuracy'\ntarget = 2\n", "slo[1].target",
     "between 0 and 1"),
])
def test_an_slo_mistake_stops_at_load_naming_file_and_key(tmp_path, text, key, what):
    assert_refused_at_load(write(tmp_path, text), key, what)


def test_an_slo_mistake_is_exit_2_with_one_line(tmp_path, capsys):
    path = write(tmp_path, SLO.replace("0.99", "99.9"))
    assert main(["status", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"neural-tui: {path}: key 'slo[0].target': must be between 0 and 1")
    assert err.count("\n") == 1


def test_slos_of_every_type_load_with_their_windows_in_seconds(tmp_path):
    path = write(tmp_path, SLO + """
[[slo]]
name = "fast"
type = "latency"
target = 0.95
window = "1d12h"
threshold_ms = 250
model = "fraud"
[[slo]]
name = "busy"
type = "throughput"
target = 0.9
window = "1h"
min_rps = 0.5
min_events = 0
[[slo]]
name = "right"
type = "accuracy"
target = 0.8
window = "90d"
[[slo]]
name = "errors"
type = "error_rate"
target = 0.01
window = "90m"
""")
    slos = load_settings(path).slo
    assert [s.name for s in slos] == ["api", "fast", "busy", "right", "errors"]
    assert [s.window_seconds for s in slos] == [30 * 86_400, 36 * 3600, 3600, 90 * 86_400,
                                                5400]
    assert (slos[1].threshold_ms, slos[1].model, slos[2].min_rps) == (250.0, "fraud", 0.5)
    assert slos[0].model is None and slos[0].min_events == 20


def test_a_config_without_slos_has_none():
    assert load_settings(None).slo == ()


@pytest.mark.parametrize(("text", "seconds"), [
    ("30d", 2_592_000), ("1h", 3600), ("90m", 5400), ("1d12h", 129_600), (" 7d ", 604_800),
    ("", None), ("1h30", None), ("1.5h", None), ("-1h", None), ("1s", None), ("\u0661h", None),
    ("1" * 10 + "d", None),
])
def test_durations_are_days_hours_and_minutes_in_ascii_digits(text, seconds):
    assert parse_duration(text) == seconds


def latency_slos(count: int, window: str, *, first: int = 0, model: str | None = None) -> str:
    """`count` latency SLOs at distinct thresholds (none a default histogram bound)."""
    scope = f"model = '{model}'\n" if model else ""
    return "".join(f"[[slo]]\nname = 'fast-{first + i}'\ntype = 'latency'\ntarget = 0.9\n"
                   f"window = '{window}'\nthreshold_ms = {first + i + 1001}\n{scope}"
                   for i in range(count))


def test_more_slos_than_the_bound_stop_at_load(tmp_path):
    path = write(tmp_path, "".join(SLO.replace("'api'", f"'api-{i}'") for i in range(101)))
    with pytest.raises(ConfigError, match=r"key 'slo': at most 100 SLOs, got 101"):
        load_settings(path)


def test_more_distinct_latency_thresholds_than_the_histogram_holds_stop_at_load(tmp_path):
    load_settings(write(tmp_path, latency_slos(50, "1h")))
    with pytest.raises(ConfigError, match=r"key 'slo\[50\].threshold_ms': at most 50 distinct"):
        load_settings(write(tmp_path, latency_slos(51, "1h")))


def test_every_latency_threshold_the_config_takes_is_a_histogram_bound(tmp_path):
    buckets = ", ".join(str(0.1 * (i + 1)) for i in range(40))
    settings = load_settings(write(tmp_path, f"[exporter]\nlatency_buckets_ms = [{buckets}]\n"
                                             + latency_slos(50, "1h")))
    thresholds = [slo.threshold_ms for slo in settings.slo]

    bounds = latency_bounds_seconds(thresholds, settings.exporter.latency_buckets_ms)

    assert len(bounds) == 90 == MAX_LATENCY_BOUNDS
    assert {threshold / 1000 for threshold in thresholds} <= set(bounds)


def test_slos_keeping_more_than_the_bytes_a_model_may_keep_are_exit_2(tmp_path, capsys):
    # 90 days: 2 x 129,600 - 1 = 259,199 minutes of 8 bytes a counted column. Nine thresholds
    # (requests, errors, timed requests and nine: 12 columns) keep 24,883,104 bytes, under
    # 24 MiB; a tenth, 13 columns, 26,956,696 bytes = 25.7 MiB.
    load_settings(write(tmp_path, latency_slos(9, "90d")))
    path = write(tmp_path, latency_slos(50, "90d"))
    assert main(["status", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert err == (f"neural-tui: {path}: key 'slo[9]': the SLOs of every model would keep "
                   "25.7 MiB of minute counts a model, more than 24 MiB (use fewer latency "
                   "thresholds or a shorter window)\n")


def test_the_bytes_bound_counts_a_models_own_slos_with_those_of_every_model(tmp_path):
    text = latency_slos(5, "90d") + latency_slos(4, "90d", first=5, model="x")
    load_settings(write(tmp_path, text))
    text += latency_slos(1, "90d", first=9, model="x") + latency_slos(4, "90d", first=10,
                                                                       model="y")
    with pytest.raises(ConfigError, match=r"key 'slo\[9\]': the SLOs of model 'x' would keep"):
        load_settings(write(tmp_path, text))
