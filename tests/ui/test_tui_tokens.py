"""The token level in the TUI: the probability view (p) and the token inspector (i), against
byte-exact recordings of a real vLLM 0.32.0 and the demo server.

Expected tokens come from the recordings through the naive reader of ``expected.py``
(not the code under test); probabilities, ranks and levels are computed here.
"""

from __future__ import annotations

import asyncio
import math
from itertools import accumulate

import pytest
from expected import expected_tokens, request_for
from pilot import make_app, run_to_end, wait_idle
from replay_server import OPENAI, Recording, ReplayServer
from rich.color import Color as RichColor

from tui_client.core.protocol import Api, ClientConfig
from tui_client.demo.server import DemoServer
from tui_client.ui.app import TuiClientApp
from tui_client.ui.rendering.tuning import PROBABILITY_LEVELS
from tui_client.ui.widgets.candidates.panel import CandidatePanel
from tui_client.ui.widgets.candidates.token_inspector import TokenInspector

SIZE = (160, 40)


def level_of(logprob: float) -> int:
    """The shade a probability gets, counted here: how many thresholds it is below."""
    probability = math.exp(logprob)
    return sum(1 for floor in PROBABILITY_LEVELS if probability < floor)


def pct(logprob: float) -> str:
    return f"{math.exp(logprob) * 100:.1f}%"


def backgrounds(panel: CandidatePanel) -> dict[int, RichColor | None]:
    """The background each character of the displayed text is drawn on (those a row shows)."""
    out: dict[int, RichColor | None] = {}
    for row in range(len(panel._wrapped)):
        offset, end = panel._wrapped.span(row)
        for seg in panel._row_at(row):
            for _char in seg.text:
                if offset < end:
                    out[offset] = seg.style.bgcolor
                offset += 1
    return out


async def replay(name: str, api: Api | None, body) -> None:
    rec = Recording.load(OPENAI / f"{name}.json")
    with ReplayServer(rec) as server:
        app = TuiClientApp(ClientConfig(url=server.url, api=api), request_for(rec))
        async with app.run_test(size=SIZE) as pilot:
            await asyncio.wait_for(app.workers.wait_for_complete(), 30)
            await pilot.press("ctrl+j")
            await wait_idle(app, pilot)
            await pilot.press("ctrl+o")
            await pilot.pause()
            await body(app, pilot, expected_tokens(rec))


@pytest.mark.parametrize(("name", "api"), [("completions-stream-logprobs-n2", None), ("chat-stream-logprobs-n2", Api.CHAT),
                                           ("completions-nostream-logprobs-n2", None)])
async def test_p_shades_every_token_by_its_recorded_probability(name: str, api: Api | None) -> None:
    async def body(app: TuiClientApp, pilot, tokens) -> None:
        await pilot.press("p")
        await pilot.pause()
        assert app.main.grid.probability_view
        for panel in app.main.grid.panels:
            expected = tokens[panel.index]
            assert panel.token_count == len(expected)
            shades = panel.probability_shades()
            text = panel.display_text
            drawn = backgrounds(panel)
            offset = 0
            # Each token's characters carry the shade of its level, wherever the rows wrap.
            for piece, logprob, _top in expected:
                want = shades[level_of(logprob)].bgcolor
                for k in range(len(piece)):
                    assert text[offset + k] == piece[k]
                    assert drawn.get(offset + k, want) == want, (panel.index, piece, logprob)
                offset += len(piece)
            assert offset == len(text) and len(drawn) >= len(text.rstrip())
        # Levels step away from the panel's background: a lighter or darker step per level.
        back = shades[0].bgcolor.triplet
        distances = [sum(abs(a - b) for a, b in zip(back, s.bgcolor.triplet)) for s in shades]
        assert distances == sorted(distances) and len(set(distances)) == len(distances)
        legend = str(app.main.summary.render())
        assert legend.startswith("p  ≥90%") and "<3%" in legend

    await replay(name, api, body)


