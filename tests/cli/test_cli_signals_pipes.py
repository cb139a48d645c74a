"""The CLI under signals, closed pipes, odd encodings and piped stdin: a real process each time."""

from __future__ import annotations

import asyncio
import json
import os
import pty
import select
import signal
import subprocess
import sys
import threading

import pytest
from cli_runner import run_cli
from hostile_server import SSE_HEAD, HostileServer, Writer, delta, send
from replay_server import Received, ScriptedServer

from tui_client.cli import generate


class StallingServer(ScriptedServer):
    """Streams a few words for two candidates, then stalls: ``streamed`` is set once they are sent."""

    WORDS = ("the first words", "so far kept")

    def __init__(self) -> None:
        super().__init__()
        self.streamed = threading.Event()

    async def respond(self, req: Received, writer: Writer) -> bool:
        if req.path.endswith("/v1/models"):
            return self.simple(writer, 200, b'{"object":"list","data":[{"id":"stall"}]}')
        writer.write(SSE_HEAD)
        await send(writer, *(delta(i, text) for i, text in enumerate(self.WORDS)))
        self.streamed.set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:  # the server stops
            pass
        return False


def popen(*args: str, **kw: object) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "tui_client", *args], text=True,  # type: ignore[call-overload]
                            stdin=subprocess.DEVNULL, **{"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, **kw})


@pytest.mark.parametrize(("signum", "status"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129), (signal.SIGINT, 130)])
def test_a_signal_mid_run_prints_the_json_saves_and_exits(signum: int, status: int) -> None:
    with StallingServer() as server:
        proc = popen("generate", "--url", server.url, "--n", "2", "--stream", "--json")
        assert server.streamed.wait(30), "the request never came"
        proc.send_signal(signum)  # the words may or may not be read by now (see the pty test)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == status, err
    assert "Traceback" not in err
    doc = json.loads(out)
    assert doc["status"] == "cancelled"
    assert all(c["text"] == StallingServer.WORDS[c["index"]] for c in doc["candidates"])
    listing = run_cli("history", "list")
    assert listing.returncode == 0 and " cancelled " in listing.stdout


def test_a_stop_signal_cancels_the_run_again_until_it_stops(monkeypatch: pytest.MonkeyPatch) -> None:
    """A cancellation swallowed below (as one can be when a read timeout fires with it) is not the end:
    the run is cancelled again until it leaves the block; then the signals are the default ones again."""
    monkeypatch.setattr(generate, "RECANCEL_INTERVAL", 0.05)

    async def run() -> tuple[list[int], int]:
        stopped: list[int] = []
        cancels = 0
        loop = asyncio.get_running_loop()
        give_up = loop.time() + 5
        with generate._stop_on_signals(stopped):
            loop.call_later(0.05, os.kill, os.getpid(), signal.SIGTERM)
            while cancels < 3 and loop.time() < give_up:
                try:
                    await asyncio.sleep(0.5)
                except asyncio.CancelledError:
                    cancels += 1  # swallowed: the run goes on
        return stopped, cancels

    assert asyncio.run(run()) == ([signal.SIGTERM], 3)
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


def test_ctrl_c_twice_does_not_wait_for_the_run_to_wind_up() -> None:
    async def run() -> None:
        with generate._stop_on_signals([]):
            os.kill(os.getpid(), signal.SIGINT)
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                pass  # the first: the run winds up, slowly
            os.kill(os.getpid(), signal.SIGINT)
            await asyncio.sleep(10)

    with pytest.raises(KeyboardInterrupt):
        asyncio.run(run())


def test_sigterm_on_a_terminal_keeps_the_text_and_saves_it() -> None:
    with StallingServer() as server:
        master, slave = pty.openpty()
        proc = popen("generate", "--url", server.url, "--n", "2", "--stream", stdout=slave,
                     env={**os.environ, "COLUMNS": "100", "LINES": "30", "TERM": "xterm"})
        os.close(slave)
        screen = b""
        while b"so far kept" not in screen:  # the live view shows what the run holds
            data = _read(master)
            assert data, f"the process ended first: {screen!r}"
            screen += data
        proc.send_signal(signal.SIGTERM)
        while data := _read(master):
            screen += data
        _, err = proc.communicate(timeout=30)
        os.close(master)
    assert proc.returncode == 143 and err.endswith("cancelled by SIGTERM\n"), err
    final = screen.decode().rsplit("\x1b[J", 1)[1].replace("\r\n", "\n")
    assert "Beam candidate 0: 'San Francisco is athe first words'\nBeam candidate 1: 'San Francisco is aso far kept'\n" in final
    shown = run_cli("history", "show", "1")
    assert "the first words" in shown.stdout and "so far kept" in shown.stdout and "cancelled" in shown.stdout


