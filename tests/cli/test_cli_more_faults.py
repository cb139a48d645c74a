"""Issue #16, the faults found by looking for them (round 3): each one a command a user could
type that gave a traceback, showed a secret or lost text, now one clear line."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_runner import environ_without_user_settings, run_cli
from hostile_server3 import REASONING, HostileServer3

from tui_client.demo.server import DemoServer


def cli(*args: str, home: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    private = {"TUI_CLIENT_CONFIG": str(home / "config.toml"), "TUI_CLIENT_DATA_DIR": str(home / "data")}
    return run_cli(*args, base=environ_without_user_settings(), env={**private, **(env or {})})


def assert_one_line(out: subprocess.CompletedProcess[str], status: int = 2) -> str:
    assert out.returncode == status, out.stderr
    assert "Traceback" not in out.stderr and out.stderr.count("\n") == 1, out.stderr
    return out.stderr


@pytest.fixture(scope="module")
def keyed_demo_url() -> Iterator[str]:
    """The demo server requiring the Bearer token ``s3cret-key`` on its /v1 routes."""
    with DemoServer(token_delay=0.0, api_key="s3cret-key") as demo:
        yield demo.url


@pytest.mark.parametrize(("flag", "env"), [
    (["--api-key", "s3cret\nkey"], {}),
    ([], {"VLLM_API_KEY": "s3cret\r\nkey"}),
    (["--api-key", "s3cret-kéy"], {}),
    ([], {"OPENAI_API_KEY": "s3cret\x7fkey"}),
])
def test_an_api_key_that_cannot_be_a_header_is_one_line_never_shown(
    tmp_path: Path, keyed_demo_url: str, flag: list[str], env: dict[str, str]
) -> None:
    out = cli("generate", "--no-history", "--url", keyed_demo_url, *flag, home=tmp_path, env=env)
    assert "s3cret" not in out.stdout + out.stderr and "key" not in out.stdout.lower()
    line = assert_one_line(out)
    assert line.startswith("tui-client: error: the API key (--api-key, $VLLM_API_KEY or $OPENAI_API_KEY) has ")
    assert "(the key is not shown)" in line


def test_an_api_key_read_with_its_newline_is_sent_without_it(tmp_path: Path, keyed_demo_url: str) -> None:
    out = cli("generate", "--no-history", "--url", keyed_demo_url, "--max-tokens", "3", home=tmp_path,
              env={"VLLM_API_KEY": "s3cret-key\n"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("Prompt: ") and "Beam candidate 0: " in out.stdout


def run_with_fds(
    *args: str, home: Path, stdout: int | None = None, close: int | None = None
) -> subprocess.CompletedProcess[str]:
    """The CLI with stdout on ``stdout`` (a file descriptor) or captured, and fd ``close`` closed in the child."""
    env = {**environ_without_user_settings(), "TUI_CLIENT_CONFIG": str(home / "config.toml"),
           "TUI_CLIENT_DATA_DIR": str(home / "data")}
    return subprocess.run([sys.executable, "-m", "tui_client", *args],
                          stdout=stdout if stdout is not None else subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=60, env=env,
                          preexec_fn=None if close is None else (lambda: os.close(close)))


def saved_runs(home: Path) -> list[dict[str, object]]:
    listed = cli("history", "list", home=home)
    assert listed.returncode == 0, listed.stderr
    ids = [line.split()[0] for line in listed.stdout.splitlines()]
    return [json.loads(cli("history", "export", run_id, home=home).stdout) for run_id in ids]


@pytest.mark.parametrize("argv", [
    ["generate", "--max-tokens", "3"],
    ["generate", "--max-tokens", "3", "--json"],
    ["history", "list"],
    ["config", "show"],
    ["config", "path"],
])
def test_a_full_stdout_is_one_line_and_a_json_run_is_still_saved(tmp_path: Path, demo_url: str, argv: list[str]) -> None:
    cli("generate", "--url", demo_url, "--max-tokens", "2", home=tmp_path)  # something to list
    with open("/dev/full", "w") as full:
        out = run_with_fds(*argv, *(["--url", demo_url] if argv[0] == "generate" else []), home=tmp_path,
                           stdout=full.fileno())
    assert assert_one_line(out, 1) == "tui-client: error: cannot write the output: No space left on device\n"
    if "--json" in argv:  # the run is saved before it is printed
        assert len(saved_runs(tmp_path)) == 2


def test_a_closed_stdout_still_runs_and_saves(tmp_path: Path, demo_url: str) -> None:
    out = run_with_fds("generate", "--url", demo_url, "--max-tokens", "3", "--prompt", "closed", home=tmp_path, close=1)
    assert out.returncode == 0 and "Traceback" not in out.stderr, out.stderr
    [run] = saved_runs(tmp_path)
    assert run["prompt"] == "closed" and run["status"] == "finished"


def test_prompt_dash_on_a_closed_stdin_is_the_empty_prompt_not_a_dash(tmp_path: Path, demo_url: str) -> None:
    out = run_with_fds("generate", "--url", demo_url, "--max-tokens", "3", "--prompt", "-", "--json",
                       home=tmp_path, close=0)
    assert out.returncode == 0, out.stderr
    [run] = saved_runs(tmp_path)
    assert run["prompt"] == "" and json.loads(out.stdout)["status"] == "finished"


def test_a_server_error_with_terminal_escapes_is_printed_inert(tmp_path: Path) -> None:
    with HostileServer3("error-escapes") as server:
        out = cli("generate", "--url", server.url, home=tmp_path)
    line = assert_one_line(out, 1)
    assert "\x1b" not in line and "\x07" not in line and "\u202e" not in line
    assert line == (f"error: {server.url}/v1/completions answered 400: bad [bold]thing[/] ␛[2J␇ ␛]0;pwned␇ "
                    "⟨U+202E⟩ end\n")


@pytest.mark.parametrize(("value", "needle"), [
    ("inf", "argument --token-delay: must be a number of seconds, 0 or more, got inf"),  # it never answered
    ("nan", "argument --token-delay: must be a number of seconds, 0 or more, got nan"),
    ("-1", "argument --token-delay: must be a number of seconds, 0 or more, got -1"),
    ("soon", "argument --token-delay: must be a number of seconds, not 'soon'"),
])
def test_serve_demo_refuses_a_token_delay_it_cannot_keep(tmp_path: Path, value: str, needle: str) -> None:
    out = cli("serve-demo", "--port", "1", f"--token-delay={value}", home=tmp_path)
    assert needle in assert_one_line(out)


@pytest.mark.parametrize("host", ["a b", "999.1.1.1"])
def test_serve_demo_on_a_host_that_does_not_resolve_says_so(tmp_path: Path, host: str) -> None:
    out = cli("serve-demo", "--host", host, "--port", "8000", home=tmp_path)
    assert assert_one_line(out, 1) == (f"tui-client serve-demo: error: cannot listen on {host}:8000: Name or service "
                                       "not known (not a host name this machine knows)\n")


def test_the_demo_server_on_every_address_shows_a_url_that_works() -> None:
    with DemoServer(host="", token_delay=0.0) as demo:
        assert demo.url.startswith("http://0.0.0.0:")
        out = run_cli("generate", "--no-history", "--url", demo.url, "--max-tokens", "2")
    assert out.returncode == 0 and "Beam candidate 0: " in out.stdout, out.stderr


def test_a_history_row_nested_past_the_recursion_limit_is_refused_in_one_line(tmp_path: Path, demo_url: str) -> None:
    made = cli("generate", "--url", demo_url, "--max-tokens", "2", "--prompt", "deep", home=tmp_path)
    assert made.returncode == 0, made.stderr
    with sqlite3.connect(tmp_path / "data" / "history.sqlite3") as db:
        db.execute("UPDATE runs SET notes = ? WHERE id = 1", ("[" * 100_000,))
    assert "deep" in cli("history", "list", home=tmp_path).stdout
    for action in ("show", "export"):
        out = cli("history", action, "1", home=tmp_path)
        assert "run 1 cannot be read: maximum recursion depth exceeded" in assert_one_line(out, 1)


@pytest.mark.parametrize("value", ["[" * 100_000 + "]" * 100_000, "{a=" * 5_000 + "1" + "}" * 5_000],
                         ids=["array", "table"])
def test_a_config_file_nested_past_the_recursion_limit_is_one_line(tmp_path: Path, value: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(f"x = {value}\n")
    for argv in (["config", "show"], ["generate"]):
        out = cli(*argv, home=tmp_path)
        assert assert_one_line(out) == f"tui-client: error: {path}: invalid TOML: arrays or tables nested too deep\n"


def test_a_config_integer_of_thousands_of_digits_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[sampling]\nseed = " + "9" * 5_000 + "\n")  # int() refuses more than 4300 digits
    out = cli("config", "show", home=tmp_path)
    assert assert_one_line(out) == f"tui-client: error: {path}: invalid TOML: an integer too long to read\n"


def test_history_export_to_dash_is_standard_output_not_a_file(tmp_path: Path, demo_url: str) -> None:
    assert cli("generate", "--url", demo_url, "--max-tokens", "2", "--prompt", "dash", home=tmp_path).returncode == 0
    out = subprocess.run([sys.executable, "-m", "tui_client", "history", "export", "1", "-o", "-"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=60,
                         env={**environ_without_user_settings(), "TUI_CLIENT_CONFIG": str(tmp_path / "config.toml"),
                              "TUI_CLIENT_DATA_DIR": str(tmp_path / "data")})
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["prompt"] == "dash" and not (tmp_path / "-").exists()


def test_a_model_list_that_is_json_but_no_list_is_not_called_not_json(tmp_path: Path) -> None:
    with HostileServer3("models-not-a-list") as server:
        out = cli("generate", "--url", server.url, "--api", "chat", home=tmp_path)
    assert assert_one_line(out, 1) == (f'error: {server.url}/v1/models answered 200 with JSON that is not a model list '
                                       '({"data": [{"id": ...}]}): is this a vLLM server?\n')


@pytest.mark.parametrize("stream", ["--stream", "--no-stream"])
def test_reasoning_text_beside_a_chat_reply_is_said_not_dropped_silently(tmp_path: Path, stream: str) -> None:
    with HostileServer3("chat-reasoning") as server:
        out = cli("generate", "--url", server.url, "--api", "chat", stream, "--json", home=tmp_path)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert [c["text"] for c in data["candidates"]] == ["Hello!"]
    chars = len("".join(REASONING))
    assert (f"the server sent {chars} characters of reasoning text (its reasoning parser) beside the replies of "
            "1 candidate: not shown, not saved") in data["notes"]
