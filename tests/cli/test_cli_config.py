"""`tui-client config` and the config file as the commands use it, run as a subprocess."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from cli_runner import environ_without_user_settings, run_cli
from config_files import FULL


def cli(*args: str, config: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    private = {"TUI_CLIENT_CONFIG": str(config), "TUI_CLIENT_DATA_DIR": str(config.parent / "data")}
    return run_cli(*args, base=environ_without_user_settings(), env={**private, **(env or {})})


def test_config_path_and_show(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    assert cli("config", "path", config=path).stdout == f"{path}\n"
    shown = cli("config", "show", config=path).stdout
    rows = {line.split()[0]: line.split()[1:] for line in shown.splitlines()}
    assert rows["config"] == ["file", str(path), "not", "found"]
    assert rows["sampling.n"] == ["4", "(TUI),", "1", "(generate)", "default"]
    assert rows["url"] == ["http://localhost:8000", "default"]
    path.write_text(FULL)
    shown = cli("config", "show", config=path, env={"TUI_CLIENT_MODEL": "m2", "VLLM_API_KEY": "sk-show-me-not"}).stdout
    rows = {line.split()[0]: line.split()[1:] for line in shown.splitlines()}
    assert rows["url"] == ["http://gpu-box:8000/v1", "file"]
    assert rows["model"] == ["m2", "$TUI_CLIENT_MODEL"]
    assert rows["api"] == ["chat", "file"] and rows["timeout"] == ["30", "file"]
    assert rows["sampling.stop"] == ['["\\n\\n",', '"END"]', "file"]
    assert rows["keys.app.help"] == ["f2,question_mark", "file"]
    assert rows["api-key"] == ["set", "(not", "shown)", "$VLLM_API_KEY"] and "sk-show-me-not" not in shown


@pytest.mark.parametrize("command", [["config", "show"], ["generate"], [], ["--demo", "--run"]])
def test_a_bad_config_is_one_line_and_exit_2(tmp_path: Path, command: list[str]) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[sampling]\ntemperature = -1\n")
    out = cli(*command, config=path)
    assert out.returncode == 2
    assert out.stderr == f"tui-client: error: {path}:2: sampling.temperature: temperature must be 0 or more, got -1.0\n"
    assert cli("config", "path", config=path).returncode == 0  # still finds the file to fix
    assert cli("history", "list", config=path).returncode == 0


def test_unknown_theme_is_refused_before_the_tui_starts(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('theme = "no-such-theme"\n')
    out = cli("--url", "http://127.0.0.1:1", config=path)
    assert out.returncode == 2 and out.stderr.startswith(f"tui-client: error: {path}: theme: unknown theme 'no-such-theme'")
    assert "nord" in out.stderr and out.stderr.count("\n") == 1


def exported_params(path: Path) -> tuple[dict[str, object], dict[str, object]]:
    doc = json.loads(cli("history", "export", "1", config=path).stdout)
    return doc["params"], doc["server"]


def test_generate_uses_the_config_and_flags_win(demo_url: str, tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(f'url = "{demo_url}"\napi = "chat"\n[sampling]\nn = 2\nmax_tokens = 5\nstop = ["zzz"]\nseed = 4\n')
    out = cli("generate", "--json", config=path)
    assert out.returncode == 0, out.stderr
    assert "note: n > 1 needs sampling" in out.stderr  # the file set n, not the temperature
    doc = json.loads(out.stdout)
    assert len(doc["candidates"]) == 2 and doc["server"]["api"] == "chat"
    params, _ = exported_params(path)
    assert params == {"n": 2, "temperature": 0.8, "top_p": None, "top_k": None, "max_tokens": 5, "seed": 4,
                      "stop": ["zzz"], "presence_penalty": None, "frequency_penalty": None, "beam_search": False,
                      "length_penalty": None, "logprobs": 0}

    (tmp_path / "data" / "history.sqlite3").unlink()
    out = cli("generate", "--n", "3", "--max-tokens", "7", "--stop", "q", "--api", "completions", config=path)
    assert out.returncode == 0, out.stderr
    params, server = exported_params(path)
    assert (params["n"], params["max_tokens"], params["stop"], params["seed"]) == (3, 7, ["q"], 4)
    assert server["api"] == "completions"


def test_a_configured_temperature_of_zero_is_respected(demo_url: str, tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[sampling]\nn = 2\ntemperature = 0\n")
    out = cli("generate", "--url", demo_url, config=path)
    assert out.returncode == 0 and "note:" not in out.stderr
    assert exported_params(path)[0]["temperature"] == 0.0


def test_precedence_of_the_server_url(demo_url: str, unused_url: str, tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(f'url = "{unused_url}"\n')
    assert cli("generate", config=path).returncode == 1  # the file's url: nothing listens
    assert cli("generate", config=path, env={"TUI_CLIENT_URL": demo_url}).returncode == 0  # env beats file
    port = demo_url.rsplit(":", 1)[1]
    assert cli("generate", "--host", "127.0.0.1", "--port", port, config=path).returncode == 0  # flags beat both
    assert cli("generate", "--url", demo_url, config=path, env={"TUI_CLIENT_URL": unused_url}).returncode == 0


def test_a_config_file_with_a_utf8_bom_is_read(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(b"\xef\xbb\xbf" + 'model = "qwen"\n[sampling]\nn = 3\n'.encode())
    out = cli("config", "show", config=path)
    rows = {line.split()[0]: line.split()[1:] for line in out.stdout.splitlines()}
    assert out.returncode == 0 and rows["model"] == ["qwen", "file"] and rows["sampling.n"] == ["3", "file"], out.stderr
