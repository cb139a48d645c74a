"""The streams the benchmark serves: synthetic ones of both protocols, and real recordings.

A :class:`Scenario` names a stream and knows how to build its bytes (the HTTP body,
already framed as HTTP/1.1 chunks, one chunk per legacy line or SSE event, as vLLM's
uvicorn sends them) and the :class:`~tui_client.core.protocol.GenerationRequest` a client
sends for it. Building is deterministic: the floor and the app read the same bytes.

Synthetic text is word-like: tokens of 4-6 characters (a space and a word), with
punctuation and a line break now and then, each candidate from its own seed.
"""

from __future__ import annotations

import base64
import json
import random
from dataclasses import asdict, dataclass
from pathlib import Path

from tui_client.core.protocol import Api, GenerationRequest, SamplingParams

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
RECORDINGS = sorted(FIXTURES.glob("vllm-0.32.0-*/*-stream-*.json"))

PROMPT = "Once upon a time"
MODEL = "bench-model"

BLOB_BYTES = 1 << 20
"""The server writes the body in blobs of about this size (many HTTP chunks each)."""

_WORDS = ["the", "of", "and", "to", "in", "is", "was", "that", "for", "on", "with", "as", "by", "at", "from", "his", "her", "they", "which", "this", "have", "had", "not", "are", "but", "were", "all", "one", "been", "their", "there", "when", "would", "who", "will", "more", "no", "if", "out", "so", "said", "what", "up", "its", "about", "into", "than", "them", "can", "only", "other", "new", "some", "could", "time", "these", "two", "may", "then", "do", "first", "any", "like", "now", "my", "such", "make", "over", "our", "even", "most", "after", "also", "made", "many", "before", "must", "well", "back", "through", "years", "much", "where", "your", "way", "down", "should", "because", "long", "each", "just", "state", "people", "those", "know", "little", "world", "very", "still", "own", "see", "men", "work", "here", "under", "never", "place", "house", "again", "while", "last", "might", "great", "old", "under", "think", "same", "small", "found", "every", "thing", "light", "water", "river", "stone", "garden", "window", "morning", "evening", "letter", "silver", "market", "winter", "summer", "forest", "mountain"]


