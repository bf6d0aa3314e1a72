"""The suite's own layout: a test module never imports another; shared helpers live in helper
modules (`factories`, `tail_lines`, `headless_storage`, ...), so running one test file never
depends on how another is written."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).parent


def imported_test_modules(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
        elif isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
    return [name for name in names if name.split(".")[-1].startswith("test_")]


def test_no_test_module_imports_another_test_module():
    offenders = {path.name: imported_test_modules(path) for path in TESTS.glob("test_*.py")}
    assert {name: found for name, found in offenders.items() if found} == {}
