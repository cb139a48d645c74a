"""Exporting the run shown to a file in the current directory (``ctrl+s`` Markdown, ``ctrl+t`` JSON)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from tui_client.core.protocol import RunState
from tui_client.core.protocol.compare import ServerGroup
from tui_client.core.storage.export import FORMATS
from tui_client.core.storage.history import StoredRun

EXPORT_NAME = "tui-client-run-{}.{}"
"""Export file name: the history id (or a timestamp) and the format."""


def export_run(state: RunState, fmt: str, *, loaded: StoredRun | None, history_id: int | None,
               folder: Path | None = None, groups: Sequence[ServerGroup] = ()) -> Path:
    """Write ``state`` as ``fmt`` to ``tui-client-run-<history id or time>.<fmt>``; the path. Raises OSError.

    A run loaded from the history, or saved to it, is written with its id and date; ``groups``: a saved
    comparison's servers (``state`` is the first's).
    """
    run: StoredRun | RunState = state
    if loaded is not None and loaded.state is state:
        run = loaded
    elif history_id is not None:  # saved: the file says which run it is
        started = time.time() - (time.monotonic() - state.started)
        run = StoredRun(history_id, datetime.fromtimestamp(started).astimezone(), state, list(groups))
    text = FORMATS[fmt](run)
    stem = str(history_id) if history_id is not None else datetime.now().strftime("%Y%m%d-%H%M%S")
    return write_new_file(folder or Path.cwd(), EXPORT_NAME.format(stem, fmt), text)


def write_new_file(folder: Path, name: str, text: str) -> Path:
    """Write ``text`` to ``folder/name``, or ``name-2``, ``name-3``… when it exists (never overwrites)."""
    stem, dot, ext = name.rpartition(".")
    for attempt in range(1, 1000):
        path = folder / (name if attempt == 1 else f"{stem}-{attempt}{dot}{ext}")
        try:
            with path.open("x", encoding="utf-8") as out:
                out.write(text)
        except FileExistsError:
            continue
        return path
    raise FileExistsError(f"too many exports named {folder / name}")
