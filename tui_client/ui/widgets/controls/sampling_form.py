"""The sampling fields (temperature, max tokens, top p, top k, seed, stop, logprobs, beam search),
and a box of more vLLM request fields as ``KEY=VALUE`` lines (:mod:`~tui_client.core.protocol.extra_fields`).

Each field is one compact row; an empty field means "leave it to the server".
Problems (a field that does not parse, or :meth:`SamplingParams.problems`) show
right under the field at fault; the box's first bad line, under the box.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import Input, Label, Switch, TextArea

from tui_client.core.defaults import VLLM_MAX_LOGPROBS
from tui_client.core.protocol import SamplingParams
from tui_client.core.protocol.extra_fields import OWN_FIELDS, format_lines, parse_lines
from tui_client.core.text.inert_text import make_inert
from tui_client.ui.rendering.tuning import SHORT_INPUT_MAX_CHARS, TEXT_INPUT_MAX_CHARS
from tui_client.ui.widgets.controls.folded_input import FoldedInput
from tui_client.ui.widgets.controls.prompt_area import PromptArea
from tui_client.ui.widgets.controls.switch_row import SwitchRow


@dataclass(frozen=True)
class Field:
    name: str  # SamplingParams attribute
    label: str
    kind: type  # float / int / str
    placeholder: str
    tooltip: str


FIELDS: tuple[Field, ...] = (
    Field("temperature", "temperature", float, "server default", "0 = greedy (every candidate the same); higher = more varied"),
    Field("max_tokens", "max tokens", int, "server default", "tokens to generate per candidate"),
    Field("top_p", "top p", float, "server default", "nucleus sampling, in (0, 1]"),
    Field("top_k", "top k", int, "server default", "-1 = off, else at least 1"),
    Field("seed", "seed", int, "random", "same seed + same settings = same candidates"),
    Field("stop", "stop", str, 'none (e.g. \\n)', 'stop string (\\n = newline), or a JSON list: ["###", "\\n\\n"]'),
    Field("logprobs", "logprobs", int, "off", f"alternatives per token, 0-{VLLM_MAX_LOGPROBS} (0/empty = off); "
          "shades and inspects tokens (p, i); OpenAI API only"),
)
FIELD_NAMES = tuple(f.name for f in FIELDS) + ("beam_search", "extra")

OWN_CONTROLS = {f.name: f"the {f.label} field" for f in FIELDS} | {
    "n": "the n slider", "stream": "the stream switch", "prompt": "the prompt", "beam_search": "the beam search switch"}
"""Where the sidebar sets each of the app's own request fields (the others: their flag)."""


def own_field_problem(key: str) -> str | None:
    """Why ``key`` cannot be an extra field here (the app sets it), or None."""
    own = OWN_FIELDS.get(key)
    if own is None:
        return None
    return f"{key} is set by {OWN_CONTROLS.get(own, '--' + own.replace('_', '-'))}, not here"


def format_field(field: Field, value: Any) -> str:
    """What ``field`` shows for ``value`` (logprobs 0, off, shows empty like None)."""
    if field.kind is str:
        return format_stop(value)
    return "" if field.name == "logprobs" and value == 0 else format_value(value)


def format_value(value: Any) -> str:
    """A field's text for a parameter value (None: empty)."""
    if value is None:
        return ""
    if isinstance(value, float):
        return format(value, "g") if abs(value) < 1e16 else repr(value)
    return str(value)


def format_stop(stop: tuple[str, ...]) -> str:
    if not stop:
        return ""
    if len(stop) == 1 and not stop[0].startswith("["):
        return json.dumps(stop[0], ensure_ascii=False)[1:-1].replace('\\"', '"')
    return json.dumps(list(stop), ensure_ascii=False)


def parse_stop(text: str) -> tuple[str, ...]:
    """``\\n\\n`` -> one stop string (JSON escapes understood); ``["a", "b"]`` -> two."""
    if not text:
        return ()
    if text.lstrip().startswith("["):
        try:
            value = json.loads(text)
        except (ValueError, RecursionError):  # "[[[[…" pasted, nested past Python's recursion limit
            raise ValueError('not a JSON list: write ["a", "b"]') from None
        if not isinstance(value, list) or not all(isinstance(s, str) for s in value):
            raise ValueError("a JSON list of strings, please")
        return tuple(value)
    try:
        return (json.loads('"' + text.replace('"', '\\"') + '"'),)
    except ValueError:
        raise ValueError("bad escape: use \\n, \\t, \\\\ or \\uXXXX") from None


def parse_field(field: Field, text: str) -> Any:
    text = text.strip() if field.kind is not str else text
    if field.kind is str:
        return parse_stop(text)
    if not text:
        return None
    try:
        return field.kind(text)
    except ValueError:
        raise ValueError("a whole number, please" if field.kind is int else "a number, please") from None


