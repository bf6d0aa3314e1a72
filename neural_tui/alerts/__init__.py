"""Alerting: rules over snapshots, their lifecycle, and channels that deliver without blocking."""
