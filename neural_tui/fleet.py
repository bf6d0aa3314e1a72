"""The remote sources a config asks for: its `[[targets]]` and `[prometheus]`, as sources.

What the console, the headless exporter and the one-shot reports call to read beyond local
storage; the credentials leave their `Secret`s only here, on their way to the sources.
"""

from __future__ import annotations

from neural_tui.config import PrometheusSection, Settings, TargetSection, target_name
from neural_tui.remote_models import Endpoint, RemoteSource


def remote_sources(settings: Settings) -> tuple[RemoteSource, ...]:
    """One source polling every target (if any), and one for Prometheus (if set). Their
    modules load only then: a process without a fleet never pays for their imports."""
    sources: list[RemoteSource] = []
    if settings.targets:
        from neural_tui.sources.targets import TargetSource

        sources.append(TargetSource([target_endpoint(t) for t in settings.targets],
                                    series_points=settings.runtime.series_seconds,
                                    rate_window_seconds=settings.runtime.window_seconds))
    if settings.prometheus.url is not None:
        from neural_tui.sources.prometheus import PrometheusSource

        sources.append(PrometheusSource(
            prometheus_endpoint(settings.prometheus),
            rate_window_seconds=settings.prometheus.rate_window,
            series_seconds=settings.runtime.series_seconds,
        ))
    return tuple(sources)


def target_endpoint(target: TargetSection) -> Endpoint:
    return Endpoint(
        name=target_name(target),
        url=target.url,
        interval_seconds=float(target.interval),
        timeout_seconds=float(target.timeout),
        bearer_token=target.bearer_token.reveal() if target.bearer_token else None,
        basic_auth=((target.username, target.password.reveal())
                    if target.username is not None and target.password is not None else None),
    )


def prometheus_endpoint(section: PrometheusSection) -> Endpoint:
    return Endpoint(
        name="prometheus",
        url=section.url or "",
        interval_seconds=float(section.interval),
        timeout_seconds=float(section.timeout),
        bearer_token=section.bearer_token.reveal() if section.bearer_token else None,
        basic_auth=((section.username, section.password.reveal())
                    if section.username is not None and section.password is not None
                    else None),
    )
