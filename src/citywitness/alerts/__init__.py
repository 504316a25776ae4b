"""Alerts: raising, lifecycle, and delivery to consoles, recorders and webhooks."""
