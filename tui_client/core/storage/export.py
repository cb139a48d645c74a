"""A run as a file: JSON (``tui-client generate --json``'s shape plus the request) or Markdown.

With ``--logprobs`` each candidate has its tokens: in the JSON as ``generate --json`` prints
them, in Markdown as a folded table. Model text is untrusted, also in Markdown: each
candidate sits in a fenced block whose fence is longer than any run of backticks in it (no
line of the text can close it), and short values (model id, stop strings, errors, tokens)
are one-line code spans with their control characters spelled out.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable

import orjson

from tui_client.core.protocol import Candidate, Parent, RunState
from tui_client.core.protocol.compare import group_summary
from tui_client.core.protocol.token_facts import logprob_text
from tui_client.core.text.wording import count_of
from tui_client.core.storage.history import TREE_TAIL_CHARS, StoredRun, TreeLine

__all__ = ["FORMATS", "describe_parent", "run_document", "to_json", "to_markdown", "tree_lines"]

TIMING = {
    "time_to_first_text": "first text {:.2f} s",
    "total": "total {:.2f} s",
    "tokens_per_second": "{:.1f} tok/s",
    "chars_per_second": "{:.0f} chars/s",
}


def describe_parent(parent: Parent) -> str:
    """``run 12, candidate 1`` (a continuation) or ``run 12, candidate 1 at character 40`` (a fork)."""
    where = f" at character {parent.offset}" if parent.offset is not None else ""
    return f"run {parent.run}, candidate {parent.candidate}{where}"


def tree_lines(lines: list[TreeLine], *, origin_note: str | None = None, mark: int | None = None) -> list[str]:
    """``12  n=4  finished  '…end of its prompt'``, each child indented under its parent with
    the candidate it goes on from (``c1``, a fork ``c1@40``); run ``mark`` gets a ``▶``."""
    out = []
    for line in lines:
        if line.depth == 0:
            where = f"  (from {origin_note})" if origin_note else ""
        else:
            at = f"@{line.offset}" if line.offset is not None else ""
            where = f"  c{line.candidate}{at}"
        tail = ("…" if len(line.prompt_tail) >= TREE_TAIL_CHARS else "") + line.prompt_tail
        shown = repr(tail) if tail else "(the reply, continued)"  # chat with no next turn
        indent = "  " * line.depth + ("└ " if line.depth else "")
        pointer = "▶ " if mark is not None and line.id == mark else ""
        out.append(f"{indent}{pointer}{line.id}{where}  n={line.n}  {line.status}  {shown}")
    return out


def run_document(run: StoredRun | RunState) -> dict[str, object]:
    """``generate --json``'s document, plus prompt, params, stream, system (the chat API's
    system prompt, or null) and extra (the extra fields sent) (and id, created)."""
    state = run.state if isinstance(run, StoredRun) else run
    request = state.request
    doc: dict[str, object] = {
        "prompt": request.prompt,
        "params": request.params.as_dict(),
        "stream": request.stream,
        "parent": request.parent.to_json() if request.parent else None,
        "system": request.system or None,
        "extra": dict(request.extra),
        **state.to_json(),
    }
    if request.turns:
        doc["turns"] = [turn.to_json() for turn in request.turns]
    if isinstance(run, StoredRun) and run.groups:  # a comparison: the top level is the first server's
        doc["servers"] = [group.to_json() for group in run.groups]
    if isinstance(run, StoredRun):
        doc = {"id": run.id, "created": run.created.isoformat(timespec="seconds"), **doc}
    return doc


def to_json(run: StoredRun | RunState) -> str:
    doc = run_document(run)
    try:
        return orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode() + "\n"
    except orjson.JSONEncodeError:  # an integer past 64 bits, saved before values were bounded
        return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def to_markdown(run: StoredRun | RunState) -> str:
    state = run.state if isinstance(run, StoredRun) else run
    request, server = state.request, state.server
    lines = [f"# tui-client run {run.id}" if isinstance(run, StoredRun) else "# tui-client run", ""]
    if isinstance(run, StoredRun):
        lines.append(f"- **Date:** {run.created:%Y-%m-%d %H:%M:%S %z}")
    groups = run.groups if isinstance(run, StoredRun) else []
    if groups:
        lines.append(f"- **Compared:** {', '.join(f'{g.label} {_code(g.state.server.url)}' for g in groups)}")
        lines += [f"- **{g.label}:** {_code(group_summary(g))}" for g in groups]
    api = server.api.value if server.api else "unknown"
    lines.append(f"- **Server:** {_code(server.url)} ({api}{', model ' + _code(server.model) if server.model else ''})")
    lines.append(f"- **Status:** {state.status.value}, {len(state.candidates)} of {request.params.n} candidates")
    if state.usage is not None:
        usage = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in state.usage.to_json().items() if v is not None)
        lines.append(f"- **Usage:** {usage or 'not reported'}")
    timing = ", ".join(TIMING[k].format(v) for k, v in state.timing().items() if v is not None and k in TIMING)
    lines.append(f"- **Timing:** {timing}")
    if state.error is not None:
        lines.append(f"- **Error:** {_code(state.error.message)}")
    lines += [f"- **Note:** {_code(note)}" for note in state.notes]
    if request.parent is not None:
        lines.append(f"- **From:** {describe_parent(request.parent)}")
    if request.system:
        lines += ["", "## System prompt", "", *_fenced(request.system)]
    for turn in request.turns:
        lines += ["", f"## {turn.role.capitalize()}", "", *_fenced(turn.content)]
    lines += ["", "## Prompt", "", *_fenced(request.prompt), "", "## Parameters", "",
              "| parameter | value |", "| --- | --- |", f"| stream | {'on' if request.stream else 'off'} |"]
    for name, value in request.params.as_dict().items():
        if value is None or value is False or value == []:
            continue  # left to the server
        cell = _code(json.dumps(value, ensure_ascii=False)).replace("|", "\\|") if name == "stop" else str(value)
        lines.append(f"| {name} | {cell} |")
    for name, value in request.extra.items():  # sent as they are: shown as the JSON sent
        cell = _code(json.dumps(value, ensure_ascii=False)).replace("|", "\\|")
        lines.append(f"| {name} | {cell} |")
    for label, group_state in ([(g.label, g.state) for g in groups] if groups else [(None, state)]):
        lines += _candidates_md(group_state, label)
    return "\n".join(lines) + "\n"


def _candidates_md(state: RunState, label: str | None) -> list[str]:
    """Each candidate's section (``## A · Candidate 0`` in a comparison)."""
    lines: list[str] = []
    for cand in state.ordered():
        facts = [cand.status.value]
        if cand.finish_reason:
            facts.append(f"finish reason {_code(cand.finish_reason)}")
        if cand.tokens is not None:
            facts.append(f"{cand.tokens} tokens")
        facts.append(count_of(cand.length, "character"))
        if cand.mean_logprob is not None:
            facts.append(f"cumulative logprob {logprob_text(cand.cumulative_logprob, 4)}, "
                         f"mean logprob {logprob_text(cand.mean_logprob, 4)}, "
                         f"perplexity {cand.perplexity:.4g}")
        title = f"{_plain(label)} · Candidate {cand.index}" if label else f"Candidate {cand.index}"
        lines += ["", f"## {title}", "", ", ".join(facts), "", *_fenced(cand.text)]
        if cand.token_texts:
            lines += ["", *_token_table(cand)]
    return lines


