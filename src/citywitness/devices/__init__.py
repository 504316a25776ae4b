"""Recorders: registry, shift binding, enrollment, device credentials, telemetry, presence."""
