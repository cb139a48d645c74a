"""History in the app: every ended run is saved; F2 lists, searches, loads, re-runs, edits, deletes."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from pilot import SIZE, make_app, panels, run_to_end, type_text, wait_idle
from textual.pilot import Pilot
from textual.widgets import Input, TextArea

from tui_client.core.protocol import ClientConfig, Status
from tui_client.core.storage.history import HistoryStore, default_path
from tui_client.ui.app import TuiClientApp
from tui_client.ui.screens.confirm_screen import ConfirmScreen
from tui_client.ui.screens.history_screen import HistoryScreen, RunTable
from tui_client.ui.widgets.controls.n_slider import NSlider


def stored() -> list[tuple[int, str, int, Status]]:
    with HistoryStore() as store:
        return [(r.id, r.prompt_preview, r.n, r.status) for r in store.list()]


async def new_prompt(app: TuiClientApp, pilot: Pilot, prompt: str) -> None:
    app.main.prompt.load_text(prompt)
    app.main.prompt.focus()
    await pilot.pause()


async def open_history(app: TuiClientApp, pilot: Pilot) -> HistoryScreen:
    await pilot.press("f2")
    screen = app.screen
    assert isinstance(screen, HistoryScreen)
    await settle(app, pilot)
    return screen


async def settle(app: TuiClientApp, pilot: Pilot) -> None:
    """Let the history screen's thread workers finish and their results land."""
    await pilot.pause()
    await asyncio.wait_for(app.workers.wait_for_complete(), 30)
    await pilot.pause()


def rows(screen: HistoryScreen) -> list[tuple[str, ...]]:
    table = screen.query_one(RunTable)
    return [tuple(str(cell) for cell in table.get_row_at(i)) for i in range(table.row_count)]


async def test_every_ended_run_is_saved_without_the_api_key(demo_url: str, slow_demo_url: str) -> None:
    app = make_app(demo_url, "The sea", n=3)
    app = TuiClientApp(ClientConfig(url=demo_url, api_key="sk-very-secret"), app.initial_request)
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(app, pilot)
        await run_to_end(app, pilot)
        [(run_id, prompt, n, status)] = stored()
        assert (prompt, n, status) == ("The sea", 3, Status.FINISHED)
        assert app.main.run_history_id == run_id
        with HistoryStore() as store:
            run = store.get(run_id)
        assert run is not None
        assert {c.index: c.text for c in run.candidates} == {c.index: c.text for c in app.run_state.candidates.values()}  # type: ignore[union-attr]
        for path in default_path().parent.iterdir():
            assert b"sk-very-secret" not in path.read_bytes()

    # A cancelled run is saved too, with the text it had.
    app = make_app(slow_demo_url, "The hill", n=2, max_tokens=400)
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(app, pilot)
        await pilot.press("ctrl+j")
        while not app.run_state or not any(c.text for c in app.run_state.candidates.values()):
            await asyncio.sleep(0.02)
        await pilot.press("escape")
        await wait_idle(app, pilot)
        newest = stored()[0]
        assert newest[1:] == ("The hill", 2, Status.CANCELLED)


