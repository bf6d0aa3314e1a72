"""ARCHITECTURE.md is the map of the code: it names every module there is, and no other."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODULE_PATH = re.compile(r"neural_tui/[\w/]+\.py")
ANY_PY_PATH = re.compile(r"`([\w/]+\.py)`")


def named_modules(text: str) -> set[str]:
    return set(MODULE_PATH.findall(text))


def existing_modules() -> set[str]:
    return {path.relative_to(ROOT).as_posix() for path in (ROOT / "neural_tui").rglob("*.py")}


def test_architecture_names_every_module_and_no_other():
    named = named_modules((ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8"))
    existing = existing_modules()
    assert sorted(existing - named) == [], "modules missing from ARCHITECTURE.md"
    assert sorted(named - existing) == [], "ARCHITECTURE.md names modules that do not exist"


def test_every_file_the_architecture_names_exists():
    """A short path (`engines/drift.py`) is read inside `neural_tui/`, else from the root."""
    text = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    missing = [path for path in sorted(set(ANY_PY_PATH.findall(text)))
               if not (ROOT / "neural_tui" / path).is_file() and not (ROOT / path).is_file()]
    assert missing == []


def test_the_module_check_sees_a_missing_and_an_invented_module():
    existing = existing_modules()
    text = " ".join(sorted(existing - {"neural_tui/cli.py"})) + " neural_tui/alerts/rules.py"
    named = named_modules(text)
    assert existing - named == {"neural_tui/cli.py"}
    assert named - existing == {"neural_tui/alerts/rules.py"}


def test_the_readme_links_the_architecture():
    assert "(ARCHITECTURE.md)" in (ROOT / "README.md").read_text(encoding="utf-8")
