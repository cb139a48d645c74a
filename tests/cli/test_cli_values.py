"""Bad values given to the CLI (issue #16): one clear line, no traceback, no secret shown."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from cli_runner import environ_without_user_settings, run_cli

SECRET_URLS = ("http://alice:hunter2@127.0.0.1:99999", "ftp://alice:hunter2@x", "alice:hunter2@127.0.0.1:99999")


def cli(*args: str, home: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    private = {"TUI_CLIENT_CONFIG": str(home / "config.toml"), "TUI_CLIENT_DATA_DIR": str(home / "data")}
    return run_cli(*args, base=environ_without_user_settings(), env={**private, **(env or {})})


def assert_one_line(out: subprocess.CompletedProcess[str], status: int = 2) -> str:
    assert out.returncode == status, out.stderr
    assert "Traceback" not in out.stderr and out.stderr.count("\n") == 1, out.stderr
    return out.stderr


@pytest.mark.parametrize("url", SECRET_URLS)
def test_a_password_in_a_bad_url_is_never_printed(tmp_path: Path, url: str) -> None:
    by_flag = cli("generate", "--url", url, home=tmp_path)
    by_env = cli("generate", home=tmp_path, env={"TUI_CLIENT_URL": url})
    (tmp_path / "config.toml").write_text(f'url = "{url}"\n')
    by_file = cli("config", "show", home=tmp_path)
    for out in (by_flag, by_env, by_file):
        assert "hunter2" not in out.stdout + out.stderr and "alice" not in out.stdout + out.stderr
        assert_one_line(out).startswith("tui-client: error: ")


def test_config_show_and_insecure_warning_hide_a_password(tmp_path: Path, unused_url: str) -> None:
    with_password = unused_url.replace("http://", "http://alice:hunter2@")
    (tmp_path / "config.toml").write_text(f'url = "{with_password}"\n')
    shown = cli("config", "show", home=tmp_path)
    rows = {line.split()[0]: line.split()[1:] for line in shown.stdout.splitlines()}
    assert shown.returncode == 0 and rows["url"] == [unused_url, "file"] and "hunter2" not in shown.stdout
    insecure = cli("generate", "--insecure", "--url", with_password, home=tmp_path)
    assert insecure.returncode == 1 and "TLS verification is off" in insecure.stderr
    assert "hunter2" not in insecure.stdout + insecure.stderr