async def test_an_unwritable_history_is_a_warning_not_a_crash(
    demo_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    monkeypatch.setenv("TUI_CLIENT_DATA_DIR", str(blocker))
    app = make_app(demo_url, n=2)
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(app, pilot)
        await run_to_end(app, pilot)
        await pilot.pause()
        titles = [n.title for n in app._notifications]
        assert "Run not saved to the history" in titles
        assert app.run_state is not None and app.run_state.status is Status.FINISHED
        assert app.main.run_history_id is None
        # The history screen says so too, and the app goes on.
        screen = await open_history(app, pilot)
        assert "history" in str(screen.query_one("#history-count").render())
        await pilot.press("escape")
        assert app.screen is app.default_screen


async def test_the_history_is_not_opened_at_startup(demo_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[object] = []
    original = HistoryStore.__init__

    def spy(self: HistoryStore, *args: object, **kwargs: object) -> None:
        opened.append(self)
        original(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(HistoryStore, "__init__", spy)
    app = make_app(demo_url)
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(app, pilot)
        assert opened == []
        await open_history(app, pilot)
        assert len(opened) == 1


async def make_three_runs(app: TuiClientApp, pilot: Pilot) -> None:
    for prompt, n in (("The sea", 2), ("The hill", 3), ("A storm", 2)):
        await new_prompt(app, pilot, prompt)
        app.query_one(NSlider).value = n
        await run_to_end(app, pilot)


async def test_list_search_and_load_a_run_back(demo_url: str) -> None:
    app = make_app(demo_url)
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(app, pilot)
        await make_three_runs(app, pilot)
        runs = stored()
        assert [prompt for _, prompt, _, _ in runs] == ["A storm", "The hill", "The sea"]

        screen = await open_history(app, pilot)
        listed = rows(screen)
        assert [r[0] for r in listed] == [str(run_id) for run_id, *_ in runs]  # newest first
        assert [r[4] for r in listed] == ["2", "3", "2"]
        assert all(r[5] == "finished" and r[2] == "completions" and r[3] == "demo-markov" for r in listed)
        assert [r[7] for r in listed] == ["A storm", "The hill", "The sea"]  # after the "from" column

        # Search: prompts, and candidate texts.
        await pilot.press("slash")
        assert isinstance(app.focused, Input)
        await type_text(pilot, "hill")
        await asyncio.sleep(0.3)
        await settle(app, pilot)
        assert [r[7] for r in rows(screen)] == ["The hill"]
        with HistoryStore() as store:
            sea = store.get(runs[2][0])
        assert sea is not None
        word = max(sea.candidates[0].text.split(), key=len)  # a word from a candidate, not the prompt
        with HistoryStore() as store:
            matching = [r.id for r in store.list(search=word)]
        await pilot.press("ctrl+a", "ctrl+k")
        await type_text(pilot, word)
        await asyncio.sleep(0.3)
        await settle(app, pilot)
        assert [int(r[0]) for r in rows(screen)] == matching and sea.id in matching
        await pilot.press("ctrl+a", "ctrl+k", "n", "o", "p", "e", "x", "y", "z")
        await asyncio.sleep(0.3)
        await settle(app, pilot)
        assert rows(screen) == [] and "no run matches" in str(screen.query_one("#history-count").render())

        # Clear the search, go down to the list, pick "The sea" (the oldest), enter loads it.
        await pilot.press("ctrl+a", "ctrl+k")
        await asyncio.sleep(0.3)
        await settle(app, pilot)
        await pilot.press("down")
        assert isinstance(app.focused, RunTable)
        await pilot.press("down", "down", "enter")
        await settle(app, pilot)
        assert app.screen is app.default_screen
        assert app.main.loaded_run is not None and app.main.loaded_run.id == sea.id
        assert [p.raw_text for p in panels(app)] == [c.text for c in sea.candidates]
        assert str(app.main.summary.render()).startswith(f"from history #{sea.id} (completions · demo-markov) · ✓ finished")
        # Its prompt and parameters are in the controls.
        assert app.query_one("#prompt", TextArea).text == "The sea"
        assert app.query_one(NSlider).value == 2
        assert app.query_one("#field-seed", Input).value == "7"
        # Loading saves nothing new.
        await wait_idle(app, pilot)
        assert len(stored()) == 3


async def test_rerun_edit_and_delete_with_confirmation(demo_url: str) -> None:
    app = make_app(demo_url)
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(app, pilot)
        await make_three_runs(app, pilot)
        runs = stored()
        with HistoryStore() as store:
            hill = store.get(runs[1][0])
        assert hill is not None
        await new_prompt(app, pilot, "something else")

        # r: run "The hill" again now, same parameters (the seed makes it the same text).
        await open_history(app, pilot)
        await pilot.press("down", "r")
        await settle(app, pilot)
        await wait_idle(app, pilot)
        assert app.screen is app.default_screen and app.main.loaded_run is None
        assert app.session.request is not None and app.session.request == hill.request()
        assert [c.text for c in app.run_state.ordered()] == [c.text for c in hill.candidates]  # type: ignore[union-attr]
        assert len(stored()) == 4 and stored()[0][1] == "The hill"

        # e: into the controls for editing, prompt focused, nothing runs.
        await new_prompt(app, pilot, "something else")
        await open_history(app, pilot)
        await pilot.press("end", "e")  # the oldest: "The sea"
        await settle(app, pilot)
        assert app.screen is app.default_screen and not app.main.running
        assert app.focused is app.main.prompt and app.main.prompt.text == "The sea"
        assert app.query_one(NSlider).value == 2
        assert len(stored()) == 4

        # x asks first; n keeps the run; delete + y removes it.
        screen = await open_history(app, pilot)
        first = rows(screen)[0][0]
        await pilot.press("x")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        assert app.screen is screen and len(stored()) == 4
        await pilot.press("delete")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await settle(app, pilot)
        assert app.screen is screen
        assert [str(run_id) for run_id, *_ in stored()] == [r[0] for r in rows(screen)]
        assert first not in [r[0] for r in rows(screen)] and len(rows(screen)) == 3
        await pilot.press("escape")
        assert app.screen is app.default_screen


async def test_loading_while_a_run_streams_cancels_and_keeps_it(slow_demo_url: str) -> None:
    app = make_app(slow_demo_url, "The sea", n=2, max_tokens=20)
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(app, pilot)
        await run_to_end(app, pilot)
        await new_prompt(app, pilot, "The hill")
        app.query_one(NSlider).value = 3
        await pilot.pause()
        app.query_one("#field-max_tokens", Input).value = "400"
        await pilot.press("ctrl+j")
        while not app.run_state or not any(c.text for c in app.run_state.candidates.values()):
            await asyncio.sleep(0.02)
        await pilot.press("f2")  # (not open_history: it would wait for the run to end)
        screen = app.screen
        assert isinstance(screen, HistoryScreen)
        while not rows(screen):
            await asyncio.sleep(0.02)
        assert app.main.running
        await pilot.press("end", "enter")  # the finished "The sea" run
        await settle(app, pilot)
        await wait_idle(app, pilot)
        assert not app.main.running and app.main.loaded_run is not None
        assert len(panels(app)) == 2 and str(app.main.summary.render()).startswith("from history #")
        statuses = {prompt: status for _, prompt, _, status in stored()}
        assert statuses == {"The sea": Status.FINISHED, "The hill": Status.CANCELLED}
