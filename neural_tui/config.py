"""One TOML file read into typed, frozen settings; every mistake stops at load.

The loader is declarative: each section is a frozen dataclass named `*Section` (the whole file
is `Settings`; the engines' own parameters are their `*Settings`), and the dataclass's type
hints say what a key accepts. Unknown keys and wrong types raise `ConfigError` with one line naming
the file and the key. Strings may hold `${ENV_VAR}`; such values are expanded at load and, if
they land in a `Secret` field, never printed back (their repr is masked and errors never echo
values at all).
"""

from __future__ import annotations

import difflib
import keyword
import math
import os
import re
import tomllib
import types
from collections.abc import Iterable, Mapping
from dataclasses import MISSING, Field, dataclass, field, fields, is_dataclass, replace
from pathlib import Path
from typing import Any, Literal, Union, cast, get_args, get_origin, get_type_hints
from urllib.parse import urlsplit

from neural_tui.alerts.condition import ConditionError, name_kind, parse, split_member
from neural_tui.alerts.template import TemplateError, parse_template
from neural_tui.keymap import BINDING_IDS

DEFAULT_STORAGE = Path("monitoring_data")
DEFAULT_CONFIG_NAME = "neural-tui.toml"
CONFIG_ENV = "NEURAL_TUI_CONFIG"
MAX_FEATURES_LIMIT = 10_000
"""Upper bound of `[runtime] max_features`."""

_ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class ConfigError(ValueError):
    """A configuration mistake, worded as the one line the CLI prints before exiting 2."""


class Secret:
    """A configured secret: usable by code through `reveal()`, masked everywhere else."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True, slots=True)
class StorageSection:
    path: Path = DEFAULT_STORAGE


@dataclass(frozen=True, slots=True)
class ServerSection:
    host: str = "127.0.0.1"
    port: int = 9108


@dataclass(frozen=True, slots=True)
class RuntimeSection:
    cadence_seconds: float = 1.0
    window_seconds: float = 60.0
    series_seconds: int = 60
    poll_interval_seconds: float = 0.25
    max_models: int = 100
    max_features: int = 500
    """Feature names the engines see per model, so drift series exported per model too."""


@dataclass(frozen=True, slots=True)
class AnalysisSection:
    """When the runtime runs the engines for a model: every `interval_seconds`, or as soon as
    `every_records` new records arrived, whichever comes first (never with nothing new)."""

    interval_seconds: float = 10.0
    every_records: int = 1000


DriftTest = Literal["ks", "chi2", "z", "psi", "wasserstein", "jensen_shannon"]
FeatureKindName = Literal["numeric", "categorical"]


@dataclass(frozen=True, slots=True)
class DriftSection:
    """The `[drift]` section; `runtime.engine_settings` maps it onto the engine's settings.

    `kinds` is shared with the quality engine: a feature has one kind.
    """

    window: int = 1000
    reference_rows: int = 1000
    alpha: float = 0.05
    psi_threshold: float = 0.2
    wasserstein_threshold: float = 0.1
    jensen_shannon_threshold: float = 0.1
    min_effect_size: float = 0.05
    small_reference_rows: int = 1000
    numeric_distinct_values: int = 5
    correction: Literal["none", "bonferroni", "bh"] = "none"
    dataset_drift_share: float = 0.5
    concept_delta: float = 0.005
    concept_threshold: float = 50.0
    tests: dict[str, DriftTest] = field(default_factory=dict)
    kinds: dict[str, FeatureKindName] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class QualityWeightsSection:
    """Relative weights of each rate in the composite quality score."""

    missing: float = 0.30
    type_violations: float = 0.15
    out_of_range: float = 0.15
    outliers: float = 0.15
    new_categories: float = 0.10
    schema: float = 0.15


@dataclass(frozen=True, slots=True)
class QualitySection:
    """The `[quality]` section; mapped onto the quality engine's settings."""

    weights: QualityWeightsSection = field(default_factory=QualityWeightsSection)
    range_tolerance: float = 0.1
    outlier_method: Literal["mad", "iqr"] = "mad"
    mad_threshold: float = 3.5
    iqr_factor: float = 1.5


@dataclass(frozen=True, slots=True)
class HealthSection:
    """Thresholds of `neural-tui health`; an unset limit is not checked.

    The drift, quality and accuracy limits are checked only once the model has a verdict
    (a reference, enough labels); until then `health` says what it is waiting for.
    """

    max_error_rate: float = 0.05
    max_latency_p95_ms: float | None = None
    max_silence_seconds: float | None = None
    fail_on_drift: bool = True
    max_drifted_share: float | None = 0.5
    min_quality_score: float | None = 0.7
    min_accuracy: float | None = None
    fail_on_slo: bool = True
    """Fail a model with an SLO whose error budget is exhausted or that pages (a fast burn)."""


SLOTypeName = Literal["availability", "error_rate", "latency", "accuracy", "throughput"]


@dataclass(frozen=True, slots=True)
class SLOSection:
    """One `[[slo]]` entry, checked at load (`SLO_BOUNDS`, `SLO_WINDOWS`, and the keys
    each type requires); `config.example.toml` documents every key.

    `model` unset: the SLO applies to every model, each judged on its own traffic. `window` is
    a duration such as "30d", "7d", "1h" or "90m".
    """

    name: str
    type: SLOTypeName
    target: float
    window: str = "30d"
    model: str | None = None
    threshold_ms: float | None = None
    min_rps: float | None = None
    min_events: int = 20

    @property
    def window_seconds(self) -> int:
        """`window` in seconds (a loaded config's window always parses)."""
        return parse_duration(self.window) or 0


