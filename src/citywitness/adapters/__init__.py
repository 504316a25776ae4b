"""Adapters to external systems: one module or folder per system."""
