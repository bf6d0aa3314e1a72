"""The layers of ARCHITECTURE.md, held as tests: the import contracts of pyproject.toml pass
and catch a wrong import, engines are pure, headless never loads Textual, the producer stays
light."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "neural_tui"
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
IMPURE_FOR_ENGINES = {"textual", "rich", "httpx", "aiofiles", "asyncio", "prometheus_client",
                      "socket", "threading", "neural_tui.app", "neural_tui.runtime",
                      "neural_tui.sources"}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", sorted((PACKAGE / "engines").glob("*.py")), ids=lambda p: p.name)
def test_engines_import_nothing_but_numbers(path):
    forbidden = {
        name for name in imported_modules(path)
        if any(name == bad or name.startswith(bad + ".") for bad in IMPURE_FOR_ENGINES)
    }
    assert forbidden == set()


def modules_loaded_by(code: str) -> set[str]:
    result = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys\nprint('\\n'.join(sys.modules))"],
        capture_output=True, text=True, check=True, timeout=60,
    )
    return set(result.stdout.split())


def test_headless_mode_never_imports_textual():
    loaded = modules_loaded_by(
        "import neural_tui.cli, neural_tui.headless, neural_tui.exporter, "
        "neural_tui.metrics_server, neural_tui.reports, neural_tui.prometheus_rules"
    )
    assert "neural_tui.headless" in loaded
    assert not {m for m in loaded if m == "textual" or m.startswith("textual.")}


def test_the_exporter_starts_reading_without_importing_scipy():
    loaded = modules_loaded_by("import neural_tui.cli, neural_tui.headless")
    assert "neural_tui.engines.two_sample" in loaded
    assert not {m for m in loaded if m.split(".")[0] == "scipy"}, "scipy waits for a first run"


def test_the_producer_api_is_light_for_a_model_server():
    loaded = modules_loaded_by("from neural_tui import ModelMonitor, ModelLogger, PredictionLogger")
    assert {"neural_tui.producer", "neural_tui.monitor"} <= loaded
    heavy = {"textual", "scipy", "prometheus_client", "httpx"}
    console = ("neural_tui.app", "neural_tui.screens", "neural_tui.widgets")
    assert not {m for m in loaded if m.split(".")[0] in heavy or m.startswith(console)}


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """`lint-imports` on the package under `root`, with the contracts of its pyproject.toml."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=root, env=env,
                          capture_output=True, text=True, timeout=120)


def contracts() -> dict[str, dict]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return {c["id"]: c for c in config["tool"]["importlinter"]["contracts"]}


def test_every_import_contract_is_kept():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Contracts: {len(contracts())} kept, 0 broken." in result.stdout


@pytest.mark.parametrize(("module", "wrong_import", "contract"), [
    ("engines/columns.py", "import neural_tui.app", "engines-pure"),
    ("engines/drift.py", "import asyncio", "engines-pure"),
    ("sources/tail.py", "import neural_tui.runtime.pipeline", "sources-below-runtime"),
    ("runtime/state.py", "import neural_tui.exporter", "runtime-below-consumers"),
    ("exporter.py", "import textual", "headless-without-textual"),
    ("app/app.py", "import neural_tui.sources.tail", "console-renders-snapshots"),
    ("widgets/model_panel.py", "import neural_tui.engines.columns", "console-engine-types"),
    ("producer.py", "import neural_tui.runtime.snapshot", "producer-light"),
])
def test_a_wrong_import_breaks_the_contract_of_its_edge(tmp_path, module, wrong_import, contract):
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    shutil.copytree(PACKAGE, tmp_path / "neural_tui",
                    ignore=shutil.ignore_patterns("__pycache__"))
    with (tmp_path / "neural_tui" / module).open("a", encoding="utf-8") as file:
        file.write(f"\n{wrong_import}\n")

    result = lint_imports(tmp_path)

    assert result.returncode == 1
    broken = result.stdout.split("Broken contracts", 1)[1]
    assert contracts()[contract]["name"] in " ".join(broken.split())
    assert f"neural_tui.{module.removesuffix('.py').replace('/', '.')} -> " in broken


def top_level_parts() -> set[str]:
    """`neural_tui.x` for every module and subpackage directly in the package."""
    return {f"neural_tui.{path.stem}" for path in PACKAGE.iterdir()
            if (path.suffix == ".py" and path.stem != "__init__")
            or (path.is_dir() and (path / "__init__.py").exists())}


@pytest.mark.parametrize(("contract", "allowed"), [
    ("engines-pure", {"neural_tui.engines"}),
    ("sources-below-runtime", {"neural_tui.sources", "neural_tui.records", "neural_tui.decode",
                               "neural_tui.errors", "neural_tui.storage_layout",
                               "neural_tui.remote_models"}),
    ("producer-light", {"neural_tui.producer", "neural_tui.storage_layout", "neural_tui.errors"}),
    ("console-renders-snapshots", {"neural_tui.alerts", "neural_tui.app", "neural_tui.screens",
                                   "neural_tui.widgets", "neural_tui.config",
                                   "neural_tui.engines",
                                   "neural_tui.errors", "neural_tui.keymap", "neural_tui.runtime",
                                   "neural_tui.remote_models", "neural_tui.safe_text"}),
])
def test_an_only_rule_names_every_other_part_of_the_package(contract, allowed):
    forbidden = set(contracts()[contract]["forbidden_modules"])
    assert top_level_parts() - allowed - forbidden == set()


def test_the_console_reads_only_the_snapshot_and_its_feed_from_the_runtime():
    runtime = {f"neural_tui.runtime.{path.stem}" for path in (PACKAGE / "runtime").glob("*.py")
               if path.stem != "__init__"}
    forbidden = set(contracts()["console-renders-snapshots"]["forbidden_modules"])
    assert runtime - forbidden == {"neural_tui.runtime.snapshot", "neural_tui.runtime.feed"}