async def test_i_opens_at_the_first_token_with_its_alternatives_in_percent() -> None:
    async def body(app: TuiClientApp, pilot, tokens) -> None:
        panel = app.focused
        assert isinstance(panel, CandidatePanel) and panel.index == 0
        inspector = app.query_one(TokenInspector)
        assert not inspector.display
        await pilot.press("i")
        await pilot.pause()
        assert inspector.display and panel.token_cursor == 0
        first, logprob, top = tokens[0][0]
        shown = str(inspector.render())
        assert first == " a" and pct(logprob) == "1.0%"
        assert '" a" · 1.0%' in shown
        # vLLM sent " a" after its top 5: its rank is not known.
        assert "not in the top 5" in shown
        alternatives = "  ".join(f'"{alt}" {pct(value)}' for alt, value in top)
        assert alternatives.startswith('" that" 29.9%  " its" 16.0%') and alternatives in shown
        # The cursor is drawn over the token.
        strip = panel._row_at(0)
        assert any(seg.style.reverse and seg.text == " a" for seg in strip)
        await pilot.press("right", "right")
        await pilot.pause()
        assert panel.token_cursor == 2
        piece, logprob, top = tokens[0][2]
        assert f'"{piece}" · {pct(logprob)}' in str(inspector.render())
        cumulative = math.fsum(t[1] for t in tokens[0][:3])
        assert f"cumulative {cumulative:.3f}" in str(inspector.render())
        await pilot.press("left")
        assert panel.token_cursor == 1
        await pilot.press("escape")
        await pilot.pause()
        assert panel.token_cursor is None and not inspector.display
        await pilot.press("right")  # the cursor is off: the next panel
        await pilot.pause()
        assert app.focused is app.main.grid.panels[1]

    await replay("completions-stream-logprobs-n2", None, body)


async def test_in_the_divergence_view_i_opens_where_the_candidates_part() -> None:
    async def body(app: TuiClientApp, pilot, tokens) -> None:
        await pilot.press("d")
        await pilot.pause()
        panel = app.main.grid.panels[0]
        shared = panel.divergence_marks[0]
        await pilot.press("i")
        await pilot.pause()
        # The token holding the first character that differs, counted from the recording.
        ends = list(accumulate(len(t[0]) for t in tokens[0]))
        want = next(k for k, end in enumerate(ends) if end > shared)
        assert panel.token_cursor == want
        shown = str(app.query_one(TokenInspector).render())
        line = next(line for line in shown.splitlines() if line.startswith("where they part"))
        for index in (0, 1):
            ends = list(accumulate(len(t[0]) for t in tokens[index]))
            piece, logprob, _ = tokens[index][next(k for k, end in enumerate(ends) if end > shared)]
            assert f'C{index} "{piece}" {pct(logprob)}' in line
        # To the next panel: the cursor goes along, to the same place in the text.
        start = panel.token_span(panel.token_cursor)[0]
        await pilot.press("]")
        await pilot.pause()
        other = app.main.grid.panels[1]
        assert app.focused is other and panel.token_cursor is None
        assert other.token_cursor == other.token_at(start)
        assert str(app.query_one(TokenInspector).render()).startswith("Candidate 1 ")

    await replay("completions-stream-logprobs-n2", None, body)


async def test_up_and_down_move_the_cursor_a_line_at_the_same_column(demo_url: str) -> None:
    app = make_app(demo_url, n=1, max_tokens=120, logprobs=3)
    async with app.run_test(size=(80, 30)) as pilot:
        await asyncio.wait_for(app.workers.wait_for_complete(), 30)
        await run_to_end(app, pilot)
        await pilot.press("ctrl+o")
        await pilot.pause()
        panel = app.main.grid.panels[0]
        lines = panel._wrapped
        assert len(lines) >= 3, "the test needs a text of three lines or more"
        await pilot.press("i", "right", "right", "right")
        await pilot.pause()
        start = panel.token_span(panel.token_cursor)[0]
        column = start - lines.span(0)[0]
        await pilot.press("down")
        await pilot.pause()
        moved = panel.token_span(panel.token_cursor)
        line_start, line_end = lines.span(1)
        assert line_start <= moved[0] < line_end or moved[0] <= line_start < moved[1]
        target = min(line_start + column, line_end - 1)
        assert moved[0] <= target < moved[1] or moved[0] == target
        await pilot.press("up")
        await pilot.pause()
        assert lines.line_at(panel.token_span(panel.token_cursor)[0]) == 0


