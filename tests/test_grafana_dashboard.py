"""The Grafana dashboard `deploy/grafana/neural-tui.json`: importable JSON whose every PromQL
expression, with the variables substituted as Grafana substitutes them, is accepted by a real
Prometheus and returns data for the demo traffic, and names only metrics the exporter exports
or the rules of `neural-tui rules` record.

The live part runs once for the module: the demo writer (`DemoTraffic`, fraud-detector
drifting after 5 s) writes into a storage that also holds one line that is not JSON, a real
`neural-tui --serve-metrics` with SLOs, an alert rule that fires and a file channel serves it,
and a real Prometheus scrapes it every second with the generated rules loaded. Every
expression is then asked for two selections: every model and version ("All"), and one model
with its one version.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families
from realservers import LOOPBACK, Prometheus, RealServer, free_port, require_binary

from neural_tui.demo import MODEL_VERSIONS, DemoTraffic

ROOT = Path(__file__).resolve().parent.parent
DASHBOARD = ROOT / "deploy" / "grafana" / "neural-tui.json"
NEURAL_TUI = [sys.executable, "-m", "neural_tui.cli"]
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
SCRAPE_SECONDS = 1
RANGE_SECONDS = 300
"""The dashboard's time range in the test: the last 5 minutes."""
ONE_MODEL = "fraud-detector"
DATA_TIMEOUT_SECONDS = 60.0

CONFIG = """
[runtime]
cadence_seconds = 0.5
poll_interval_seconds = 0.1

[analysis]
interval_seconds = 1.0
every_records = 200

[drift]
window = 200
reference_rows = 200

[[slo]]
name = "available"
type = "availability"
target = 0.9999
window = "1h"
min_events = 1

[[slo]]
name = "fast"
type = "latency"
target = 0.95
threshold_ms = 250
window = "1h"
min_events = 1

[[slo]]
name = "accurate"
type = "accuracy"
target = 0.8
window = "1h"
min_events = 1

[alerts]
group_wait = "0s"

[[alerts.rules]]
name = "serving"
when = "throughput_rps > 0"
severity = "info"
channels = ["archive"]

[alerts.channels.archive]
type = "file"
path = "alerts.jsonl"
"""
"""An availability SLO of 99.99 % against the demo's 1 % of failed requests burns its budget
100 times too fast, so Prometheus fires its `slo_burn_rate` page alert within seconds."""


# --- The dashboard's structure ---------------------------------------------------------------

def load_dashboard() -> dict[str, Any]:
    dashboard: dict[str, Any] = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return dashboard