def _plain(label: str) -> str:
    """A server label in a heading: only what a label may hold (letters, digits, ``_.-``)."""
    return re.sub(r"[^A-Za-z0-9_.-]", "?", label)


def _token_table(cand: Candidate) -> list[str]:
    """The candidate's tokens, folded: each with its logprob, probability and alternatives."""
    rows = ["<details><summary>tokens</summary>", "", "| # | token | logprob | probability | alternatives |",
            "| --- | --- | --- | --- | --- |"]
    for k, (text, value, top) in enumerate(zip(cand.token_texts, cand.token_logprobs, cand.token_tops)):
        alternatives = ", ".join(f"{_cell(alt)} {_percent(alt_value)}" for alt, alt_value in top)
        rows.append(f"| {k} | {_cell(text)} | {logprob_text(value, 4)} | {_percent(value)} | {alternatives} |")
    return [*rows, "", "</details>"]


def _cell(text: str) -> str:
    """A token as a code span fit for a table cell (its quotes show its spaces)."""
    return _code(json.dumps(text, ensure_ascii=False)).replace("|", "\\|")


def _percent(value: float) -> str:
    return "-" if value != value else f"{100 * math.exp(min(value, 0.0)):.1f}%"  # exp(800) overflows


FORMATS: dict[str, Callable[[StoredRun | RunState], str]] = {"json": to_json, "md": to_markdown}


def _longest_backtick_run(text: str) -> int:
    return max((len(run) for run in re.findall("`+", text)), default=0)


def _fenced(text: str) -> list[str]:
    """A fenced code block no line of ``text`` can close."""
    fence = "`" * max(3, _longest_backtick_run(text) + 1)
    return [fence + "text", text, fence]


def _code(value: str) -> str:
    """A one-line inline code span; non-printable characters are shown escaped."""
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in value)
    if not text:
        return '""'
    fence = "`" * (_longest_backtick_run(text) + 1)
    pad = " " if text[0] in "` " or text[-1] in "` " else ""
    return f"{fence}{pad}{text}{pad}{fence}"