@dataclass(frozen=True, slots=True)
class ModelSection:
    name: str
    version: str = ""
    reference: Path | None = None


AlertSeverity = Literal["info", "warning", "critical"]
ChannelType = Literal["slack", "email", "webhook", "file", "alertmanager"]


class Duration(float):
    """Seconds, written in the file as a duration ("30s", "5m", "1h30m", "2d") or a number."""


NO_DELAY = Duration(0)
GROUP_WAIT = Duration(30)
GROUP_INTERVAL = Duration(300)
REPEAT_INTERVAL = Duration(4 * 3600)
POLL_INTERVAL = Duration(5)
TARGET_TIMEOUT = Duration(2)
PROMETHEUS_TIMEOUT = Duration(5)
RATE_WINDOW = Duration(60)
"""Alertmanager's defaults, which `[alerts]` keeps."""
RESERVED_ALERT_LABELS = ("alertname", "severity", "model", "version")
"""Labels every rule's alert carries, which a rule's own `labels` may not set."""
DEFAULT_SUMMARY = "{rule} on {model}: {when}"


@dataclass(frozen=True, slots=True)
class AlertRuleSection:
    """One `[[alerts.rules]]` entry: a condition, for which models, and how it is sent.

    `model` unset: every model, each its own alert. `for_` (TOML `for`) is how long `when`
    must hold before the alert fires; `repeat` how often a still-firing alert is sent again
    (unset: `[alerts] repeat_interval`). `summary` is a template (`neural_tui.alerts.template`)
    over `rule`, `model`, `version`, `severity`, `when` and every figure name of `when`'s
    grammar.
    """

    name: str
    when: str
    severity: AlertSeverity = "warning"
    channels: tuple[str, ...] = ()
    model: str | None = None
    for_: Duration = NO_DELAY
    repeat: Duration | None = None
    labels: dict[str, str] = field(default_factory=dict)
    summary: str = DEFAULT_SUMMARY


@dataclass(frozen=True, slots=True)
class ChannelSection:
    """One `[alerts.channels.NAME]` table; `type` says which keys it needs (`CHANNEL_KEYS`).

    URLs, header values and the password are `Secret`s: a webhook URL is its own credential,
    and any URL may carry a user and password. `from_` is the TOML key `from`.
    """

    type: ChannelType
    webhook_url: Secret | None = None
    url: Secret | None = None
    headers: dict[str, Secret] = field(default_factory=dict)
    host: str | None = None
    port: int | None = None
    """SMTP port; unset: 587 with STARTTLS, else 25."""
    starttls: bool = True
    username: str | None = None
    password: Secret | None = None
    from_: str | None = None
    to: tuple[str, ...] = ()
    ca_file: Path | None = None
    """Certificates (PEM) to trust besides the system's, for a receiver with a private CA."""
    path: Path | None = None
    timeout_seconds: float = 10.0
    """How long one attempt may take before it counts as failed and is retried."""


CHANNEL_KEYS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "slack": (frozenset({"webhook_url"}), frozenset({"ca_file"})),
    "email": (frozenset({"host", "from_", "to"}),
              frozenset({"port", "starttls", "username", "password", "ca_file"})),
    "webhook": (frozenset({"url"}), frozenset({"headers", "ca_file"})),
    "file": (frozenset({"path"}), frozenset()),
    "alertmanager": (frozenset({"url"}), frozenset({"headers", "ca_file"})),
}
"""Per channel type: the keys it requires and the keys it also accepts (besides `type` and
`timeout_seconds`, which every channel has)."""
MAX_CHANNEL_TIMEOUT_SECONDS = 300.0


@dataclass(frozen=True, slots=True)
class AlertsSection:
    """The `[alerts]` section: rules, channels, and the lifecycle's timing (as Alertmanager's
    route: alerts sharing the `group_by` labels travel in one notification per channel, first
    `group_wait` after the group appears, then at most every `group_interval` when it changed,
    and again every `repeat_interval` while it still fires).

    `slo_channels`: where the SLO engine's burn-rate alerts go; unset, to every channel.
    `send_resolved`: whether a group whose alerts resolved is notified of it.
    """

    rules: tuple[AlertRuleSection, ...] = ()
    channels: dict[str, ChannelSection] = field(default_factory=dict)
    group_by: tuple[str, ...] = ("alertname", "model")
    group_wait: Duration = GROUP_WAIT
    group_interval: Duration = GROUP_INTERVAL
    repeat_interval: Duration = REPEAT_INTERVAL
    slo_channels: tuple[str, ...] | None = None
    send_resolved: bool = True


DEFAULT_LATENCY_BUCKETS_MS: tuple[float, ...] = (
    0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 25.0, 50.0, 75.0, 100.0, 250.0, 500.0, 750.0,
    1000.0, 2500.0, 5000.0, 7500.0, 10000.0,
)
"""The latency histogram's default upper bounds, in ms: from 0.1 ms, for models that answer
in under a millisecond, then prometheus-client's defaults (5 ms to 10 s), so dashboards built
on those keep working."""
MAX_LATENCY_BUCKETS = 40
"""Most `[exporter] latency_buckets_ms`: each bound is one series per model in Prometheus, and
the SLO thresholds add theirs (`neural_tui.runtime.snapshot.MAX_LATENCY_BOUNDS` in all)."""


