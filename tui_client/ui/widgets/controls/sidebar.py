"""The left column: prompt, n, stream, sampling fields, and the greedy hint.

Tab order follows the column: prompt -> n -> stream -> fields.
"""

from __future__ import annotations

from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.widgets import Label, Switch, TextArea

from tui_client.core.defaults import MAX_N
from tui_client.core.protocol import GenerationRequest, SamplingParams
from tui_client.ui.widgets.controls.n_slider import NSlider
from tui_client.ui.widgets.controls.prompt_area import PromptArea
from tui_client.ui.widgets.controls.sampling_form import SamplingForm
from tui_client.ui.widgets.controls.switch_row import SwitchRow


class ControlsSidebar(VerticalScroll, can_focus=False):
    """Everything that describes the next run; :meth:`read_request` builds it."""

    DEFAULT_CSS = Path(__file__).with_name("sidebar.tcss").read_text()

    class Changed(Message):
        """Something that describes the next run changed."""

    def __init__(self, request: GenerationRequest, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._request = request

    def compose(self) -> ComposeResult:
        prompt = PromptArea(
            self._request.prompt,
            soft_wrap=True,
            tab_behavior="focus",
            show_line_numbers=False,
            highlight_cursor_line=False,
            placeholder="Type a prompt…",
            id="prompt",
        )
        prompt.border_title = "Prompt"
        yield prompt
        yield NSlider(min(max(self._request.params.n, 1), MAX_N), minimum=1, maximum=MAX_N, id="n")
        yield SwitchRow("stream", self._request.stream, switch_id="stream",
                        tooltip="on: watch candidates grow; off: one answer when all are done")
        yield SamplingForm(self._request.params, id="sampling")
        yield Label(id="greedy-hint", markup=False)

    def on_mount(self) -> None:
        self.query_one("#greedy-hint").display = False

    @property
    def prompt_text(self) -> str:
        return self.query_one("#prompt", TextArea).text

    @property
    def n(self) -> int:
        return self.query_one("#n", NSlider).value

    @property
    def stream(self) -> bool:
        return self.query_one("#stream", Switch).value

    def read_request(self) -> tuple[GenerationRequest, dict[str, str]]:
        """The request the controls describe and its problems ({field: message})."""
        params, problems = self.query_one(SamplingForm).read(self._request.params, n=self.n, stream=self.stream)
        return GenerationRequest(self.prompt_text, params, stream=self.stream), problems

    def set_request(self, request: GenerationRequest) -> None:
        """Show ``request`` in the controls: prompt, n, stream and every sampling field."""
        self._request = request
        prompt = self.query_one("#prompt", TextArea)
        prompt.load_text(request.prompt)
        prompt.move_cursor(prompt.document.end)
        slider = self.query_one("#n", NSlider)
        slider.value = min(max(request.params.n, slider.minimum), slider.maximum)
        self.query_one("#stream", Switch).value = request.stream
        self.query_one(SamplingForm).set_params(request.params)
        self.validate()

    def set_beams_stream(self, streams: bool | None) -> None:
        """Whether the server streams beam search (legacy ``/generate``); the problems follow."""
        form = self.query_one(SamplingForm)
        if form.beams_stream != streams:
            form.beams_stream = streams
            self.validate()

    def validate(self) -> dict[str, str]:
        """Show every problem next to its field and the greedy hint; returns the problems."""
        request, problems = self.read_request()
        self.query_one(SamplingForm).show_problems(problems)
        self._show_greedy_hint(request.params)
        return problems

    def focus_field(self, name: str) -> None:
        if name == "n":
            self.query_one("#n").focus()
        elif name == "stream":
            self.query_one("#stream").focus()
        elif not self.query_one(SamplingForm).focus_field(name):
            self.query_one("#prompt").focus()

    def _show_greedy_hint(self, params: SamplingParams) -> None:
        hint = self.query_one("#greedy-hint", Label)
        greedy = params.temperature == 0 and params.n > 1 and not params.beam_search
        if greedy:
            hint.update(
                Content(f"temperature 0 is greedy: all {params.n} candidates will be identical "
                        "(vLLM 0.32+ refuses n > 1). Raise the temperature for variety.")
            )
        hint.display = greedy

    @on(NSlider.Changed)
    @on(Switch.Changed, "#stream")
    @on(SamplingForm.Changed)
    def _changed(self, event: Message) -> None:
        event.stop()
        self.validate()
        self.post_message(self.Changed())
