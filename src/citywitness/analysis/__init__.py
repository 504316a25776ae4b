"""AI analysis: analyzers (plates, faces, speech, behaviour, redaction) over recorded media.

Models ship inside pinned packages and are hash-checked before use (``modelzoo``); analyzers
are plugins that turn a ``MediaSource`` into ``Finding`` records (``contracts``).
"""
