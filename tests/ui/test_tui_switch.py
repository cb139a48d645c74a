"""Switching the API and the model in place (issue #17): from the controls and the palette, the
next run uses them, the header and the history say what was used. Against the demo server
serving two models, seen through a recording proxy; a legacy server; servers that fail."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from pilot import SIZE, make_app, panels, run_to_end, type_text, wait_idle
from recording_proxy import RecordingProxy
from replay_server import LEGACY, OPENAI, ReplayServer
from textual.pilot import Pilot
from textual.widgets import Label, Select

from tui_client.core.protocol import Api, ClientConfig, GenerationRequest, SamplingParams, Turn
from tui_client.core.storage.history import HistoryStore, default_path
from tui_client.demo.server import DemoServer
from tui_client.demo.wire import MAX_MODEL_LEN
from tui_client.ui.app import TuiClientApp
from tui_client.ui.widgets.controls.conversation import ConversationView
from tui_client.ui.widgets.controls.server_choice import ServerChoice


@pytest.fixture(scope="module")
def two_models_url() -> Iterator[str]:
    with DemoServer(token_delay=0.0, models=("model-a", "model-b")) as demo:
        yield demo.url


def header(app: TuiClientApp) -> tuple[str, str]:
    return (str(app.query_one("#server-api", Label).render()), str(app.query_one("#server-model", Label).render()))


def choice(app: TuiClientApp) -> ServerChoice:
    return app.query_one(ServerChoice)


async def palette(app: TuiClientApp, pilot: Pilot, title: str) -> None:
    """Run the palette entry called ``title`` (as ctrl+p, typing it, enter would)."""
    commands = {c.title: c for c in app.get_system_commands(app.screen)}
    assert title in commands, sorted(commands)
    commands[title].callback()
    await wait_idle(app, pilot)


async def test_api_and_model_switch_between_runs_from_the_controls_and_the_palette(two_models_url: str) -> None:
    with RecordingProxy(two_models_url) as proxy:
        app = make_app(proxy.url, "The sea", n=2, max_tokens=6)
        async with app.run_test(size=SIZE) as pilot:
            await wait_idle(app, pilot)
            models = app.query_one("#model-choice", Select)
            assert str(app.query_one("#model-count", Label).render()) == "2 listed" and not models.disabled
            assert models.value == "model-a"  # auto: the first listed, shown
            assert [str(p) for p, _ in models._options[1:]] == [f"model-a · {MAX_MODEL_LEN:,}",
                                                                f"model-b · {MAX_MODEL_LEN:,}"]
            system = app.query_one("#system")
            assert header(app) == ("completions", "model-a") and not system.display
            await run_to_end(app, pilot)
            # The API from its selector, as a user does: focus it, open it, go down to chat, enter.
            api = app.query_one("#api-choice", Select)
            api.focus()
            await pilot.press("enter", "down", "down", "enter")
            await wait_idle(app, pilot)
            assert api.value == "chat" and header(app) == ("chat", "model-a") and system.display
            await palette(app, pilot, "Switch model: model-b")
            assert header(app) == ("chat", "model-b") and models.value == "model-b"
            await run_to_end(app, pilot)
            await palette(app, pilot, "Switch API: completions")
            assert header(app) == ("completions", "model-b") and not system.display
            await palette(app, pilot, "Switch model: model-a")
            await run_to_end(app, pilot)
            assert app.is_running
        posts = [(r.path, r.json()) for r in proxy.received if r.method == "POST"]
    assert [(path, body["model"]) for path, body in posts] == [
        ("/v1/completions", "model-a"), ("/v1/chat/completions", "model-b"), ("/v1/completions", "model-a")]
    assert posts[1][1]["messages"] == [{"role": "user", "content": "The sea"}]
    with HistoryStore(default_path()) as store:
        saved = [(run.api, run.model) for run in sorted(store.list(), key=lambda run: run.id)]
    assert saved == [("completions", "model-a"), ("chat", "model-b"), ("completions", "model-a")]


async def test_a_run_going_keeps_its_api_and_model_and_f2_shows_what_a_run_used() -> None:
    with DemoServer(token_delay=0.02, models=("model-a", "model-b")) as demo:
        # 400 tokens at 20 ms: the runs go on until they are cancelled (however slow the machine).
        app = make_app(demo.url, "The sea", n=2, max_tokens=400)
        async with app.run_test(size=SIZE) as pilot:
            await wait_idle(app, pilot)
            await start_and_wait_for_text(app, pilot)
            await palette_now(app, pilot, "Switch model: model-b")
            assert header(app) == ("completions", "model-b")
            assert any("The run going keeps completions · model-a; the next run uses auto · model-b"
                       in n.message for n in app._notifications), [n.message for n in app._notifications]
            await pilot.press("escape")
            await wait_idle(app, pilot)
            first = app.run_state
            assert first.server.model == "model-a" and header(app) == ("completions", "model-b")
            await start_and_wait_for_text(app, pilot)
            await pilot.press("escape")
            await wait_idle(app, pilot)
            assert app.run_state.server.model == "model-b"
            await pilot.press("f2")
            await wait_idle(app, pilot)
            await pilot.press("down", "enter")  # the older run: model-a
            await wait_idle(app, pilot)
            assert str(app.main.summary.render()).startswith(
                f"from history #{first.history_id} (completions · model-a)")
            assert header(app) == ("completions", "model-b")  # the next run's, still


async def start_and_wait_for_text(app: TuiClientApp, pilot: Pilot) -> None:
    await pilot.press("ctrl+j")
    while not (app.run_state and any(c.text for c in app.run_state.candidates.values())):
        await pilot.pause(0.01)


async def palette_now(app: TuiClientApp, pilot: Pilot, title: str) -> None:
    """A palette entry while a run goes (no waiting for the workers)."""
    commands = {c.title: c for c in app.get_system_commands(app.screen)}
    commands[title].callback()
    for _ in range(20):
        await pilot.pause()
        if app.session.describe().model == title.rsplit(" ", 1)[-1]:
            break


async def test_a_conversation_is_hidden_and_refused_off_chat_and_a_chat_candidate_cannot_go_on_there(
        two_models_url: str) -> None:
    request = GenerationRequest("Hi there", SamplingParams(n=2, temperature=0.8, max_tokens=6, seed=3))
    app = TuiClientApp(ClientConfig(url=two_models_url, api=Api.CHAT), request)
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(app, pilot)
        await run_to_end(app, pilot)
        chat_run = app.run_state
        panels(app)[0].focus()
        await pilot.press("enter")  # a chat continue: the reply becomes the model's turn
        await pilot.pause()
        conversation = app.query_one(ConversationView)
        assert conversation.display and len(conversation.turns) == 2
        await palette(app, pilot, "Switch API: completions")
        assert not conversation.display and len(conversation.turns) == 2  # kept, hidden
        await type_text(pilot, "More")
        await pilot.press("ctrl+j")
        await wait_idle(app, pilot)
        assert app.run_state is chat_run  # refused: nothing ran
        said = [n.message for n in app._notifications if "conversation" in n.message]
        assert said == ["the conversation (2 turns) is for the chat API: switch the API back to chat, or start a "
                        "new chat to run on completions"]
        panels(app)[1].focus()
        await pilot.press("enter")  # going on from a chat candidate on completions: refused, one line
        await pilot.pause()
        assert any(n.message == "Candidate 1 came from the chat API and the next run uses completions: switch the "
                   "API back to chat to go on from it" for n in app._notifications)
        await palette(app, pilot, "Switch API: chat")
        assert conversation.display
        await run_to_end(app, pilot)
        assert app.run_state is not chat_run and app.run_state.request.turns[:1] == (Turn("user", "Hi there"),)


async def test_a_model_list_that_fails_keeps_the_last_one_and_says_why() -> None:
    demo = DemoServer(token_delay=0.0, models=("model-a", "model-b"))
    url = demo.start()
    app = make_app(url, n=2, max_tokens=4)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await wait_idle(app, pilot)
            assert len(choice(app).models or ()) == 2
            demo.stop()
            await pilot.press("ctrl+r")  # reconnect
            await wait_idle(app, pilot)
            note = str(app.query_one("#model-note", Label).render())
            assert note.startswith("model list: cannot connect to") and note.endswith("(the last list is kept)")
            assert [c.id for c in choice(app).models or ()] == ["model-a", "model-b"]
            await palette(app, pilot, "Switch model: model-b")  # still offered; the run says the server is down
            await run_to_end(app, pilot)
            assert app.is_running and app.run_state.error is not None
    finally:
        demo.stop()


async def test_a_legacy_server_has_no_model_list_and_generate_on_an_openai_server_says_404() -> None:
    with ReplayServer(sorted(LEGACY.glob("*.json"))[0]) as legacy:
        app = make_app(legacy.url, n=2)
        async with app.run_test(size=SIZE) as pilot:
            await wait_idle(app, pilot)
            models = app.query_one("#model-choice", Select)
            assert models.disabled and str(app.query_one("#model-count", Label).render()) == "no list (legacy)"
            assert str(app.query_one("#model-note", Label).render()) == "this server has no model list (legacy /generate)"
            assert header(app)[0] == "generate"
            assert not [c for c in app.get_system_commands(app.screen) if c.title.startswith("Switch model")]
    recording = next(p for p in sorted(OPENAI.glob("completions-*.json")))
    with ReplayServer(recording) as openai:
        app = make_app(openai.url, n=2)
        async with app.run_test(size=SIZE) as pilot:
            await wait_idle(app, pilot)
            await palette(app, pilot, "Switch API: generate")
            assert header(app)[0] == "generate" and app.query_one("#model-choice", Select).disabled
            await run_to_end(app, pilot)
            failed = [n.message for n in app._notifications if n.title == "Run failed"]
            assert len(failed) == 1 and "answered 404" in failed[0] and "no legacy /generate" in failed[0]
            assert app.is_running


async def test_a_model_id_is_made_inert_before_it_is_shown() -> None:
    evil = "\x1b]0;owned\x07evil\x1b[31m-red"
    with DemoServer(token_delay=0.0, models=(evil, "plain")) as demo:
        app = make_app(demo.url, n=2, max_tokens=4)
        async with app.run_test(size=SIZE) as pilot:
            await wait_idle(app, pilot)
            shown = [str(p) for p, _ in app.query_one("#model-choice", Select)._options[1:]]
            titles = [c.title for c in app.get_system_commands(app.screen) if c.title.startswith("Switch model")]
            assert len(shown) == 2 and len(titles) == 2
            assert not any("\x1b" in text or "\x07" in text for text in shown + titles + list(header(app)))
            await run_to_end(app, pilot)
            assert app.run_state.server.model == evil  # sent as the server spelt it
            assert asyncio.get_running_loop().is_running()


async def test_the_flags_set_the_first_choice_and_a_model_not_listed_is_said_so(two_models_url: str) -> None:
    request = GenerationRequest("Hi", SamplingParams(n=2, max_tokens=4))
    app = TuiClientApp(ClientConfig(url=two_models_url, api=Api.CHAT, model="model-b"), request)
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(app, pilot)
        assert app.query_one("#api-choice", Select).value == "chat"
        assert app.query_one("#model-choice", Select).value == "model-b" and header(app) == ("chat", "model-b")
        assert app.query_one("#system").display
    app = TuiClientApp(ClientConfig(url=two_models_url, model="model-z"), request)
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(app, pilot)
        models = app.query_one("#model-choice", Select)
        assert models.value == "model-z" and str(models._options[1][0]) == "model-z (not listed)"
        await run_to_end(app, pilot)  # the server's own 404 says which models it has
        failed = [n.message for n in app._notifications if n.title == "Run failed"]
        assert len(failed) == 1 and "model-z" in failed[0] and "model-a, model-b" in failed[0]
