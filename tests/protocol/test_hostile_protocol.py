"""The protocol layer and the CLI against a server that misbehaves on purpose.

Each case ends in either a correct result or one typed, one-line error, with the
text already received kept."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from hostile_server import SCENARIOS, HostileServer

from tui_client.core.protocol import (
    Api,
    ClientConfig,
    ErrorKind,
    GenerationRequest,
    RunState,
    SamplingParams,
    Status,
    VLLMClient,
)


async def run(scenario: str, n: int = 2, stream: bool = True, **config: object) -> RunState:
    with HostileServer(scenario) as server:
        async with VLLMClient(ClientConfig(url=server.url, **config)) as client:
            request = GenerationRequest("Hi", SamplingParams(n=n), stream=stream)
            return [e async for e in client.generate(request)][-1].state


def texts(state: RunState) -> dict[int, str]:
    return {c.index: c.text for c in state.ordered()}


async def test_hang_before_headers_times_out() -> None:
    state = await run("hang", timeout=0.5)
    assert state.error is not None and state.error.kind is ErrorKind.TIMEOUT


async def test_slow_drip_is_not_a_timeout() -> None:
    state = await run("slow-drip", n=1, timeout=1.0)
    assert state.status is Status.FINISHED and texts(state) == {0: "slow but fine"}


async def test_death_mid_stream_keeps_text() -> None:
    state = await run("die-mid-stream", n=1)
    assert state.error is not None and state.error.kind is ErrorKind.DISCONNECTED
    assert texts(state)[0].startswith("the first words")


async def test_truncated_chunk_keeps_text() -> None:
    state = await run("truncated-chunk", n=1)
    assert state.error is not None and state.error.kind is ErrorKind.DISCONNECTED
    assert texts(state) == {0: "kept"}


async def test_garbage_lines_are_skipped_and_reported() -> None:
    state = await run("garbage-line")
    assert state.status is Status.FINISHED
    assert texts(state) == {0: "one two", 1: "three four"}
    assert any("skipped 2 malformed" in note for note in state.notes)


async def test_invalid_utf8_is_replaced_not_fatal() -> None:
    state = await run("invalid-utf8", n=1)
    assert state.status is Status.FINISHED
    assert "\ufffd" in texts(state)[0] and texts(state)[0].endswith("ok")


async def test_utf8_split_across_chunks() -> None:
    state = await run("split-utf8", n=1)
    assert texts(state) == {0: "こんにちは 世界 🌍"}


async def test_huge_single_line_within_cap() -> None:
    state = await run("legacy-huge-line", n=1)
    assert state.status is Status.FINISHED and state.candidates[0].length == 24_000_000


async def test_huge_single_line_over_cap_is_a_clear_error() -> None:
    state = await run("legacy-huge-line", n=1, max_line_bytes=1_000_000)
    assert state.error is not None and state.error.kind is ErrorKind.TOO_LARGE
    assert "--max-line-bytes" in str(state.error)


async def test_total_text_cap_keeps_text_so_far() -> None:
    state = await run("die-mid-stream", n=1, max_total_chars=5)
    assert state.error is not None and state.error.kind is ErrorKind.TOO_LARGE
    assert texts(state)[0]  # what came before the cap is kept


async def test_more_candidates_than_asked_are_shown_and_noted() -> None:
    state = await run("more-candidates", n=2)
    assert texts(state) == {0: "a", 1: "b", 2: "c", 3: "d"}
    assert any("4 candidates for n=2" in note for note in state.notes)


async def test_bad_indices() -> None:
    state = await run("bad-indices", n=1)
    assert state.status is Status.FINISHED
    assert texts(state) == {0: "zero again"}  # negative, huge and non-integer indices skipped
    assert any("malformed" in note for note in state.notes)


async def test_text_after_finish_is_kept_and_noted() -> None:
    state = await run("text-after-finish", n=1)
    assert texts(state) == {0: "done and more"} and state.candidates[0].finish_reason == "stop"
    assert any("after it finished" in note for note in state.notes)


async def test_sse_oddities() -> None:
    state = await run("sse-oddities", n=1)
    assert state.status is Status.FINISHED, state.error
    assert texts(state) == {0: "odd but fine"}


async def test_legacy_nul_delimited() -> None:
    state = await run("legacy-nul-delimited")
    assert state.server.api is Api.GENERATE
    assert texts(state) == {0: " old style", 1: " vllm style"}


@pytest.mark.parametrize("code", [500, 502, 503])
async def test_html_error_pages(code: int) -> None:
    state = await run(f"html-{code}")
    assert state.error is not None and state.error.status == code
    assert "HTML page" in str(state.error) and "<" not in str(state.error)


async def test_redirect_is_followed() -> None:
    state = await run("redirect", n=1)
    assert texts(state) == {0: "redirected fine"}


async def test_gzip_body() -> None:
    state = await run("gzip", n=1)
    assert texts(state) == {0: "compressed words"}


def test_cli_plain_output_makes_escapes_inert() -> None:
    with HostileServer("escapes") as server:
        out = subprocess.run([sys.executable, "-m", "tui_client", "generate", "--url", server.url, "--stream"],
                             capture_output=True, text=True, timeout=60, env={**os.environ})
    assert out.returncode == 0, out.stderr
    assert not any(ch in out.stdout for ch in "\x1b\x07\x9b\u202e")
    assert "\\x1b[2J" in out.stdout and "[bold red]" in out.stdout


@pytest.mark.parametrize("scenario", ["die-mid-stream", "truncated-chunk", "html-502", "hang"])
def test_cli_failures_are_one_line(scenario: str) -> None:
    with HostileServer(scenario) as server:
        out = subprocess.run([sys.executable, "-m", "tui_client", "generate", "--url", server.url, "--stream", "--timeout", "0.5"],
                             capture_output=True, text=True, timeout=60)
    assert out.returncode == 1
    assert out.stderr.startswith("error: ") and out.stderr.count("\n") == 1, out.stderr


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_cli_survives_every_scenario(scenario: str) -> None:
    """Either a result, or one `error:` line and exit 1; never a traceback, never raw escapes."""
    with HostileServer(scenario) as server:
        out = subprocess.run([sys.executable, "-m", "tui_client", "generate", "--url", server.url, "--stream",
                              "--n", "2", "--timeout", "0.5", "--no-history"],
                             capture_output=True, text=True, timeout=120)
    assert "Traceback" not in out.stderr
    assert not any(ch in out.stdout for ch in "\x1b\x07\x9b")
    errors = [line for line in out.stderr.splitlines() if line.startswith("error: ")]
    if out.returncode == 0:
        assert errors == [] and "Beam candidate 0" in out.stdout
    else:
        assert out.returncode == 1 and len(errors) == 1, out.stderr
