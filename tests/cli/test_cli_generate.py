"""`tui-client generate` end to end: a real process talking HTTP to loopback servers."""

from __future__ import annotations

import ast
import json
import math
import os
import pty
import subprocess
import sys

import pytest
from cli_runner import read_terminal, run_cli
from expected import expected_legacy, expected_openai, expected_tokens
from replay_server import LEGACY, OPENAI, Recording, ReplayServer


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return run_cli("generate", *args, env=env)


def test_seed_output_against_legacy_recording() -> None:
    rec = Recording.load(LEGACY / "generate-stream-n4.json")
    prompt = rec.request["json"]["prompt"]
    with ReplayServer(rec) as server:
        out = cli("--port", str(server.port), "--host", "127.0.0.1", "--n", "4", "--stream", "--prompt", prompt)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == f"Prompt: {prompt!r}"
    cands = [ln for ln in lines if ln.startswith("Beam candidate")]
    assert [c.split(":", 1)[0] for c in cands] == [f"Beam candidate {i}" for i in range(4)]
    texts = sorted(ast.literal_eval(c.split(": ", 1)[1])[len(prompt) :] for c in cands)
    assert texts == expected_legacy(rec)
    assert "\x1b" not in out.stdout  # piped: no redraw escapes


def test_json_output_against_openai_recording() -> None:
    rec = Recording.load(OPENAI / "completions-stream-n4.json")
    texts, reasons, usage = expected_openai(rec)
    with ReplayServer(rec) as server:
        out = cli("--url", server.url, "--n", "4", "--stream", "--json", "--prompt", "San Francisco is a")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert [(c["index"], c["text"], c["finish_reason"]) for c in doc["candidates"]] == [
        (i, texts[i], reasons[i]) for i in range(4)
    ]
    assert doc["usage"]["completion_tokens"] == usage["completion_tokens"]
    assert doc["server"] == {"url": server.url, "api": "completions", "model": "smollm2-135m"}
    assert doc["timing"]["total"] > 0 and "error" not in doc


def test_failure_is_one_line_with_exit_status_and_json_error() -> None:
    with ReplayServer(OPENAI / "error-unknown-model.json") as server:
        plain = cli("--url", server.url, "--model", "nope")
        as_json = cli("--url", server.url, "--model", "nope", "--json")
    assert plain.returncode == 1 and as_json.returncode == 1
    assert plain.stderr.count("\n") == 1 and "Traceback" not in plain.stderr
    assert plain.stderr.startswith("error: ") and "does not exist" in plain.stderr
    doc = json.loads(as_json.stdout)
    assert doc["status"] == "failed" and "does not exist" in doc["error"]["message"]
    assert doc["candidates"] == []


def test_connection_refused_is_one_line() -> None:
    out = cli("--port", "1")
    assert out.returncode == 1
    assert out.stderr.strip().count("\n") == 0 and "connection refused" in out.stderr and "--demo" in out.stderr


@pytest.mark.parametrize(("flags", "needle"), [
    (["--n", "0"], "--n: n must be between 1 and 1024"),
    (["--top-p", "1.5"], "--top-p:"),
    (["--beam-search", "--stream", "--n", "11", "--api", "completions"], "--beam-search: live beam search of width 11"),
    (["--max-tokens", "0"], "--max-tokens:"),
    (["--url", "ftp://x"], "--url"),
    (["--logprobs", "21"], "--logprobs: logprobs must be between 0 (off) and 20"),
    (["--logprobs", "-1"], "--logprobs: logprobs must be between 0 (off) and 20"),
    (["--logprobs", "5", "--api", "generate"], "--logprobs: the legacy /generate API has no logprobs"),
    (["--logprobs", "5", "--beam-search", "--n", "2"], "--logprobs: logprobs are not available with beam search"),
])
def test_bad_flags_name_the_flag(flags: list[str], needle: str) -> None:
    out = cli(*flags, "--port", "1")
    assert out.returncode == 2
    assert needle in out.stderr and out.stderr.count("\n") == 1, out.stderr


@pytest.mark.parametrize(("command", "flags", "named"), [
    (("generate",), ["--url", "http://127.0.0.1:1"], "--url"),
    (("generate",), ["--host", "gpu-box", "--port", "8000"], "--host and --port"),
    ((), ["--url", "A=http://127.0.0.1:1", "--url", "B=http://127.0.0.1:2"], "--url"),
])
def test_demo_beside_a_server_is_refused_not_silently_ignored(command: tuple[str, ...], flags: list[str],
                                                              named: str) -> None:
    out = run_cli(*command, "--demo", *flags, "--prompt", "x")
    assert out.returncode == 2, out.stderr
    assert f"--demo starts its own server, so {named} would be ignored" in out.stderr
    assert out.stderr.count("\n") == 1 and out.stdout == ""


def test_api_key_from_env_is_sent_and_never_printed() -> None:
    rec = Recording.load(OPENAI / "completions-nostream-n4.json")
    with ReplayServer(rec) as server:
        out = cli("--url", server.url, "--n", "4", "--json", env={"VLLM_API_KEY": "sk-hidden-42"})
        auth = [r.headers.get("authorization") for r in server.received]
    assert out.returncode == 0
    assert set(auth) == {"Bearer sk-hidden-42"}
    assert "sk-hidden-42" not in out.stdout + out.stderr


