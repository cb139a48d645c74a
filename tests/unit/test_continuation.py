"""Going on from a candidate: the request a continuation or a fork makes (issue #14), and the run tree in the history."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path

from runs import ended_run

from tui_client.core.protocol import Api, GenerationRequest, Parent, RunState, SamplingParams, ServerInfo, Turn
from tui_client.core.protocol.apis import ChatAdapter
from tui_client.core.protocol.continuation import ParentLink, continue_from, fork_at
from tui_client.core.storage.export import run_document, to_markdown, tree_lines
from tui_client.core.storage.history import MIGRATIONS, SCHEMA_VERSION, HistoryStore

PARAMS = SamplingParams(n=3, temperature=0.7)


def chat_body(request: GenerationRequest) -> dict[str, object]:
    """What the chat protocol sends for ``request``."""
    return ChatAdapter(RunState(request, ServerInfo("http://h", Api.CHAT, "m")), max_line_bytes=1 << 20).body(request, "m")


def test_completions_continue_with_the_prompt_and_the_text() -> None:
    request = GenerationRequest("Once upon", PARAMS, stream=False)
    child = continue_from(request, " a time", chat=False, parent=Parent(4, 1))
    assert (child.prompt, child.turns, child.parent, child.params, child.stream) == (
        "Once upon a time", (), Parent(4, 1), PARAMS, False)
    assert continue_from(request, " a time", chat=False, next_turn=", said").prompt == "Once upon a time, said"


def test_chat_continue_makes_the_text_the_assistant_turn() -> None:
    request = GenerationRequest("Hi", PARAMS)
    child = continue_from(request, "Hello!", chat=True, next_turn="How are you?")
    assert child.turns == (Turn("user", "Hi"), Turn("assistant", "Hello!"))
    assert child.messages() == [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"},
                                {"role": "user", "content": "How are you?"}]
    assert not child.continues_reply
    grandchild = continue_from(child, "Fine.", chat=True, next_turn="Good")
    assert [t.content for t in grandchild.turns] == ["Hi", "Hello!", "How are you?", "Fine."]


def test_chat_without_a_next_turn_goes_on_with_the_reply() -> None:
    request = GenerationRequest("Hi", PARAMS)
    child = continue_from(request, "Hello", chat=True)
    assert child.continues_reply and child.messages()[-1] == {"role": "assistant", "content": "Hello"}
    body = chat_body(child)
    assert body["messages"] == [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]
    assert body["continue_final_message"] is True and body["add_generation_prompt"] is False
    # Its candidate goes on with that reply: continuing it makes one longer assistant turn.
    grandchild = continue_from(child, ", world", chat=True, next_turn="Next")
    assert grandchild.turns == (Turn("user", "Hi"), Turn("assistant", "Hello, world"))
    assert "continue_final_message" not in chat_body(grandchild)


def test_a_fork_cuts_the_text_at_the_token_and_puts_the_alternative_there() -> None:
    request = GenerationRequest("The cat", PARAMS)
    text = " sat on the mat"
    completions = fork_at(request, text, 4, " slept", chat=False, parent=Parent(9, 2, 4))
    assert completions.prompt == "The cat sat slept" and completions.parent == Parent(9, 2, 4)
    chat = fork_at(request, text, 4, " slept", chat=True)
    assert chat.continues_reply and chat.turns == (Turn("user", "The cat"), Turn("assistant", " sat slept"))


def test_a_link_names_the_parent_once_it_has_a_history_id() -> None:
    state = ended_run()
    link = ParentLink(state, 1, 7)
    assert link.resolve() is None
    state.history_id = 12
    assert link.resolve() == Parent(12, 1, 7)


def saved(store: HistoryStore, prompt: str, parent: Parent | None = None, turns: tuple[Turn, ...] = ()) -> int:
    state = ended_run(prompt)
    state.request = replace(state.request, parent=parent, turns=turns)
    return store.save(state)


def test_the_history_keeps_parents_and_turns_and_draws_the_tree(tmp_path: Path) -> None:
    with HistoryStore(tmp_path / "h.sqlite3") as store:
        root = saved(store, "root")
        a = saved(store, "root a", Parent(root, 0))
        b = saved(store, "root b" + "x" * 100, Parent(root, 1, 3))
        a1 = saved(store, "", Parent(a, 1), (Turn("user", "u"), Turn("assistant", "v")))
        other = saved(store, "unrelated")
        run = store.get(a1)
        assert run is not None and run.state.history_id == a1
        assert run.request().parent == Parent(a, 1) and run.request().turns == (Turn("user", "u"), Turn("assistant", "v"))
        assert run_document(run)["parent"] == {"run": a, "candidate": 1, "offset": None}
        assert run_document(run)["turns"] == [{"role": "user", "content": "u"}, {"role": "assistant", "content": "v"}]
        assert f"**From:** run {a}, candidate 1" in to_markdown(run)
        assert {s.id: s.parent for s in store.list()} == {root: None, a: root, b: root, a1: a, other: None}
        assert [c.id for c in store.children(root)] == [a, b]
        assert store.root_of(a1) == root and store.root_of(other) == other
        lines = store.tree(root)
        assert [(line.depth, line.id, line.candidate, line.offset) for line in lines] == [
            (0, root, None, None), (1, a, 0, None), (2, a1, 1, None), (1, b, 1, 3)]
        assert tree_lines(lines, mark=a) == [
            f"{root}  n=2  finished  'root'",
            f"  └ ▶ {a}  c0  n=2  finished  'root a'",
            f"    └ {a1}  c1  n=2  finished  (the reply, continued)",
            f"  └ {b}  c1@3  n=2  finished  '…{('root b' + 'x' * 100)[-60:]}'",
        ]
        assert store.delete(a)  # its child keeps the link; the tree starts at the child now
        assert store.root_of(a1) == a1 and [line.id for line in store.tree(root)] == [root, b]
        assert store.tree(999) == []


def test_a_history_file_from_before_the_tree_opens_and_gains_it(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    db = sqlite3.connect(path)
    for statements in MIGRATIONS[:2]:
        for statement in statements:
            db.execute(statement)
    db.execute("INSERT INTO runs VALUES (1, 1700000000.0, 'http://h', 'chat', 'm', NULL, 'old prompt',"
               " '{\"n\": 1, \"temperature\": 0.5}', 1, 1, 'finished', NULL, 0.1, 0.5, '[]', NULL)")
    db.execute("INSERT INTO candidates VALUES (1, 0, ' old text', 'finished', '\"stop\"', 'null', 2, 0.1, 0.4)")
    db.execute("PRAGMA user_version = 2")
    db.commit()
    db.close()
    with HistoryStore(path) as store:
        old = store.get(1)
        assert old is not None and old.request().parent is None and old.request().turns == ()
        child = saved(store, "new", Parent(1, 0))
        assert [line.id for line in store.tree(1)] == [1, child]
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_a_stored_request_round_trips_through_the_chat_body(tmp_path: Path) -> None:
    request = GenerationRequest("", PARAMS, turns=(Turn("user", "Hi"), Turn("assistant", "Hel")), parent=Parent(1, 0, 3))
    state = ended_run()
    state.request, state.server = request, ServerInfo("http://h", Api.CHAT, "m")
    with HistoryStore(tmp_path / "h.sqlite3") as store:
        run = store.get(store.save(state))
    assert run is not None and chat_body(run.request()) == chat_body(request)
