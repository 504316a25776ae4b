"""The agencies domain."""
