"""The streams the benchmark serves: synthetic ones of both protocols, and real recordings.

A :class:`Scenario` names a stream and knows how to build its bytes (the HTTP body,
already framed as HTTP/1.1 chunks, one chunk per legacy line or SSE event, as vLLM's
uvicorn sends them) and the :class:`~tui_client.core.protocol.GenerationRequest` a client
sends for it. Building is deterministic: the floor and the app read the same bytes.

Synthetic text is word-like: tokens of 4-6 characters (a space and a word), with
punctuation and a line break now and then, each candidate from its own seed. The
``openai-lp5-*`` streams also carry each token's logprob and its 5 most likely
alternatives, in the shape of vLLM 0.32's ``--logprobs`` completions stream.
"""

from __future__ import annotations

import base64
import json
import random
from array import array
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
    logprobs: int = 0  # synthetic OpenAI: each token's logprob and this many alternatives (0: none)
    servers: int = 1  # comparing servers: this many, each serving the same stream (its own process)

    @property
    def name(self) -> str:
        if self.kind == "recording":
            return "rec:" + Path(self.recording or "").stem + (f" paced x{self.speedup:g}" if self.speedup else "")
        compared = f" x{self.servers} servers" if self.servers > 1 else ""
        return f"{self.kind}{f'-lp{self.logprobs}' if self.logprobs else ''}-n{self.n}-t{self.tokens}{compared}"

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
        return self.n * self.tokens * (243 + (80 + 28 * self.logprobs if self.logprobs else 0)) + 300

    def request(self) -> GenerationRequest:
        if self.kind == "recording":
            body = self._recording()["request"]["json"]
            prompt = body.get("prompt") or body["messages"][0]["content"]
            fields = {k: body[k] for k in ("n", "temperature", "top_p", "top_k", "max_tokens", "seed") if k in body}
            logprobs = body.get("top_logprobs") if body.get("logprobs") is True else body.get("logprobs")  # chat | completions
            params = SamplingParams(**fields, stop=tuple(body.get("stop", ())), logprobs=logprobs)
            return GenerationRequest(prompt, params, stream=bool(body.get("stream", False)))
        params = SamplingParams(n=self.n, temperature=1.0, max_tokens=self.tokens, logprobs=self.logprobs or None)
        return GenerationRequest(PROMPT, params, stream=True)

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
            logprobs = [_candidate_logprobs(t, self.logprobs, seed=2000 + i) for i, t in enumerate(texts)] if self.logprobs else None
            blobs, payload = _blobs(_openai_events(texts, logprobs))
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


def _candidate_logprobs(tokens: list[str], k: int, *, seed: int) -> list[bytes]:
    """Each token's ``"logprobs"`` value, as vLLM 0.32 writes it for one token of a stream
    (``tests/fixtures/vllm-0.32.0-openai/completions-stream-logprobs-n2.json``):
    ``{"text_offset":[..],"token_logprobs":[..],"tokens":[..],"top_logprobs":[{..}]}``.

    The alternatives dict is not sorted: the sampled token first, then the ``k`` most
    likely, most likely first, the sampled one not twice (so ``k`` or ``k + 1`` entries).
    The sampled token is the most likely half the time, another of the ``k`` a third of
    the time, else less likely than all of them. Logprobs are float32 values, as vLLM's.
    """
    rng = random.Random(seed)
    words = [" " + w for w in dict.fromkeys(_WORDS)]
    out: list[bytes] = []
    offset = 0
    for token in tokens:
        values = array("f", [0.0] * (k + 1))
        value = -rng.expovariate(2.0)
        for j in range(k + 1):
            values[j] = value
            value -= rng.expovariate(1.5)
        roll = rng.random()
        rank = 0 if roll < 0.5 else (rng.randrange(1, k) if roll < 0.83 and k > 1 else k)
        others = [values[j] for j in range(k) if j != rank]  # the k most likely but the sampled one
        top = [(token, values[rank])] + list(zip(rng.sample([w for w in words if w != token], len(others)), others))
        piece = _json_str(token)
        out.append(b'{"text_offset":[%d],"token_logprobs":[%s],"tokens":["%s"],"top_logprobs":[{%s}]}' % (
            offset, repr(top[0][1]).encode(), piece,
            b",".join(b'"%s":%s' % (_json_str(t), repr(v).encode()) for t, v in top)))
        offset += len(token)
    return out


def _openai_events(texts: list[list[str]], logprobs: list[list[bytes]] | None = None):
    """``/v1/completions`` SSE as vLLM 0.32 writes it: one choice per event, finish on the last token.

    ``logprobs``: each candidate's tokens' ``"logprobs"`` values (else ``null``)."""
    head = b'data: {"id":"cmpl-bench0000000000","object":"text_completion","created":1795688808,"model":"' + MODEL.encode() + b'","choices":[{"index":'
    steps = len(texts[0]) if texts else 0
    n = len(texts)
    for s in range(steps):
        reason = b'"length"' if s == steps - 1 else b"null"
        for i in range(n):
            yield b'%s%d,"text":"%s","logprobs":%s,"finish_reason":%s,"stop_reason":null,"prompt_token_ids":null,"token_ids":null}]}\n\n' % (
                head, i, _json_str(texts[i][s]), logprobs[i][s] if logprobs else b"null", reason)
    completion = n * steps
    # (vLLM ends the usage event with a system_fingerprint: kept out of the older streams, as they were measured)
    fingerprint = b',"system_fingerprint":"vllm-0.32.0-3b9e3481"' if logprobs else b""
    yield (b'data: {"id":"cmpl-bench0000000000","object":"text_completion","created":1795688808,"model":"'
           + MODEL.encode() + b'","choices":[],"usage":{"prompt_tokens":4,"total_tokens":%d,"completion_tokens":%d}%s}\n\n'
           % (completion + 4, completion, fingerprint))
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


LOGPROBS_K = 5


def with_logprobs() -> list[Scenario]:
    """Synthetic completions streams with each token's logprob and 5 alternatives."""
    return [Scenario("openai", n, 1024, logprobs=LOGPROBS_K) for n in (16, 64)]


def compared() -> list[Scenario]:
    """Comparing servers: the same request to 2 and to 4 servers at once (one stream server each)."""
    return [Scenario("openai", 16, 1024, servers=2), Scenario("openai", 8, 1024, servers=4)]


def recordings() -> list[Scenario]:
    return [Scenario("recording", recording=str(p.relative_to(FIXTURES))) for p in RECORDINGS]


PACED_SPEEDUP = 4.0
"""The long recordings (a CPU vLLM, ~17 tokens/s per candidate) replayed 4x faster: GPU-like pace."""


def paced() -> list[Scenario]:
    return [Scenario("recording", recording=str(p.relative_to(FIXTURES)), speedup=PACED_SPEEDUP)
            for p in RECORDINGS if p.stem.endswith("-n16-long")]
