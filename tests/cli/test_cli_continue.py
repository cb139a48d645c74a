"""`generate --continue-from RUN:CANDIDATE` and `history tree` (issue #14), run as a subprocess
against servers that record what they are sent."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from cli_runner import run_cli
from hostile_server2 import HostileServer2


def cli(*args: str, data: Path) -> subprocess.CompletedProcess[str]:
    return run_cli(*args, env={"TUI_CLIENT_DATA_DIR": str(data), "TUI_CLIENT_CONFIG": str(data / "none.toml")})


def bodies(server: HostileServer2) -> list[dict[str, object]]:
    return [req.json() for req in server.received if req.method == "POST"]


def test_a_completions_candidate_goes_on_with_its_prompt_and_the_tree_shows_it(tmp_path: Path) -> None:
    with HostileServer2("fine") as server:
        first = cli("generate", "--url", server.url, "--api", "completions", "--prompt", "P:", "--stream",
                    "--temperature", "0.3", "--max-tokens", "5", data=tmp_path)
        assert first.returncode == 0, first.stderr
        child = cli("generate", "--url", server.url, "--continue-from", "1:0", "--prompt", " and", data=tmp_path)
        grandchild = cli("generate", "--url", server.url, "--continue-from", "2:0", "--max-tokens", "9", data=tmp_path)
        assert child.returncode == grandchild.returncode == 0, child.stderr + grandchild.stderr
        sent = bodies(server)
    # "fine" answers every candidate with the text "fine".
    assert [b["prompt"] for b in sent] == ["P:", "P:fine and", "P:fine andfine"]
    assert [(b["temperature"], b["max_tokens"], b["stream"]) for b in sent] == [(0.3, 5, True), (0.3, 5, True), (0.3, 9, True)]

    shown = json.loads(cli("history", "show", "2", "--json", data=tmp_path).stdout)
    assert shown["parent"] == {"run": 1, "candidate": 0, "offset": None} and shown["prompt"] == "P:fine and"
    assert json.loads(cli("history", "show", "1", "--json", data=tmp_path).stdout)["parent"] is None
    tree = cli("history", "tree", "1", data=tmp_path)
    assert tree.returncode == 0
    assert tree.stdout.splitlines() == ["1  n=1  finished  'P:'",
                                        "  └ 2  c0  n=1  finished  'P:fine and'",
                                        "    └ 3  c0  n=1  finished  'P:fine andfine'"]
    assert cli("history", "tree", "2", data=tmp_path).stdout.splitlines()[0] == (
        "2  (from run 1, candidate 0)  n=1  finished  'P:fine and'")


def test_a_chat_candidate_becomes_the_assistant_turn(tmp_path: Path) -> None:
    with HostileServer2("json-body-chat") as server:
        assert cli("generate", "--url", server.url, "--api", "chat", "--n", "2", "--prompt", "Hi", data=tmp_path).returncode == 0
        turn = cli("generate", "--url", server.url, "--continue-from", "1:1", "--prompt", "More?", data=tmp_path)
        reply = cli("generate", "--url", server.url, "--continue-from", "2:0", data=tmp_path)
        assert turn.returncode == reply.returncode == 0, turn.stderr + reply.stderr
        sent = bodies(server)
    # "json-body-chat" answers candidate i with "reply i".
    assert sent[1]["messages"] == [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "reply 1"},
                                   {"role": "user", "content": "More?"}]
    assert "continue_final_message" not in sent[1] and sent[1]["n"] == 2
    assert sent[2]["messages"] == [*sent[1]["messages"], {"role": "assistant", "content": "reply 0"}]  # type: ignore[list-item]
    assert sent[2]["continue_final_message"] is True and sent[2]["add_generation_prompt"] is False
    shown = json.loads(cli("history", "show", "3", "--json", data=tmp_path).stdout)
    assert shown["parent"] == {"run": 2, "candidate": 0, "offset": None}
    assert shown["turns"][-1] == {"role": "assistant", "content": "reply 0"} and shown["prompt"] == ""


def test_what_cannot_be_continued_is_one_line_and_status_2(tmp_path: Path) -> None:
    with HostileServer2("json-body-chat") as server:
        assert cli("generate", "--url", server.url, "--api", "chat", "--prompt", "Hi", data=tmp_path).returncode == 0
        cases = {
            ("--continue-from", "9:0"): "no run 9 in the history",
            ("--continue-from", "1:5"): "run 1 has no candidate 5 (it has 0)",
            ("--continue-from", "1:0", "--api", "completions"): "run 1 was a chat run; go on from it with --api chat",
            ("--continue-from", "x"): "give a history run and one of its candidates, as RUN:CANDIDATE",
            ("--continue-from", "0:0"): "give a history run and one of its candidates",
            ("--continue-from", "99999999999999999999:0"): "give a history run and one of its candidates",
        }
        for args, message in cases.items():
            result = cli("generate", "--url", server.url, *args, data=tmp_path)
            assert result.returncode == 2 and message in result.stderr, (args, result.stderr)
            assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
        assert len(bodies(server)) == 1  # none of them was sent
    missing = cli("history", "tree", "42", data=tmp_path)
    assert missing.returncode == 1 and "42" in missing.stderr
