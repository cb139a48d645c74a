"""The server panel and `tui-client server` against a real vLLM (../shared/real-vllm/serve.sh).
Run with `pytest -m live`, VLLM_LIVE_URL (OpenAI mode) and/or VLLM_LIVE_LEGACY_URL set."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys

import pytest
from pilot import SIZE, make_app, wait_idle

from tui_client.ui.screens.server_screen import ServerScreen

pytestmark = pytest.mark.live
OPENAI_URL = os.environ.get("VLLM_LIVE_URL")
LEGACY_URL = os.environ.get("VLLM_LIVE_LEGACY_URL")
needs_openai = pytest.mark.skipif(not OPENAI_URL, reason="VLLM_LIVE_URL not set")
needs_legacy = pytest.mark.skipif(not LEGACY_URL, reason="VLLM_LIVE_LEGACY_URL not set")


def server_json(url: str) -> dict[str, object]:
    out = subprocess.run([sys.executable, "-m", "tui_client", "server", "--url", url, "--json"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


@needs_openai
def test_server_json_shows_the_real_model() -> None:
    assert OPENAI_URL is not None
    facts = server_json(OPENAI_URL)
    assert facts["reachable"] is True and facts["api"] == "completions"
    assert str(facts["version"]).startswith("0.")
    models = facts["models"]
    assert isinstance(models, list)
    model = next(m for m in models if m["id"] == "smollm2-135m")
    assert model["max_model_len"] == 2048 and model["adapter"] is False
    metrics = facts["metrics"]
    assert isinstance(metrics, dict) and facts["missing"] == {}
    for name in ("num_requests_running", "num_requests_waiting", "kv_cache_usage_perc", "generation_tokens_total"):
        assert isinstance(metrics[name], (int, float)), name


@needs_openai
async def test_the_panel_sees_the_server_move_during_a_run() -> None:
    assert OPENAI_URL is not None
    app = make_app(OPENAI_URL, "Write a long story about the sea.", n=4, max_tokens=400)
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(app, pilot, timeout=120)
        polling = app.main.server_polling
        polling.interval = 0.25
        await pilot.press("f5")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30
        while not (isinstance(app.screen, ServerScreen) and app.screen.facts is not None):
            assert loop.time() < deadline, "the panel showed no facts"
            await pilot.pause(0.05)
        screen = app.screen
        first = screen.facts.metrics
        assert first is not None and first.generation_tokens is not None
        app.main.action_run()  # the run goes on behind the panel
        seen_running, moved = False, False
        deadline = loop.time() + 120
        while loop.time() < deadline and not (seen_running and moved):
            await pilot.pause(0.1)
            metrics = screen.facts.metrics if screen.facts is not None else None
            if metrics is not None:
                seen_running = seen_running or bool(metrics.running)
                moved = moved or (metrics.generation_tokens or 0) > first.generation_tokens
        assert seen_running or moved, "the panel saw neither a running request nor the generation counter move"
        assert moved
        assert "KV cache" in str(screen.query_one("#server-gauges").render())
        await pilot.press("escape")
        app.main.action_cancel()  # (the server aborts the request)
        deadline = loop.time() + 60
        while app.main.running:
            assert loop.time() < deadline, "the cancelled run did not end"
            await pilot.pause(0.05)


@needs_legacy
def test_the_legacy_server_says_what_it_lacks() -> None:
    assert LEGACY_URL is not None
    facts = server_json(LEGACY_URL)
    assert facts["api"] == "generate" and facts["models"] == [] and facts["metrics"] is None
    missing = facts["missing"]
    assert isinstance(missing, dict) and missing["models"].startswith("no /v1/models: 404")
    assert missing["metrics"] == "no /metrics: 404"
