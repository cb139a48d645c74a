"""The left column: the conversation (chat), prompt, system prompt (chat API only), n, stream,
sampling fields and more params, the greedy hint, then the API and model of the next run.

Tab order follows the column: prompt -> system prompt -> n -> stream -> fields -> more params -> api -> model.
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
from tui_client.core.protocol.continuation import ParentLink
from tui_client.ui.widgets.controls.conversation import ConversationView, Source
from tui_client.ui.widgets.controls.n_slider import NSlider
from tui_client.ui.widgets.controls.prompt_area import PromptArea
from tui_client.ui.widgets.controls.sampling_form import SamplingForm
from tui_client.ui.widgets.controls.server_choice import ServerChoice
from tui_client.ui.widgets.controls.switch_row import SwitchRow


PROMPT_PLACEHOLDER = "Type a prompt…"
REPLY_PLACEHOLDER = "Your reply… (empty: the model goes on with its turn)"


class ControlsSidebar(VerticalScroll, can_focus=False):
    """Everything that describes the next run; :meth:`read_request` builds it."""

    DEFAULT_CSS = Path(__file__).with_name("sidebar.tcss").read_text()

    class Changed(Message):
        """Something that describes the next run changed."""

    def __init__(self, request: GenerationRequest, *, id: str | None = None, api: Api | None = None,
                 model: str | None = None) -> None:
        super().__init__(id=id)
        self.server_choice = ServerChoice(api, model, id="server-choice")
        """The API and model the next run uses (``api``, ``model``: as configured; None: auto)."""
        self._request = request
        self.conversation = ConversationView(id="conversation")
        """Chat: the turns the next run sends before the prompt."""
        self._continued: tuple[str, Source] | None = None
        """Completions: the prompt a continuation or fork wrote, and where it came from (while
        the prompt still starts with it, the next run goes on from there)."""
        self.conversation.set_turns(request.turns, self._sources_for(request))
        self.chat = False
        """The server speaks the chat API: the system prompt is shown and sent."""
        self.api: Api | None = None
        """The API the next run uses (None: not known yet)."""

    def compose(self) -> ComposeResult:
        yield self.conversation
        prompt = PromptArea(
            self._request.prompt,
            soft_wrap=True,
            tab_behavior="focus",
            show_line_numbers=False,
            highlight_cursor_line=False,
            placeholder=PROMPT_PLACEHOLDER,
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
        yield self.server_choice

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
        if self.conversation.turns and self.api not in (None, Api.CHAT):
            problems["conversation"] = (f"the conversation ({len(self.conversation.turns)} turns) is for the chat API: "
                                        "switch the API back to chat, or start a new chat to run on "
                                        f"{self.api.value}")
        system = self.system_text if self.chat and self.system_text.strip() else None
        source = self.parent_source()
        parent = source.resolve() if isinstance(source, ParentLink) else source
        return GenerationRequest(self.prompt_text, params, stream=self.stream, system=system, extra=extra,
                                 turns=self.conversation.turns, parent=parent), problems

    def parent_source(self) -> Source:
        """Where the next run goes on from (see :class:`ConversationView` and :meth:`go_on`)."""
        if self.conversation.turns:
            return self.conversation.source
        if self._continued is not None and self.prompt_text.startswith(self._continued[0]):
            return self._continued[1]
        return None

    def go_on(self, request: GenerationRequest, source: Source) -> None:
        """Put a continuation or fork (:mod:`~tui_client.core.protocol.continuation`) in the
        prompt and the conversation; the parameters stay as the controls have them."""
        old_turns, old_sources = self.conversation.turns, self.conversation.sources
        sources: list[Source] = [old_sources[i] if i < len(old_turns) and old_turns[i] == turn else None
                                 for i, turn in enumerate(request.turns)]
        if request.turns:
            sources[-1] = source  # the last turn is the candidate's (it is the assistant's)
        self.conversation.set_turns(request.turns, tuple(sources))
        self._continued = None if request.turns else (request.prompt, source)
        self._load_prompt(request.prompt)
        self.validate()

    def cut_turn(self) -> bool:
        """Drop the conversation's last exchange; its user turn goes back into the prompt. False: no turns."""
        if not self.conversation.turns:
            return False
        text = self.conversation.cut()
        if text is not None:
            self._load_prompt(text)
        self._sync_placeholder()
        self.validate()
        return True

    def new_chat(self) -> bool:
        """Forget the conversation; False when there was none."""
        if not self.conversation.turns:
            return False
        self.conversation.set_turns(())
        self._sync_placeholder()
        self.validate()
        return True

    def _load_prompt(self, text: str) -> None:
        prompt = self.query_one("#prompt", TextArea)
        prompt.load_text(text)
        prompt.move_cursor(prompt.document.end)
        self._sync_placeholder()

    def _sync_placeholder(self) -> None:
        self.query_one("#prompt", TextArea).placeholder = (
            REPLY_PLACEHOLDER if self.conversation.turns else PROMPT_PLACEHOLDER)

    @staticmethod
    def _sources_for(request: GenerationRequest) -> tuple[Source, ...]:
        """The sources a stored request's turns are known to have: its parent made the last one."""
        sources: list[Source] = [None] * len(request.turns)
        if sources:
            sources[-1] = request.parent
        return tuple(sources)

    def set_request(self, request: GenerationRequest) -> None:
        """Show ``request`` in the controls: conversation, prompt, system prompt, n, stream, every
        sampling field and the extra ones. A system prompt off the chat API is said not to be sent."""
        self._request = request
        self.conversation.set_turns(request.turns, self._sources_for(request))
        self._continued = (request.prompt, request.parent) if request.parent and not request.turns else None
        self._load_prompt(request.prompt)
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
        self.api = api
        self.query_one("#system").display = self.chat
        self.conversation.shown_for_api = api in (None, Api.CHAT)
        form = self.query_one(SamplingForm)
        streams = None if api is None else api is Api.GENERATE
        if form.beams_stream != streams or self.conversation.turns:
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
