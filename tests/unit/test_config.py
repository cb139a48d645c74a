"""The config file: parsing, validation, precedence (the commands: tests/cli/test_cli_config.py)."""

from __future__ import annotations

from pathlib import Path

import platformdirs
import pytest
from config_files import FULL

from tui_client.core.storage.config import Config, ConfigError, Setting, default_path, load_config


def load(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> Config:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return load_config(path, env or {})


def error(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, text, env)
    message = str(info.value)
    assert "\n" not in message
    return message.replace(str(tmp_path / "config.toml"), "FILE")


def test_no_file_means_defaults(tmp_path: Path) -> None:
    config = load_config(tmp_path / "missing.toml", {})
    assert config == Config(tmp_path / "missing.toml")
    assert config.url == Setting("http://localhost:8000", "default") and config.api.value == "auto"
    assert config.timeout.value == 600 and config.model.value is None and config.theme.value is None
    assert config.sampling == {} and config.keys == {} and not config.found


def test_every_key(tmp_path: Path) -> None:
    config = load(tmp_path, FULL)
    assert config.found
    assert config.url == Setting("http://gpu-box:8000/v1", "file")
    assert (config.api.value, config.model.value, config.timeout.value, config.theme.value) == ("chat", "qwen", 30.0, "nord")
    assert config.sampling == {
        "n": 8, "temperature": 1.0, "top_p": 0.9, "top_k": 50, "max_tokens": 64, "seed": 7,
        "stop": ("\n\n", "END"), "presence_penalty": 0.5, "frequency_penalty": -0.5, "logprobs": 3,
    }
    assert isinstance(config.sampling["temperature"], float)
    assert config.keys == {"app.run": "ctrl+g", "app.help": "f2,question_mark"}
    assert load(tmp_path, '[sampling]\nstop = "###"').sampling == {"stop": ("###",)}


def test_environment_beats_the_file(tmp_path: Path) -> None:
    env = {"TUI_CLIENT_URL": "http://env:1", "TUI_CLIENT_API": "generate", "TUI_CLIENT_MODEL": "env-model"}
    config = load(tmp_path, FULL, env)
    assert config.url == Setting("http://env:1", "$TUI_CLIENT_URL")
    assert config.api == Setting("generate", "$TUI_CLIENT_API")
    assert config.model == Setting("env-model", "$TUI_CLIENT_MODEL")
    assert config.timeout == Setting(30.0, "file")
    assert load(tmp_path, FULL, {"TUI_CLIENT_URL": "  "}).url.source == "file"  # empty is unset
    assert error(tmp_path, "", {"TUI_CLIENT_API": "grpc"}) == (
        "$TUI_CLIENT_API: must be one of auto, generate, completions, chat, not 'grpc'")
    assert error(tmp_path, "", {"TUI_CLIENT_URL": "ftp://x"}).startswith("$TUI_CLIENT_URL: not an http(s) URL")


def test_the_api_key_is_refused_without_repeating_it(tmp_path: Path) -> None:
    message = error(tmp_path, 'url = "http://h"\napi_key = "sk-secret-123"\n')
    assert message.startswith("FILE:2: api_key: ") and "VLLM_API_KEY" in message
    assert "sk-secret-123" not in message


@pytest.mark.parametrize(("text", "expected"), [
    ('url = "http://h\n', "FILE:1:16: invalid TOML: Illegal character '\\n'"),
    ("a = = 3\n", "FILE:1:5: invalid TOML: Invalid value"),
    ("\n\n[sampling\n", "FILE:3:10: invalid TOML: Expected ']' at the end of a table declaration"),
    ("colour = 'red'\n", "FILE:1: colour: unknown key (known: url, servers, api, model, timeout, theme, system, sampling, params, "
                                 "keys)"),
    ("[sampling]\nn = 4\nbest_of = 2\n", "FILE:3: sampling.best_of: unknown key (known: n, temperature, top_p, top_k, "
     "max_tokens, seed, stop, presence_penalty, frequency_penalty, logprobs)"),
    ("[sampling]\nlogprobs = 21\n", "FILE:2: sampling.logprobs: logprobs must be between 0 (off) and 20 (vLLM's default "
     "--max-logprobs), got 21"),
    ("[sampling]\nn = 0\n", "FILE:2: sampling.n: n must be between 1 and 1024, got 0"),
    ("[sampling]\nn = 2.5\n", "FILE:2: sampling.n: must be an integer, not a float"),
    ("[sampling]\nn = true\n", "FILE:2: sampling.n: must be an integer, not a boolean"),
    ("[sampling]\ntemperature = 'hot'\n", "FILE:2: sampling.temperature: must be a number, not a string"),
    ("sampling.top_p = 1.5\n", "FILE:1: sampling.top_p: top_p must be in (0, 1], got 1.5"),
    ("sampling = {top_k = 0}\n", "FILE: sampling.top_k: top_k must be -1 (off) or between 1 and 1048576, got 0"),
    ("[sampling]\nstop = ['a', 1]\n", "FILE:2: sampling.stop: must be a string or an array of strings, not an array"),
    ("[sampling]\nstop = ['']\n", "FILE:2: sampling.stop: stop strings must not be empty"),
    ("sampling = 3\n", "FILE:1: sampling: must be a table ([sampling]), not an integer"),
    ("timeout = 0\n", "FILE:1: timeout: must be a positive number of seconds, not 0.0"),
    ("timeout = nan\n", "FILE:1: timeout: must be a positive number of seconds, not nan"),
    ("api = 'grpc'\n", "FILE:1: api: must be one of auto, generate, completions, chat, not 'grpc'"),
    ("url = 'ftp://h'\n", "FILE:1: url: not an http(s) URL: 'ftp://h'"),
    ("model = ''\n", "FILE:1: model: must be a non-empty string, not an empty string"),
    ("theme = 2024-01-01\n", "FILE:1: theme: must be a non-empty string, not a date or time"),
    ('[keys]\n"app.run" = 5\n', "FILE:2: keys.app.run: must be a non-empty string, not an integer"),
])
def test_invalid_files_name_file_line_and_key(tmp_path: Path, text: str, expected: str) -> None:
    assert error(tmp_path, text) == expected


def test_unreadable_files(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_bytes(b"url = '\xff'")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config(tmp_path / "config.toml", {})
    with pytest.raises(ConfigError, match="cannot read it"):
        load_config(tmp_path, {})  # a directory


def test_default_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("TUI_CLIENT_CONFIG", raising=False)
    assert default_path() == Path(platformdirs.user_config_dir("tui-client")) / "config.toml"
    monkeypatch.setenv("TUI_CLIENT_CONFIG", str(tmp_path / "elsewhere.toml"))
    assert default_path() == tmp_path / "elsewhere.toml"
