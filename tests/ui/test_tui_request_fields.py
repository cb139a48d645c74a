"""The sidebar's system prompt (chat API only) and its box of more params (KEY=VALUE lines): what
a run sends, as a recording proxy in front of the demo server sees it; bad lines refuse the run;
F2 re-runs and loads them back."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from pilot import SIZE, type_text, wait_idle
from recording_proxy import RecordingProxy
from textual.pilot import Pilot
from textual.widgets import Label, TextArea

from tui_client.core.protocol import Api, ClientConfig, GenerationRequest, SamplingParams
from tui_client.core.storage.history import HistoryStore
from tui_client.ui.app import TuiClientApp
from tui_client.ui.screens.history_screen import HistoryScreen

EXTRA = {"min_p": 0.05, "ignore_eos": True, "tag": "0.5"}
SYSTEM = "Be brief.\nAnd kind."


@pytest.fixture
def proxy(demo_url: str) -> Iterator[RecordingProxy]:
    with RecordingProxy(demo_url) as recording:
        yield recording


def app_on(url: str, api: Api | None, **request: object) -> TuiClientApp:
    fields = {"system": SYSTEM, "extra": EXTRA, **request}
    params = SamplingParams(n=2, temperature=0.8, max_tokens=8, seed=7)
    return TuiClientApp(ClientConfig(url=url, api=api), GenerationRequest("Once upon a time", params, **fields))  # type: ignore[arg-type]


def generations(proxy: RecordingProxy) -> list[dict]:
    return [body for body in proxy.posted() if "max_tokens" in body]


async def run(app: TuiClientApp, pilot: Pilot) -> None:
    await pilot.press("ctrl+j")
    await wait_idle(app, pilot)


async def test_chat_shows_the_system_prompt_and_sends_it_first_with_the_params(proxy: RecordingProxy) -> None:
    app = app_on(proxy.url, Api.CHAT)
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(app, pilot)
        system, box = app.query_one("#system", TextArea), app.query_one("#field-extra", TextArea)
        assert system.display and system.text == SYSTEM
        assert box.text == 'min_p=0.05\nignore_eos=true\ntag="0.5"'
        await run(app, pilot)
    (body,) = generations(proxy)
    assert body["messages"] == [{"role": "system", "content": SYSTEM}, {"role": "user", "content": "Once upon a time"}]
    assert {k: body[k] for k in EXTRA} == EXTRA and type(body["min_p"]) is float


async def test_off_the_chat_api_the_system_prompt_is_hidden_and_not_sent(proxy: RecordingProxy) -> None:
    app = app_on(proxy.url, None)  # auto: completions
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(app, pilot)
        assert not app.query_one("#system").display
        await run(app, pilot)
    (body,) = generations(proxy)
    assert "messages" not in body and body["prompt"] == "Once upon a time" and body["min_p"] == 0.05


async def test_a_bad_line_shows_under_the_box_and_refuses_the_run_until_fixed(proxy: RecordingProxy) -> None:
    app = app_on(proxy.url, Api.CHAT, extra={})
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(app, pilot)
        box = app.query_one("#field-extra", TextArea)
        problem = app.query_one("#problem-extra", Label)
        box.focus()
        await type_text(pilot, "min_p=0.1")
        await pilot.press("enter")
        await type_text(pilot, "temperature=2")
        await pilot.pause()
        assert problem.display and str(problem.render()) == "line 2: temperature is set by the temperature field, not here"
        assert box.has_class("-invalid")
        await pilot.press("ctrl+j")
        await wait_idle(app, pilot)
        assert generations(proxy) == [] and app.run_state is None
        assert app.focused is box  # the run is refused and the box at fault focused

        box.load_text("min_p=0.1\nrepetition_penalty\n")
        await pilot.pause()
        assert str(problem.render()) == "line 2: KEY=VALUE, please: 'repetition_penalty' has no '='"
        box.load_text("min_p=0.1\nrepetition_penalty=1.2\nmin_tokens=2\n")
        await pilot.pause()
        assert not problem.display and not box.has_class("-invalid")
        await run(app, pilot)
    (body,) = generations(proxy)
    assert (body["min_p"], body["repetition_penalty"], body["min_tokens"]) == (0.1, 1.2, 2)
    assert type(body["min_tokens"]) is int


async def test_history_rerun_sends_the_same_body_and_load_restores_the_fields(proxy: RecordingProxy) -> None:
    app = app_on(proxy.url, Api.CHAT)
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(app, pilot)
        await run(app, pilot)
        system, box = app.query_one("#system", TextArea), app.query_one("#field-extra", TextArea)
        system.load_text("")
        box.load_text("")
        await pilot.pause()

        await pilot.press("f2")
        assert isinstance(app.screen, HistoryScreen)
        await asyncio.wait_for(app.workers.wait_for_complete(), 30)
        await pilot.pause()
        await pilot.press("r")  # the run again, now
        await pilot.pause()
        await wait_idle(app, pilot)
        assert system.text == SYSTEM and box.text == 'min_p=0.05\nignore_eos=true\ntag="0.5"'

        system.load_text("")
        box.load_text("")
        await pilot.press("f2")
        await asyncio.wait_for(app.workers.wait_for_complete(), 30)
        await pilot.pause()
        await pilot.press("enter")  # load it
        await pilot.pause()
        await wait_idle(app, pilot)
        assert system.text == SYSTEM and box.text == 'min_p=0.05\nignore_eos=true\ntag="0.5"'
    first, again = generations(proxy)
    assert again == first
    with HistoryStore() as store:
        runs = [store.get(summary.id) for summary in store.list()]
    assert [(r.request().system, r.request().extra) for r in runs if r is not None] == [(SYSTEM, EXTRA)] * 2


async def test_a_stored_chat_run_edited_off_the_chat_api_says_its_system_prompt_is_left_out(
        proxy: RecordingProxy) -> None:
    chat = app_on(proxy.url, Api.CHAT)
    async with chat.run_test(size=SIZE) as pilot:
        await wait_idle(chat, pilot)
        await run(chat, pilot)
    app = app_on(proxy.url, None, system=None, extra={})  # completions
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(app, pilot)
        await pilot.press("f2")
        await asyncio.wait_for(app.workers.wait_for_complete(), 30)
        await pilot.pause()
        await pilot.press("e")
        await pilot.pause()
        assert any(n.title == "System prompt left out" for n in app._notifications)
        assert app.query_one("#field-extra", TextArea).text == 'min_p=0.05\nignore_eos=true\ntag="0.5"'
        await run(app, pilot)
    body = generations(proxy)[-1]
    assert "messages" not in body and body["min_p"] == 0.05
