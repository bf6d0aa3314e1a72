"""The layers of ARCHITECTURE.md, held as tests: engines are pure, headless never loads Textual."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "neural_tui"
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
        "neural_tui.metrics_server, neural_tui.reports"
    )
    assert "neural_tui.headless" in loaded
    assert not {m for m in loaded if m == "textual" or m.startswith("textual.")}


def test_the_producer_api_is_light_for_a_model_server():
    loaded = modules_loaded_by("from neural_tui import ModelMonitor, PredictionLogger")
    assert "neural_tui.producer" in loaded
    heavy = {"textual", "scipy", "prometheus_client", "httpx", "neural_tui.app"}
    assert not {m for m in loaded if m.split(".")[0] in heavy or m.startswith("neural_tui.app")}
