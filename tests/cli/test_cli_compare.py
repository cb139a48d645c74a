"""`tui-client generate --url A --url B`: one process, several loopback servers, one labelled group each."""

from __future__ import annotations

import ast
import json
import os
import pty
import subprocess
import sys

from cli_runner import read_terminal, run_cli
from expected import expected_legacy, expected_openai
from hostile_server import HostileServer
from replay_server import LEGACY, OPENAI, Recording, ReplayServer

OPENAI_REC = Recording.load(OPENAI / "completions-stream-n4.json")
LEGACY_REC = Recording.load(LEGACY / "generate-stream-n4.json")
PROMPT = "San Francisco is a"  # both recordings' prompt, n=4, temperature 0.9, seed 7, 48 tokens
SAME = ("--n", "4", "--temperature", "0.9", "--seed", "7", "--max-tokens", "48", "--stream", "--prompt", PROMPT)


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return run_cli("generate", *args, env=env)


def test_json_has_every_server_a_failing_one_alone_exits_3() -> None:
    with ReplayServer(OPENAI_REC) as openai, ReplayServer(LEGACY_REC) as legacy, HostileServer("html-500") as broken:
        out = cli("--url", openai.url, "--url", f"old={legacy.url}", "--url", broken.url, *SAME, "--json")
    assert out.returncode == 3, out.stderr
    doc = json.loads(out.stdout)
    assert doc["status"] == "finished" and [s["label"] for s in doc["servers"]] == ["A", "old", "C"]
    first, old, failed = doc["servers"]
    texts, reasons, usage = expected_openai(OPENAI_REC)
    assert (first["url"], first["api"], first["model"], first["status"], first["error"]) == (
        openai.url, "completions", "smollm2-135m", "finished", None)
    assert [(c["index"], c["text"], c["finish_reason"]) for c in first["candidates"]] == [
        (i, texts[i], reasons[i]) for i in range(4)]
    assert first["usage"]["completion_tokens"] == usage["completion_tokens"]
    assert (old["url"], old["api"], old["model"], old["status"]) == (legacy.url, "generate", None, "finished")
    assert sorted(c["text"] for c in old["candidates"]) == expected_legacy(LEGACY_REC)
    assert set(old["candidates"][0]) == set(first["candidates"][0])  # the candidates' shape of a plain run
    assert failed["status"] == "failed" and failed["candidates"] == [] and failed["error"]["status"] == 500
    [line] = [ln for ln in out.stderr.splitlines() if ln.startswith("error:")]
    assert line.startswith("error: C: ") and "500" in line


def test_text_output_prints_a_header_and_the_candidates_of_each_server() -> None:
    with ReplayServer(OPENAI_REC) as openai, ReplayServer(LEGACY_REC) as legacy:
        out = cli("--url", openai.url, "--url", legacy.url, *SAME)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == f"Prompt: {PROMPT!r}"
    a = lines.index(f"== A · {openai.url} (completions, smollm2-135m) ==")
    b = lines.index(f"== B · {legacy.url} (generate) ==")
    texts, _, _ = expected_openai(OPENAI_REC)
    assert lines[a + 1 : b] == [f"Beam candidate {i}: {PROMPT + texts[i]!r}" for i in range(4)]
    legacy_texts = [ast.literal_eval(ln.split(": ", 1)[1])[len(PROMPT):] for ln in lines[b + 1 :]]
    assert sorted(legacy_texts) == expected_legacy(LEGACY_REC)


def test_all_failed_exits_1_and_the_run_is_saved_once_with_every_server(unused_url: str) -> None:
    with HostileServer("html-502") as broken:
        out = cli("--url", unused_url, "--url", broken.url, "--prompt", "Hi", "--json")
        assert out.returncode == 1, out.stderr
        assert [s["status"] for s in json.loads(out.stdout)["servers"]] == ["failed", "failed"]
    with ReplayServer(OPENAI_REC) as openai:
        out = cli("--url", openai.url, "--url", f"gone={unused_url}", *SAME)
        assert out.returncode == 3 and "gone failed: cannot connect" in out.stdout
    listing = run_cli("history", "list").stdout.splitlines()
    assert listing[0].split("  ")[4:6] == ["n=4 ×2 servers", "finished"]
    assert listing[1].split("  ")[4:6] == ["n=1 ×2 servers", "failed"]
    run_id = listing[0].split()[0]
    doc = json.loads(run_cli("history", "show", run_id, "--json").stdout)
    assert [(s["label"], s["status"]) for s in doc["servers"]] == [("A", "finished"), ("gone", "failed")]
    assert doc["candidates"] == doc["servers"][0]["candidates"]  # the top level is the first server's
    shown = run_cli("history", "show", run_id).stdout
    assert "## A · Candidate 3" in shown and "- **gone:** " in shown and "## gone · Candidate" not in shown


