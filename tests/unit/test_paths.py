"""Where the files live: the environment variables move them, else the platform's directories."""

from __future__ import annotations

from pathlib import Path

import platformdirs
import pytest

from tui_client.core.storage import config, history, paths, ui_state


def test_the_data_dir_follows_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TUI_CLIENT_DATA_DIR", str(tmp_path))
    assert paths.data_dir() == tmp_path
    assert paths.history_path() == tmp_path / "history.sqlite3"
    assert paths.ui_state_path() == tmp_path / "ui-state.json"


@pytest.mark.parametrize("value", [None, ""])
def test_without_the_variable_the_platforms_data_dir(monkeypatch: pytest.MonkeyPatch, value: str | None) -> None:
    if value is None:
        monkeypatch.delenv("TUI_CLIENT_DATA_DIR")
    else:
        monkeypatch.setenv("TUI_CLIENT_DATA_DIR", value)  # an empty variable counts as unset
    assert paths.data_dir() == Path(platformdirs.user_data_dir("tui-client"))


def test_the_config_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TUI_CLIENT_CONFIG", str(tmp_path / "other.toml"))
    assert paths.config_path() == tmp_path / "other.toml"
    monkeypatch.setenv("TUI_CLIENT_CONFIG", "")
    assert paths.config_path() == Path(platformdirs.user_config_dir("tui-client")) / "config.toml"


def test_the_stores_use_these_paths() -> None:
    assert config.default_path() == paths.config_path()
    assert ui_state.ui_state_path() == paths.ui_state_path()
    assert history.default_path() == paths.history_path()
