"""The evidence domain: items, categories, retention, legal hold, destruction, ingest."""