def test_bad_compare_flags_are_one_line_errors(demo_url: str) -> None:
    out = cli("--url", demo_url, "--url", f"A={demo_url}")
    assert out.returncode == 2 and "--url: the server label 'A' is given twice" in out.stderr
    out = cli("--url", demo_url, "--url", "ftp://nowhere")
    assert out.returncode == 2 and "--url: B: " in out.stderr and len(out.stderr.splitlines()) == 1
    out = run_cli("server", "--url", demo_url, "--url", demo_url)
    assert out.returncode == 2 and "give --url once" in out.stderr
    out = cli("--url", demo_url, "--url", demo_url, "--continue-from", "1:0")
    assert out.returncode == 2 and "--continue-from" in out.stderr
    assert "3 when some compared servers failed" in " ".join(cli("--help").stdout.split())


def test_the_config_files_servers_are_compared_without_a_url_flag(demo_url: str, tmp_path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'url = "http://ignored:1"\nservers = ["one={demo_url}", {{ url = "{demo_url}", label = "two" }}]\n')
    env = {"TUI_CLIENT_CONFIG": str(config)}
    out = cli("--prompt", "The", "--n", "2", "--max-tokens", "5", "--json", env=env)
    assert out.returncode == 0, out.stderr
    assert [(s["label"], s["url"], len(s["candidates"])) for s in json.loads(out.stdout)["servers"]] == [
        ("one", demo_url, 2), ("two", demo_url, 2)]
    shown = run_cli("config", "show", env=env).stdout
    [row] = [line.split() for line in shown.splitlines() if line.startswith("servers ")]
    assert row == ["servers", f'["one={demo_url}",', f'"two={demo_url}"]', "file"]
    out = cli("--url", demo_url, "--prompt", "The", "--json", env=env)  # a URL flag: that server alone
    assert out.returncode == 0 and "servers" not in json.loads(out.stdout)
    config.write_text('model = "m"\nservers = ["http://a:1", "A=http://b:2"]\n')
    out = cli("--prompt", "x", env=env)
    assert out.returncode == 2
    assert out.stderr.strip() == f"tui-client: error: {config}:2: servers: the server label 'A' is given twice " \
        "(labels: A, A)"
    config.write_text('servers = ["http://a:1", 7]\n')
    out = run_cli("config", "show", env=env)
    assert out.returncode == 2 and f"{config}:1: servers: server 2 must be a URL (or LABEL=URL), not an integer" in out.stderr


def test_the_tui_command_line_takes_several_urls(demo_url: str) -> None:
    """The TUI parser accepts them (running the app is the TUI tests' part): a bad one stops it first."""
    out = run_cli("--url", demo_url, "--url", "x=ftp://nowhere", env={"TERM": os.environ.get("TERM", "xterm")})
    assert out.returncode == 2 and "--url: x: " in out.stderr


def test_on_a_terminal_a_failed_servers_error_is_shown_once(unused_url: str) -> None:
    """stdout and stderr on one terminal: the group says it failed, stderr's line says why (not both)."""
    with ReplayServer(OPENAI_REC) as openai:
        master, slave = pty.openpty()
        proc = subprocess.Popen(
            [sys.executable, "-m", "tui_client", "generate", "--url", openai.url, "--url", f"gone={unused_url}",
             *SAME],
            stdout=slave, stderr=slave, env={**os.environ, "COLUMNS": "200", "LINES": "30", "TERM": "xterm"},
        )
        os.close(slave)
        screen = read_terminal(master).decode().replace("\r\n", "\n")
        proc.wait(30)
        os.close(master)
    assert proc.returncode == 3, screen
    final = screen.rsplit("\x1b[J", 1)[-1]  # what stays once the live lines are cleared
    assert final.count("cannot connect") == 1, screen
    assert "gone failed (its error is below)\nerror: gone: cannot connect" in final