@dataclass(frozen=True, slots=True)
class ExporterSection:
    """`[exporter]`: the shape of what `/metrics` serves."""

    latency_buckets_ms: tuple[float, ...] = DEFAULT_LATENCY_BUCKETS_MS


ColorMode = Literal["auto", "none", "16", "256", "truecolor"]
ThemeName = Literal["dark", "light"]


@dataclass(frozen=True, slots=True)
class ConsoleSection:
    """`[console]`: how the console draws, for the terminal it runs in and who watches it.

    `refresh_seconds` is the most often a screen redraws (snapshots in between give way to the
    newest); `color` forces a colour system ("auto": the terminal's, "none": as `NO_COLOR`);
    `ascii` draws no braille, block or box-drawing characters; `readonly` takes away the keys
    that change the alerting (acknowledge, silence), for a console others watch.
    """

    refresh_seconds: float = 1.0
    theme: ThemeName = "dark"
    color: ColorMode = "auto"
    ascii: bool = False
    readonly: bool = False


@dataclass(frozen=True, slots=True)
class TargetSection:
    """One `[[targets]]` entry: a remote `/metrics` endpoint (any exporter of neural-tui's
    metric names) the console polls. Its name labels it everywhere (empty: the URL's host and
    port); credentials are `Secret`s, best written as `${ENV_VAR}`."""

    url: str
    name: str = ""
    interval: Duration = POLL_INTERVAL
    timeout: Duration = TARGET_TIMEOUT
    bearer_token: Secret | None = None
    username: str | None = None
    password: Secret | None = None


@dataclass(frozen=True, slots=True)
class PrometheusSection:
    """`[prometheus]`: a Prometheus server whose HTTP API gives the fleet's figures (unset
    `url`: none). `rate_window` is the range of its `rate()` queries; the credentials are as a
    target's."""

    url: str | None = None
    interval: Duration = POLL_INTERVAL
    timeout: Duration = PROMETHEUS_TIMEOUT
    rate_window: Duration = RATE_WINDOW
    bearer_token: Secret | None = None
    username: str | None = None
    password: Secret | None = None


@dataclass(frozen=True, slots=True)
class Settings:
    """The whole file, one `*Section` per TOML table."""

    storage: StorageSection = field(default_factory=StorageSection)
    server: ServerSection = field(default_factory=ServerSection)
    runtime: RuntimeSection = field(default_factory=RuntimeSection)
    health: HealthSection = field(default_factory=HealthSection)
    analysis: AnalysisSection = field(default_factory=AnalysisSection)
    drift: DriftSection = field(default_factory=DriftSection)
    quality: QualitySection = field(default_factory=QualitySection)
    models: tuple[ModelSection, ...] = ()
    slo: tuple[SLOSection, ...] = ()
    alerts: AlertsSection = field(default_factory=AlertsSection)
    keys: dict[str, str] = field(default_factory=dict)
    """The console's keymap: binding id (`neural_tui.keymap`) to the keys that replace its
    own, comma-separated."""
    exporter: ExporterSection = field(default_factory=ExporterSection)
    targets: tuple[TargetSection, ...] = ()
    prometheus: PrometheusSection = field(default_factory=PrometheusSection)
    console: ConsoleSection = field(default_factory=ConsoleSection)
    source: Path | None = None

    def model(self, name: str) -> ModelSection | None:
        return next((m for m in self.models if m.name == name), None)


@dataclass(frozen=True, slots=True)
class Bound:
    """The accepted range of one numeric setting: `low` to `high`, each end included unless
    marked open. Every number a user can set has one, so no value can exhaust memory or time."""

    low: float
    high: float
    low_open: bool = False
    high_open: bool = False

    def accepts(self, value: float) -> bool:
        above_low = value > self.low if self.low_open else value >= self.low
        below_high = value < self.high if self.high_open else value <= self.high
        return above_low and below_high

    def describe(self) -> str:
        """The range in words, as errors and `config.example.toml` state it."""
        low, high = _number(self.low), _number(self.high)
        if self.low_open and self.high_open:
            return f"between {low} and {high} (both excluded)"
        if self.low_open:
            return f"greater than {low} and at most {high}"
        return f"between {low} and {high}"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _above_0(high: float) -> Bound:
    return Bound(0, high, low_open=True)


def _from_0(high: float) -> Bound:
    return Bound(0, high)


RING_SECONDS = 3600
"""The per-second history a model keeps (`StateLimits.seconds`): no window or series can be
longer than it."""
MAX_ROWS = 100_000
"""Most rows of a drift window or reference kept per model (each row holds its features)."""
DAY_SECONDS = 86_400