def every_panel(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Every panel, rows and the panels inside collapsed rows included."""
    for panel in panels:
        yield panel
        yield from every_panel(panel.get("panels", []))


def every_target(dashboard: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(where, target) of every query of every panel; `where` names the panel and query."""
    return [(f"panel {panel['id']} {panel['title']!r} {target['refId']}", target)
            for panel in every_panel(dashboard["panels"]) for target in panel.get("targets", [])]


def variables(dashboard: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {variable["name"]: variable for variable in dashboard["templating"]["list"]}


LABEL_VALUES = re.compile(r"^label_values\((?P<selector>.+),\s*(?P<label>\w+)\)$")


def label_values_query(variable: dict[str, Any]) -> tuple[str, str]:
    """(series selector, label) of a `label_values(selector, label)` variable query."""
    match = LABEL_VALUES.match(variable["definition"])
    assert match is not None, f"variable {variable['name']}: not a label_values query"
    return match["selector"], match["label"]


# --- Grafana's substitution of variables ------------------------------------------------------

@dataclass(frozen=True)
class Selection:
    """What the user picked: each variable's values (a multi-value variable's "All" is every
    option's value), and the dashboard's time range and the data source's scrape interval."""

    values: dict[str, list[str]]
    range_seconds: int = RANGE_SECONDS
    scrape_seconds: int = SCRAPE_SECONDS

    def builtins(self) -> dict[str, str]:
        """Grafana's own variables for a Prometheus data source: `$__interval` is never below
        the scrape interval (wide panels over 5 minutes: exactly it), `$__rate_interval` is
        max(`$__interval` + scrape interval, 4 scrape intervals)."""
        interval = self.scrape_seconds
        rate_interval = max(interval + self.scrape_seconds, 4 * self.scrape_seconds)
        return {
            "__interval": f"{interval}s", "__interval_ms": str(interval * 1000),
            "__rate_interval": f"{rate_interval}s",
            "__range": f"{self.range_seconds}s", "__range_s": str(self.range_seconds),
            "__range_ms": str(self.range_seconds * 1000),
        }


VARIABLE = re.compile(r"\$(\w+)|\$\{(\w+)(?::(\w+))?\}")


def prometheus_regex_escape(value: str) -> str:
    """The Prometheus data source's escaping of a multi-value variable's value: doubled
    backslashes, because the value lands inside a PromQL string literal holding a regex."""
    value = value.replace("\\", "\\\\\\\\")
    return re.sub(r"[$^*{}\[\]'+?.()|]", lambda m: "\\\\" + m[0], value)


def grafana_regex_escape(value: str) -> str:
    """The `:regex` format's escaping (a JavaScript regex, single backslashes)."""
    return re.sub(r"[\\^$*+?.()|\[\]{}/]", lambda m: "\\" + m[0], value)


def interpolate(expr: str, selection: Selection) -> str:
    """`expr` as Grafana sends it for `selection`. A name that is no variable (`$1` in a
    `label_replace` replacement) stays as written, as Grafana leaves it."""
    builtins = selection.builtins()

    def substitute(match: re.Match[str]) -> str:
        name = match[1] or match[2]
        if name in builtins:
            return builtins[name]
        if name not in selection.values:
            return match[0]
        values = selection.values[name]
        if match[3] == "regex":
            escaped = [grafana_regex_escape(v) for v in values]
        else:
            assert match[3] is None, f"format {match[3]!r} of ${name} is not substituted here"
            escaped = [prometheus_regex_escape(v) for v in values]
        return escaped[0] if len(escaped) == 1 else "(" + "|".join(escaped) + ")"

    return VARIABLE.sub(substitute, expr)


def unknown_variables(expr: str) -> set[str]:
    """Names after a `$` that Grafana would leave unreplaced, except regex group references."""
    return {m[1] or m[2] for m in VARIABLE.finditer(expr) if not (m[1] or m[2]).isdigit()}


# --- Metric names in PromQL ---------------------------------------------------------------------

STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
NAME_MATCHER = re.compile(r'__name__\s*(=~|=)\s*("(?:[^"\\]|\\.)*")')
MATCHERS = re.compile(r"\{[^{}]*\}")
RANGE = re.compile(r"\[[^\[\]]*\]")
GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)")
IDENTIFIER = re.compile(r"(?<![\w:.])([A-Za-z_:][\w:]*)(?![\w:]|\s*\()")
KEYWORDS = {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring",
            "group_left", "group_right", "inf", "nan"}


def metric_names(expr: str) -> tuple[set[str], set[str]]:
    """(metric names, `__name__` regexes) an expression selects: identifiers outside strings,
    label matchers, ranges and grouping clauses that call nothing and are no keyword."""
    names: set[str] = set()
    patterns: set[str] = set()
    for operator, literal in NAME_MATCHER.findall(expr):
        (patterns if operator == "=~" else names).add(json.loads(literal))
    bare = STRING.sub('""', expr)
    for pattern in (MATCHERS, RANGE, GROUPING):
        bare = pattern.sub(" ", bare)
    names |= {name for name in IDENTIFIER.findall(bare) if name.lower() not in KEYWORDS}
    return names, patterns


# --- Without a server ---------------------------------------------------------------------------

def test_the_dashboard_is_importable_json_on_a_datasource_variable():
    dashboard = load_dashboard()
    datasource = variables(dashboard)["datasource"]

    assert dashboard["schemaVersion"] >= 39
    assert dashboard["uid"] == "neural-tui-models"
    assert dashboard["id"] is None
    assert (datasource["type"], datasource["query"]) == ("datasource", "prometheus")
    assert [where for where, target in every_target(dashboard)
            if target["datasource"] != DATASOURCE] == []
    assert [panel["title"] for panel in every_panel(dashboard["panels"])
            if panel["type"] != "row" and panel["datasource"] != DATASOURCE] == []


def test_model_and_version_variables_list_the_exported_series_with_all_and_multi_select():
    listed = variables(load_dashboard())

    assert label_values_query(listed["model"]) == ("neural_predictions_total", "model")
    assert label_values_query(listed["version"]) == (
        'neural_predictions_total{model=~"$model"}', "version")
    for name in ("model", "version"):
        variable = listed[name]
        assert (variable["multi"], variable["includeAll"], variable["refresh"]) == (True, True, 2)
        assert variable["query"]["query"] == variable["definition"]
        assert variable["datasource"] == DATASOURCE


def test_there_is_a_row_for_each_concern_and_the_ingest_row_nests_its_panels():
    rows = {panel["title"]: panel for panel in load_dashboard()["panels"]
            if panel["type"] == "row"}

    assert list(rows) == ["Overview", "Traffic", "Latency", "Errors", "Drift", "Data quality",
                          "Model performance", "SLOs",
                          "SLOs from the Prometheus recording rules", "Alerts",
                          "Ingest and exporter health"]
    assert rows["Ingest and exporter health"]["collapsed"] is True
    assert len(rows["Ingest and exporter health"]["panels"]) == 3


def cells(panel: dict[str, Any]) -> set[tuple[int, int]]:
    grid = panel["gridPos"]
    return {(x, y) for x in range(grid["x"], grid["x"] + grid["w"])
            for y in range(grid["y"], grid["y"] + grid["h"])}


def test_panel_ids_and_query_ids_are_unique_and_no_two_panels_overlap():
    dashboard = load_dashboard()
    ids = [panel["id"] for panel in every_panel(dashboard["panels"])]
    queries = [where for where, _ in every_target(dashboard)]
    layers = [dashboard["panels"]] + [panel["panels"] for panel in dashboard["panels"]
                                      if panel.get("collapsed")]

    assert len(ids) == len(set(ids))
    assert len(queries) == len(set(queries))
    for layer in layers:
        taken: set[tuple[int, int]] = set()
        for panel in layer:
            assert all(0 <= x < 24 for x, _ in cells(panel)), panel["title"]
            assert not cells(panel) & taken, f"{panel['title']} overlaps another panel"
            taken |= cells(panel)


def test_every_query_uses_only_variables_the_dashboard_defines():
    dashboard = load_dashboard()
    defined = set(variables(dashboard)) | set(Selection({}).builtins())
    queries = [t["expr"] for _, t in every_target(dashboard)]
    queries += [v["definition"] for v in variables(dashboard).values() if "definition" in v]

    assert {expr: unknown_variables(expr) - defined for expr in queries
            if unknown_variables(expr) - defined} == {}
    assert all(target["expr"].strip() for _, target in every_target(dashboard))


def test_variables_are_substituted_as_grafanas_prometheus_data_source_does():
    selection = Selection({"model": ["fraud-detector", "a.b|c"], "version": ["2.3.0"]})

    assert interpolate('x{model=~"$model", version=~"${version}"}', selection) == (
        'x{model=~"(fraud-detector|a\\\\.b\\\\|c)", version=~"2\\\\.3\\\\.0"}')
    assert interpolate("${model:regex}", selection) == "(fraud-detector|a\\.b\\|c)"
    assert interpolate("rate(x[$__rate_interval]) or increase(x[$__range])", selection) == (
        "rate(x[4s]) or increase(x[300s])")
    assert interpolate('label_replace(x, "w", "$1", "n", "(.+)")', selection) == (
        'label_replace(x, "w", "$1", "n", "(.+)")')
    assert unknown_variables("$1 $__interval_ms ${modle}") == {"__interval_ms", "modle"}


def test_metric_names_are_read_from_selectors_not_functions_labels_strings_or_keywords():
    expr = ('histogram_quantile(0.95, sum by (model, le) (rate(a_bucket{model=~"x(y)", '
            'le!="+Inf"}[5m] offset 1m))) / on (slo) group_left () b:rec:ratio or vector(1e3) '
            'and bool {__name__=~"c.+", job="d"} unless label_replace(e, "w", "$1", "f", "g")')

    assert metric_names(expr) == ({"a_bucket", "b:rec:ratio", "e"}, {"c.+"})


# --- Against a real Prometheus ------------------------------------------------------------------

@dataclass(frozen=True)
class Live:
    prometheus: Prometheus
    metrics_url: str
    rule_file: Path


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    binary = require_binary("prometheus", "apt-get install prometheus")
    root = tmp_path_factory.mktemp("grafana-live")
    config, storage = root / "neural-tui.toml", root / "storage"
    config.write_text(CONFIG, encoding="utf-8")
    (storage / "predictions").mkdir(parents=True)
    (storage / "predictions" / "garbage.jsonl").write_text("not json\n", encoding="utf-8")
    rule_file = root / "slo.rules.yml"
    rule_file.write_text(subprocess.run([*NEURAL_TUI, "rules", "--config", str(config)],
                                        capture_output=True, text=True, timeout=60,
                                        check=True).stdout, encoding="utf-8")
    port = free_port()
    url = f"http://{LOOPBACK}:{port}"
    exporter = RealServer("neural-tui", [*NEURAL_TUI, "--serve-metrics", "--config", str(config),
                                         "--storage", str(storage), "--port", str(port)],
                          root, f"{url}/healthz")
    (root / "prometheus").mkdir()
    prometheus = Prometheus(binary, root / "prometheus", [f"{LOOPBACK}:{port}"], [rule_file])
    traffic = DemoTraffic(storage, rate_per_model=40.0, drift_after=5.0, seed=10)
    traffic.start()
    try:
        exporter.start(ready_timeout=60)
        prometheus.start()
        yield Live(prometheus, url, rule_file)
    finally:
        prometheus.stop()
        exporter.stop()
        traffic.stop()


@dataclass(frozen=True)
class Answer:
    """Prometheus' answer to one instant query: an error, or the series returned."""

    error: str | None
    series: list[dict[str, Any]]


def ask(prometheus: Prometheus, expr: str) -> Answer:
    response = httpx.get(f"{prometheus.url}/api/v1/query", params={"query": expr}, timeout=10)
    body = response.json()
    if body.get("status") != "success":
        return Answer(f"{body.get('errorType')}: {body.get('error')}", [])
    return Answer(None, body["data"]["result"])


def label_values(prometheus: Prometheus, label: str, selector: str) -> list[str]:
    """What Grafana lists for `label_values(selector, label)`."""
    values: list[str] = prometheus.get(
        f"/api/v1/label/{label}/values?{urlencode({'match[]': selector})}")
    return values


def options(prometheus: Prometheus, dashboard: dict[str, Any], name: str,
            selection: Selection) -> list[str]:
    """The options of variable `name` once the variables before it are `selection`."""
    selector, label = label_values_query(variables(dashboard)[name])
    return label_values(prometheus, label, interpolate(selector, selection))


def selections(prometheus: Prometheus, dashboard: dict[str, Any]) -> dict[str, Selection]:
    """"All" of every variable, and one model with every version of it, each variable's
    options listed as Grafana lists them (the version's after the model is chosen)."""
    picked = {}
    for label, models in (("all", None), ("one", [ONE_MODEL])):
        chosen = Selection({"model": models or options(prometheus, dashboard, "model",
                                                       Selection({}))})
        versions = options(prometheus, dashboard, "version", chosen)
        picked[label] = Selection({**chosen.values, "version": versions})
    return picked


def queries(dashboard: dict[str, Any], selection: Selection) -> list[tuple[str, str]]:
    """(where, PromQL) of every target and of every variable's series selector."""
    found = [(where, interpolate(target["expr"], selection))
             for where, target in every_target(dashboard)]
    found += [(f"variable {name}", interpolate(label_values_query(variable)[0], selection))
              for name, variable in variables(dashboard).items() if variable["type"] == "query"]
    return found


@pytest.fixture(scope="module")
def answers(live: Live) -> dict[str, dict[str, Answer]]:
    """Per selection, the answer to every query: asked again until each returns data (the
    demo needs its reference rows, labels and a burning SLO first) or the time is up."""
    dashboard = load_dashboard()
    wait_for_models(live.prometheus)
    picked = selections(live.prometheus, dashboard)
    asked = {label: dict(queries(dashboard, selection)) for label, selection in picked.items()}
    latest: dict[str, dict[str, Answer]] = {label: {} for label in asked}
    deadline = time.monotonic() + DATA_TIMEOUT_SECONDS
    while True:
        for label, exprs in asked.items():
            for where, expr in exprs.items():
                if where not in latest[label] or not latest[label][where].series:
                    latest[label][where] = ask(live.prometheus, expr)
        waiting = [a for by_where in latest.values() for a in by_where.values()
                   if a.error is None and not a.series]
        if not waiting or time.monotonic() > deadline:
            return latest
        time.sleep(1.0)


def wait_for_models(prometheus: Prometheus) -> None:
    prometheus.wait_for("count(neural_predictions_total)",
                        lambda result: bool(result) and result[0]["value"][1] == "3",
                        timeout=30)


@pytest.mark.real_server
def test_the_variables_list_the_demo_models_and_their_versions(live):
    dashboard = load_dashboard()
    wait_for_models(live.prometheus)

    picked = selections(live.prometheus, dashboard)

    assert sorted(picked["all"].values["model"]) == sorted(MODEL_VERSIONS)
    assert sorted(picked["all"].values["version"]) == sorted(MODEL_VERSIONS.values())
    assert picked["one"].values == {"model": [ONE_MODEL], "version": [MODEL_VERSIONS[ONE_MODEL]]}


@pytest.mark.real_server
@pytest.mark.parametrize("selection", ["all", "one"])
def test_prometheus_accepts_every_expression_of_the_dashboard(answers, selection):
    assert {where: answer.error for where, answer in answers[selection].items()
            if answer.error is not None} == {}


@pytest.mark.real_server
@pytest.mark.parametrize("selection", ["all", "one"])
def test_every_expression_returns_data_for_the_demo_traffic(answers, selection):
    assert sorted(where for where, answer in answers[selection].items()
                  if answer.error is None and not answer.series) == []


@pytest.mark.real_server
def test_the_single_selection_returns_only_the_selected_model(answers):
    others = {where: models for where, answer in answers["one"].items()
              if where.startswith("panel") and (models := {
                  series["metric"]["model"] for series in answer.series
                  if series["metric"].get("model", ONE_MODEL) != ONE_MODEL})}

    assert others == {}


LEGEND_LABEL = re.compile(r"\{\{\s*(\w+)\s*\}\}")


@pytest.mark.real_server
def test_every_label_a_legend_shows_is_on_the_series_its_query_returns(answers):
    missing = {}
    for where, target in every_target(load_dashboard()):
        shown = set(LEGEND_LABEL.findall(target.get("legendFormat", "")))
        answer = answers["all"][where]
        lacking = {label for series in answer.series for label in shown - set(series["metric"])}
        if lacking:
            missing[where] = lacking

    assert missing == {}


def known_names(live: Live) -> set[str]:
    """Every sample name the exporter serves, every name the rules record, and `ALERTS`,
    Prometheus' series of the rule file's alerts."""
    exposition = httpx.get(f"{live.metrics_url}/metrics", timeout=10).text
    names = {sample.name for family in text_string_to_metric_families(exposition)
             for sample in family.samples}
    rules = [rule for group in yaml.safe_load(live.rule_file.read_text(encoding="utf-8"))["groups"]
             for rule in group["rules"]]
    names |= {rule["record"] for rule in rules if "record" in rule}
    if any("alert" in rule for rule in rules):
        names.add("ALERTS")
    return names


@pytest.mark.real_server
def test_every_metric_the_dashboard_names_is_exported_or_recorded(live, answers):
    known = known_names(live)
    dashboard = load_dashboard()
    exprs = [target["expr"] for _, target in every_target(dashboard)]
    exprs += [label_values_query(variable)[0] for variable in variables(dashboard).values()
              if variable["type"] == "query"]
    named = [metric_names(expr) for expr in exprs]

    assert sorted({name for names, _ in named for name in names} - known) == []
    assert sorted(pattern for _, patterns in named for pattern in patterns
                  if not any(re.fullmatch(pattern, name) for name in known)) == []