@dataclass(frozen=True)
class Scenario:
    """One stream. ``kind`` is ``legacy`` / ``openai`` (synthetic) or ``recording``."""

    kind: str
    n: int = 1
    tokens: int = 0
    recording: str | None = None  # path relative to tests/fixtures
    speedup: float = 0.0  # recordings: 0 = as fast as possible, else replayed at their timing sped up this much

    @property
    def name(self) -> str:
        if self.kind == "recording":
            return "rec:" + Path(self.recording or "").stem + (f" paced x{self.speedup:g}" if self.speedup else "")
        return f"{self.kind}-n{self.n}-t{self.tokens}"

    @property
    def api(self) -> Api:
        if self.kind == "recording":
            path = self._recording()["request"]["path"]
            return {"/generate": Api.GENERATE, "/v1/chat/completions": Api.CHAT}.get(path, Api.COMPLETIONS)
        return Api.GENERATE if self.kind == "legacy" else Api.COMPLETIONS

    @property
    def model(self) -> str | None:
        if self.api is Api.GENERATE:
            return None
        if self.kind == "recording":
            return self._recording()["request"]["json"].get("model")
        return MODEL

    def to_json(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Scenario:
        return cls(**data)  # type: ignore[arg-type]

    def estimated_bytes(self) -> int:
        """Roughly how big the body is (to skip the monsters before building them)."""
        if self.kind == "recording":
            return (FIXTURES / (self.recording or "")).stat().st_size
        if self.kind == "legacy":
            chars_per_token = 5.3
            per_line = self.n * (len(PROMPT) + 4)
            return int(self.tokens * per_line + self.n * chars_per_token * self.tokens * (self.tokens + 1) / 2)
        return self.n * self.tokens * 243 + 300

    def request(self) -> GenerationRequest:
        if self.kind == "recording":
            body = self._recording()["request"]["json"]
            prompt = body.get("prompt") or body["messages"][0]["content"]
            fields = {k: body[k] for k in ("n", "temperature", "top_p", "top_k", "max_tokens", "seed") if k in body}
            params = SamplingParams(**fields, stop=tuple(body.get("stop", ())))
            return GenerationRequest(prompt, params, stream=bool(body.get("stream", False)))
        return GenerationRequest(PROMPT, SamplingParams(n=self.n, temperature=1.0, max_tokens=self.tokens), stream=True)

    def _recording(self) -> dict:
        return _load_recording(self.recording or "")

    # -- the bytes ----------------------------------------------------------------------

    def paced_chunks(self) -> list[tuple[float, bytes]]:
        """A recording's chunks, each framed as an HTTP chunk, with when to send it (s from the start)."""
        chunks = [(c["t"], base64.b64decode(c["data_b64"])) for c in self._recording()["response"]["chunks"]]
        start = chunks[0][0] if chunks else 0.0
        return [((t - start) / self.speedup, b"%x\r\n%s\r\n" % (len(data), data)) for t, data in chunks if data]

    def build(self) -> tuple[int, list[tuple[str, str]], list[bytes], int]:
        """``(status, headers, body blobs, payload bytes)``: the chunk-framed body, ready to write.

        The payload is the body without the HTTP chunk framing (what the protocol layer parses).
        """
        if self.kind == "recording":
            return self._build_recording()
        texts = [_candidate_tokens(self.tokens, seed=1000 + i) for i in range(self.n)]
        if self.kind == "legacy":
            blobs, payload = _blobs(_legacy_lines(texts))
            headers = [("content-type", "application/json"), ("transfer-encoding", "chunked")]
        else:
            blobs, payload = _blobs(_openai_events(texts))
            headers = [("content-type", "text/event-stream; charset=utf-8"), ("transfer-encoding", "chunked")]
        return 200, headers, blobs, payload

    def _build_recording(self) -> tuple[int, list[tuple[str, str]], list[bytes], int]:
        data = self._recording()
        resp = data["response"]
        chunks = [base64.b64decode(c["data_b64"]) for c in resp["chunks"]]
        headers = [(k, v) for k, v in resp["headers"] if k.lower() not in ("content-length", "date")]
        chunked = any(k.lower() == "transfer-encoding" for k, _ in headers)
        if chunked:
            blobs, payload = _blobs(c for c in chunks if c)
        else:
            body = b"".join(chunks)
            headers.append(("content-length", str(len(body))))
            blobs, payload = [body], len(body)
        return resp["status"], headers, blobs, payload


_RECORDING_CACHE: dict[str, dict] = {}


def _load_recording(rel: str) -> dict:
    if rel not in _RECORDING_CACHE:
        _RECORDING_CACHE[rel] = json.loads((FIXTURES / rel).read_text())
    return _RECORDING_CACHE[rel]


def models_answer() -> bytes:
    return json.dumps({"object": "list", "data": [{"id": MODEL, "object": "model"}]}).encode()


def _candidate_tokens(count: int, *, seed: int) -> list[str]:
    """``count`` word-like tokens (about 5 characters each, a line break now and then)."""
    rng = random.Random(seed)
    words = _WORDS
    out = []
    for k in range(count):
        word = " " + rng.choice(words)
        roll = rng.random()
        if roll < 0.06:
            word += ","
        elif roll < 0.09:
            word += "."
        elif roll < 0.1 and k:
            word = "\n" + word[1:]
        out.append(word)
    return out


def _json_str(s: str) -> bytes:
    """A JSON string's inside (no quotes), as vLLM's json.dumps writes it (ASCII here)."""
    return json.dumps(s)[1:-1].encode()


def _legacy_lines(texts: list[list[str]]):
    """vLLM's legacy ``/generate``: ``{"text": [prompt + output_i, ...]}\\n`` per step."""
    prompt = _json_str(PROMPT)
    fulls: list[bytes] = []
    ends: list[list[int]] = []
    for tokens in texts:
        pieces = [_json_str(t) for t in tokens]
        offsets, pos = [], len(prompt)
        for p in pieces:
            pos += len(p)
            offsets.append(pos)
        fulls.append(prompt + b"".join(pieces))
        ends.append(offsets)
    steps = len(texts[0]) if texts else 0
    sep = b'", "'
    for s in range(steps):
        yield b'{"text": ["' + sep.join(full[: e[s]] for full, e in zip(fulls, ends)) + b'"]}\n'


def _openai_events(texts: list[list[str]]):
    """``/v1/completions`` SSE as vLLM 0.32 writes it: one choice per event, finish on the last token."""
    head = b'data: {"id":"cmpl-bench0000000000","object":"text_completion","created":1795688808,"model":"' + MODEL.encode() + b'","choices":[{"index":'
    steps = len(texts[0]) if texts else 0
    n = len(texts)
    for s in range(steps):
        reason = b'"length"' if s == steps - 1 else b"null"
        for i in range(n):
            yield b'%s%d,"text":"%s","logprobs":null,"finish_reason":%s,"stop_reason":null,"prompt_token_ids":null,"token_ids":null}]}\n\n' % (
                head, i, _json_str(texts[i][s]), reason)
    completion = n * steps
    yield (b'data: {"id":"cmpl-bench0000000000","object":"text_completion","created":1795688808,"model":"'
           + MODEL.encode() + b'","choices":[],"usage":{"prompt_tokens":4,"total_tokens":%d,"completion_tokens":%d}}\n\n'
           % (completion + 4, completion))
    yield b"data: [DONE]\n\n"


def _blobs(pieces) -> tuple[list[bytes], int]:
    """Frame each piece as one HTTP chunk; group the chunks into ~1 MB blobs; end the body."""
    blobs: list[bytes] = []
    buf = bytearray()
    payload = 0
    for piece in pieces:
        payload += len(piece)
        buf += b"%x\r\n" % len(piece)
        buf += piece
        buf += b"\r\n"
        if len(buf) >= BLOB_BYTES:
            blobs.append(bytes(buf))
            buf.clear()
    buf += b"0\r\n\r\n"
    blobs.append(bytes(buf))
    return blobs, payload


def synthetic(kinds=("legacy", "openai"), ns=(1, 4, 16, 64), tokens=(256, 1024, 4096)) -> list[Scenario]:
    return [Scenario(kind, n, t) for kind in kinds for n in ns for t in tokens]


def recordings() -> list[Scenario]:
    return [Scenario("recording", recording=str(p.relative_to(FIXTURES))) for p in RECORDINGS]


PACED_SPEEDUP = 4.0
"""The long recordings (a CPU vLLM, ~17 tokens/s per candidate) replayed 4x faster: GPU-like pace."""


def paced() -> list[Scenario]:
    return [Scenario("recording", recording=str(p.relative_to(FIXTURES)), speedup=PACED_SPEEDUP)
            for p in RECORDINGS if p.stem.endswith("-n16-long")]
