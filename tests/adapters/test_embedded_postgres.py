from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from citywitness.adapters.embedded_postgres import prune_dead_handles


def _dead_pid() -> int:
    proc = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    return int(proc.stdout)


def test_prune_forgets_processes_that_died(tmp_path: Path) -> None:
    dead = _dead_pid()
    (tmp_path / ".handle_pids.json").write_text(json.dumps([dead, os.getpid()]))
    assert prune_dead_handles(tmp_path) == [os.getpid()]
    assert json.loads((tmp_path / ".handle_pids.json").read_text()) == [os.getpid()]


def test_prune_without_handles_file(tmp_path: Path) -> None:
    assert prune_dead_handles(tmp_path) == []
    assert not (tmp_path / ".handle_pids.json").exists()


def test_prune_tolerates_a_corrupt_file(tmp_path: Path) -> None:
    (tmp_path / ".handle_pids.json").write_text("not json")
    assert prune_dead_handles(tmp_path) == []
    assert json.loads((tmp_path / ".handle_pids.json").read_text()) == []
