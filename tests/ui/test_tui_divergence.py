"""The divergence view in the app: d marks (shared prefix dimmed, unique word highlighted),
t shows only the differing tails; live while streaming, refused with one candidate."""

from __future__ import annotations

import asyncio

import pytest
from pilot import SIZE, make_app, panels, run_to_end, wait_idle
from textual.pilot import Pilot
from textual.widgets import Input

from tui_client.core.text.divergence import compute_divergence
from tui_client.core.text.wrapping import WrappedLines
from tui_client.ui.app import TuiClientApp
from tui_client.ui.divergence_marks import END_OF_TEXT, ENDED_PANELS
from tui_client.ui.widgets.candidates.panel import CandidatePanel

# The demo server seeds candidate i with seed + i: with seed 7 and n=4 the candidates
# share " there " (7 chars), and candidates 2 and 3 agree for 73 characters.
SEED = 7


def divergence_app(url: str, **params: object) -> TuiClientApp:
    return make_app(url, "Once upon a time", **{"n": 4, "temperature": 0.8, "max_tokens": 40, "seed": SEED, **params})


def expected_view(app: TuiClientApp):  # type: ignore[no-untyped-def]
    """compute_divergence of what the panels show (an ended candidate ends with its end marker)."""
    texts = {}
    for panel in panels(app):
        text = panel.display_text
        if panel.panel_state in ENDED_PANELS:
            if not text:
                continue
            text += END_OF_TEXT
        texts[panel.index] = text
    return compute_divergence(texts), texts


def unique_style_text(panel: CandidatePanel) -> str:
    """The characters drawn in the 'unique' style across all the panel's rows."""
    unique = panel._divergence_styles()[1]
    found = []
    for y in range(panel.virtual_size.height):
        strip = panel._row_at(y)
        found += [seg.text for seg in strip if seg.style == unique]
    return "".join(found)


async def focus_panels(app: TuiClientApp, pilot: Pilot) -> None:
    await pilot.press("ctrl+o")
    assert isinstance(app.focused, CandidatePanel)


async def test_d_marks_the_shared_prefix_and_each_unique_word(demo_url: str) -> None:
    app = divergence_app(demo_url)
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(app, pilot)
        await run_to_end(app, pilot)
        await focus_panels(app, pilot)
        raw = {c.index: c.text for c in app.run_state.candidates.values()}  # type: ignore[union-attr]
        reference = compute_divergence(raw)
        # Every pair differs somewhere, so the end markers play no part here.
        assert all(offset is not None for offset in reference.unique_at.values())
        assert reference.shared_prefix_len == 7

        await pilot.press("d")
        await pilot.pause()
        assert app.main.marks.marking
        for panel in panels(app):
            shared, unique = panel.divergence_marks
            assert shared == reference.shared_prefix_len
            assert unique == reference.unique_at[panel.index]
            span = panel.unique_span()
            assert span is not None and span[0] == unique
            word = panel.display_text[span[0] : span[1]]
            assert word and word.strip() and unique_style_text(panel) == word
        assert "shared prefix 7 chars" in str(app.main.summary.render())
        # Candidates 2 and 3 share 73 characters: their unique words start there.
        assert [p.divergence_marks[1] for p in panels(app)] == [35, 7, 73, 73]

        await pilot.press("d")
        await pilot.pause()
        assert not app.main.marks.marking
        assert all(p.unique_span() is None and unique_style_text(p) == "" for p in panels(app))
        assert "shared prefix" not in str(app.main.summary.render())


async def test_t_hides_the_shared_prefix_behind_a_marker(demo_url: str) -> None:
    # Seeds 9 and 10: two candidates that agree for 73 characters (more than a row).
    app = divergence_app(demo_url, n=2, seed=9)
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(app, pilot)
        await run_to_end(app, pilot)
        await focus_panels(app, pilot)
        before = {p.index: list(p.shown_lines) for p in panels(app)}
        heights = {p.index: p.virtual_size.height for p in panels(app)}
        await pilot.press("t")
        await pilot.pause()
        assert app.main.marks.tails
        for panel in panels(app):
            shared = panel.divergence_marks[0]
            assert shared == 73
            lines = panel.shown_lines
            assert lines[0] == "… 73 shared chars"
            hidden = panel._wrapped.line_at(shared)
            assert hidden >= 1  # at least one whole row was shared
            assert lines[1:] == before[panel.index][hidden:]
            assert panel.virtual_size.height == heights[panel.index] - hidden + 1
            # The rows drawn: the marker, then the row where the tail starts.
            drawn = [panel._row_at(y).text.rstrip() for y in range(2)]
            assert drawn[0] == "… 73 shared chars" and drawn[1] == before[panel.index][hidden].rstrip()
        await pilot.press("t")
        await pilot.pause()
        assert [p.shown_lines for p in panels(app)] == list(before.values())