BOUNDS: dict[str, Bound] = {
    "server.port": _from_0(65535),
    "runtime.cadence_seconds": Bound(0.1, 60),
    "runtime.window_seconds": _above_0(RING_SECONDS),
    "console.refresh_seconds": Bound(0.1, 60),
    "runtime.series_seconds": _above_0(RING_SECONDS),
    "runtime.poll_interval_seconds": Bound(0.01, 60),
    "runtime.max_models": _above_0(1000),
    "runtime.max_features": _above_0(MAX_FEATURES_LIMIT),
    "health.max_error_rate": _from_0(1),
    "health.max_latency_p95_ms": _above_0(3_600_000),
    "health.max_silence_seconds": _above_0(30 * DAY_SECONDS),
    "health.max_drifted_share": _from_0(1),
    "health.min_quality_score": _from_0(1),
    "health.min_accuracy": _from_0(1),
    "analysis.interval_seconds": _above_0(DAY_SECONDS),
    "analysis.every_records": _above_0(10_000_000),
    "drift.window": _above_0(MAX_ROWS),
    "drift.reference_rows": _above_0(MAX_ROWS),
    "drift.alpha": Bound(0, 1, low_open=True, high_open=True),
    "drift.psi_threshold": _above_0(100),
    "drift.wasserstein_threshold": _above_0(100),
    "drift.jensen_shannon_threshold": _above_0(1),
    "drift.min_effect_size": _from_0(1),
    "drift.small_reference_rows": _from_0(MAX_ROWS),
    "drift.numeric_distinct_values": _from_0(1000),
    "drift.dataset_drift_share": _above_0(1),
    "drift.concept_delta": _from_0(1),
    "drift.concept_threshold": _above_0(1_000_000),
    "quality.range_tolerance": _from_0(100),
    "quality.mad_threshold": _above_0(1000),
    "quality.iqr_factor": _above_0(1000),
    **{f"quality.weights.{f.name}": _from_0(1000) for f in fields(QualityWeightsSection)},
    "alerts.group_wait": _from_0(3600),
    "alerts.group_interval": Bound(1, DAY_SECONDS),
    "alerts.repeat_interval": Bound(60, 30 * DAY_SECONDS),
    "prometheus.interval": Bound(1, 3600),
    "prometheus.timeout": _above_0(60),
    "prometheus.rate_window": Bound(10, DAY_SECONDS),
}
"""The range of every numeric key, checked at load (an unset optional key is not checked)."""
RULE_BOUNDS: dict[str, Bound] = {
    "for": _from_0(7 * DAY_SECONDS),
    "repeat": Bound(60, 30 * DAY_SECONDS),
}
"""The range of each `[[alerts.rules]]` duration."""
MAX_ALERT_RULES = 500
MAX_RULE_NAME_CHARS = 100
MAX_LABEL_CHARS = 200
_LABEL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

SLO_BOUNDS: dict[str, Bound] = {
    "target": Bound(0, 1, low_open=True, high_open=True),
    "threshold_ms": _above_0(3_600_000),
    "min_rps": _above_0(1_000_000),
    "min_events": _from_0(10_000_000),
}
"""The range of each numeric key of an `[[slo]]` entry, checked as `slo[i].key`."""
SLO_WINDOWS = ("1h", "90d")
"""Shortest and longest `[[slo]] window`: an hour holds the shortest burn tiers' minutes, and
90 days bounds each model's minute counts (see `neural_tui.runtime.slo_counts`)."""
SLO_TYPE_KEYS = {"threshold_ms": "latency", "min_rps": "throughput"}
"""Keys that one SLO type requires and no other takes."""
MAX_SLOS = 100
"""Most `[[slo]]` entries."""
MAX_SLO_THRESHOLDS = 50
"""Most distinct latency thresholds among the SLOs: each is also a bound of the latency
histogram, beside `[exporter] latency_buckets_ms`
(`neural_tui.runtime.snapshot.MAX_LATENCY_BOUNDS`)."""
MAX_SLO_BYTES_PER_MODEL = 24 << 20
"""Most bytes of SLO minute counts one model may keep (`slo_counts_bytes`): 12 counted columns
over a 90-day window (requests, errors, timed requests, 7 latency thresholds and accuracy's
two), 36 over 30 days; times `[runtime] max_models` it bounds the memory SLOs take."""


_DURATION = re.compile(r"(?:([0-9]{1,9})d)?(?:([0-9]{1,9})h)?(?:([0-9]{1,9})m)?")
"""ASCII digits, at most 9 a unit: a 5000-digit count is not a duration (nor would int() read
it)."""


def parse_duration(text: str) -> int | None:
    """Seconds of a duration written "30d", "7d", "1h", "90m" or "1d12h"; None if not one."""
    match = _DURATION.fullmatch(text.strip())
    if match is None or not any(match.groups()):
        return None
    days, hours, minutes = (int(g or 0) for g in match.groups())
    return days * 86_400 + hours * 3600 + minutes * 60


def load_settings(path: Path | None) -> Settings:
    """Settings from `path`, or defaults when `path` is None.

    Relative paths inside the file are taken relative to the file's own directory, so a config
    works the same from any working directory.
    """
    if path is None:
        return Settings()
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: config is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    if isinstance(raw.get("keys"), dict):
        raw["keys"] = _dotted(raw["keys"])
    settings = _build(Settings, {k: v for k, v in raw.items()}, _Where(path, ""), path.parent)
    _check_ranges(settings, path)
    _check_models(settings, path)
    _check_slos(settings, path)
    _check_keys(settings, path)
    _check_channels(settings, path)
    _check_alerts(settings, path)
    check_fleet(settings, path)
    _check_exporter(settings, path)
    return replace(settings, source=path)


def find_config(explicit: Path | None) -> Path | None:
    """The config to use: `--config`, else `$NEURAL_TUI_CONFIG`, else `./neural-tui.toml`."""
    if explicit is not None:
        return explicit
    env = os.environ.get(CONFIG_ENV)
    if env:
        return Path(env)
    local = Path(DEFAULT_CONFIG_NAME)
    return local if local.is_file() else None


