"""Property tests for the stream framing: any split of a valid stream into chunks
gives exactly the unsplit result; garbage never raises anything but ClientError."""

from __future__ import annotations

import json

from chunks import split_at
from hypothesis import given, settings
from hypothesis import strategies as st

from tui_client.core.protocol import ClientError
from tui_client.core.protocol.framing import RecordSplitter, SSEDecoder

texts = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)


def sse_stream(payloads: list[str], line_end: str) -> bytes:
    out = ""
    for p in payloads:
        out += f": keep-alive{line_end}event: message{line_end}data: {json.dumps(p, ensure_ascii=False)}{line_end}{line_end}"
    return out.encode("utf-8")


@settings(max_examples=300, deadline=None)
@given(st.lists(texts, max_size=8), st.sampled_from(["\n", "\r\n", "\r"]), st.lists(st.integers(0, 10_000), max_size=12))
def test_sse_any_split_gives_the_same_events(payloads: list[str], line_end: str, cuts: list[int]) -> None:
    data = sse_stream(payloads, line_end)
    whole = SSEDecoder()
    expected = whole.feed(data) + whole.close()
    split = SSEDecoder()
    got = [e for piece in split_at(data, cuts) for e in split.feed(piece)] + split.close()
    assert got == expected
    assert [json.loads(d) for _, d in got] == payloads


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(texts, max_size=4), min_size=1, max_size=6), st.sampled_from([b"\n", b"\0"]),
       st.lists(st.integers(0, 10_000), max_size=12))
def test_records_any_split_gives_the_same_records(lines: list[list[str]], delim: bytes, cuts: list[int]) -> None:
    data = b"".join(json.dumps({"text": line}, ensure_ascii=False).encode() + delim for line in lines)
    splitter = RecordSplitter()
    got = [r for piece in split_at(data, cuts) for r in splitter.feed(piece)]
    assert [json.loads(r)["text"] for r in got] == lines
    assert splitter.close() == b""


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=64), max_size=10))
def test_garbage_never_raises_anything_but_client_error(chunks: list[bytes]) -> None:
    for decoder in (SSEDecoder(max_event_bytes=256), RecordSplitter(max_record_bytes=256)):
        try:
            for chunk in chunks:
                decoder.feed(chunk)
            decoder.close()
        except ClientError:
            pass


def test_oversized_line_is_a_client_error() -> None:
    splitter = RecordSplitter(max_record_bytes=1000)
    try:
        for _ in range(20):
            splitter.feed(b"x" * 100)
    except ClientError as err:
        assert "longer than 1,000 bytes" in str(err)
    else:
        raise AssertionError("no error for a 2000-byte line with a 1000-byte cap")
