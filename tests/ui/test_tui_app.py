"""The TUI driven like a user would: type, slide, toggle, run, cancel, copy; against real HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator

import pytest
from hostile_server import SCENARIOS, HostileServer
from pilot import (
    SIZE,
    assert_panels_match_state,
    make_app,
    panels,
    run_to_end,
    type_text,
    wait_idle,
)
from textual.geometry import Region
from textual.pilot import Pilot
from textual.widgets import Input, Switch, TextArea

from tui_client.core.protocol import (
    ClientConfig,
    GenerationRequest,
    RunState,
    SamplingParams,
    Status,
)
from tui_client.ui.app import TuiClientApp
from tui_client.ui.widgets.candidates.grid import CandidateGrid, grid_shape
from tui_client.ui.widgets.candidates.panel import CandidatePanel
from tui_client.ui.widgets.chrome.connection_banner import ConnectionBanner
from tui_client.ui.widgets.chrome.server_bar import ServerBar
from tui_client.ui.widgets.chrome.waiting_notice import WaitingNotice
from tui_client.ui.widgets.controls.n_slider import NSlider


async def test_starts_idle_with_defaults_and_prompt_focused(demo_url: str) -> None:
    app = TuiClientApp(ClientConfig(url=demo_url))
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(app, pilot)
        assert isinstance(app.focused, TextArea) and app.focused.id == "prompt"
        assert app.query_one("#n", NSlider).value == 4
        assert app.query_one("#stream", Switch).value is True
        assert app.query_one("#field-temperature", Input).value == "0.8"
        assert app.query_one("#field-max_tokens", Input).value == "128"
        assert app.query_one(ServerBar).connection == "connected"
        assert not app.query_one(ConnectionBanner).display
        assert panels(app) == []


async def test_controls_show_the_request_passed_in(demo_url: str) -> None:
    request = GenerationRequest("hi", SamplingParams(n=9, temperature=0.0, max_tokens=7, top_k=-1, stop=("\n\n",)), stream=False)
    app = TuiClientApp(ClientConfig(url=demo_url), request)
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(app, pilot)
        assert app.query_one("#prompt", TextArea).text == "hi"
        assert app.query_one("#n", NSlider).value == 9
        assert app.query_one("#stream", Switch).value is False
        assert app.query_one("#field-temperature", Input).value == "0"
        assert app.query_one("#field-stop", Input).value == "\\n\\n"
        read, problems = app.query_one("#controls").read_request()  # type: ignore[attr-defined]
        assert problems == {}
        assert read == request
        # temperature 0 with n > 1: the greedy hint is up.
        assert app.query_one("#greedy-hint").display


async def test_type_slide_toggle_and_run_against_the_demo(demo_url: str) -> None:
    app = TuiClientApp(ClientConfig(url=demo_url))
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(app, pilot)
        await type_text(pilot, "The sea")
        await pilot.press("tab")  # -> n slider
        assert isinstance(app.focused, NSlider)
        await pilot.press("right", "right")
        assert app.focused.value == 6
        await pilot.press("tab")  # -> stream switch
        assert app.focused is app.query_one("#stream")
        await pilot.press("space")  # stream off
        assert app.query_one("#stream", Switch).value is False
        await pilot.press("tab", "ctrl+a", "ctrl+k", *"24")  # max tokens -> 24 (focus: temperature first)
        await run_to_end(app, pilot)
        state = app.run_state
        assert state is not None and state.status is Status.FINISHED
        assert state.request.prompt == "The sea"
        assert state.request.params.n == 6 and not state.request.stream
        assert len(panels(app)) == 6 and len(state.candidates) == 6
        assert_panels_match_state(app)
        assert all(p.panel_state == "finished" and p.status_line.startswith("finished") for p in panels(app))

        # Stream on again, run again from the prompt: the same panels are reused.
        app.query_one("#prompt").focus()
        app.query_one("#stream", Switch).value = True
        await run_to_end(app, pilot)
        state = app.run_state
        assert state.status is Status.FINISHED and state.request.stream
        assert_panels_match_state(app)


async def test_run_key_works_while_typing_in_the_prompt(demo_url: str) -> None:
    app = make_app(demo_url, prompt="")
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(app, pilot)
        await type_text(pilot, "ab")
        await pilot.press("enter")
        await type_text(pilot, "c")
        assert app.query_one("#prompt", TextArea).text == "ab\nc"
        await run_to_end(app, pilot, "ctrl+j")
        assert app.run_state is not None and app.run_state.request.prompt == "ab\nc"
        assert app.run_state.status is Status.FINISHED


async def test_empty_prompt_is_refused(demo_url: str) -> None:
    app = make_app(demo_url, prompt="")
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(app, pilot)
        await pilot.press("ctrl+j")
        await pilot.pause()
        assert app.run_state is None
        assert any("prompt" in n.message for n in app._notifications)


async def test_invalid_field_shows_its_problem_and_blocks_the_run(demo_url: str) -> None:
    app = make_app(demo_url)
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(app, pilot)
        top_p = app.query_one("#field-top_p", Input)
        top_p.value = "1.5"
        await pilot.pause()
        problem = app.query_one("#problem-top_p")
        assert problem.display and "top_p must be in (0, 1]" in str(problem.render())
        assert top_p.has_class("-invalid")
        await pilot.press("ctrl+j")
        await pilot.pause()
        assert app.run_state is None
        assert app.focused is top_p
        top_p.value = "0.9"
        await pilot.pause()
        assert not app.query_one("#problem-top_p").display


async def test_a_live_beam_search_too_wide_for_vllm_is_flagged(demo_url: str) -> None:
    app = make_app(demo_url)
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(app, pilot)
        app.query_one("#field-beam_search", Switch).value = True
        await pilot.pause()
        assert not app.query_one("#problem-beam_search").display  # width 4: the client runs it live
        app.query_one("#n").value = 11
        await pilot.pause()
        assert "22 logprobs" in str(app.query_one("#problem-beam_search").render())
        app.query_one("#stream", Switch).value = False
        await pilot.pause()
        assert not app.query_one("#problem-beam_search").display  # vLLM's own: the server decides


async def test_cancel_mid_stream_keeps_partial_text(slow_demo_url: str) -> None:
    app = make_app(slow_demo_url, n=3, max_tokens=400)
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(app, pilot)
        await pilot.press("ctrl+j")
        for _ in range(200):  # until some text arrived
            await asyncio.sleep(0.02)
            if app.run_state is not None and app.run_state.total_chars > 20:
                break
        assert app.main.running
        await pilot.press("escape")
        await wait_idle(app, pilot)
        state = app.run_state
        assert state is not None and state.status is Status.CANCELLED
        assert state.total_chars > 0
        assert all(len(c.text) < 400 * 20 for c in state.candidates.values())
        assert_panels_match_state(app)
        assert all(p.panel_state == "cancelled" for p in panels(app))
        assert any(p.raw_text and p.status_line.startswith("cancelled") for p in panels(app))
        assert not app.main.running


async def test_new_run_cancels_the_running_one(slow_demo_url: str) -> None:
    app = make_app(slow_demo_url, n=2, max_tokens=400)
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(app, pilot)
        await pilot.press("ctrl+j")
        await asyncio.sleep(0.3)
        first = app.run_state
        app.query_one("#field-max_tokens", Input).value = "3"
        await pilot.press("ctrl+j")
        await wait_idle(app, pilot)
        assert first is not None and first.status is Status.CANCELLED
        assert app.run_state is not first and app.run_state.status is Status.FINISHED
        assert_panels_match_state(app)


async def test_non_streaming_run_shows_a_waiting_state_then_all_panels(slow_demo_url: str) -> None:
    app = make_app(slow_demo_url, n=3, max_tokens=40, stream=False)
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(app, pilot)
        await pilot.press("ctrl+j")
        # (Polled, not a fixed pause: on a loaded machine the run's worker may start late.)
        for _ in range(500):
            await pilot.pause(0.01)
            if app.query_one(WaitingNotice).display:
                break
        assert app.query_one(WaitingNotice).display and app.main.running
        assert not app.query_one(CandidateGrid).display
        await wait_idle(app, pilot)
        assert not app.query_one(WaitingNotice).display
        assert app.query_one(CandidateGrid).display
        assert app.run_state.status is Status.FINISHED
        assert_panels_match_state(app)


async def test_server_down_shows_the_banner_and_stays_usable(unused_url: str) -> None:
    app = make_app(unused_url)
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(app, pilot)
        banner = app.query_one(ConnectionBanner)
        assert banner.display
        assert "connection refused" in banner.message
        assert app.query_one(ServerBar).connection == "failed"
        text = "\n".join(str(w.render()) for w in banner.query("Static"))
        assert "--demo" in text and "--url" in text
        # Run anyway: an error notification, panels marked, no crash.
        await run_to_end(app, pilot)
        state = app.run_state
        assert state is not None and state.status is Status.FAILED
        assert all(p.panel_state == "failed" for p in panels(app))
        assert any("connection refused" in line for line in panels(app)[0].shown_lines)
        assert any(n.severity == "error" for n in app._notifications)
        # Retry on demand: still down, still calm.
        await pilot.press("ctrl+r")
        await wait_idle(app, pilot)
        assert banner.display and app.is_running


async def test_bad_url_does_not_crash() -> None:
    app = TuiClientApp(ClientConfig(url="ftp://nowhere"))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.query_one(ConnectionBanner).display
        await pilot.press("ctrl+j")
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert app.is_running


async def test_copy_a_panel_and_move_between_panels(demo_url: str) -> None:
    app = make_app(demo_url, n=3)
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(app, pilot)
        await run_to_end(app, pilot)
        await pilot.press("ctrl+o")  # prompt -> panels
        assert isinstance(app.focused, CandidatePanel) and app.focused.index == 0
        await pilot.press("right")
        assert app.focused.index == 1
        await pilot.press("c")
        assert app.clipboard == app.run_state.candidates[1].text
        assert any("Copied candidate 1" in n.message for n in app._notifications)
        await pilot.press("ctrl+o")  # panels -> prompt
        assert app.focused is app.query_one("#prompt")


async def test_help_screen_opens_from_panels_but_question_mark_types_in_the_prompt(demo_url: str) -> None:
    app = make_app(demo_url, prompt="")
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(app, pilot)
        await pilot.press("question_mark")
        assert app.query_one("#prompt", TextArea).text == "?"
        await pilot.press("f1")
        assert type(app.screen).__name__ == "HelpScreen"
        await pilot.press("escape")
        assert type(app.screen).__name__ == "MainScreen"


async def test_hostile_model_text_is_shown_literally() -> None:
    with HostileServer("escapes") as server:
        app = make_app(server.url, n=1)
        async with app.run_test(size=SIZE) as pilot:
            await wait_idle(app, pilot)
            await run_to_end(app, pilot)
            panel = panels(app)[0]
            raw = app.run_state.candidates[0].text
            assert "\x1b" in raw and "[bold red]" in raw
            assert panel.raw_text == raw
            shown = panel.display_text
            assert "[bold red]loud[/]" in shown and "[@click=app.quit]q[/]" in shown
            assert "␛[2J" in shown and "␛]0;pwned␇" in shown and "⟨U+009B⟩" in shown and "⟨U+202E⟩" in shown
            # What reaches the terminal: no ESC, no C1, no BEL, no bidi override.
            for line in panel.visible_lines():
                assert not any(ch in line for ch in "\x1b\x07\x9b\u202e")
            strips = [panel.render_line(y) for y in range(panel.size.height)]
            for strip in strips:
                for segment in strip:
                    assert segment.style is None or not segment.style.link
                    assert segment.style is None or not segment.style.meta
            # Clicking the text runs no action: the app is still up.
            await pilot.click(CandidatePanel)
            assert app.is_running


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
async def test_misbehaving_servers_never_crash_the_app(scenario: str) -> None:
    """Every hostile scenario: the app stays up, panels show what arrived, errors are
    notified, and the next run works too."""

    with HostileServer(scenario) as server:
        app = TuiClientApp(
            ClientConfig(url=server.url, timeout=1.0),
            GenerationRequest("Hi", SamplingParams(n=2, temperature=0.5, max_tokens=8)),
        )
        async with app.run_test(size=SIZE) as pilot:
            await wait_idle(app, pilot)
            await pilot.press("ctrl+j")
            if scenario == "hang":
                await asyncio.sleep(0.2)
                await pilot.press("escape")
            await wait_idle(app, pilot)
            state = app.run_state
            assert state is not None and state.status.done
            assert_panels_match_state(app)
            if state.status is Status.FAILED:
                assert any(n.severity == "error" for n in app._notifications)
            first = state
            await pilot.press("ctrl+j")  # the next run works as well
            if scenario == "hang":
                await asyncio.sleep(0.2)
                await pilot.press("escape")
            await wait_idle(app, pilot)
            assert app.run_state is not first and app.run_state.status.done
            assert_panels_match_state(app)


@pytest.mark.parametrize(
    ("width", "height", "count", "expected_columns"),
    [(44, 20, 4, 1), (124, 40, 4, 2), (164, 56, 8, 4), (200, 60, 3, 3), (80, 24, 64, 2)],
)
def test_grid_shape_adapts_to_width(width: int, height: int, count: int, expected_columns: int) -> None:
    columns, rows, _ = grid_shape(count, width, height)
    assert columns == expected_columns
    assert columns * rows >= count


@pytest.mark.parametrize(("width", "n", "servers", "expected"), [
    (200, 3, 2, (3, 2)), (200, 3, 3, (3, 3)), (164, 4, 2, (4, 2)), (200, 6, 2, (3, 4)), (200, 2, 3, (4, 2)),
    (200, 1, 4, (4, 1)), (80, 3, 2, (1, 6)),
])
def test_comparing_each_servers_group_starts_a_row_or_follows_a_whole_group(
        width: int, n: int, servers: int, expected: tuple[int, int]) -> None:
    columns, rows, _ = grid_shape(n * servers, width, 60, group=n)
    assert (columns, rows) == expected


def test_no_server_group_is_split_over_two_rows_at_any_size() -> None:
    for width in range(34, 400, 7):
        for n in range(1, 9):
            for servers in range(2, 5):
                columns, rows, _ = grid_shape(n * servers, width, 60, group=n)
                assert columns <= max(1, width // 34) and columns * rows >= n * servers
                for g in range(servers):
                    first, last = g * n, g * n + n - 1
                    same_row = first // columns == last // columns
                    whole_rows = first % columns == 0 and n % columns == 0
                    assert same_row or whole_rows, (width, n, servers, columns)


async def test_narrow_terminal_gives_one_column(demo_url: str) -> None:
    app = make_app(demo_url, n=3)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_idle(app, pilot)
        await run_to_end(app, pilot)
        xs = {p.region.x for p in panels(app)}
        assert len(xs) == 1
        assert_panels_match_state(app)


async def test_sixty_four_candidates_scroll_in_rows(demo_url: str) -> None:
    app = make_app(demo_url, n=64, max_tokens=64)
    async with app.run_test(size=(200, 60)) as pilot:
        await wait_idle(app, pilot)
        await run_to_end(app, pilot)
        assert len(panels(app)) == 64 and app.run_state.status is Status.FINISHED
        grid = app.query_one(CandidateGrid)
        assert grid.has_class("-scrolling") and grid.max_scroll_y > 0
        assert_panels_match_state(app)

        # The panels scrolled out of view hold their text but skip the widget work
        # (size, scroll, status line) until they come into view.
        def in_view(panel: CandidatePanel) -> bool:
            window = Region(0, round(grid.scroll_y), grid.scrollable_content_region.width,
                            grid.scrollable_content_region.height)
            return panel.virtual_region.overlaps(window)

        shown = panels(app)
        stale = [p for p in shown if p.stale]
        assert stale and not any(in_view(p) for p in stale)
        assert all(p.border_subtitle == p.status_line for p in shown if in_view(p))
        last = shown[-1]
        assert last in stale and last.border_subtitle != last.status_line
        grid.scroll_end(animate=False, immediate=True)
        await pilot.pause()
        assert in_view(last) and not last.stale
        assert str(last.border_subtitle) == last.status_line and last.status_line.startswith("finished")
        assert last.max_scroll_y > 0  # long enough to scroll: sized for its text now
        assert_panels_match_state(app)  # at its end if it streamed, at its start if it came at once


async def test_panels_for_the_chosen_n_are_mounted_hidden_while_idle(demo_url: str) -> None:
    """A run starts without mounting panels: they are mounted once n is chosen; before the
    first run those in view are laid out under the hint (staged), the others hidden."""
    app = make_app(demo_url, n=12, max_tokens=8)
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(app, pilot)
        grid = app.query_one(CandidateGrid)

        def mounted() -> list[CandidatePanel]:
            return [child for child in grid.children if isinstance(child, CandidatePanel)]

        def assert_staged(n: int) -> None:
            staged = grid.staged
            assert staged and [p.index for p in staged] == list(range(len(staged)))
            assert [p for p in mounted() if p.display] == staged and len(staged) <= n
            assert grid.panels == [] and grid.empty_hint.display
            for panel in staged:
                # Covered by the hint, and out of the focus chain.
                assert panel.staged and not panel.focusable and panel.region
                assert app.screen.get_widget_at(*panel.region.center)[0] is grid.empty_hint

        assert [p.index for p in mounted()] == list(range(12))
        assert_staged(12)
        app.query_one("#n", NSlider).value = 20
        await asyncio.sleep(0.5)  # RESERVE_DELAY, then the mounting
        await wait_idle(app, pilot)
        assert [p.index for p in mounted()] == list(range(20))
        assert_staged(20)
        assert grid.max_scroll_y == 0, "panels below the view staged: a scrollbar under the hint"
        for _ in range(12):
            await pilot.press("tab")
            assert not isinstance(app.focused, CandidatePanel)
        before = len(grid.staged)
        await pilot.resize_terminal(SIZE[0] + 40, SIZE[1] + 12)
        await wait_idle(app, pilot)
        assert len(grid.staged) > before, "a taller, wider grid: more panels in view"
        assert_staged(20)
        assert grid.max_scroll_y == 0
        await pilot.resize_terminal(*SIZE)
        await wait_idle(app, pilot)
        assert len(grid.staged) == before
        assert_staged(20)
        app.query_one("#n", NSlider).value = 2  # fewer: the grid is laid out for 2
        await asyncio.sleep(0.5)
        await wait_idle(app, pilot)
        assert [p.index for p in grid.staged] == [0, 1]
        assert_staged(2)

        app.query_one("#n", NSlider).value = 3
        await run_to_end(app, pilot)
        assert [p.index for p in panels(app)] == [0, 1, 2]
        assert [p.index for p in mounted() if p.display] == [0, 1, 2]
        assert_panels_match_state(app)
        before = set(map(id, mounted()))
        app.query_one("#n", NSlider).value = 20
        await run_to_end(app, pilot)
        assert set(map(id, mounted())) == before, "the run mounted panels instead of reusing them"
        assert [p.index for p in mounted() if p.display] == list(range(20))
        assert_panels_match_state(app)


@contextlib.asynccontextmanager
async def eight_ended_panels_emptied(demo_url: str) -> AsyncIterator[tuple[TuiClientApp, Pilot, RunState, CandidateGrid]]:
    """An app whose run of n=8 ended, its panels then emptied again (the state stays), for
    :meth:`CandidateGrid.show` to be called by hand."""
    app = make_app(demo_url, n=8, max_tokens=24)
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(app, pilot)
        await run_to_end(app, pilot)
        state = app.run_state
        assert state is not None
        grid = app.query_one(CandidateGrid)
        await grid.prepare(8)
        await pilot.pause()
        yield app, pilot, state, grid


async def test_a_frame_draws_at_most_its_allowance_and_the_rest_follow_first(demo_url: str) -> None:
    """Panels left out of a frame (over its allowance) have their text at once and are
    drawn first by the next frames, oldest first, until none is pending."""
    async with eight_ended_panels_emptied(demo_url) as (app, pilot, state, grid):
        assert grid.show(state, limit=3) == 3 and grid.pending == 5
        left_out = [p for p in panels(app) if p.stale]
        assert len(left_out) == 5
        assert all(p.raw_text == state.candidates[p.index].text for p in panels(app)), "text comes at once"
        assert grid.show(state, limit=3) == 3 and grid.pending == 2
        assert not any(p.stale for p in left_out[:3]), "the panels left out went first"
        assert grid.show(state, limit=3) == 2 and grid.pending == 0
        await pilot.pause()
        assert_panels_match_state(app)
        assert all(str(p.border_subtitle) == p.status_line for p in panels(app))


async def test_while_every_panel_changes_each_frame_each_gets_its_turn(demo_url: str) -> None:
    """Over its allowance, a frame draws the panels drawn least recently: when all of them
    change every frame, none waits more than its turn (the first ones used to be drawn
    again every other frame, the last ones only at the end of the run)."""
    async with eight_ended_panels_emptied(demo_url) as (app, _pilot, state, grid):
        waited = dict.fromkeys(range(8), 0)  # frames since each panel was last drawn
        for frame in range(12):
            for cand in state.candidates.values():
                state.set_text(cand, f"{cand.text} {frame}", state.now())
            assert grid.show(state, limit=3) == 3
            for panel in panels(app):
                waited[panel.index] = waited[panel.index] + 1 if panel.stale else 0
            assert max(waited.values()) <= 2, (frame, waited)  # 8 panels, 3 a frame: every third frame
        assert all(p.raw_text == state.candidates[p.index].text for p in panels(app))


async def test_panel_follows_the_end_until_scrolled_up(slow_demo_url: str) -> None:
    app = make_app(slow_demo_url, n=2, max_tokens=400)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_idle(app, pilot)
        await pilot.press("ctrl+j")
        panel = None
        for _ in range(300):
            await asyncio.sleep(0.02)
            shown = panels(app)
            if shown and shown[0].max_scroll_y > 2:
                panel = shown[0]
                break
        assert panel is not None, "the text never outgrew the panel"
        assert panel.following and panel.scroll_y == panel.max_scroll_y
        # Keys are sent without pilot.press, which waits for an idle app (not while streaming).
        panel.focus()
        panel.action_scroll_home()  # the "home" key
        assert not panel.following
        lines_before = len(panel.shown_lines)
        for _ in range(100):
            await asyncio.sleep(0.02)
            if len(panel.shown_lines) > lines_before + 1:
                break
        assert panel.scroll_y == 0, "new text pulled the view back to the end"
        assert "scrolled" in panel.status_line
        panel.action_follow()  # the "end" key
        assert panel.following and panel.scroll_y == panel.max_scroll_y
        await pilot.press("escape")
        await wait_idle(app, pilot)
        assert panel.scroll_y == panel.max_scroll_y
        assert_panels_match_state(app)


async def test_ctrl_enter_runs_too_and_run_on_start(demo_url: str) -> None:
    app = make_app(demo_url, n=2)
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(app, pilot)
        await run_to_end(app, pilot, "ctrl+enter")
        assert app.run_state is not None and app.run_state.status is Status.FINISHED
    request = GenerationRequest("Hello", SamplingParams(n=2, temperature=0.8, max_tokens=8))
    app = TuiClientApp(ClientConfig(url=demo_url), request, run_on_start=True, demo_url_note="embedded demo server")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await wait_idle(app, pilot)
        assert app.run_state is not None and app.run_state.status is Status.FINISHED
        assert "embedded demo server" in str(app.query_one("#server-note").render())


async def test_toggle_controls_and_maximize_a_panel(demo_url: str) -> None:
    app = make_app(demo_url, n=2)
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(app, pilot)
        await run_to_end(app, pilot)
        width_before = panels(app)[0].size.width
        await pilot.press("ctrl+b")
        assert not app.query_one("#controls").display
        assert isinstance(app.focused, CandidatePanel)  # focus left the hidden column
        await pilot.pause()
        assert panels(app)[0].size.width > width_before
        assert_panels_match_state(app)
        await pilot.press("m")
        assert app.focused.is_maximized
        await pilot.pause()
        assert app.focused.size.width > 100
        await pilot.press("m")
        assert not app.focused.is_maximized
        await pilot.press("ctrl+b")
        assert app.query_one("#controls").display


async def test_commands_are_in_the_palette(demo_url: str) -> None:
    app = make_app(demo_url, n=2)
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(app, pilot)
        titles = {command.title for command in app.get_system_commands(app.screen)}
        assert {"Run", "Reconnect", "Toggle controls", "Help: keys"} <= titles
        await run_to_end(app, pilot)
        titles = {command.title for command in app.get_system_commands(app.screen)}
        assert {"Copy candidate 0", "Copy candidate 1", "Copy all candidates"} <= titles


def test_every_binding_has_an_id() -> None:
    from textual.binding import Binding

    from tui_client.ui.main_screen import MainScreen
    from tui_client.ui.screens.confirm_screen import ConfirmScreen
    from tui_client.ui.screens.help_screen import HelpScreen
    from tui_client.ui.screens.history_screen import HistoryScreen, RunTable

    # The main view's bindings are the main screen's (the app keeps only Textual's own).
    for cls in (MainScreen, CandidatePanel, NSlider, HelpScreen, HistoryScreen, RunTable, ConfirmScreen):
        for binding in Binding.make_bindings(cls.BINDINGS):
            assert binding.id, f"{cls.__name__}: {binding.key} -> {binding.action} has no id"


async def test_cancel_a_non_streaming_run(slow_demo_url: str) -> None:
    app = make_app(slow_demo_url, n=2, max_tokens=400, stream=False)
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(app, pilot)
        await pilot.press("ctrl+j")
        await pilot.pause(0.2)
        await pilot.press("escape")
        await wait_idle(app, pilot)
        assert app.run_state.status is Status.CANCELLED
        assert not app.query_one(WaitingNotice).display and app.query_one(CandidateGrid).display
        assert all(p.panel_state == "cancelled" for p in panels(app))


async def test_runs_are_read_in_the_stream_worker_process(demo_url: str) -> None:
    app = make_app(demo_url, n=3, max_tokens=16)
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(app, pilot)
        worker = app.session.stream_worker
        assert worker is not None and worker.running and worker.pid not in (None, os.getpid())
        await run_to_end(app, pilot)
        assert app.run_state.status is Status.FINISHED and app.run_state.bytes_received > 0
        assert_panels_match_state(app)
    assert not worker.running, "the worker process outlived the app"


async def test_without_a_worker_process_runs_are_read_in_the_app(demo_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.executable", "/nonexistent/python")
    app = make_app(demo_url, n=2, max_tokens=16)
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(app, pilot)
        assert app.session.stream_worker is None
        assert any("No stream worker process" in (n.title or "") for n in app._notifications)
        await run_to_end(app, pilot)
        assert app.run_state.status is Status.FINISHED
        assert_panels_match_state(app)
