"""The TUI, headless (App.run_test), against a real vLLM. Run with `pytest -m live`
and VLLM_LIVE_URL / VLLM_LIVE_LEGACY_URL set (see test_live_vllm.py)."""

from __future__ import annotations

import asyncio

import pytest
from pilot import assert_panels_match_state, make_app, panels, wait_idle
from test_live_vllm import LEGACY_URL, OPENAI_URL, _requests_running

from tui_client.core.protocol import Api, Status

pytestmark = pytest.mark.live
SIZE = (160, 48)


@pytest.mark.parametrize("mode", ["openai", "legacy"])
@pytest.mark.parametrize("stream", [True, False])
async def test_tui_run_n4(mode: str, stream: bool) -> None:
    url = OPENAI_URL if mode == "openai" else LEGACY_URL
    if not url:
        pytest.skip(f"no live {mode} server")
    app = make_app(url, "San Francisco is a", n=4, stream=stream, max_tokens=24)
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(app, pilot)
        assert app.server_info is not None
        assert app.server_info.api is (Api.COMPLETIONS if mode == "openai" else Api.GENERATE)
        await pilot.press("ctrl+j")
        await wait_idle(app, pilot, timeout=120)
        state = app.run_state
        assert state is not None and state.status is Status.FINISHED, state.error
        assert len(panels(app)) >= 1 and all(c.text for c in state.ordered())
        assert_panels_match_state(app)


async def test_tui_cancel_mid_stream_aborts_on_the_server() -> None:
    if not OPENAI_URL:
        pytest.skip("no live openai server")
    app = make_app(OPENAI_URL, "Write a long story.", n=4, stream=True, max_tokens=1500)
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(app, pilot)
        await pilot.press("ctrl+j")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        while loop.time() < deadline:
            await pilot.pause(0.05)
            if app.run_state is not None and app.run_state.total_chars > 40:
                break
        state = app.run_state
        assert state is not None and state.total_chars > 40, "no text within 60 s"
        # Where the run was when the key went in: a failure below says whether the key
        # came too late (a slow machine) or the app did not act on it (a bug).
        pressed = f"escape {state.now():.1f} s into the run at {state.total_chars} chars ({state.status.value})"
        assert app.main.running and not state.status.done, f"the run ended before the key: {pressed}"
        await pilot.press("escape")
        await wait_idle(app, pilot)
        state = app.run_state
        assert state is not None
        assert state.status is Status.CANCELLED, (
            f"{pressed}; the run ended {state.status.value} after {state.ended_at:.1f} s "
            f"({state.total_chars} chars, version {state.version}); still running: {app.main.running}"
        )
        assert state.total_chars > 40
        assert_panels_match_state(app)
    for _ in range(50):
        if await _requests_running(OPENAI_URL) == 0:
            break
        await asyncio.sleep(0.2)
    assert await _requests_running(OPENAI_URL) == 0
