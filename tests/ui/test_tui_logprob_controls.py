"""The logprobs field of the sampling form: read into the request, checked, shown again."""

from __future__ import annotations

import os
from pathlib import Path

from pilot import SIZE, make_app, run_to_end, wait_idle
from textual.widgets import Input, Switch

from tui_client.cli.args import build_parsers, request_from_args
from tui_client.core.defaults import TUI_DEFAULTS
from tui_client.core.protocol import Api, ClientConfig, GenerationRequest, SamplingParams, Status
from tui_client.core.storage.config import load_config
from tui_client.core.storage.paths import CONFIG_ENV
from tui_client.ui.app import TuiClientApp
from tui_client.ui.widgets.controls.sidebar import ControlsSidebar


def read(app: TuiClientApp) -> tuple[GenerationRequest, dict[str, str]]:
    return app.query_one(ControlsSidebar).read_request()


async def test_empty_is_off_and_a_number_asks_for_that_many_alternatives(demo_url: str) -> None:
    app = TuiClientApp(ClientConfig(url=demo_url), GenerationRequest("Once upon a time", SamplingParams(
        n=2, temperature=0.8, max_tokens=12, seed=7, logprobs=0)))
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(app, pilot)
        field = app.query_one("#field-logprobs", Input)
        assert field.value == "" and field.placeholder == "off"  # 0 is off: shown empty
        assert "0-20" in str(field.tooltip) and "OpenAI API only" in str(field.tooltip)
        request, problems = read(app)
        assert problems == {} and request.params.logprobs == 0  # as it came in

        field.value = "3"
        await pilot.pause()
        assert read(app)[0].params.logprobs == 3
        await run_to_end(app, pilot)
        state = app.run_state
        assert state is not None and state.status is Status.FINISHED
        assert state.request.params.logprobs == 3
        for cand in state.candidates.values():
            assert cand.token_logprobs and len(cand.token_logprobs) == len(cand.token_texts)
            assert all(len(top) <= 3 + 1 for top in cand.token_tops)  # + the sampled one, when not among them


async def test_out_of_range_and_beam_search_show_under_the_field_and_block_the_run(demo_url: str) -> None:
    app = make_app(demo_url, logprobs=4)
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(app, pilot)
        field = app.query_one("#field-logprobs", Input)
        problem = app.query_one("#problem-logprobs")
        assert field.value == "4" and not problem.display
        field.value = "21"
        await pilot.pause()
        assert problem.display and "between 0 (off) and 20" in str(problem.render())
        assert field.has_class("-invalid")
        await pilot.press("ctrl+j")
        await pilot.pause()
        assert app.run_state is None and app.focused is field

        field.value = "2"
        await pilot.pause()
        assert not problem.display
        app.query_one("#field-beam_search", Switch).value = True
        await pilot.pause()
        assert problem.display and "not available with beam search" in str(problem.render())
        field.value = ""
        await pilot.pause()
        assert not problem.display


async def test_the_legacy_api_has_no_logprobs(demo_url: str) -> None:
    app = TuiClientApp(ClientConfig(url=demo_url, api=Api.GENERATE), make_app(demo_url, logprobs=2).initial_request)
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(app, pilot)
        problem = app.query_one("#problem-logprobs")
        assert problem.display and "legacy /generate API has no logprobs" in str(problem.render())
        app.query_one("#field-logprobs", Input).value = "0"
        await pilot.pause()
        assert not problem.display


async def test_set_request_shows_the_logprobs_of_a_stored_run(demo_url: str) -> None:
    app = make_app(demo_url)
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(app, pilot)
        sidebar = app.query_one(ControlsSidebar)
        for value, shown in ((7, "7"), (None, ""), (0, ""), (20, "20")):
            request = GenerationRequest("p", SamplingParams(n=3, temperature=0.5, logprobs=value))
            sidebar.set_request(request)
            await pilot.pause()
            assert app.query_one("#field-logprobs", Input).value == shown
            again, problems = read(app)
            assert problems == {} and again == request


async def test_a_stored_run_loaded_for_edit_shows_its_logprobs(demo_url: str) -> None:
    app = make_app(demo_url, n=2, logprobs=5)
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(app, pilot)
        await run_to_end(app, pilot)
        field = app.query_one("#field-logprobs", Input)
        field.value = ""
        await pilot.pause()
        await pilot.press("f2")
        await pilot.pause()
        await wait_idle(app, pilot)
        await pilot.press("e")  # the newest run, for editing
        await pilot.pause()
        await wait_idle(app, pilot)
        assert app.screen is app.default_screen
        assert field.value == "5" and read(app)[0].params.logprobs == 5


async def test_the_config_files_logprobs_is_the_fields_default(demo_url: str) -> None:
    Path(os.environ[CONFIG_ENV]).write_text("[sampling]\nlogprobs = 6\n", encoding="utf-8")
    settings = load_config()
    request = request_from_args(build_parsers()["tui"].parse_args(["--prompt", "hi"]), TUI_DEFAULTS, settings.sampling)
    app = TuiClientApp(ClientConfig(url=demo_url), request)
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(app, pilot)
        assert app.query_one("#field-logprobs", Input).value == "6"
        assert read(app)[0].params.logprobs == 6