class SamplingForm(Vertical):
    """Compact label/input rows; :meth:`read` turns them into :class:`SamplingParams`."""

    DEFAULT_CSS = Path(__file__).with_name("sampling_form.tcss").read_text()

    class Changed(Message):
        """A field changed (the app re-validates)."""

        def __init__(self, form: SamplingForm) -> None:
            super().__init__()
            self.form = form

        @property
        def control(self) -> SamplingForm:
            return self.form

    def __init__(self, params: SamplingParams, extra: Mapping[str, Any] | None = None, *,
                 id: str | None = None) -> None:
        super().__init__(id=id)
        self._initial = params
        self._initial_extra = dict(extra or {})
        self._shown_problems: dict[str, str] = {}  # label id -> the problem it shows

    def compose(self) -> ComposeResult:
        for field in FIELDS:
            text = format_field(field, getattr(self._initial, field.name))
            with Horizontal(classes="field-row"):
                yield Label(Content(field.label), classes="field-label")
                field_input = FoldedInput(
                    text,
                    placeholder=field.placeholder,
                    type={float: "number", int: "integer"}.get(field.kind, "text"),
                    valid_empty=True,
                    compact=True,
                    select_on_focus=False,
                    id=f"field-{field.name}",
                    what=f"the {field.label} field",
                    max_length=TEXT_INPUT_MAX_CHARS if field.kind is str else SHORT_INPUT_MAX_CHARS,
                )
                field_input.tooltip = field.tooltip
                yield field_input
            yield Label(id=f"problem-{field.name}", classes="field-problem", markup=False)
        yield SwitchRow("beam search", self._initial.beam_search, switch_id="field-beam_search",
                        tooltip="beam search of width n (streamed on legacy /generate; the OpenAI API does not stream it)")
        yield Label(id="problem-beam_search", classes="field-problem", markup=False)
        extra = PromptArea(format_lines(self._initial_extra), soft_wrap=True, tab_behavior="focus",
                         show_line_numbers=False, highlight_cursor_line=False, placeholder="min_p=0.05",
                         id="field-extra")
        extra.border_title = "more params"  # a PromptArea: keys in a burst go in as one edit
        extra.tooltip = ("more vLLM request fields, sent as they are: KEY=VALUE, one a line (min_p=0.05, "
                         "ignore_eos=true; the VALUE is JSON when it parses as JSON, else text)")
        yield extra
        yield Label(id="problem-extra", classes="field-problem", markup=False)
        yield Label(id="problem-other", classes="field-problem", markup=False)

    def on_mount(self) -> None:
        self.show_problems({})

    beams_stream: bool | None = None
    """The server streams beam search itself (legacy ``/generate``); False: the client runs it
    step by step (``vllm serve``, width limited); None until the protocol is known."""

    def read(self, base: SamplingParams, *, n: int, stream: bool) -> tuple[SamplingParams, dict[str, str]]:
        """The parameters the fields describe (``base`` supplies the rest) and every problem."""
        problems: dict[str, str] = {}
        changes: dict[str, Any] = {"n": n, "beam_search": self.query_one("#field-beam_search", Switch).value}
        for field in FIELDS:
            field_input = self.query_one(f"#field-{field.name}", FoldedInput)
            field_input.insert_typed()  # a key binding may read the fields before the typed keys went in
            text = field_input.value
            try:
                changes[field.name] = parse_field(field, text)
                if field.name == "logprobs" and changes["logprobs"] is None and base.logprobs == 0:
                    changes["logprobs"] = 0  # empty is off, 0 or None: as the request had it
            except ValueError as err:
                problems[field.name] = str(err)
                changes[field.name] = getattr(base, field.name)
        params = replace(base, **changes)
        legacy = self.beams_stream is True  # /generate: no logprobs
        for name, message in params.problems(stream=stream, client_beams=self.beams_stream is False,
                                             legacy=legacy).items():
            problems.setdefault(name, message)
        return params, problems

    def read_extra(self) -> tuple[dict[str, Any], str | None]:
        """The box's extra fields and its first problem (``line 2: ...``), or None."""
        fields, problems = parse_lines(self.query_one("#field-extra", TextArea).text, own_field_problem)
        if not problems:
            return fields, None
        number, message = problems[0]
        return fields, f"line {number}: {message}"

    def set_extra(self, extra: Mapping[str, Any]) -> None:
        """Show ``extra`` in the box, one ``KEY=VALUE`` a line."""
        self.query_one("#field-extra", TextArea).load_text(format_lines(extra))

    def set_params(self, params: SamplingParams) -> None:
        """Show ``params`` in the fields (a run loaded from the history)."""
        self._initial = params
        for field in FIELDS:
            self.query_one(f"#field-{field.name}", Input).value = format_field(field, getattr(params, field.name))
        self.query_one("#field-beam_search", Switch).value = params.beam_search

    def show_problems(self, problems: dict[str, str]) -> None:
        """Show each problem under its field; problems of other fields go last."""
        other = [message for name, message in problems.items() if name not in FIELD_NAMES and name != "n"]
        for name in FIELD_NAMES:
            message = problems.get(name)
            self._show_problem(self.query_one(f"#problem-{name}", Label), message)
            self.query_one(f"#field-{name}").set_class(bool(message), "-invalid")
        self._show_problem(self.query_one("#problem-other", Label), "; ".join(other))

    def _show_problem(self, label: Label, message: str | None) -> None:
        # Unchanged, left alone: a label's update lays out the screen (every run validates).
        text = make_inert(message) if message else ""
        if text != self._shown_problems.get(label.id or "", ""):  # composed empty
            self._shown_problems[label.id or ""] = text
            label.update(Content(text))
        label.display = bool(text)

    def focus_field(self, name: str) -> bool:
        """Focus the field called ``name``; False when there is no such field."""
        if name not in FIELD_NAMES:
            return False
        self.query_one(f"#field-{name}").focus()
        return True

    @on(Input.Changed)
    @on(Switch.Changed)
    @on(TextArea.Changed, "#field-extra")
    def _changed(self, event: Message) -> None:
        event.stop()
        self.post_message(self.Changed(self))