@dataclass(frozen=True, slots=True)
class _Where:
    file: Path
    key: str

    def child(self, name: str | int) -> _Where:
        if isinstance(name, int):
            return _Where(self.file, f"{self.key}[{name}]")
        return _Where(self.file, f"{self.key}.{name}" if self.key else name)

    def error(self, message: str) -> ConfigError:
        return ConfigError(f"{self.file}: key '{self.key}': {message}")


def _build(cls: type, table: dict[str, Any], where: _Where, base: Path) -> Any:
    hints = get_type_hints(cls)
    known = {_toml_key(f.name): f for f in fields(cls) if f.name != "source"}
    for key in table:
        if key not in known:
            raise where.child(key).error("unknown key" + _did_you_mean(key, known))
    values: dict[str, Any] = {}
    for key, spec in known.items():
        if key in table:
            values[spec.name] = _convert(hints[spec.name], table[key], where.child(key), base)
        elif spec.default is MISSING and spec.default_factory is MISSING:
            raise where.child(key).error("is required")
    return cls(**values)


def _toml_key(field_name: str) -> str:
    """The TOML key of a field: a Python keyword such as `from` is spelt `from_` as a field."""
    stem = field_name.removesuffix("_")
    return stem if stem != field_name and keyword.iskeyword(stem) else field_name


