"""The command line's parsers and what the flags mean, without running a command."""

from __future__ import annotations

from pathlib import Path

import pytest

from tui_client.cli.args import build_parsers, config_from_args, flag_error, request_from_args
from tui_client.core.defaults import DEFAULT_URL, GENERATE_DEFAULTS, GREEDY_FALLBACK_TEMPERATURE, TUI_DEFAULTS
from tui_client.core.protocol import Api, ClientError, ErrorKind
from tui_client.core.storage.config import Config, Setting


def parse(command: str, *argv: str):
    return build_parsers()[command].parse_args(list(argv))


def test_every_command_has_a_parser() -> None:
    assert set(build_parsers()) == {"tui", "generate", "serve-demo", "history", "config", "server"}


def test_a_flag_beats_the_config_file_which_beats_the_default() -> None:
    args = parse("tui", "--n", "7")
    request = request_from_args(args, TUI_DEFAULTS, {"n": 3, "max_tokens": 50})
    assert request.params.n == 7
    assert request.params.max_tokens == 50
    assert request.params.temperature == TUI_DEFAULTS["temperature"]
    assert request.stream is True and request.prompt == ""


def test_generate_keeps_the_seed_clients_defaults() -> None:
    request = request_from_args(parse("generate"), GENERATE_DEFAULTS)
    assert request.prompt == GENERATE_DEFAULTS["prompt"]
    assert (request.params.n, request.params.temperature, request.params.max_tokens) == (1, 0.0, 16)
    assert request.stream is False


def test_greedy_by_default_with_n_above_one_samples_instead(capsys: pytest.CaptureFixture[str]) -> None:
    request = request_from_args(parse("generate", "--n", "3"), GENERATE_DEFAULTS)
    assert request.params.temperature == GREEDY_FALLBACK_TEMPERATURE
    assert "n > 1 needs sampling" in capsys.readouterr().err
    forced = request_from_args(parse("generate", "--n", "3", "--temperature", "0"), GENERATE_DEFAULTS)
    assert forced.params.temperature == 0


def test_stop_strings_from_the_flags_replace_the_configured_ones() -> None:
    assert request_from_args(parse("tui"), TUI_DEFAULTS, {"stop": ("x",)}).params.stop == ("x",)
    assert request_from_args(parse("tui", "--stop", "a", "--stop", "b"), TUI_DEFAULTS, {"stop": ("x",)}).params.stop \
        == ("a", "b")


def test_flag_errors_name_the_flag() -> None:
    assert flag_error(ClientError(ErrorKind.INVALID, "n must be at least 1, got 0", field="n")) == \
        "--n: n must be at least 1, got 0"
    assert flag_error(ClientError(ErrorKind.INVALID, "width too large", field="beam_search")) == \
        "--beam-search: width too large"
    assert flag_error(ClientError(ErrorKind.INVALID, "no such thing")) == "no such thing"


def test_the_client_config_takes_the_flags_over_the_settings(tmp_path: Path) -> None:
    settings = Config(tmp_path / "c.toml", api=Setting("chat", "file"), model=Setting("m", "file"),
                      timeout=Setting(5.0, "file"))
    config = config_from_args(parse("tui"), DEFAULT_URL, settings)
    assert (config.api, config.model, config.timeout, config.verify) == (Api.CHAT, "m", 5.0, True)
    config = config_from_args(parse("tui", "--api", "auto", "--timeout", "9", "--insecure"), DEFAULT_URL, settings)
    assert (config.api, config.timeout, config.verify) == (None, 9.0, False)
    assert config_from_args(parse("tui", "--ca-bundle", "/ca.pem"), DEFAULT_URL, settings).verify == "/ca.pem"


def test_help_shows_the_defaults_from_one_place() -> None:
    text = build_parsers()["tui"].format_help()
    assert "else localhost:8000" in " ".join(text.split())
    assert "64 MiB" in text and "256 Mi" in text
    demo = " ".join(build_parsers()["serve-demo"].format_help().split())
    assert "(default: 127.0.0.1)" in demo and "(default: 8000)" in demo and "(default: 0.03)" in demo


def test_logprobs_from_the_flag_else_the_config_file_else_off() -> None:
    assert request_from_args(parse("generate"), GENERATE_DEFAULTS).params.logprobs == 0
    assert request_from_args(parse("tui"), TUI_DEFAULTS, {"logprobs": 3}).params.logprobs == 3
    assert request_from_args(parse("generate", "--logprobs", "5"), GENERATE_DEFAULTS, {"logprobs": 3}).params.logprobs == 5
    assert flag_error(ClientError(ErrorKind.INVALID, "too many", field="logprobs")) == "--logprobs: too many"
    text = " ".join(build_parsers()["generate"].format_help().split())
    assert "--logprobs K" in text and "0 to 20 (vLLM's default --max-logprobs)" in text and "(default: 0, off)" in text
