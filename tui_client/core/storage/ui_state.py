"""Small choices the TUI remembers between runs (the theme), in ``ui-state.json``.

The file sits next to the history (:func:`tui_client.core.storage.paths.ui_state_path`).
It is a convenience: a missing, unreadable or malformed file reads as empty, and a
failed write raises :class:`OSError` for the caller to report (it never takes the app down).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from tui_client.core.storage.paths import ui_state_path

__all__ = ["load_ui_state", "save_ui_state", "ui_state_path"]


def load_ui_state(path: Path | None = None) -> dict[str, object]:
    """What was saved, or ``{}`` when there is nothing usable."""
    try:
        data = json.loads((path or ui_state_path()).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):  # RecursionError: "[[[[…" nested too deep
        return {}
    return data if isinstance(data, dict) else {}


def save_ui_state(path: Path | None = None, **changes: object) -> None:
    """Merge ``changes`` into the file (written atomically: a crash leaves the old one)."""
    path = path or ui_state_path()
    data = {**load_ui_state(path), **changes}
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(prefix=".ui-state-", suffix=".json", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(data, out, indent=2, sort_keys=True)
            out.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
