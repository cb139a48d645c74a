"""Bad values given to the CLI (issue #16): one clear line, no traceback, no secret shown."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from cli_runner import environ_without_user_settings, run_cli
from damaged_history import UNKNOWN_STATUS, add_damaged_rows

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


BIG = "99999999999999999999"


@pytest.mark.parametrize(("argv", "needle"), [
    (["generate", "--url", "http://[::1"], "tui-client: error: --url: not a URL"),
    (["generate", "--url", "http://256.256.256.256"], "--url: not a URL (Invalid IPv4 address: '256.256.256.256')"),
    (["generate", "--url", "http://xn--.com:1"], "tui-client: error: --url: not a URL (Malformed A-label"),
    (["generate", "--timeout", "nan"], "argument --timeout: must be a number of seconds above 0, got nan"),
    (["generate", "--timeout", "inf"], "argument --timeout: must be a number of seconds above 0"),
    (["generate", "--timeout", "0"], "argument --timeout: must be a number of seconds above 0, got 0"),
    (["generate", "--timeout", "-1"], "argument --timeout: must be a number of seconds above 0, got -1"),
    (["history", "show", BIG], f"argument ID: must be between 1 and {2**63 - 1}, got {BIG}"),
    (["history", "delete", BIG], "argument ID: must be between 1 and"),
    (["history", "export", BIG], "argument ID: must be between 1 and"),
    (["history", "list", "--limit", BIG], "argument --limit: must be between 1 and"),
    (["serve-demo", "--port", "99999"], "argument --port: must be between 1 and 65535, got 99999"),
    (["generate", "--port", "99999"], "argument --port: must be between 1 and 65535, got 99999"),
    (["generate", "--max-tokens", "100000000000000000000"], "--max-tokens: max_tokens must be between 1 and 16777216"),
    (["generate", "--n", "2000", "--temperature", "1"], "--n: n must be between 1 and 1024, got 2000"),
    (["generate", "--top-k", BIG], "--top-k: top_k must be -1 (off) or between 1 and 1048576"),
    (["generate", "--max-line-bytes", "-5"], "argument --max-line-bytes: must be between 1 and 4294967296, got -5"),
    (["generate", "--max-total-chars", "0"], "argument --max-total-chars: must be between 1 and 4294967296, got 0"),
    (["--n", "0"], "tui-client: error: --n: n must be between 1 and 64, got 0"),
    (["--n", "-5"], "tui-client: error: --n: n must be between 1 and 64, got -5"),
    (["--n", "100"], "--n: n must be between 1 and 64, got 100 (the TUI shows at most 64 candidates"),
])
def test_a_bad_value_is_one_line_naming_it(tmp_path: Path, argv: list[str], needle: str) -> None:
    out = cli(*argv, home=tmp_path, env={"TUI_CLIENT_URL": "http://127.0.0.1:1"})
    assert needle in assert_one_line(out), out.stderr


def test_the_tui_refuses_a_configured_n_past_its_slider_naming_the_line(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[sampling]\ntemperature = 1\nn = 65\n")
    out = cli("--url", "http://127.0.0.1:1", home=tmp_path)
    assert assert_one_line(out).startswith(f"tui-client: error: {path}:3: sampling.n: n must be between 1 and 64, got 65")
    shown = cli("config", "show", home=tmp_path)  # generate takes it, and config show says so
    assert shown.returncode == 0 and any(line.split()[:2] == ["sampling.n", "65"] for line in shown.stdout.splitlines())


def test_serve_demo_where_it_cannot_listen_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        in_use = cli("serve-demo", "--port", port, home=tmp_path)
    assert assert_one_line(in_use, 1) == (f"tui-client serve-demo: error: cannot listen on 127.0.0.1:{port}: Address "
                                           "already in use (something else listens there: pass another --port)\n")
    foreign = cli("serve-demo", "--host", "8.8.8.8", "--port", port, home=tmp_path)
    assert "cannot listen on 8.8.8.8:" in assert_one_line(foreign, 1)


def test_a_damaged_or_newer_history_row_is_skipped_or_refused_and_the_rest_shown(tmp_path: Path, demo_url: str) -> None:
    made = cli("generate", "--url", demo_url, "--prompt", "good run", home=tmp_path)
    assert made.returncode == 0, made.stderr
    ids = add_damaged_rows(tmp_path / "data" / "history.sqlite3", extra=True)

    listing = cli("history", "list", home=tmp_path)
    assert listing.returncode == 0 and "Traceback" not in listing.stderr
    listed = [line.split("  ")[0] for line in listing.stdout.splitlines()]
    assert "1" in listed and str(ids["status"]) not in listed and str(ids["json"]) in listed
    assert listing.stderr == (f"note: run {ids['status']} skipped: '{UNKNOWN_STATUS}' is not a valid Status "
                              "(written by a newer tui-client, or damaged)\n")

    assert cli("history", "show", "1", home=tmp_path).returncode == 0
    for what in ("status", "error_kind", "json", "extra"):
        shown = cli("history", "show", str(ids[what]), home=tmp_path)
        assert f"run {ids[what]} cannot be read: " in assert_one_line(shown, 1)
        assert shown.stdout == ""

    # A value saved before every integer was bounded still exports (it crashed orjson).
    exported = cli("history", "export", str(ids["huge_max_tokens"]), home=tmp_path)
    assert exported.returncode == 0, exported.stderr
    assert json.loads(exported.stdout)["params"]["max_tokens"] == 10**20


def _on_a_read_only_file_system(data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``tui-client ARGS`` with ``data`` read-only: chmod for a normal user; as root (whom chmod does not
    stop) a read-only bind mount of it in a private user and mount namespace (``unshare -rm``)."""
    command = [sys.executable, "-m", "tui_client", *args]
    env = {**environ_without_user_settings(), "TUI_CLIENT_DATA_DIR": str(data),
           "TUI_CLIENT_CONFIG": str(data.parent / "none.toml")}
    if os.geteuid() != 0:
        modes = {p: p.stat().st_mode for p in (data, *data.iterdir())}
        try:
            for p in modes:
                p.chmod(0o500 if p.is_dir() else 0o400)
            return subprocess.run(command, capture_output=True, text=True, timeout=60, env=env)
        finally:
            for p, mode in modes.items():
                p.chmod(mode)
    if shutil.which("unshare") is None or subprocess.run(["unshare", "-rm", "true"], capture_output=True).returncode:
        pytest.skip("running as root without unshare -rm: no way to make the history read-only")
    bind = 'mount --bind -o ro "$0" "$0" || exit 98; touch "$0/probe" 2>/dev/null && exit 99; exec "$@"'
    out = subprocess.run(["unshare", "-rm", "sh", "-c", bind, str(data), *command],
                         capture_output=True, text=True, timeout=60, env=env)
    assert out.returncode not in (98, 99), "no read-only bind mount"
    return out


