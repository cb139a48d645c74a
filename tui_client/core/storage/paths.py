"""Where tui-client keeps its files, in one place: the data directory (history, ui
state) and the config file, each movable by an environment variable (tests use them)."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

__all__ = [
    "APP_NAME", "CONFIG_ENV", "DATA_DIR_ENV", "config_path", "data_dir", "history_path", "ui_state_path",
]

APP_NAME = "tui-client"
"""The name platformdirs files the data and config directories under."""

DATA_DIR_ENV = "TUI_CLIENT_DATA_DIR"
"""Names the data directory instead of the platform's."""

CONFIG_ENV = "TUI_CLIENT_CONFIG"
"""Names the config file instead of ``config.toml`` in the platform's config directory."""


def data_dir() -> Path:
    """``$TUI_CLIENT_DATA_DIR``, else the platform's data directory (not created here)."""
    return Path(os.environ.get(DATA_DIR_ENV) or platformdirs.user_data_dir(APP_NAME))


def history_path() -> Path:
    """The run history's SQLite file."""
    return data_dir() / "history.sqlite3"


def ui_state_path() -> Path:
    """The small JSON file of choices the TUI remembers (the theme)."""
    return data_dir() / "ui-state.json"


def config_path() -> Path:
    """``$TUI_CLIENT_CONFIG``, else ``config.toml`` in the platform's config directory."""
    return Path(os.environ.get(CONFIG_ENV) or Path(platformdirs.user_config_dir(APP_NAME)) / "config.toml")
