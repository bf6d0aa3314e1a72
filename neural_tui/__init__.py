"""neural-tui: watch machine-learning models in production from a terminal.

The old module's face a model server calls (`ModelMonitor`, with its results `DriftMetrics` and
`QualityReport`), the writers (`PredictionLogger`, `ModelLogger`), the library engines
(`DriftDetector`, `DataQualityMonitor`), the old module's SLO API (`SLOTracker`, `SLO`,
`SLOType`, `SLAReport`) and the alerting (`AlertManager`, `AlertRule`, `AlertChannel`,
`AlertSeverity`) are imported lazily, so that `import neural_tui` stays cheap for a model
server and never pulls in the console. `QualityReport` here is the old shape; the quality
engine's is `neural_tui.engines.quality.QualityReport`.

So are the old module's analysis of stored predictions (`PredictionAnalyzer`), its other name
for the quality engine (`DataQualityChecker`) and its in-process metrics (`MetricsRegistry`,
`PrometheusExporter`).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from neural_tui.alert_manager import AlertChannel, AlertManager, AlertRule, AlertSeverity
    from neural_tui.engines.drift import DriftDetector
    from neural_tui.engines.quality import DataQualityChecker, DataQualityMonitor
    from neural_tui.metrics_registry import MetricsRegistry, PrometheusExporter
    from neural_tui.monitor import ModelMonitor
    from neural_tui.monitor_results import DriftMetrics, QualityReport
    from neural_tui.prediction_analyzer import PredictionAnalyzer
    from neural_tui.producer import ModelLogger, PredictionLogger
    from neural_tui.slo_tracker import SLO, SLAReport, SLOTracker, SLOType

__all__ = [
    "SLO",
    "AlertChannel",
    "AlertManager",
    "AlertRule",
    "AlertSeverity",
    "DataQualityChecker",
    "DataQualityMonitor",
    "DriftDetector",
    "DriftMetrics",
    "MetricsRegistry",
    "ModelLogger",
    "ModelMonitor",
    "PredictionAnalyzer",
    "PredictionLogger",
    "PrometheusExporter",
    "QualityReport",
    "SLAReport",
    "SLOTracker",
    "SLOType",
]
__version__ = "0.1.0"

_LAZY = {
    "ModelMonitor": "neural_tui.monitor",
    "DriftMetrics": "neural_tui.monitor_results",
    "QualityReport": "neural_tui.monitor_results",
    "ModelLogger": "neural_tui.producer",
    "PredictionLogger": "neural_tui.producer",
    "DriftDetector": "neural_tui.engines.drift",
    "DataQualityMonitor": "neural_tui.engines.quality",
    "SLOTracker": "neural_tui.slo_tracker",
    "SLO": "neural_tui.slo_tracker",
    "SLOType": "neural_tui.slo_tracker",
    "SLAReport": "neural_tui.slo_tracker",
    "AlertManager": "neural_tui.alert_manager",
    "AlertRule": "neural_tui.alert_manager",
    "AlertChannel": "neural_tui.alert_manager",
    "AlertSeverity": "neural_tui.alert_manager",
    "DataQualityChecker": "neural_tui.engines.quality",
    "PredictionAnalyzer": "neural_tui.prediction_analyzer",
    "MetricsRegistry": "neural_tui.metrics_registry",
    "PrometheusExporter": "neural_tui.metrics_registry",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'neural_tui' has no attribute {name!r}")
    return getattr(import_module(module), name)
