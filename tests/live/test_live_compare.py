"""Compare servers against two real vLLMs at once: `vllm serve` (OpenAI) beside the legacy /generate
server. Needs VLLM_LIVE_COMPARE_OPENAI_URL (or VLLM_LIVE_URL) and VLLM_LIVE_LEGACY_URL; .ci/run keeps the
OpenAI server up during the legacy phase for it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tui_client.core.protocol import Api, ClientConfig, GenerationRequest, SamplingParams, Status
from tui_client.core.protocol.compare import ServerTarget
from tui_client.core.run_session import RunSession

pytestmark = pytest.mark.live
OPENAI_URL = os.environ.get("VLLM_LIVE_COMPARE_OPENAI_URL") or os.environ.get("VLLM_LIVE_URL")
LEGACY_URL = os.environ.get("VLLM_LIVE_LEGACY_URL")
needs_both = pytest.mark.skipif(
    not (OPENAI_URL and LEGACY_URL),
    reason="comparing needs both real servers at once: VLLM_LIVE_COMPARE_OPENAI_URL (or VLLM_LIVE_URL) "
    f"{'set' if OPENAI_URL else 'not set'}, VLLM_LIVE_LEGACY_URL {'set' if LEGACY_URL else 'not set'}",
)


@needs_both
def test_generate_compares_the_openai_and_the_legacy_server() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "tui_client", "generate", "--url", f"openai={OPENAI_URL}", "--url", f"legacy={LEGACY_URL}",
         "--prompt", "San Francisco is a", "--n", "3", "--temperature", "0.8", "--max-tokens", "12", "--stream",
         "--json", "--no-history"],
        capture_output=True, text=True, timeout=300,
    )
    assert out.returncode == 0, out.stderr
    openai, legacy = json.loads(out.stdout)["servers"]
    assert (openai["label"], openai["api"], openai["model"], openai["status"]) == (
        "openai", "completions", "smollm2-135m", "finished")
    assert (legacy["label"], legacy["api"], legacy["status"]) == ("legacy", "generate", "finished")
    for server in (openai, legacy):
        assert len(server["candidates"]) == 3 and all(c["text"] for c in server["candidates"]), server
    assert all(c["finish_reason"] in ("length", "stop") for c in openai["candidates"])


@needs_both
async def test_the_session_streams_both_real_servers_in_the_worker() -> None:
    session = RunSession(ClientConfig(url=OPENAI_URL))
    session.set_compare([ServerTarget("legacy", LEGACY_URL)])
    try:
        assert await session.start_worker() is None
        crun = session.begin_compare(GenerationRequest("The capital of France is",
                                                       SamplingParams(n=2, temperature=0.8, max_tokens=10)))
        await session.stream_compare(crun, lambda: None, lambda err: None)
        compare = crun.end()
    finally:
        await session.aclose()
    openai, legacy = compare.groups
    assert openai.state.status is Status.FINISHED, openai.state.error
    assert legacy.state.status is Status.FINISHED, legacy.state.error
    assert (openai.state.server.api, legacy.state.server.api) == (Api.COMPLETIONS, Api.GENERATE)
    assert all(len(g.state.candidates) == 2 and all(c.text for c in g.state.ordered()) for g in compare.groups)
