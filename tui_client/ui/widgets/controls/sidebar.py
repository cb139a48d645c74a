"""The left column: prompt, system prompt (chat API only), n, stream, sampling fields and more
params, and the greedy hint.

Tab order follows the column: prompt -> system prompt -> n -> stream -> fields -> more params.
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
from tui_client.core.protocol import Api, GenerationRequest, SamplingParams
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
        self.chat = False
        """The server speaks the chat API: the system prompt is shown and sent."""

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
        system = PromptArea(
            self._request.system or "",
            soft_wrap=True,
            tab_behavior="focus",
            show_line_numbers=False,
            highlight_cursor_line=False,
            placeholder="none",
            id="system",
        )
        system.border_title = "System prompt"
        system.tooltip = "the chat API's system prompt, sent before the prompt (empty: none)"
        yield system
        yield NSlider(min(max(self._request.params.n, 1), MAX_N), minimum=1, maximum=MAX_N, id="n")
        yield SwitchRow("stream", self._request.stream, switch_id="stream",
                        tooltip="on: watch candidates grow; off: one answer when all are done")
        yield SamplingForm(self._request.params, self._request.extra, id="sampling")
        yield Label(id="greedy-hint", markup=False)

    def on_mount(self) -> None:
        self.query_one("#greedy-hint").display = False
        self.query_one("#system").display = self.chat

    @property
    def prompt_text(self) -> str:
        return self.query_one("#prompt", TextArea).text

    @property
    def n(self) -> int:
        return self.query_one("#n", NSlider).value

    @property
    def stream(self) -> bool:
        return self.query_one("#stream", Switch).value

    @property
    def system_text(self) -> str:
        return self.query_one("#system", TextArea).text

    def read_request(self) -> tuple[GenerationRequest, dict[str, str]]:
        """The request the controls describe and its problems ({field: message}); the system
        prompt only on the chat API."""
        form = self.query_one(SamplingForm)
        params, problems = form.read(self._request.params, n=self.n, stream=self.stream)
        extra, extra_problem = form.read_extra()
        if extra_problem:
            problems["extra"] = extra_problem
        system = self.system_text if self.chat and self.system_text.strip() else None
        return GenerationRequest(self.prompt_text, params, stream=self.stream, system=system, extra=extra), problems

    def set_request(self, request: GenerationRequest) -> None:
        """Show ``request`` in the controls: prompt, system prompt, n, stream, every sampling
        field and the extra ones. A system prompt off the chat API is said not to be sent."""
        self._request = request
        prompt = self.query_one("#prompt", TextArea)
        prompt.load_text(request.prompt)
        prompt.move_cursor(prompt.document.end)
        self.query_one("#system", TextArea).load_text(request.system or "")
        slider = self.query_one("#n", NSlider)
        slider.value = min(max(request.params.n, slider.minimum), slider.maximum)
        self.query_one("#stream", Switch).value = request.stream
        form = self.query_one(SamplingForm)
        form.set_params(request.params)
        form.set_extra(request.extra)
        self.validate()
        if request.system and not self.chat:
            self.notify("Its system prompt is for the chat API (--api chat): this server's API does not take "
                        "one, so it is not sent", title="System prompt left out", severity="warning", markup=False)

    def set_api(self, api: Api | None) -> None:
        """The server's API (None: not known yet): the system prompt is shown on chat only, and
        the beam search problems follow whether the server streams beams (legacy ``/generate``)."""
        self.chat = api is Api.CHAT
        self.query_one("#system").display = self.chat
        form = self.query_one(SamplingForm)
        streams = None if api is None else api is Api.GENERATE
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
