"""Which model and version a record belongs to when the record does not say.

Precedence, most specific first: the record's own `model_name`/`model_version`; then
`monitor_config.json` in the storage root (as the old module wrote it); then the config's
`[[models]]` (its only entry for a missing name; the entry of that name for a missing version);
then `default` and `unknown`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from neural_tui.config import Settings
from neural_tui.storage_layout import MONITOR_CONFIG

FALLBACK_NAME = "default"
FALLBACK_VERSION = "unknown"


@dataclass(frozen=True, slots=True)
class ModelDefaults:
    name: str
    versions_by_name: dict[str, str]

    @staticmethod
    def from_settings(settings: Settings, storage: Path | None = None) -> ModelDefaults:
        storage = storage if storage is not None else settings.storage.path
        configured = {m.name: m.version for m in settings.models if m.version}
        name = settings.models[0].name if len(settings.models) == 1 else FALLBACK_NAME
        version = configured.get(name, FALLBACK_VERSION)
        written = _read_monitor_config(storage / MONITOR_CONFIG)
        if written.get("model_name"):
            name = written["model_name"]
            version = written.get("model_version") or configured.get(name, FALLBACK_VERSION)
        configured.setdefault(name, version)
        return ModelDefaults(name=name, versions_by_name=configured)

    def key(self, name: str | None, version: str | None) -> tuple[str, str]:
        """The (model, version) of records that all say this `name` and `version` (either
        absent or empty): what `names` and `versions` give each of them."""
        name = name or self.name
        return name, version or self.versions_by_name.get(name, FALLBACK_VERSION)

    def names(self, names: np.ndarray) -> np.ndarray:
        """Each record's model name; absent or empty takes the default."""
        missing = (names == None) | (names == "")  # noqa: E711 - elementwise on objects
        if not missing.any():
            return names
        filled = names.copy()
        filled[missing] = self.name
        return filled

    def versions(self, names: np.ndarray, versions: np.ndarray) -> np.ndarray:
        """Each record's model version; absent or empty takes the model's default."""
        missing = (versions == None) | (versions == "")  # noqa: E711 - elementwise on objects
        if not missing.any():
            return versions
        filled = versions.copy()
        for name in set(names[missing].tolist()):
            filled[missing & (names == name)] = self.versions_by_name.get(name, FALLBACK_VERSION)
        return filled


def _read_monitor_config(path: Path) -> dict[str, str]:
    """The old module's `monitor_config.json`; absent or unreadable means no defaults."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: str(v) for k, v in data.items()
            if k in ("model_name", "model_version") and v and _utf8(str(v))}


def _utf8(text: str) -> bool:
    """Whether `text` can be written as UTF-8: JSON's `\\ud800` escape decodes to a lone
    surrogate, which would make every exposition and terminal write of the name fail."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
