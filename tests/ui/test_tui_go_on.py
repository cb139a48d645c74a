"""Going on from a candidate in the TUI (issue #14): enter continues it, enter on a token forks it
with the alternative picked, chat keeps a conversation, F2 walks the tree. Against the demo server."""

from __future__ import annotations

from pilot import SIZE, make_app, panels, run_to_end, type_text, wait_idle

from tui_client.core.protocol import Api, ClientConfig, GenerationRequest, Parent, SamplingParams, Turn
from tui_client.core.storage.history import HistoryStore
from tui_client.ui.app import TuiClientApp
from tui_client.ui.screens.history_screen import HistoryScreen, RunTable
from tui_client.ui.widgets.controls.conversation import ConversationView
from tui_client.ui.widgets.controls.prompt_area import PromptArea


def saved_parent(run_id: int | None) -> Parent | None:
    assert run_id is not None
    with HistoryStore() as store:
        run = store.get(run_id)
    assert run is not None
    return run.request().parent


async def test_enter_on_a_panel_runs_from_the_prompt_and_its_text(demo_url: str) -> None:
    app = make_app(demo_url, prompt="The cat", n=2, max_tokens=8)
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(app, pilot)
        await run_to_end(app, pilot)
        first = app.run_state
        assert first is not None and first.history_id is not None
        text = first.candidates[1].text
        panels(app)[1].focus()
        await pilot.press("enter")
        await wait_idle(app, pilot)
        child = app.run_state
        assert child is not first and child.request.prompt == "The cat" + text
        assert app.query_one("#prompt", PromptArea).text == "The cat" + text
        assert child.request.parent == Parent(first.history_id, 1)
        assert saved_parent(child.history_id) == Parent(first.history_id, 1)
        assert f"↳ run {first.history_id}, candidate 1" in str(app.main.summary.render())


async def test_enter_on_a_token_forks_there_with_the_alternative_picked(demo_url: str) -> None:
    app = make_app(demo_url, prompt="The cat", n=2, max_tokens=8, logprobs=5)
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(app, pilot)
        await run_to_end(app, pilot)
        first = app.run_state
        cand = first.candidates[0]
        panel = panels(app)[0]
        panel.focus()
        await pilot.press("i", "right", "a")  # the second token; the second most likely other choice
        await pilot.pause()
        # Worked out from the candidate's tokens, not from the inspector.
        others = [alt for alt, _ in cand.token_tops[1] if alt != cand.token_texts[1]]
        offset = len(cand.token_texts[0])
        assert len(others) >= 2 and app.main.inspector.chosen_alternative == others[1]
        await pilot.press("enter")
        await wait_idle(app, pilot)
        child = app.run_state
        assert child.request.prompt == "The cat" + cand.text[:offset] + others[1]
        assert saved_parent(child.history_id) == Parent(first.history_id, 0, offset)
        assert panel.token_cursor is None


async def test_a_chat_candidate_becomes_the_model_turn_and_can_be_cut_back(demo_url: str) -> None:
    request = GenerationRequest("Hi there", SamplingParams(n=2, temperature=0.8, max_tokens=8, seed=3))
    app = TuiClientApp(ClientConfig(url=demo_url, api=Api.CHAT), request)
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(app, pilot)
        await run_to_end(app, pilot)
        first = app.run_state
        reply = first.candidates[0].text
        panels(app)[0].focus()
        await pilot.press("enter")
        await pilot.pause()
        conversation = app.query_one(ConversationView)
        prompt = app.query_one("#prompt", PromptArea)
        assert conversation.display and conversation.turns == (Turn("user", "Hi there"), Turn("assistant", reply))
        assert prompt.text == "" and app.focused is prompt and app.run_state is first  # waits for the next turn
        await type_text(pilot, "More")
        await run_to_end(app, pilot)
        child = app.run_state
        assert child.request.messages() == [{"role": "user", "content": "Hi there"},
                                            {"role": "assistant", "content": reply}, {"role": "user", "content": "More"}]
        assert saved_parent(child.history_id) == Parent(first.history_id, 0)
        await pilot.press("ctrl+l")  # the last exchange goes; its user turn comes back to the prompt
        assert conversation.turns == () and not conversation.display and prompt.text == "Hi there"


async def test_the_history_screen_shows_the_tree_and_walks_it(demo_url: str) -> None:
    app = make_app(demo_url, prompt="The cat", n=2, max_tokens=6)
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(app, pilot)
        await run_to_end(app, pilot)
        root = app.run_state.history_id
        panels(app)[1].focus()
        await pilot.press("enter")
        await wait_idle(app, pilot)
        child = app.run_state.history_id
        await pilot.press("f2")
        await wait_idle(app, pilot)
        screen = app.screen
        assert isinstance(screen, HistoryScreen) and screen.selected_id == child  # the newest
        detail = str(screen.query_one("#history-detail").render())
        assert f"▶ {child}  c1" in detail and f"{root}  n=2" in detail
        await pilot.press("p")
        await wait_idle(app, pilot)
        assert screen.selected_id == root
        await pilot.press("c")
        await wait_idle(app, pilot)
        assert screen.selected_id == child
        await pilot.press("c")  # no child: one line says so, the cursor stays
        assert screen.selected_id == child and isinstance(screen.query_one(RunTable), RunTable)


async def test_a_reply_continued_says_so_in_the_history_list(demo_url: str) -> None:
    request = GenerationRequest("Hi there", SamplingParams(n=1, temperature=0.8, max_tokens=6, seed=3))
    app = TuiClientApp(ClientConfig(url=demo_url, api=Api.CHAT), request)
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(app, pilot)
        await run_to_end(app, pilot)
        panels(app)[0].focus()
        await pilot.press("enter")  # the reply becomes the model's turn; an empty prompt goes on with it
        await pilot.pause()
        await run_to_end(app, pilot)
        child = app.run_state.history_id
        assert app.run_state.request.continues_reply
        await pilot.press("f2")
        await wait_idle(app, pilot)
        table = app.screen.query_one(RunTable)
        row = table.get_row(str(child))
        assert str(row[-1]) == "(the reply, continued)" and str(row[-2]) == f"↳ #{child - 1}"