def _read(fd: int) -> bytes:
    """What the process wrote next; b"" once it closed the terminal (or wrote nothing for 30 s)."""
    if not select.select([fd], [], [], 30)[0]:
        return b""
    try:
        return os.read(fd, 65536)
    except OSError:  # the other end closed
        return b""


def closed_pipe() -> int:
    """The write end of a pipe whose reader is already gone (``| head`` that has quit)."""
    read, write = os.pipe()
    os.close(read)
    return write


@pytest.mark.parametrize("command", [["history", "list"], ["generate", "--n", "64", "--stream", "--max-tokens", "4"]])
def test_a_closed_stdout_is_quiet(command: list[str], demo_url: str) -> None:
    assert run_cli("generate", "--url", demo_url, "--max-tokens", "2").returncode == 0  # a run to list
    if command[0] == "generate":
        command = [*command, "--url", demo_url]
    write = closed_pipe()
    try:
        proc = popen(*command, stdout=write)
        _, err = proc.communicate(timeout=60)
    finally:
        os.close(write)
    assert proc.returncode == 141
    assert "Traceback" not in err and "BrokenPipeError" not in err and "Exception ignored" not in err, err


@pytest.mark.parametrize("json_output", [False, True])
def test_an_ascii_stdout_gets_escapes_not_a_traceback(json_output: bool) -> None:
    with HostileServer("split-utf8") as server:
        out = run_cli("generate", "--url", server.url, "--stream", "--prompt", "café", *(["--json"] if json_output else []),
                      env={"PYTHONIOENCODING": "ascii"})
    assert out.returncode == 0, out.stderr
    assert "Traceback" not in out.stderr
    if json_output:
        assert json.loads(out.stdout)["candidates"][0]["text"] == "こんにちは 世界 🌍"
        exported = run_cli("history", "export", "1", "--format", "json", env={"PYTHONIOENCODING": "ascii"})
        assert exported.returncode == 0 and exported.stdout.isascii()
        assert json.loads(exported.stdout)["candidates"][0]["text"] == "こんにちは 世界 🌍"
    else:
        assert "Prompt: 'caf\\xe9'" in out.stdout
        assert "\\u3053\\u3093" in out.stdout  # こん


def test_piped_stdin_is_the_prompt(demo_url: str) -> None:
    piped = subprocess.run([sys.executable, "-m", "tui_client", "generate", "--url", demo_url, "--max-tokens", "2"],
                           input="The Mole said\n", capture_output=True, text=True, timeout=60)
    assert piped.returncode == 0, piped.stderr
    assert "Prompt: 'The Mole said'" in piped.stdout
    assert "Beam candidate 0: 'The Mole said" in piped.stdout
    dash = subprocess.run([sys.executable, "-m", "tui_client", "generate", "--url", demo_url, "--max-tokens", "2",
                           "--prompt", "-", "--json"], input="two\nlines\n", capture_output=True, text=True, timeout=60)
    assert dash.returncode == 0, dash.stderr
    assert json.loads(dash.stdout)["candidates"][0]["text"]  # it ran
    listing = run_cli("history", "list")
    assert "'two\\nlines'" in listing.stdout, listing.stdout
    # Nothing piped (stdin is /dev/null): the example client's default prompt.
    empty = run_cli("generate", "--url", demo_url, "--max-tokens", "2")
    assert "Prompt: 'San Francisco is a'" in empty.stdout
    # An explicit --prompt wins over stdin.
    explicit = subprocess.run([sys.executable, "-m", "tui_client", "generate", "--url", demo_url, "--max-tokens", "2",
                               "--prompt", "Hi"], input="ignored", capture_output=True, text=True, timeout=60)
    assert "Prompt: 'Hi'" in explicit.stdout


def test_help_mentions_stdin() -> None:
    out = run_cli("generate", "--help")
    assert "stdin" in out.stdout