def _did_you_mean(key: str, known: Iterable[str]) -> str:
    """A hint naming the closest known key of the same table, when one is close enough."""
    close = difflib.get_close_matches(key, list(known), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def _convert(hint: Any, value: Any, where: _Where, base: Path) -> Any:
    origin = get_origin(hint)
    args = get_args(hint)
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        (inner,) = (a for a in args if a is not type(None))
        return _convert(inner, value, where, base)
    if is_dataclass(hint):
        if not isinstance(value, dict):
            raise where.error(f"must be a table, got {_toml_type(value)}")
        return _build(hint, value, where, base)  # type: ignore[arg-type]
    if origin is tuple:
        if not isinstance(value, list):
            raise where.error(f"must be an array, got {_toml_type(value)}")
        return tuple(_convert(args[0], v, where.child(i), base) for i, v in enumerate(value))
    if origin is dict:
        if not isinstance(value, dict):
            raise where.error(f"must be a table, got {_toml_type(value)}")
        return {str(k): _convert(args[1], v, where.child(str(k)), base) for k, v in value.items()}
    if origin is Literal:
        if value not in args:
            choices = ", ".join(repr(a) for a in args)
            raise where.error(f"must be one of {choices}")
        return value
    return _scalar(hint, value, where, base)


def _scalar(hint: Any, value: Any, where: _Where, base: Path) -> Any:
    if hint is bool:
        if not isinstance(value, bool):
            raise where.error(f"must be true or false, got {_toml_type(value)}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise where.error(f"must be an integer, got {_toml_type(value)}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise where.error(f"must be a number, got {_toml_type(value)}")
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if not math.isfinite(number):
            raise where.error("must be a finite number")
        return number
    if hint is Duration:
        return _duration(value, where)
    if hint in (str, Path, Secret):
        if not isinstance(value, str):
            raise where.error(f"must be a string, got {_toml_type(value)}")
        text = _expand_env(value, where)
        if hint is Path:
            path = Path(text).expanduser()
            return path if path.is_absolute() else base / path
        return Secret(text) if hint is Secret else text
    raise where.error(f"has an unsupported type {hint!r}")


_DURATION_WITH_SECONDS = re.compile(r"(?:(\d{1,9})d)?(?:(\d{1,9})h)?(?:(\d{1,9})m)?(?:(\d{1,9})s)?")


def _duration(value: Any, where: _Where) -> Duration:
    if isinstance(value, str):
        match = _DURATION_WITH_SECONDS.fullmatch(value.strip())
        if match is None or not any(match.groups()):
            raise where.error('must be a duration such as "30s", "5m", "1h30m" or "2d"')
        days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
        return Duration(days * 86_400 + hours * 3600 + minutes * 60 + seconds)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise where.error(f"must be a duration such as \"5m\", or seconds, got "
                          f"{_toml_type(value)}")
    number = _scalar(float, value, where, Path())
    return Duration(number)


def _expand_env(text: str, where: _Where) -> str:
    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in os.environ:
            raise where.error(f"environment variable {name} is not set")
        return os.environ[name]

    return _ENV_REFERENCE.sub(substitute, text)


def _toml_type(value: Any) -> str:
    names = {bool: "a boolean", int: "an integer", float: "a number", str: "a string",
             list: "an array", dict: "a table"}
    return names.get(type(value), type(value).__name__)


def _check_ranges(settings: Settings, path: Path) -> None:
    for key, bound in BOUNDS.items():
        value: Any = settings
        for name in key.split("."):
            value = getattr(value, name)
        if value is not None and not bound.accepts(value):
            raise ConfigError(f"{path}: key '{key}': must be {bound.describe()}")
    weights = settings.quality.weights
    if not any(getattr(weights, f.name) for f in fields(weights)):
        raise ConfigError(f"{path}: key 'quality.weights': must not all be 0")


def _check_models(settings: Settings, path: Path) -> None:
    seen: set[str] = set()
    for index, model in enumerate(settings.models):
        if not model.name:
            raise ConfigError(f"{path}: key 'models[{index}].name': must not be empty")
        if model.name in seen:
            raise ConfigError(f"{path}: key 'models[{index}].name': duplicate model {model.name!r}")
        seen.add(model.name)


def slo_counts_bytes(slos: Iterable[SLOSection]) -> int:
    """Bytes of the minute counts a model with these SLOs keeps: 8 a minute for twice the
    longest window less a minute (`neural_tui.engines.slo.history_minutes`) for each counted
    column: requests and errors, the requests with a latency and one per latency threshold,
    labelled and correct predictions."""
    slos = tuple(slos)
    if not slos:
        return 0
    thresholds = {slo.threshold_ms for slo in slos if slo.type == "latency"}
    rows = 2 + (1 + len(thresholds) if thresholds else 0)
    rows += 2 if any(slo.type == "accuracy" for slo in slos) else 0
    return 8 * rows * (2 * max(slo.window_seconds // 60 for slo in slos) - 1)


def _check_slos(settings: Settings, path: Path) -> None:
    seen: set[str] = set()
    shortest, longest = SLO_WINDOWS
    low, high = (parse_duration(window) or 0 for window in SLO_WINDOWS)
    if len(settings.slo) > MAX_SLOS:
        raise _Where(path, "slo").error(f"at most {MAX_SLOS} SLOs, got {len(settings.slo)}")
    thresholds: set[float] = set()
    for index, slo in enumerate(settings.slo):
        where = _Where(path, f"slo[{index}]")
        if not slo.name.strip():
            raise where.child("name").error("must not be empty")
        if slo.name in seen:
            raise where.child("name").error("duplicate SLO name")
        seen.add(slo.name)
        if slo.model is not None and not slo.model.strip():
            raise where.child("model").error("must not be empty (leave it out for every model)")
        seconds = parse_duration(slo.window)
        if seconds is None:
            raise where.child("window").error('must be a duration such as "30d", "7d", "1h" '
                                              'or "90m"')
        if not low <= seconds <= high:
            raise where.child("window").error(f"must be between {shortest} and {longest}")
        for key, slo_type in SLO_TYPE_KEYS.items():
            given = getattr(slo, key) is not None
            if slo.type == slo_type and not given:
                raise where.child(key).error(f"is required for a {slo_type} SLO")
            if slo.type != slo_type and given:
                raise where.child(key).error(f"applies only to a {slo_type} SLO")
        for key, bound in SLO_BOUNDS.items():
            value = getattr(slo, key)
            if value is not None and not bound.accepts(value):
                raise where.child(key).error(f"must be {bound.describe()}")
        if slo.threshold_ms is not None:
            thresholds.add(slo.threshold_ms)
            if len(thresholds) > MAX_SLO_THRESHOLDS:
                raise where.child("threshold_ms").error(
                    f"at most {MAX_SLO_THRESHOLDS} distinct latency thresholds among the SLOs")
        _check_slo_bytes(settings.slo[:index + 1], slo, where)


def _check_slo_bytes(slos: tuple[SLOSection, ...], slo: SLOSection, where: _Where) -> None:
    """The SLOs up to `slo` that apply to its model (all models' if it names none) must keep
    at most `MAX_SLO_BYTES_PER_MODEL` of minute counts."""
    models = {slo.model} if slo.model is not None else {s.model for s in slos} | {None}
    for model in models:
        kept = slo_counts_bytes(s for s in slos if s.model in (None, model))
        if kept > MAX_SLO_BYTES_PER_MODEL:
            named = f"model {model!r}" if model is not None else "every model"
            raise where.error(
                f"the SLOs of {named} would keep {kept / 2**20:.1f} MiB of minute counts a "
                f"model, more than {MAX_SLO_BYTES_PER_MODEL >> 20} MiB (use fewer latency "
                "thresholds or a shorter window)")


def _dotted(table: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """`[keys]` with TOML's dotted keys (`app.quit = "x"`, read as nested tables) flattened
    back into binding ids, so they work quoted or not."""
    flat: dict[str, Any] = {}
    for key, value in table.items():
        if isinstance(value, dict):
            flat.update(_dotted(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _check_keys(settings: Settings, path: Path) -> None:
    for binding_id, keys in settings.keys.items():
        where = _Where(path, f"keys.{binding_id}")
        if binding_id not in BINDING_IDS:
            close = difflib.get_close_matches(binding_id, BINDING_IDS, n=1)
            hint = f", did you mean '{close[0]}'?" if close else ""
            raise where.error(f"unknown binding id{hint} (known: {', '.join(BINDING_IDS)})")
        if not all(key.strip() for key in keys.split(",")):
            raise where.error("must name one key or more, separated by commas")


def _check_alerts(settings: Settings, path: Path) -> None:
    """Every rule's condition, summary, channels, labels and durations, and the `[alerts]`
    keys naming labels or channels."""
    alerts = settings.alerts
    where = _Where(path, "alerts")
    if len(alerts.rules) > MAX_ALERT_RULES:
        raise where.child("rules").error(f"at most {MAX_ALERT_RULES} rules")
    seen: set[tuple[str, str, str | None]] = set()
    for index, rule in enumerate(alerts.rules):
        _check_rule(rule, where.child("rules").child(index), settings)
        key = (rule.name, rule.severity, rule.model)
        if key in seen:
            raise where.child("rules").child(index).error(
                f"rule {rule.name!r}: a second rule of that name, severity and model")
        seen.add(key)
    for index, label in enumerate(alerts.group_by):
        if not _LABEL_NAME.fullmatch(label):
            raise where.child("group_by").child(index).error("must be a label name "
                                                             "(letters, digits, _)")
    for index, channel in enumerate(alerts.slo_channels or ()):
        if channel not in alerts.channels:
            raise where.child("slo_channels").child(index).error(_no_channel(channel, alerts))


def _check_rule(rule: AlertRuleSection, where: _Where, settings: Settings) -> None:
    if not rule.name.strip() or len(rule.name) > MAX_RULE_NAME_CHARS:
        raise where.child("name").error(f"must be 1 to {MAX_RULE_NAME_CHARS} characters")
    named = f"rule {rule.name!r}"
    try:
        condition = parse(rule.when)
    except ConditionError as exc:
        raise where.child("when").error(f"{named}: {exc}") from None
    slos = {slo.name for slo in settings.slo}
    for name in sorted(condition.names):
        family, member = split_member(name)
        if family.startswith("slo_") and member not in slos:
            raise where.child("when").error(f"{named}: {name!r} names no [[slo]] "
                                            f"(known: {', '.join(sorted(slos)) or 'none'})")
    for index, channel in enumerate(rule.channels):
        if channel not in settings.alerts.channels:
            raise where.child("channels").child(index).error(
                f"{named}: {_no_channel(channel, settings.alerts)}")
    for key, duration in (("for", rule.for_), ("repeat", rule.repeat)):
        bound = RULE_BOUNDS[key]
        if duration is not None and not bound.accepts(duration):
            raise where.child(key).error(f"{named}: must be {bound.describe()} seconds")
    for label, value in rule.labels.items():
        if not _LABEL_NAME.fullmatch(label) or label in RESERVED_ALERT_LABELS:
            raise where.child("labels").child(label).error(
                f"{named}: a label name is letters, digits and _, and not one of "
                f"{', '.join(RESERVED_ALERT_LABELS)}")
        if len(value) > MAX_LABEL_CHARS:
            raise where.child("labels").child(label).error(
                f"{named}: at most {MAX_LABEL_CHARS} characters")
    fixed = {"rule", "model", "version", "severity", "when"}
    try:
        parse_template(rule.summary, lambda name: name in fixed or name_kind(name) is not None)
    except TemplateError as exc:
        raise where.child("summary").error(f"{named}: {exc}") from None


def _no_channel(channel: str, alerts: AlertsSection) -> str:
    known = ", ".join(sorted(alerts.channels)) or "none configured"
    return f"no channel {channel!r} in [alerts.channels] (known: {known})"


CHANNEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
"""A channel's name: it names its outbox folder and labels its metric."""
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]{1,256}")
_HEADER_VALUE = re.compile(r"[\t\x20-\x7e]*")
_ADDRESS = re.compile(r"[^\s@<>,;]+@[^\s@<>,;]+")


def channel_from_table(name: str, table: Mapping[str, Any], source: Path,
                       base: Path) -> ChannelSection:
    """One channel from a table shaped as `[alerts.channels.NAME]` (its TOML keys: `from`,
    not `from_`), converted and checked as at load, with `source` named where a file would
    be: how the library's `AlertManager` builds its channels. Relative paths are from `base`.
    """
    channel = _build(ChannelSection, dict(table), _Where(source, f"alerts.channels.{name}"),
                     base)
    _check_channels(Settings(alerts=AlertsSection(channels={name: channel})), source)
    return cast(ChannelSection, channel)


def _check_channels(settings: Settings, path: Path) -> None:
    """Each channel's name, and the keys its type requires and accepts, with their values."""
    for name, channel in settings.alerts.channels.items():
        where = _Where(path, f"alerts.channels.{name}")
        if not CHANNEL_NAME.fullmatch(name):
            raise where.error("a channel name is 1 to 64 letters, digits, '_', '-' or '.', "
                              "starting with a letter or digit")
        required, optional = CHANNEL_KEYS[channel.type]
        for spec in fields(channel):
            key = where.child(_toml_key(spec.name))
            value = getattr(channel, spec.name)
            is_set = value != _default(spec)
            if spec.name in required and not is_set:
                raise key.error(f"is required for a {channel.type} channel")
            if is_set and spec.name not in required | optional | {"type", "timeout_seconds"}:
                raise key.error(f"is not a key of a {channel.type} channel")
        _check_channel_values(channel, where)


def _is_http_url(text: str) -> bool:
    """Whether both the standard library and httpx (which sends it) read `text` as an
    http(s) URL with a host and a real port; neither's error is kept, as it quotes the URL."""
    import httpx  # only where a channel posts: the console starts without it

    try:
        parts = urlsplit(text)
        port = parts.port
        httpx.URL(text)
    except (ValueError, httpx.InvalidURL):
        return False
    return (parts.scheme in ("http", "https") and bool(parts.hostname)
            and (port is None or 1 <= port <= 65535))


def _default(spec: Field[Any]) -> Any:
    return spec.default if spec.default_factory is MISSING else spec.default_factory()


def _check_channel_values(channel: ChannelSection, where: _Where) -> None:
    if not 0 < channel.timeout_seconds <= MAX_CHANNEL_TIMEOUT_SECONDS:
        bound = _above_0(MAX_CHANNEL_TIMEOUT_SECONDS).describe()
        raise where.child("timeout_seconds").error(f"must be {bound}")
    for key in ("webhook_url", "url"):
        secret = getattr(channel, key)
        if secret is not None and not _is_http_url(secret.reveal()):
            raise where.child(key).error("must be an http:// or https:// URL with a port, "
                                         "if any, between 1 and 65535")
    for header, value in channel.headers.items():
        if not _HEADER_NAME.fullmatch(header):
            raise where.child("headers").error("a header name is letters, digits or one of "
                                               "-_.!#$%&'*+^`|~")
        if not _HEADER_VALUE.fullmatch(value.reveal()):
            raise where.child("headers").child(header).error(
                "a header value is printable ASCII characters, spaces and tabs")
    if channel.port is not None and not 1 <= channel.port <= 65535:
        raise where.child("port").error("must be between 1 and 65535")
    if (channel.username is None) != (channel.password is None):
        raise where.child("username").error("username and password go together")
    for index, address in enumerate(channel.to):
        if not _ADDRESS.fullmatch(address):
            raise where.child("to").child(index).error("must be one e-mail address")
    if channel.from_ is not None and not _ADDRESS.fullmatch(channel.from_):
        raise where.child("from").error("must be one e-mail address")
    if channel.ca_file is not None and not channel.ca_file.is_file():
        raise where.child("ca_file").error(f"is not a file: {channel.ca_file}")


MAX_TARGETS = 1000
"""Most `[[targets]]`: past a handful of hosts, `[prometheus]` is the way."""
MAX_TARGET_NAME_CHARS = 100
FLEET_BOUNDS: dict[str, Bound] = {
    "interval": Bound(1, 3600),
    "timeout": Bound(0, 60, low_open=True),
    "rate_window": Bound(10, DAY_SECONDS),
}
"""The range of the durations of a `[[targets]]` entry and of `[prometheus]`."""
_TARGET_NAME = re.compile(r"[A-Za-z0-9\[][A-Za-z0-9_.:@/\[\]-]*")
"""A target's name; brackets for an IPv6 host (`[::1]:9108`), which names a target by default."""


def check_fleet(settings: Settings, path: Path) -> None:
    """Every `[[targets]]` entry and `[prometheus]`: URLs httpx can use (credentials in their
    own keys, not in the URL), unique names, durations in range, one kind of auth. The command
    line's `--target` and `--prometheus` are checked here too, named as these keys."""
    if len(settings.targets) > MAX_TARGETS:
        raise _Where(path, "targets").error(f"at most {MAX_TARGETS} targets, got "
                                            f"{len(settings.targets)}")
    names: set[str] = set()
    for index, target in enumerate(settings.targets):
        where = _Where(path, f"targets[{index}]")
        _check_remote(target, where)
        name = target_name(target)
        if len(name) > MAX_TARGET_NAME_CHARS or not _TARGET_NAME.fullmatch(name):
            raise where.child("name").error(
                f"must be 1 to {MAX_TARGET_NAME_CHARS} letters, digits or _.:@/[]-, starting "
                "with a letter, a digit or [")
        if name in names:
            raise where.child("name").error(f"duplicate target name {name!r}")
        names.add(name)
    if settings.prometheus.url is not None:
        _check_remote(settings.prometheus, _Where(path, "prometheus"))


def target_name(target: TargetSection) -> str:
    """The target's name: its own, else its URL's host and port."""
    if target.name:
        return target.name
    parts = urlsplit(target.url)
    return parts.netloc.rsplit("@", 1)[-1] or target.url


def _check_remote(section: TargetSection | PrometheusSection, where: _Where) -> None:
    url = section.url or ""
    if not _is_http_url(url):
        raise where.child("url").error("must be an http:// or https:// URL with a port, if "
                                       "any, between 1 and 65535")
    if "@" in urlsplit(url).netloc:
        raise where.child("url").error("must not hold credentials: use bearer_token, or "
                                       "username and password")
    for key, bound in FLEET_BOUNDS.items():
        value = getattr(section, key, None)
        if value is not None and not bound.accepts(value):
            raise where.child(key).error(f"must be {bound.describe()} seconds")
    if section.timeout > section.interval:
        raise where.child("timeout").error("must not be longer than interval")
    if (section.username is None) != (section.password is None):
        raise where.child("username").error("username and password go together")
    if section.bearer_token is not None and section.username is not None:
        raise where.child("bearer_token").error("use a bearer token or a username and "
                                                "password, not both")
    if section.bearer_token is not None and not _HEADER_VALUE.fullmatch(
            section.bearer_token.reveal()):
        raise where.child("bearer_token").error("must be printable ASCII characters")


def _check_exporter(settings: Settings, path: Path) -> None:
    """`[exporter] latency_buckets_ms`: 1 to `MAX_LATENCY_BUCKETS` finite bounds in ms,
    strictly increasing, each above 0 and at most an hour."""
    buckets = settings.exporter.latency_buckets_ms
    where = _Where(path, "exporter.latency_buckets_ms")
    if not 1 <= len(buckets) <= MAX_LATENCY_BUCKETS:
        raise where.error(f"must hold 1 to {MAX_LATENCY_BUCKETS} bounds, got {len(buckets)}")
    bound = _above_0(3_600_000)
    for index, value in enumerate(buckets):
        if not bound.accepts(value):
            raise where.child(index).error(f"must be {bound.describe()} ms")
        if index and value <= buckets[index - 1]:
            raise where.child(index).error("the bounds must be strictly increasing")