async def test_without_logprobs_p_and_i_say_why(demo_url: str) -> None:
    app = make_app(demo_url, n=2)
    async with app.run_test(size=SIZE) as pilot:
        await asyncio.wait_for(app.workers.wait_for_complete(), 30)
        await run_to_end(app, pilot)
        await pilot.press("ctrl+o")
        await pilot.pause()
        await pilot.press("i")
        await pilot.pause()
        assert app.focused.token_cursor is None and not app.query_one(TokenInspector).display
        await pilot.press("p")
        await pilot.pause()
        messages = [n.message for n in app._notifications]
        assert any("No logprobs in this run" in m for m in messages)
        assert any("no logprobs" in m for m in messages)


async def test_the_view_shades_while_streaming_and_the_inspector_follows() -> None:
    """p before the run: tokens are shaded as they arrive; the inspector's count grows."""
    with DemoServer(token_delay=0.05) as demo:
        app = make_app(demo.url, n=1, max_tokens=40, logprobs=2, seed=3)
        async with app.run_test(size=SIZE) as pilot:
            await asyncio.wait_for(app.workers.wait_for_complete(), 30)
            app.main.action_probabilities()
            await pilot.press("ctrl+j")
            panel = None
            for _ in range(500):
                await pilot.pause(0.01)
                panel = app.main.grid.panels[0] if app.main.grid.panels else None
                if panel is not None and panel.token_count >= 3:
                    break
            assert panel is not None and app.main.running, "the run ended before the test could look"
            cand = panel.candidate
            shades = panel.probability_shades()
            drawn = backgrounds(panel)
            for k in range(3):
                start, end = panel.token_span(k)
                assert all(drawn.get(i) == shades[level_of(cand.token_logprobs[k])].bgcolor for i in range(start, end))
            assert panel.open_tokens()
            await pilot.pause()
            first_count = app.query_one(TokenInspector).facts.count
            assert app.main.running
            await wait_idle(app, pilot)
            facts = app.query_one(TokenInspector).facts
            assert facts.index == 0 and facts.count == len(cand.token_texts) > first_count


async def test_a_run_loaded_from_the_history_keeps_its_tokens_for_p_and_i(demo_url: str) -> None:
    app = make_app(demo_url, n=2, max_tokens=20, logprobs=3)
    async with app.run_test(size=SIZE) as pilot:
        await asyncio.wait_for(app.workers.wait_for_complete(), 30)
        await run_to_end(app, pilot)
        ran = {c.index: (list(c.token_texts), list(c.token_logprobs)) for c in app.run_state.ordered()}
        await wait_idle(app, pilot)  # saved
        await pilot.press("f2")
        await asyncio.wait_for(app.workers.wait_for_complete(), 30)
        await pilot.pause()
        await pilot.press("enter")
        await asyncio.wait_for(app.workers.wait_for_complete(), 30)
        await pilot.pause()
        assert app.main.loaded_run is not None and isinstance(app.focused, CandidatePanel)
        await pilot.press("p", "i")
        await pilot.pause()
        panel = app.focused
        texts, logprobs = ran[panel.index]
        assert panel.token_count == len(texts) and panel.token_cursor == 0
        facts = app.query_one(TokenInspector).facts
        assert facts.text == texts[0] and facts.logprob == logprobs[0]
