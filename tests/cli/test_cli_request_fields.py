"""`--system`, `--param`, `--extra`, `--prompt-file` and the config file's `system` and `[params]`:
what `generate` sends, as a loopback server receives it, and the one-line refusals."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from cli_runner import run_cli
from expected import expected_openai
from leaks import files_containing
from recording_proxy import RecordingProxy
from replay_server import OPENAI, Recording, ReplayServer


def cli(*args: str, tmp_path: Path, config: str = "", env: dict[str, str] | None = None):
    conf = tmp_path / "config.toml"
    conf.write_text(config)
    return run_cli("generate", *args, env={"TUI_CLIENT_DATA_DIR": str(tmp_path / "data"),
                                           "TUI_CLIENT_CONFIG": str(conf), **(env or {})})


def posted(server: ReplayServer | RecordingProxy) -> list[dict]:
    return [r.json() for r in server.received if r.method == "POST"]


def test_a_system_prompt_is_sent_first_on_the_chat_api(tmp_path: Path) -> None:
    rec = Recording.load(OPENAI / "chat-system-prompt-n2.json")
    texts, _, _ = expected_openai(rec)
    with ReplayServer(rec) as server:
        out = cli("--url", server.url, "--api", "chat", "--system", "S\nsecond line", "--prompt", "P", "--n", "2",
                  "--stream", "--json", tmp_path=tmp_path)
    assert out.returncode == 0, out.stderr
    (body,) = posted(server)
    assert body["messages"] == [{"role": "system", "content": "S\nsecond line"}, {"role": "user", "content": "P"}]
    assert {c["index"]: c["text"] for c in json.loads(out.stdout)["candidates"]} == texts


def test_the_recorded_extra_sampling_request_is_sent_byte_for_byte_in_json(tmp_path: Path) -> None:
    rec = Recording.load(OPENAI / "completions-extra-sampling.json")
    sent = rec.request["json"]
    with ReplayServer(rec) as server:
        out = cli("--url", server.url, "--prompt", sent["prompt"], "--n", "2", "--max-tokens", "16",
                  "--temperature", "0.8", "--seed", "7", "--param", "min_p=0.05", "--param", "repetition_penalty=1.2",
                  "--param", "min_tokens=8", tmp_path=tmp_path)
    assert out.returncode == 0, out.stderr
    (body,) = posted(server)
    assert body == sent
    assert type(body["min_tokens"]) is int and type(body["min_p"]) is float


def test_params_arrive_typed(tmp_path: Path) -> None:
    with ReplayServer(OPENAI / "completions-nostream-n4.json") as server:
        out = cli("--url", server.url, "--param", "min_p=0.05", "--param", "ignore_eos=true", "--param", "tag=0.5x",
                  "--param", 'quoted="7"', "--param", "ids=[2, 3]", tmp_path=tmp_path)
    assert out.returncode == 0, out.stderr
    (body,) = posted(server)
    assert body["min_p"] == 0.05 and type(body["min_p"]) is float
    assert body["ignore_eos"] is True
    assert body["tag"] == "0.5x" and body["quoted"] == "7" and body["ids"] == [2, 3]


def test_extra_is_merged_into_the_body(tmp_path: Path) -> None:
    rec = Recording.load(OPENAI / "completions-structured-choice.json")
    sent = rec.request["json"]
    texts, _, _ = expected_openai(rec)
    with ReplayServer(rec) as server:
        out = cli("--url", server.url, "--prompt", sent["prompt"], "--n", "2", "--max-tokens", "8", "--temperature",
                  "0.8", "--seed", "7", "--extra", json.dumps({"structured_outputs": sent["structured_outputs"]}),
                  "--json", tmp_path=tmp_path)
    assert out.returncode == 0, out.stderr
    assert posted(server) == [sent]
    assert sorted(c["text"] for c in json.loads(out.stdout)["candidates"]) == sorted(texts.values())


def test_precedence_params_table_then_param_then_extra_and_null_removes(tmp_path: Path) -> None:
    config = "[params]\nmin_p = 0.1\nmin_tokens = 2\nignore_eos = true\n"
    with ReplayServer(OPENAI / "completions-nostream-n4.json") as server:
        out = cli("--url", server.url, "--param", "min_p=0.2", "--param", "repetition_penalty=1.1",
                  "--param", "ignore_eos=null", "--extra", '{"min_p": 0.3, "seed_like": 1}', "--extra", '{"top_a": 0}',
                  "--temperature", "0.5", tmp_path=tmp_path, config=config)
        plain = cli("--url", server.url, tmp_path=tmp_path, config=config)
    assert out.returncode == plain.returncode == 0, out.stderr + plain.stderr
    body, configured = posted(server)
    assert {k: body[k] for k in ("min_p", "min_tokens", "repetition_penalty", "seed_like", "top_a", "temperature")} == {
        "min_p": 0.3, "min_tokens": 2, "repetition_penalty": 1.1, "seed_like": 1, "top_a": 0, "temperature": 0.5}
    assert "ignore_eos" not in body
    assert {k: configured[k] for k in ("min_p", "min_tokens", "ignore_eos")} == {"min_p": 0.1, "min_tokens": 2,
                                                                                 "ignore_eos": True}


@pytest.mark.parametrize(("flags", "line"), [
    (["--param", "min_p"], "argument --param: KEY=VALUE, please: 'min_p' has no '='"),
    (["--param", "=0.1"], "argument --param: no field name before '='"),
    (["--param", "min p=0.1"], "argument --param: 'min p' is not a field name (letters, digits and _)"),
    (["--param", "temperature=0.5"], "argument --param: temperature is set by --temperature, not --param"),
    (["--param", "messages=[]"], "argument --param: messages is set by --prompt, not --param"),
    (["--param", "x=1e999"], "argument --param: numbers must be finite, not inf"),
    (["--extra", "min_p=0.1"], "argument --extra: not JSON (Expecting value: line 1 column 1 (char 0))"),
    (["--extra", "[1, 2]"], 'argument --extra: a JSON object ({"key": value, ...}) please, not a list'),
    (["--extra", '{"stream": false}'], "argument --extra: stream is set by --stream/--no-stream, not --extra"),
    (["--extra", '{"a": NaN}'], "argument --extra: not JSON (NaN is not JSON)"),
    (["--system", "S"], "--system: a system prompt is for the chat API: use --api chat"),
    (["--system", "S", "--api", "completions"], "--system: a system prompt is for the chat API: use --api chat"),
    (["--system", "S", "--api", "generate"], "--system: a system prompt is for the chat API: use --api chat"),
])
def test_a_bad_value_is_one_line_and_exit_status_2(tmp_path: Path, flags: list[str], line: str) -> None:
    with ReplayServer(OPENAI / "completions-nostream-n4.json") as server:
        out = cli("--url", server.url, *flags, tmp_path=tmp_path)
        assert posted(server) == []
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr.startswith(f"tui-client generate: error: {line}") and out.stderr.count("\n") == 1, out.stderr
    assert "Traceback" not in out.stderr


def test_what_the_server_refuses_is_its_own_message(tmp_path: Path, demo_url: str) -> None:
    out = cli("--url", demo_url, "--param", "min_tokens=-1", tmp_path=tmp_path)
    assert out.returncode == 1
    assert out.stderr.count("\n") == 1 and "min_tokens must be greater than or equal to 0, got -1." in out.stderr


def test_the_config_files_system_is_the_chat_apis_and_left_out_elsewhere(tmp_path: Path, demo_url: str) -> None:
    config = 'system = "From the file."\n'
    with RecordingProxy(demo_url) as proxy:
        chat = cli("--url", proxy.url, "--api", "chat", tmp_path=tmp_path, config=config)
        flag = cli("--url", proxy.url, "--api", "chat", "--system", "From the flag.", tmp_path=tmp_path, config=config)
        completions = cli("--url", proxy.url, "--api", "completions", tmp_path=tmp_path, config=config)
    assert chat.returncode == flag.returncode == completions.returncode == 0, chat.stderr + completions.stderr
    first, second, third = proxy.posted()
    assert first["messages"][0] == {"role": "system", "content": "From the file."}
    assert second["messages"][0] == {"role": "system", "content": "From the flag."}
    assert "messages" not in third and third["prompt"] == "San Francisco is a"


def test_prompt_file_is_the_whole_file(tmp_path: Path) -> None:
    prompt = tmp_path / "prompt.txt"
    text = "Q: one\r\nA: two\n\n  indented\tQ:\n"
    prompt.write_bytes(b"\xef\xbb\xbf" + text.encode())  # a BOM is not part of the prompt
    with ReplayServer(OPENAI / "completions-nostream-n4.json") as server:
        out = cli("--url", server.url, "--prompt-file", str(prompt), tmp_path=tmp_path)
    assert out.returncode == 0, out.stderr
    assert posted(server)[0]["prompt"] == text


@pytest.mark.parametrize(("content", "line"), [
    (None, "cannot read '{path}': No such file or directory"),
    (b"caf\xe9\n", "'{path}' is not UTF-8 text (byte 0xe9 at offset 3)"),
])
def test_a_prompt_file_that_cannot_be_read_is_one_line(tmp_path: Path, content: bytes | None, line: str) -> None:
    path = tmp_path / "prompt.txt"
    if content is not None:
        path.write_bytes(content)
    out = cli("--prompt-file", str(path), "--port", "1", tmp_path=tmp_path)
    assert out.returncode == 2 and out.stderr.count("\n") == 1
    assert out.stderr.startswith(f"tui-client generate: error: argument --prompt-file: {line.format(path=path)}")
    directory = cli("--prompt-file", str(tmp_path), "--port", "1", tmp_path=tmp_path)
    assert directory.returncode == 2 and "Is a directory" in directory.stderr


def test_prompt_dash_reads_stdin_with_its_newlines(tmp_path: Path) -> None:
    with ReplayServer(OPENAI / "completions-nostream-n4.json") as server:
        out = subprocess.run([sys.executable, "-m", "tui_client", "generate", "--url", server.url, "--prompt", "-",
                              "--no-history"], input="one\n\ntwo\n", capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert posted(server)[0]["prompt"] == "one\n\ntwo"  # echo's final newline dropped, as with piped stdin


def test_history_keeps_what_was_sent_and_never_the_key(tmp_path: Path) -> None:
    rec = Recording.load(OPENAI / "chat-system-prompt-n2.json")
    with ReplayServer(rec) as server:
        out = cli("--url", server.url, "--api", "chat", "--system", "Be brief.", "--prompt", "P", "--n", "2", "--stream",
                  "--param", "min_p=0.05", "--extra", '{"structured_outputs": {"choice": ["a", "b"]}}',
                  tmp_path=tmp_path, env={"VLLM_API_KEY": "sk-never-stored-7"})
    assert out.returncode == 0, out.stderr
    shown = run_cli("history", "show", "1", "--json", env={"TUI_CLIENT_DATA_DIR": str(tmp_path / "data")})
    assert shown.returncode == 0, shown.stderr
    doc = json.loads(shown.stdout)
    assert doc["system"] == "Be brief." and doc["prompt"] == "P"
    assert doc["extra"] == {"min_p": 0.05, "structured_outputs": {"choice": ["a", "b"]}}
    markdown = run_cli("history", "show", "1", env={"TUI_CLIENT_DATA_DIR": str(tmp_path / "data")}).stdout
    assert "## System prompt" in markdown and "| min_p | `0.05` |" in markdown
    assert files_containing(tmp_path / "data", "sk-never-stored-7") == []
