"""Issue #16, the faults found by looking for them (round 3), in the TUI: each one a server
answer or a key that took the app down, now shown or refused in place."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hostile_server3 import OVERFLOWING, HostileServer3
from pilot import make_app, run_to_end, wait_idle
from textual.widgets import Input, Label

from tui_client.core.storage.ui_state import ui_state_path
from tui_client.core.text.inert_text import is_inert
from tui_client.ui.widgets.candidates.panel import CandidatePanel
from tui_client.ui.widgets.candidates.token_inspector import TokenInspector
from tui_client.ui.widgets.controls.prompt_area import PromptArea

SIZE = (160, 40)


async def test_logprobs_above_zero_past_what_exp_takes_are_shown_certain(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # ctrl+s / ctrl+t write here
    with HostileServer3("logprob-overflow") as server:
        app = make_app(server.url, "Hi", n=2, logprobs=1)
        async with app.run_test(size=SIZE) as pilot:
            await run_to_end(app, pilot)
            text = "".join(token for token, _ in OVERFLOWING)
            assert [c.text for c in app.run_state.ordered()] == [text, text]
            await pilot.press("p", "s", "ctrl+o", "i")  # shading, sparkline and sort read every logprob
            await wait_idle(app, pilot)
            panel = app.focused
            assert isinstance(panel, CandidatePanel) and panel.token_cursor == 0
            inspector = app.query_one(TokenInspector)
            shown = str(inspector.render())
            assert '"Big" · 100% · rank 1 of 2' in shown
            assert "logprob 1e+308" in shown and "cumulative 1e+308" in shown
            assert "0000000" not in shown  # not the 309 digits of f"{1e308:.3f}"
            await pilot.press("right")  # 800.0: exp() overflows
            await pilot.pause()
            assert '" and" · 100% · rank 1 of 2' in str(inspector.render())
            await pilot.press("ctrl+s", "ctrl+t")
            await wait_idle(app, pilot)
    [markdown] = tmp_path.glob("tui-client-run-*.md")
    assert '| 1 | `" and"` | 800.0000 | 100.0% |' in markdown.read_text()
    assert '| 0 | `"Big"` | 1e+308 | 100.0% |' in markdown.read_text()
    [exported] = tmp_path.glob("tui-client-run-*.json")
    assert json.loads(exported.read_text())["candidates"][0]["logprobs"][1]["logprob"] == 800.0


async def test_a_prompt_holding_terminal_escapes_is_drawn_inert() -> None:
    """A prompt pasted, passed with --prompt or loaded from the history is drawn by Textual's
    TextArea, which writes an ESC as is: the terminal would obey it (retitle, colour, clear)."""
    prompt = "a\x1b]2;X\x1b\\b\x1b[41mR\u202e\x9b"
    app = make_app("http://127.0.0.1:1", prompt, n=1)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        area = app.query_one(PromptArea)
        assert area.text == prompt  # the prompt itself is kept
        strip = area.render_line(0)
        drawn = "".join(segment.text for segment in strip)
        assert drawn.startswith("a␛]2;X␛\\b␛[41mR⟨U+202E⟩")
        assert is_inert(drawn) and strip.cell_length == area.render_line(1).cell_length  # the border stays


async def test_a_stop_list_nested_past_the_recursion_limit_is_a_field_problem() -> None:
    app = make_app("http://127.0.0.1:1", "hi", n=1)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.query_one("#field-stop", Input).value = "[" * 100_000  # pasted: json.loads recursed
        await pilot.press("ctrl+j")
        await pilot.pause()
        assert str(app.query_one("#problem-stop", Label).render()) == 'not a JSON list: write ["a", "b"]'
        assert app.run_state is None  # nothing was sent


async def test_a_ui_state_file_nested_past_the_recursion_limit_reads_as_empty() -> None:
    ui_state_path().parent.mkdir(parents=True, exist_ok=True)
    ui_state_path().write_text("[" * 200_000)
    app = make_app("http://127.0.0.1:1", "hi", n=1)  # read here, before anything is shown
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.theme == "textual-dark"
