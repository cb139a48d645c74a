"""Issue #16, round 2: the stream layer against servers that misbehave (tests/support/hostile_server2.py)
and a few recordings of a real vLLM. One clear line, no traceback, no text lost, no secret shown."""

from __future__ import annotations

import time

import pytest
from cli_runner import run_cli
from hostile_server2 import USAGE, HostileServer2
from replay_server import OPENAI, Recording, ReplayServer

from tui_client.core.protocol import (
    Api,
    ClientConfig,
    ErrorKind,
    GenerationRequest,
    RunState,
    SamplingParams,
    ServerInfo,
    Status,
    VLLMClient,
)
from tui_client.core.protocol.apis import ADAPTERS


async def run(server: HostileServer2 | ReplayServer, n: int = 1, stream: bool = True, url: str | None = None,
              prompt: str = "Hi", **config: object) -> RunState:
    async with VLLMClient(ClientConfig(url=url or server.url, **config)) as client:
        request = GenerationRequest(prompt, SamplingParams(n=n), stream=stream)
        return [e async for e in client.generate(request)][-1].state


async def scenario(name: str, n: int = 1, **config: object) -> tuple[RunState, HostileServer2]:
    with HostileServer2(name) as server:
        return await run(server, n, **config), server


def texts(state: RunState) -> dict[int, str]:
    return {c.index: c.text for c in state.ordered()}


def cli(server: HostileServer2, *args: str, url: str | None = None):
    return run_cli("generate", "--url", url or server.url, "--no-history", *args, timeout=60)