def test_streaming_on_a_terminal_redraws_in_place() -> None:
    rec = Recording.load(OPENAI / "completions-stream-n4.json")
    with ReplayServer(rec, time_scale=0.3) as server:
        master, slave = pty.openpty()
        proc = subprocess.Popen(
            [sys.executable, "-m", "tui_client", "generate", "--url", server.url, "--n", "4", "--stream"],
            stdout=slave, stderr=subprocess.PIPE, env={**os.environ, "COLUMNS": "100", "LINES": "30", "TERM": "xterm"},
        )
        os.close(slave)
        screen = read_terminal(master).decode()
        proc.wait(30)
        os.close(master)
    assert proc.returncode == 0
    assert "\x1b[4F\x1b[J" in screen  # moved up over the 4 live lines and cleared them
    final = screen.rsplit("\x1b[J", 1)[1]
    texts, _, _ = expected_openai(rec)
    for i in range(4):
        assert f"Beam candidate {i}: {'San Francisco is a' + texts[i]!r}" in final.replace("\r\n", "\n")


def test_insecure_warns_on_stderr() -> None:
    rec = Recording.load(OPENAI / "completions-nostream-n4.json")
    with ReplayServer(rec) as server:
        out = cli("--url", server.url, "--n", "4", "--insecure", "--no-history")
    assert out.returncode == 0
    assert "warning: TLS verification is off (--insecure)" in out.stderr


def test_streamed_beams_print_the_recorded_final_ranking() -> None:
    rec = Recording.load(LEGACY / "generate-beam-stream-n3.json")
    body = rec.request["json"]
    prompt = body["prompt"]
    final = [json.loads(ln)["text"] for ln in rec.body.split(b"\n") if ln.strip()][-1]
    with ReplayServer(rec) as server:
        out = cli("--url", server.url, "--beam-search", "--stream", "--n", "3", "--temperature", "0",
                  "--max-tokens", str(body["max_tokens"]), "--prompt", prompt)
        as_json = cli("--url", server.url, "--beam-search", "--stream", "--n", "3", "--temperature", "0",
                      "--length-penalty", "1.0", "--json", "--prompt", prompt)
        sent = [r.json() for r in server.received if r.path == "/generate"]
    assert out.returncode == 0 and as_json.returncode == 0, out.stderr + as_json.stderr
    cands = [ln for ln in out.stdout.splitlines() if ln.startswith("Beam candidate")]
    assert [ast.literal_eval(c.split(": ", 1)[1]) for c in cands] == final  # rank order, prompt included
    doc = json.loads(as_json.stdout)
    assert [(c["rank"], prompt + c["text"]) for c in doc["candidates"]] == list(enumerate(final))
    assert doc["beam_steps"] == len([ln for ln in rec.body.split(b"\n") if ln.strip()])
    assert sent[0]["use_beam_search"] is True and sent[0]["best_of"] == 3 and sent[1]["length_penalty"] == 1.0


@pytest.mark.parametrize("name", ["completions-stream-logprobs-n2", "chat-stream-logprobs-n2"])
def test_logprobs_json_has_every_token_as_recorded(name: str) -> None:
    rec = Recording.load(OPENAI / f"{name}.json")
    expected = expected_tokens(rec)
    body = rec.request["json"]
    prompt = body.get("prompt") or body["messages"][0]["content"]
    flags = ["--n", "2", "--stream", "--logprobs", "5", "--max-tokens", "24", "--prompt", prompt, "--json"]
    with ReplayServer(rec) as server:
        out = cli("--url", server.url, *flags, *(["--api", "chat"] if "chat" in name else []))
        plain = cli("--url", server.url, *flags[:-1], *(["--api", "chat"] if "chat" in name else []))
    assert out.returncode == 0 and plain.returncode == 0, out.stderr + plain.stderr
    doc = json.loads(out.stdout)
    for cand in doc["candidates"]:
        tokens = expected[cand["index"]]
        assert cand["logprobs"] == [{"token": t, "logprob": lp, "top": [{"token": a, "logprob": b} for a, b in top]}
                                    for t, lp, top in tokens]
        assert "".join(t["token"] for t in cand["logprobs"]) == cand["text"]
        assert cand["cumulative_logprob"] == sum(lp for _, lp, _ in tokens)
        assert cand["mean_logprob"] == pytest.approx(cand["cumulative_logprob"] / len(tokens))
        assert cand["perplexity"] == pytest.approx(math.exp(-cand["mean_logprob"]))
    if "completions" in name:  # the inspector's example: " a" 1.0%, then " that" 29.9%, " its" 16.0%
        first = doc["candidates"][0]["logprobs"][0]
        assert first["token"] == " a" and round(100 * math.exp(first["logprob"]), 1) == 1.0
        assert [(t["token"], round(100 * math.exp(t["logprob"]), 1)) for t in first["top"][:2]] == \
            [(" that", 29.9), (" its", 16.0)]
    lines = plain.stdout.splitlines()
    at = [i for i, line in enumerate(lines) if line.startswith("Beam candidate")]
    assert len(at) == 2
    for i, cand in zip(at, doc["candidates"]):
        assert lines[i + 1] == (f"  {len(cand['logprobs'])} tokens, mean logprob {cand['mean_logprob']:.3f}, "
                                f"perplexity {cand['perplexity']:.4g}, cumulative logprob {cand['cumulative_logprob']:.4g}")


def test_without_logprobs_the_output_is_unchanged() -> None:
    rec = Recording.load(OPENAI / "completions-nostream-n4.json")
    with ReplayServer(rec) as server:
        doc = json.loads(cli("--url", server.url, "--n", "4", "--json").stdout)
        plain = cli("--url", server.url, "--n", "4").stdout
    assert not any(key in cand for cand in doc["candidates"] for key in ("logprobs", "mean_logprob", "perplexity"))
    assert len(plain.splitlines()) == 2 + 4  # the prompt, a blank line, one line per candidate
