"""Every analyzer module that exists in this build, imported so it registers its kind.

An analyzer module that is not part of the build (``ModuleNotFoundError`` for exactly that
module) is skipped; any other import error is a real error and propagates.
"""

from __future__ import annotations

import importlib

MODULES = (
    "citywitness.analysis.plates",
    "citywitness.analysis.faces",
    "citywitness.analysis.speech",
    "citywitness.analysis.behaviour",
)

LOADED: list[str] = []

for _name in MODULES:
    try:
        importlib.import_module(_name)
    except ModuleNotFoundError as _exc:
        if _exc.name != _name:
            raise
    else:
        LOADED.append(_name)