async def test_the_marks_follow_a_streaming_run_frame_by_frame(slow_demo_url: str) -> None:
    app = divergence_app(slow_demo_url, max_tokens=4)
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(app, pilot)
        await run_to_end(app, pilot)  # a short run, to turn the view on (it stays on)
        await focus_panels(app, pilot)
        await pilot.press("d")
        assert app.main.marks.marking
        app.query_one("#field-max_tokens", Input).value = "150"
        # Not pilot.press: it waits for the app to go idle, which a stream never lets it.
        app.main.action_run()
        checked = 0
        for _ in range(200):
            await asyncio.sleep(0.03)
            if not app.main.running:
                break
            # Between two frames the panels' texts and their marks belong together.
            view, texts = expected_view(app)
            if len(texts) < 2:
                continue
            for panel in panels(app):
                assert panel.divergence_marks == (
                    min(view.shared_prefix_len, min(len(t.rstrip(END_OF_TEXT)) for t in texts.values())),
                    view.unique_at.get(panel.index),
                )
            checked += 1
        assert checked >= 3, "the run ended before any mid-stream frame was checked"
        await wait_idle(app, pilot)
        view, _ = expected_view(app)
        assert [p.divergence_marks[1] for p in panels(app)] == [view.unique_at[i] for i in range(4)]


async def test_marks_and_tails_never_rewrap_a_text(demo_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Turning the view on and off costs rows on screen, not a re-wrap of whole texts."""
    app = divergence_app(demo_url, n=8, max_tokens=200)
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(app, pilot)
        await run_to_end(app, pilot)
        await focus_panels(app, pilot)
        full_wraps: list[int] = []
        original = WrappedLines._rewrap_from_line

        def counting(self: WrappedLines, index: int) -> None:
            if index == 0 and self.text:
                full_wraps.append(len(self.text))
            original(self, index)

        monkeypatch.setattr(WrappedLines, "_rewrap_from_line", counting)
        for key in ("d", "t", "d", "t", "d"):
            await pilot.press(key)
            await pilot.pause()
        assert full_wraps == []
        assert app.main.marks.marking and not app.main.marks.tails


async def test_one_candidate_disables_the_view_and_says_why(demo_url: str) -> None:
    app = divergence_app(demo_url, n=1)
    notes: list[str] = []
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(app, pilot)
        original = app.notify

        def notify(message: str, **kwargs: object) -> None:
            notes.append(message)
            original(message, **kwargs)  # type: ignore[arg-type]

        app.notify = notify  # type: ignore[method-assign]
        # Before any run (f3 works in the prompt too).
        await pilot.press("f3")
        assert not app.main.marks.marking and "run first" in notes[-1]
        await run_to_end(app, pilot)
        await focus_panels(app, pilot)
        active = app.screen.active_bindings
        assert active["d"].binding.action == "divergence" and active["d"].enabled is False
        assert active["t"].enabled is False
        await pilot.press("d")
        assert not app.main.marks.marking and "at least two candidates" in notes[-1]
        await pilot.press("t")
        assert not app.main.marks.tails and "at least two candidates" in notes[-1]
        assert app.main.grid.panels[0].divergence_marks == (0, None)
        # The palette command says the same.
        app.main.action_divergence()
        assert not app.main.marks.marking and "at least two candidates" in notes[-1]


async def test_the_view_stays_on_for_the_next_run_and_resets_its_marks(demo_url: str) -> None:
    app = divergence_app(demo_url)
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(app, pilot)
        await run_to_end(app, pilot)
        await focus_panels(app, pilot)
        await pilot.press("d", "t")
        await pilot.pause()
        await pilot.press("ctrl+o")  # back to the prompt: a different prompt, same seed
        await pilot.press(*"!")
        await run_to_end(app, pilot)
        assert app.main.marks.marking and app.main.marks.tails
        view, _ = expected_view(app)
        for panel in panels(app):
            assert panel.divergence_marks == (view.shared_prefix_len, view.unique_at.get(panel.index))
            assert panel.shown_lines[0].startswith("…")
