"""`tui-client history`, and `generate` saving to it, run as a subprocess."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from cli_runner import run_cli
from leaks import files_containing
from replay_server import OPENAI, Recording, ReplayServer

from tui_client.demo.server import DemoServer


def cli(*args: str, data: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return run_cli(*args, env={"TUI_CLIENT_DATA_DIR": str(data), "TUI_CLIENT_CONFIG": str(data / "none.toml"), **(env or {})})


def test_generate_saves_runs_and_history_lists_shows_exports_deletes(demo_url: str, tmp_path: Path) -> None:
    first = cli("generate", "--url", demo_url, "--n", "2", "--prompt", "Hello ```` there", "--max-tokens", "6",
                data=tmp_path)
    second = cli("generate", "--url", demo_url, "--prompt", "Second\nline", "--json", data=tmp_path)
    skipped = cli("generate", "--url", demo_url, "--prompt", "not kept", "--no-history", data=tmp_path)
    assert first.returncode == second.returncode == skipped.returncode == 0, first.stderr + second.stderr

    listing = cli("history", "list", data=tmp_path)
    assert listing.returncode == 0
    lines = listing.stdout.splitlines()
    assert len(lines) == 2
    newest, oldest = (line.split("  ") for line in lines)
    assert newest[0] == "2" and oldest[0] == "1"
    assert newest[2:6] == ["completions", "demo-markov", "n=1", "finished"] and newest[6] == repr("Second\nline")
    assert oldest[4] == "n=2" and oldest[6] == repr("Hello ```` there")
    assert cli("history", "list", "--search", "hello", data=tmp_path).stdout.startswith("1  ")

    show = cli("history", "show", "1", data=tmp_path)
    assert show.returncode == 0 and "# tui-client run 1" in show.stdout and "## Candidate 1" in show.stdout

    exported = cli("history", "export", "2", "--format", "json", data=tmp_path)
    doc = json.loads(exported.stdout)
    generated = json.loads(second.stdout)
    assert doc["prompt"] == "Second\nline" and doc["params"]["max_tokens"] == 16 and doc["stream"] is False
    assert doc["candidates"] == generated["candidates"] and doc["server"] == generated["server"]
    assert doc["id"] == 2 and doc["usage"] == generated["usage"] and doc["timing"] == generated["timing"]

    out_file = tmp_path / "run1.md"
    written = cli("history", "export", "1", "--format", "md", "--output", str(out_file), data=tmp_path)
    assert written.returncode == 0 and written.stdout == ""
    markdown = out_file.read_text()
    assert markdown.startswith("# tui-client run 1\n") and "`````text\nHello ```` there\n`````" in markdown

    assert cli("history", "delete", "1", data=tmp_path).returncode == 0
    assert [ln.split()[0] for ln in cli("history", "list", data=tmp_path).stdout.splitlines()] == ["2"]
    for action in (["show", "1"], ["export", "1"], ["delete", "1"]):
        missing = cli("history", *action, data=tmp_path)
        assert missing.returncode == 1 and missing.stderr == (
            "tui-client: error: no run 1 in the history (see tui-client history list)\n")


def test_history_usage_errors(tmp_path: Path) -> None:
    for args in (["history"], ["history", "show", "x"], ["history", "export", "1", "--format", "pdf"]):
        out = cli(*args, data=tmp_path)
        assert out.returncode == 2 and out.stderr.count("\n") == 1, out.stderr
    assert "list" in cli("history", "--help", data=tmp_path).stdout


def test_failed_generate_is_saved_too(unused_url: str, tmp_path: Path) -> None:
    out = cli("generate", "--url", unused_url, data=tmp_path)
    assert out.returncode == 1 and out.stderr.count("\n") == 1
    [line] = cli("history", "list", data=tmp_path).stdout.splitlines()
    assert "  failed  " in line
    assert "connection refused" in cli("history", "show", "1", data=tmp_path).stdout


def test_cli_never_writes_the_api_key(tmp_path: Path) -> None:
    key = "sk-cli-never-on-disk-31337"
    with DemoServer(token_delay=0.0, api_key=key) as demo:
        by_env = cli("generate", "--url", demo.url, "--n", "2", data=tmp_path, env={"VLLM_API_KEY": key})
        by_flag = cli("generate", "--url", demo.url, "--api-key", key, data=tmp_path)
    assert by_env.returncode == by_flag.returncode == 0, by_env.stderr + by_flag.stderr
    assert len(cli("history", "list", data=tmp_path).stdout.splitlines()) == 2
    assert files_containing(tmp_path, key) == []


def test_a_logprob_run_is_exported_from_the_history_as_generate_printed_it(tmp_path: Path) -> None:
    rec = Recording.load(OPENAI / "chat-stream-logprobs-n2.json")
    with ReplayServer(rec) as server:
        generated = cli("generate", "--url", server.url, "--api", "chat", "--n", "2", "--stream", "--logprobs", "5",
                        "--prompt", rec.request["json"]["messages"][0]["content"], "--json", data=tmp_path)
    assert generated.returncode == 0, generated.stderr
    doc = json.loads(cli("history", "export", "1", data=tmp_path).stdout)
    assert doc["candidates"] == json.loads(generated.stdout)["candidates"] and doc["params"]["logprobs"] == 5
    assert all(len(c["logprobs"]) == 24 for c in doc["candidates"])
    shown = cli("history", "show", "1", data=tmp_path).stdout
    assert shown.count("<details><summary>tokens</summary>") == 2 and '| 0 | `"One"` | -3.6896 | 2.5% |' in shown
