"""Live recording sessions: segment ingest with a hash chain, sealing into one evidence item,
live HLS view for consoles, and the camera pull adapter (docs/media.md)."""