def test_an_existing_history_on_a_read_only_file_system_is_read(tmp_path: Path, demo_url: str) -> None:
    made = cli("generate", "--url", demo_url, "--prompt", "kept", home=tmp_path)
    assert made.returncode == 0, made.stderr
    data = tmp_path / "data"
    listing = _on_a_read_only_file_system(data, "history", "list")
    assert listing.returncode == 0 and listing.stdout.startswith("1  ") and "'kept'" in listing.stdout, listing.stderr
    shown = _on_a_read_only_file_system(data, "history", "show", "1")
    assert shown.returncode == 0 and "# tui-client run 1" in shown.stdout, shown.stderr
    exported = _on_a_read_only_file_system(data, "history", "export", "1")
    assert exported.returncode == 0 and json.loads(exported.stdout)["prompt"] == "kept"
    deleted = _on_a_read_only_file_system(data, "history", "delete", "1")  # writing it cannot work: one line
    assert assert_one_line(deleted, 1).startswith("tui-client: error: history ")


def test_reading_a_history_that_does_not_exist_creates_nothing(tmp_path: Path) -> None:
    out = cli("history", "list", home=tmp_path)
    assert out.returncode == 0 and out.stdout == "" and not (tmp_path / "data").exists()


@pytest.mark.parametrize(("keys", "reason"), [
    ("ctrl+shift+alt+banana", "'ctrl+shift+alt+banana': 'banana' is not a key name"),
    ("???,,,", "'???': '???' is not a key name"),
    ("f5,", "an empty key (a comma at an end"),
    ("hyper+ctrl+ctrl+x", "'hyper+ctrl+ctrl+x': a modifier given twice"),
    ("cmd+x", "'cmd+x': 'cmd' is not a modifier"),
])
def test_the_tui_refuses_keys_that_are_not_key_names_naming_file_line_and_key(
        tmp_path: Path, keys: str, reason: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(f'[keys]\n"app.help" = "f1"\n"app.run" = "{keys}"\n')
    out = run_cli("--url", "http://127.0.0.1:1", base=environ_without_user_settings(), timeout=20,
                  env={"TUI_CLIENT_CONFIG": str(path), "TUI_CLIENT_DATA_DIR": str(tmp_path / "data")})
    assert assert_one_line(out).startswith(f"tui-client: error: {path}:3: keys.app.run: {reason}")


def test_a_model_on_the_legacy_generate_api_is_said_to_be_ignored(tmp_path: Path, demo_url: str) -> None:
    out = cli("generate", "--url", f"{demo_url}/generate", "--model", "qwen", "--max-tokens", "3", home=tmp_path)
    assert out.returncode == 0, out.stderr
    notes = [line for line in out.stderr.splitlines() if "qwen" in line]
    assert notes == ["note: model 'qwen' ignored: the legacy /generate API takes no model name"]
    plain = cli("generate", "--url", f"{demo_url}/generate", "--max-tokens", "3", home=tmp_path)
    assert "ignored" not in plain.stderr
