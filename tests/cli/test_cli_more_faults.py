"""Issue #16, the faults found by looking for them (round 3): each one a command a user could
type that gave a traceback, showed a secret or lost text, now one clear line."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_runner import environ_without_user_settings, run_cli

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
