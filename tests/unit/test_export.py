"""Export a run as JSON and Markdown; model text cannot break out of its fenced block."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from runs import ended_run, logprob_run

from tui_client.core.protocol import ClientError, ErrorKind, Status
from tui_client.core.storage.export import FORMATS, run_document, to_json, to_markdown
from tui_client.core.storage.history import HistoryStore

GENERATE_JSON_KEYS = {"candidates", "usage", "timing", "server", "status"}


def test_json_is_generate_json_plus_the_request(tmp_path: Path) -> None:
    state = ended_run()
    doc = json.loads(to_json(state))
    assert GENERATE_JSON_KEYS <= set(doc)
    generate_json = {k: v for k, v in doc.items() if k not in ("prompt", "params", "stream", "system", "extra", "parent")}
    assert generate_json == json.loads(json.dumps(state.to_json()))
    assert doc["prompt"] == "Once upon" and doc["stream"] is True and doc["system"] is None and doc["extra"] == {}
    assert doc["parent"] is None
    assert doc["params"] == {**state.request.params.as_dict(), "stop": ["\n", "|"]}
    with HistoryStore(tmp_path / "h.sqlite3") as store:
        stored = store.get(store.save(state))
    assert stored is not None
    stored_doc = run_document(stored)
    assert stored_doc.pop("id") == stored.id and stored_doc.pop("created") == stored.created.isoformat(timespec="seconds")
    assert stored_doc == run_document(state)


def test_markdown_layout() -> None:
    state = ended_run(error=ClientError(ErrorKind.HTTP, "boom `x`"), status=Status.FAILED)
    md = to_markdown(state)
    assert md.startswith("# tui-client run\n")
    assert "- **Server:** `http://h:8000` (completions, model `m1`)" in md
    assert "- **Error:** `` boom `x` ``" in md
    assert "| temperature | 0.7 |" in md and "| top_p |" not in md  # unset: left to the server
    assert '| stop | `["\\n", "\\|"]` |' in md  # the pipe cannot split the cell, \n shown escaped
    assert "## Candidate 1\n\nfailed, finish reason `stop`, 4 tokens, 11 characters\n\n```text\n a mattress\n```\n" in md
    assert FORMATS == {"json": to_json, "md": to_markdown}


def code_blocks(md: str) -> list[str]:
    return [t.content for t in MarkdownIt("commonmark").parse(md) if t.type == "fence"]


def test_a_backtick_run_longer_than_the_fence_does_not_close_it() -> None:
    text = "before\n```\n````` still inside\n```````\n# not a heading"
    md = to_markdown(ended_run(prompt="say ```", texts=(text, "")))
    assert code_blocks(md) == ["say ```\n", text + "\n", "\n"]
    assert "````````text\n" + text + "\n````````\n" in md


pieces = ["`", "~", "\n", "\r", "#", "|", " ", "a", "<b>", "\x1b", "\u202e"]
hostile = st.lists(st.sampled_from(pieces), max_size=40).map("".join)


@settings(max_examples=200, deadline=None)
@given(prompt=hostile, texts=st.lists(hostile, min_size=1, max_size=3), model=hostile)
def test_model_text_never_leaves_its_fence(prompt: str, texts: list[str], model: str) -> None:
    state = ended_run(prompt=prompt, texts=tuple(texts))
    state.server = type(state.server)(state.server.url, state.server.api, model or None)
    tokens = MarkdownIt("commonmark").enable("table").parse(to_markdown(state))
    fences = [t.content for t in tokens if t.type == "fence"]
    normalized = [(s + "\n").replace("\r\n", "\n").replace("\r", "\n") for s in (prompt, *texts)]  # CommonMark line ends
    assert fences == normalized
    headings = [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "heading_open"]
    assert headings == ["tui-client run", "Prompt", "Parameters", *(f"Candidate {i}" for i in range(len(texts)))]
    rows = [t for t in tokens if t.type == "tr_open"]
    assert len(rows) == 8  # header, stream, n, temperature, top_k, max_tokens, seed, stop


def test_logprobs_in_json_as_generate_prints_them() -> None:
    state = logprob_run()
    doc = json.loads(to_json(state))
    first = doc["candidates"][0]
    assert [t["token"] for t in first["logprobs"]] == [" a", " |", " `b`", ""]
    assert [t["logprob"] for t in first["logprobs"]] == [-0.5, -9999.0, None, -1.25]  # -inf as vLLM writes it, NaN: none
    assert first["logprobs"][0]["top"] == [{"token": " a", "logprob": -0.5}, {"token": " the", "logprob": -1.0}]
    assert first["cumulative_logprob"] == -9999.0 and first["perplexity"] is None
    assert doc["candidates"][1]["cumulative_logprob"] == -2.125 and doc["candidates"][1]["mean_logprob"] == -1.0625
    assert doc["params"]["logprobs"] == 2
    json.dumps(doc, allow_nan=False)


def token_rows(md: str) -> list[list[str]]:
    """The cells of every row of the token tables (not of the parameters table)."""
    tokens = MarkdownIt("commonmark").enable("table").parse(md)
    rows, row = [], None
    for t in tokens:
        if t.type == "tr_open":
            row = []
        elif t.type == "inline" and row is not None:
            row.append(t.content)
        elif t.type == "tr_close":
            rows.append(row)
            row = None
    return [r for r in rows if len(r) != 2]


def test_markdown_has_each_candidates_tokens_in_a_folded_table() -> None:
    md = to_markdown(logprob_run())
    assert "cumulative logprob -inf, mean logprob -inf, perplexity inf" in md
    assert "cumulative logprob -2.1250, mean logprob -1.0625, perplexity 2.894" in md
    rows = token_rows(md)
    assert rows[0] == ["#", "token", "logprob", "probability", "alternatives"] and len(rows) == 2 + 4 + 2
    assert rows[2] == ["1", '`" |"`', "-inf", "0.0%", '`" |"` 0.0%']  # (the pipes are escaped in the file)
    assert rows[3] == ["2", '``" `b`"``', "nan", "-", ""]
    assert rows[4] == ["3", '`""`', "-1.2500", "28.7%", '`"<|im_end|>"` 28.7%, `"\\n"` 13.5%']
    assert rows[-1] == ["1", '`"本"`', "-0.1250", "88.2%", '`"本"` 88.2%']
    assert md.count("<details><summary>tokens</summary>") == 2


@settings(max_examples=200, deadline=None)
@given(st.lists(hostile, min_size=1, max_size=6))
def test_tokens_never_break_their_table(pieces: list[str]) -> None:
    state = ended_run(texts=("".join(pieces),))
    state.candidates[0].add_tokens(pieces, [-1.0] * len(pieces), [((p, -1.0),) for p in pieces])
    md = to_markdown(state)
    rows = token_rows(md)
    assert len(rows) == 1 + len(pieces) and all(len(r) == 5 for r in rows)
    assert code_blocks(md)[1] == ("".join(pieces) + "\n").replace("\r\n", "\n").replace("\r", "\n")