def one_error_line(stderr: str) -> str:
    errors = [line for line in stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "Traceback" not in stderr, stderr
    return errors[0]


# -- 1, 2: [DONE] ends the run -----------------------------------------------------------


async def test_done_ends_the_run_though_the_connection_stays_open() -> None:
    start = time.monotonic()
    state, _ = await scenario("done-keep-open", n=2, timeout=3.0)
    assert state.status is Status.FINISHED, state.error
    assert texts(state) == {0: "all done", 1: "here too"}
    assert time.monotonic() - start < 2.5  # not the --timeout


def test_cli_done_then_open_connection_exits_0_at_once() -> None:
    with HostileServer2("done-keep-open") as server:
        start = time.monotonic()
        out = cli(server, "--stream", "--n", "2", "--timeout", "5", "--prompt", "Hi")
    assert out.returncode == 0, out.stderr
    assert time.monotonic() - start < 4.5
    assert "Beam candidate 1: 'Hihere too'" in out.stdout


async def test_everything_after_done_is_ignored_and_counted() -> None:
    state, _ = await scenario("after-done", n=1)
    assert state.status is Status.FINISHED and state.error is None
    assert texts(state) == {0: "the end"}
    assert "ignored 3 events the server sent after [DONE]" in state.notes


# -- 3: a stream request answered with one JSON body -------------------------------------------


@pytest.mark.parametrize("api", [Api.COMPLETIONS, Api.CHAT])
async def test_a_stream_answered_with_a_whole_json_body_is_read_as_one(api: Api) -> None:
    name = "json-body-chat" if api is Api.CHAT else "json-body-completions"
    state, _ = await scenario(name, n=2, api=api)
    assert state.status is Status.FINISHED, state.error
    expect = {0: "reply 0", 1: "reply 1"} if api is Api.CHAT else {0: " text 0", 1: " text 1"}
    assert texts(state) == expect
    assert state.usage is not None and state.usage.completion_tokens == USAGE["completion_tokens"]
    assert all(c.finish_reason for c in state.ordered())


async def test_a_stream_answered_with_a_json_error_fails_in_one_line() -> None:
    state, _ = await scenario("json-error-body", n=1)
    assert state.status is Status.FAILED and state.error is not None
    assert "the engine is sleeping" in str(state.error) and "[DONE]" not in str(state.error)


# -- 4: choices without an index ---------------------------------------------------------


@pytest.mark.parametrize("api", [Api.COMPLETIONS, Api.CHAT])
async def test_a_missing_index_is_0_when_n_is_1(api: Api) -> None:
    state, _ = await scenario("no-index", n=1, api=api)
    assert state.status is Status.FINISHED, state.error
    assert texts(state) == {0: "no index"} and state.candidates[0].finish_reason == "stop"
    assert not any("malformed" in note or "returned" in note for note in state.notes), state.notes


async def test_a_run_that_returned_nothing_fails() -> None:
    state, _ = await scenario("no-index", n=2)  # two candidates: an index-less choice is nobody's
    assert state.status is Status.FAILED and state.error is not None
    assert "without a single candidate (0 of 2 returned)" in str(state.error) and not state.candidates


def test_cli_a_run_that_returned_nothing_exits_1_with_one_line() -> None:
    with HostileServer2("no-index") as server:
        out = cli(server, "--stream", "--n", "2")
        single = cli(server, "--stream", "--prompt", "Hi")
    assert out.returncode == 1
    assert "without a single candidate" in one_error_line(out.stderr)
    assert single.returncode == 0 and "Beam candidate 0: 'Hino index'" in single.stdout, single.stderr


# -- 5: choices null with usage ----------------------------------------------------------


async def test_null_choices_with_usage_keeps_the_usage() -> None:
    state, _ = await scenario("null-choices-usage")
    assert state.status is Status.FINISHED
    assert state.usage is not None and state.usage.to_json() == USAGE
    assert not any("malformed" in note for note in state.notes), state.notes


# -- 6: token counts ---------------------------------------------------------------------


async def test_token_counts_count_events_not_pieces_of_text() -> None:
    """The real Japanese run: 40 tokens each (finish_reason length, max_tokens 40), 26 and 27 with text."""
    rec = Recording.load(OPENAI / "completions-unicode-stream.json")
    with ReplayServer(rec) as server:
        state = await run(server, n=2, prompt=rec.request["json"]["prompt"])
    assert state.status is Status.FINISHED, state.error
    assert [c.tokens for c in state.ordered()] == [40, 40]


async def test_chat_role_event_is_not_a_token() -> None:
    rec = Recording.load(OPENAI / "chat-stream-n3.json")
    with ReplayServer(rec) as server:
        state = await run(server, n=3, api=Api.CHAT, prompt=rec.request["json"]["messages"][-1]["content"])
    assert state.status is Status.FINISHED, state.error
    assert [c.tokens for c in state.ordered()] == [40, 40, 40]  # 41 events each: the first says the role


async def test_chat_tokens_without_text_count_and_usage_is_preferred() -> None:
    state, _ = await scenario("japanese-chat", api=Api.CHAT)
    assert state.status is Status.FINISHED and texts(state) == {0: "こんにちは"}
    assert state.candidates[0].tokens == 8


def test_tokens_per_second_while_streaming_as_at_the_end() -> None:
    """One unit in the run summary: tok/s from the token counts while streaming, from usage at the end."""
    from tui_client.ui.widgets.chrome.run_summary import describe_run

    rec = Recording.load(OPENAI / "completions-unicode-stream.json")
    state = RunState(GenerationRequest("x", SamplingParams(n=2), stream=True), ServerInfo("http://h", Api.COMPLETIONS, "m"))
    state.started -= 1.0
    adapter = ADAPTERS[Api.COMPLETIONS](state, max_line_bytes=1 << 20)
    body = rec.body
    adapter.feed(body[: len(body) // 2])
    state.first_text_at = 0.5  # as if the text had started half a second ago
    assert state.status is Status.STREAMING
    assert "tokens_per_second" in state.timing() and "chars_per_second" not in state.timing()
    assert "tok/s" in describe_run(state, stream=True) and "chars/s" not in describe_run(state, stream=True)


# -- 7: "1 chars" ------------------------------------------------------------------------


def test_one_char_is_singular_in_the_run_summary() -> None:
    from tui_client.ui.widgets.chrome.run_summary import describe_run

    state = RunState(GenerationRequest("x", SamplingParams(n=2), stream=True), ServerInfo("http://h", Api.COMPLETIONS, "m"))
    assert "shared prefix 1 char ·" in describe_run(state, stream=True, shared=1) + " ·"
    assert "shared prefix 2 chars" in describe_run(state, stream=True, shared=2)


def test_cli_one_character_received_is_singular() -> None:
    with HostileServer2("one-char-then-die") as server:
        out = cli(server, "--stream")
    assert out.returncode == 1
    assert one_error_line(out.stderr).endswith("(1 character received is printed above)"), out.stderr


# -- 8: a connection closed before the answer ---------------------------------------------


async def test_a_kept_alive_connection_closed_on_the_request_is_retried_once() -> None:
    state, server = await scenario("close-first-post")
    assert state.status is Status.FINISHED, state.error
    assert texts(state) == {0: "second try"} and server.posts == 2


@pytest.mark.parametrize("name", ["reset-before-headers", "close-before-headers"])
async def test_no_answer_started_is_not_called_mid_answer(name: str) -> None:
    state, server = await scenario(name)
    assert state.status is Status.FAILED and state.error is not None
    assert state.error.kind is ErrorKind.DISCONNECTED
    message = str(state.error)
    assert "before answering" in message and "no answer started" in message, message
    assert "mid-answer" not in message and "text so far" not in message
    assert server.posts == 2  # once more on a fresh connection, not more


# -- 9: 429 and empty bodies --------------------------------------------------------------


async def test_429_with_retry_after_says_how_long_to_wait() -> None:
    state, server = await scenario("429-retry-after")
    assert state.error is not None and state.error.status == 429
    assert str(state.error) == f"{server.url}/v1/completions answered 429 Too Many Requests: retry in 30 s"


async def test_429_with_a_json_message_keeps_it_and_the_wait() -> None:
    state, server = await scenario("429-json")
    assert str(state.error) == f"{server.url}/v1/completions answered 429: rate limit reached for this key; retry in 2 s"


async def test_an_empty_error_body_reads_as_the_status() -> None:
    state, server = await scenario("503-empty")
    assert str(state.error) == f"{server.url}/v1/completions answered 503 Service Unavailable"


@pytest.mark.parametrize(("header", "said"), [
    ("30", "30 s"), ("600", "10 min"), ("7199", "120 min"), ("10800", "3 h"), ("172800", "48 h"),
    ("100000000000000", "more than 2 days (as the server says)"), ("Fri, 31 Dec 9999 23:59:59 GMT", "more than 2 days (as the server says)"),
    ("soon", None), ("", None),
])
def test_retry_after_is_said_in_a_unit_that_fits(header: str, said: str | None) -> None:
    from tui_client.core.protocol.client import _retry_after
    assert _retry_after(header) == said


def test_cli_429_is_one_line() -> None:
    with HostileServer2("429-retry-after") as server:
        out = cli(server, "--stream")
    assert out.returncode == 1
    assert one_error_line(out.stderr) == f"error: {server.url}/v1/completions answered 429 Too Many Requests: retry in 30 s"


# -- 10: a query string in --url ----------------------------------------------------------

QUERY = "api-version=2024-06&token=s3cret"


async def test_the_query_of_the_url_goes_on_every_request() -> None:
    with HostileServer2("fine") as server:
        state = await run(server, url=f"{server.url}/v1?{QUERY}")
    assert state.status is Status.FINISHED, state.error
    assert texts(state) == {0: "fine"}
    paths = [r.path for r in server.received]
    assert len(paths) >= 2 and all(p.endswith("?" + QUERY) for p in paths), paths
    assert "s3cret" not in state.server.url


async def test_the_query_is_never_shown_in_an_error() -> None:
    with HostileServer2("plain-500") as server:
        state = await run(server, url=f"{server.url}/v1/completions?{QUERY}")
    assert state.error is not None and state.error.status == 500
    message = str(state.error)
    assert "s3cret" not in message and "s3cret" not in str(state.error.url)
    assert message.startswith(f"{server.url}/v1/completions?api-version=…&token=… answered 500"), message


def test_cli_never_prints_the_query_values() -> None:
    with HostileServer2("plain-500") as server:
        out = cli(server, "--stream", url=f"{server.url}?{QUERY}")
        as_json = cli(server, "--stream", "--json", url=f"{server.url}?{QUERY}")
    assert out.returncode == 1 and as_json.returncode == 1
    one_error_line(out.stderr)
    assert "s3cret" not in out.stdout + out.stderr + as_json.stdout + as_json.stderr
