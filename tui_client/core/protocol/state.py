"""The state of a generation and the events that announce its changes.

All three APIs (legacy ``/generate``, ``/v1/completions``, ``/v1/chat/completions``)
feed the same :class:`RunState`. The event stream of a run is a sequence of
:class:`RunEvent` objects that all point at that one state object; a consumer that
only draws the latest state (the TUI) can skip events freely.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import Enum

from tui_client.core.protocol.errors import ClientError
from tui_client.core.protocol.packed_alternatives import PackedAlternatives
from tui_client.core.protocol.params import GenerationRequest
from tui_client.core.protocol.token_logprobs import WIRE_MINUS_INFINITY, Alternatives, paused_gc


class Api(str, Enum):
    GENERATE = "generate"
    COMPLETIONS = "completions"
    CHAT = "chat"


@dataclass(frozen=True)
class ServerInfo:
    """Where we talk to and how: base URL, protocol and model id (None for /generate)."""

    url: str
    api: Api | None  # None until detected
    model: str | None = None
    version: str | None = None

    def to_json(self) -> dict[str, object]:
        return {"url": self.url, "api": self.api.value if self.api else None, "model": self.model}


class Status(str, Enum):
    WAITING = "waiting"  # asked, nothing received yet
    STREAMING = "streaming"
    FINISHED = "finished"
    CANCELLED = "cancelled"
    FAILED = "failed"

    @property
    def done(self) -> bool:
        return self is not Status.STREAMING and self is not Status.WAITING


@dataclass
class Usage:
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None

    @classmethod
    def from_json(cls, data: object) -> Usage | None:
        if not isinstance(data, dict):
            return None
        return cls(
            *(v if isinstance(v, int) else None for v in (data.get(k) for k in ("prompt_tokens", "completion_tokens", "total_tokens")))
        )

    def to_json(self) -> dict[str, int | None]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.total_tokens,
        }


@dataclass
class Candidate:
    """One of the n outputs. ``text`` is the generated text only, never the prompt."""

    index: int
    status: Status = Status.WAITING
    finish_reason: str | None = None  # "length" / "stop" / None (unknown: /generate says nothing)
    stop_reason: str | int | None = None
    tokens: int | None = None  # known for OpenAI streams (one delta per step), else None
    first_text_at: float | None = None  # seconds since the request was sent
    last_text_at: float | None = None
    length: int = 0  # len(text), kept without joining pending deltas
    # Beam runs only: the candidate is a place in the ranking (its index), not one sequence.
    change: str | None = None  # at the last step: "extended", "replaced" or None (unchanged)
    forked_from: int | None = None  # replaced: the rank, one step before, whose text the new one continues
    fork_at: int | None = None  # replaced: where the new text departs from the old one (characters)
    pruned: bool = False  # replaced: the beam shown here before goes on nowhere in the ranking
    cumulative_logprob: float | None = None  # beams: as the server ranks them; --logprobs: the sum of the tokens'
    score: float | None = None  # the beam score the ranking is by, where known
    _text: str = field(default="", repr=False)
    _pending: list[str] = field(default_factory=list, repr=False)
    # --logprobs: the tokens in order, as parallel lists that only grow (see token_logprobs.py).
    # The texts join to ``text``; a logprob may be -inf (vLLM's -9999.0) or NaN (none was sent).
    token_texts: list[str] = field(default_factory=list, repr=False)
    token_logprobs: list[float] = field(default_factory=list, repr=False)
    token_tops: PackedAlternatives = field(default_factory=PackedAlternatives, repr=False)  # most probable first
    _unscored: int = field(default=0, repr=False)  # tokens whose logprob is NaN

    @property
    def text(self) -> str:
        """The text so far. Deltas are joined lazily: appending stays O(delta)."""
        if self._pending:
            self._text += "".join(self._pending)
            self._pending.clear()
        return self._text

    @text.setter
    def text(self, value: str) -> None:
        self._text = value
        self._pending.clear()
        self.length = len(value)

    def append(self, delta: str) -> None:
        self._pending.append(delta)
        self.length += len(delta)

    def add_tokens(self, texts: list[str], logprobs: list[float], tops: Iterable[Alternatives]) -> None:
        """Append tokens; ``cumulative_logprob`` sums their logprobs in order (NaN left out)."""
        self.token_tops.extend(tops)
        self._add(texts, logprobs)

    def add_token_rows(self, texts: list[str], logprobs: list[float], text_ids: Iterable[int],
                       values: Iterable[float], counts: Iterable[int]) -> None:
        """:meth:`add_tokens` with the alternatives as :meth:`PackedAlternatives.add_rows` takes them."""
        self.token_tops.add_rows(text_ids, values, counts)
        self._add(texts, logprobs)

    def _add(self, texts: list[str], logprobs: list[float]) -> None:
        self.token_texts += texts
        self.token_logprobs += logprobs
        total = self.cumulative_logprob or 0.0
        for value in logprobs:
            if value == value:
                total += value
            else:
                self._unscored += 1
        self.cumulative_logprob = total

    @property
    def mean_logprob(self) -> float | None:
        """The mean of the tokens' logprobs (None without any)."""
        scored = len(self.token_logprobs) - self._unscored
        return self.cumulative_logprob / scored if scored and self.cumulative_logprob is not None else None

    @property
    def perplexity(self) -> float | None:
        """exp(-mean logprob): how many tokens the model was choosing among, on average."""
        mean = self.mean_logprob
        if mean is None:
            return None
        try:
            return math.exp(-mean)
        except OverflowError:
            return math.inf

    def speed(self) -> tuple[float, str] | None:
        """(rate, unit): tokens/s when the token count is known, else chars/s."""
        if self.first_text_at is None or self.last_text_at is None:
            return None
        span = self.last_text_at - self.first_text_at
        if span <= 0:
            return None
        if self.tokens:
            return (max(self.tokens - 1, 1) / span, "tok/s")
        return (self.length / span, "chars/s")

    def to_json(self, *, beam: bool = False, logprobs: bool = False) -> dict[str, object]:
        """The candidate for ``--json``; with ``logprobs`` its tokens, minus infinity as -9999.0."""
        doc: dict[str, object] = {
            "index": self.index,
            "text": self.text,
            "finish_reason": self.finish_reason,
            "status": self.status.value,
            "tokens": self.tokens,
            "time_to_first_text": _round(self.first_text_at),
        }
        if beam:
            doc.update(rank=self.index, cumulative_logprob=self.cumulative_logprob, score=self.score,
                       change=self.change, forked_from=self.forked_from, fork_at=self.fork_at, pruned=self.pruned)
        if logprobs:
            perplexity = self.perplexity
            doc.update(cumulative_logprob=_wire(self.cumulative_logprob), mean_logprob=_wire(self.mean_logprob),
                       perplexity=perplexity if perplexity is None or math.isfinite(perplexity) else None,
                       logprobs=self.tokens_json())
        return doc

    def tokens_json(self) -> list[dict[str, object]]:
        """``[{"token", "logprob", "top": [{"token", "logprob"}, ...]}, ...]`` (-inf as -9999.0, NaN as null)."""
        inf = -math.inf
        with paused_gc():
            return [
                {"token": text, "logprob": _wire(value),
                 "top": [{"token": alt, "logprob": alt_value if alt_value != inf else WIRE_MINUS_INFINITY}
                         for alt, alt_value in top]}
                for text, value, top in zip(self.token_texts, self.token_logprobs, self.token_tops)
            ]


@dataclass(frozen=True)
class RankedBeam:
    """One place of a beam ranking, as a protocol reports it (best first)."""

    text: str
    finished: bool = False
    finish_reason: str | None = None
    stop_reason: str | int | None = None
    parent: int | None = None  # the rank, one step before, this beam continues; None: find it by text
    cumulative_logprob: float | None = None
    score: float | None = None
    tokens: int | None = None


@dataclass
class RunState:
    """Everything known about one run; mutated in place by the protocol layer."""

    request: GenerationRequest
    server: ServerInfo
    candidates: dict[int, Candidate] = field(default_factory=dict)
    status: Status = Status.WAITING
    usage: Usage | None = None
    error: ClientError | None = None
    notes: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)  # monotonic clock at send
    first_text_at: float | None = None  # seconds since ``started``
    ended_at: float | None = None
    version: int = 0  # bumped on every change: redraw when it moved
    bytes_received: int = 0  # response body bytes read so far
    body_ended_at: float | None = None  # seconds since ``started`` when the response body ended
    beam_step: int = 0  # beam runs: rankings received so far (a step of the search each)
    history_id: int | None = None  # its id in the history, once saved (or when read from it)

    @property
    def beams(self) -> bool:
        """A beam search: candidate i is rank i of the latest ranking (best first)."""
        return self.request.params.beam_search

    def now(self) -> float:
        return time.monotonic() - self.started

    def candidate(self, index: int) -> Candidate:
        cand = self.candidates.get(index)
        if cand is None:
            cand = self.candidates[index] = Candidate(index)
        return cand

    def ordered(self) -> list[Candidate]:
        return [self.candidates[i] for i in sorted(self.candidates)]

    def set_text(self, cand: Candidate, text: str, now: float) -> None:
        """Replace a candidate's text (cumulative protocols)."""
        if text == cand.text:
            return
        cand.text = text
        self._mark_text(cand, now)

    def append_text(self, cand: Candidate, delta: str, now: float) -> None:
        """Append a delta (SSE protocols); an empty delta still counts as a step."""
        if delta:
            cand.append(delta)
            self._mark_text(cand, now)

    def _mark_text(self, cand: Candidate, now: float) -> None:
        if cand.first_text_at is None:
            cand.first_text_at = now
        if self.first_text_at is None:
            self.first_text_at = now
        cand.last_text_at = now
        if cand.status is Status.WAITING:
            cand.status = Status.STREAMING
        if self.status is Status.WAITING:
            self.status = Status.STREAMING

    def apply_ranking(self, ranking: list[RankedBeam]) -> set[int]:
        """A beam search's latest ranking: candidate i becomes rank i; return the changed ranks.

        A rank's text is replaced when another beam takes its place; the change says how
        (extended, or replaced: from which rank of the step before, and where it forks).
        """
        now = self.now()
        before = [c.text for c in self.ordered()] if self.beam_step else []
        self.beam_step += 1
        changed: set[int] = set()
        for rank, beam in enumerate(ranking):
            cand = self.candidate(rank)
            old, text = cand.text, beam.text
            if text == old:
                change, cand.forked_from, cand.fork_at, cand.pruned = None, None, None, False
            elif text.startswith(old):
                change, cand.forked_from, cand.fork_at, cand.pruned = "extended", None, None, False
            else:
                change = "replaced"
                parent = beam.parent
                if parent is None:
                    parent = max((k for k, t in enumerate(before) if text.startswith(t)), key=lambda k: len(before[k]), default=None)
                cand.forked_from, cand.fork_at = parent, _common_prefix(old, text)
                cand.pruned = not any(b.text.startswith(old) for b in ranking)
            if change is not None or cand.change is not None:
                changed.add(rank)
            cand.change = change
            if change is not None:
                self.set_text(cand, text, now)
            status = Status.FINISHED if beam.finished else Status.STREAMING
            facts = (beam.finish_reason, beam.stop_reason, beam.cumulative_logprob, beam.score, beam.tokens)
            if cand.status is not status or facts != (cand.finish_reason, cand.stop_reason, cand.cumulative_logprob, cand.score, cand.tokens):
                cand.status = status
                cand.finish_reason, cand.stop_reason, cand.cumulative_logprob, cand.score, cand.tokens = facts
                changed.add(rank)
        if changed:
            self.version += 1
        return changed

    def finish(self, status: Status, error: ClientError | None = None) -> None:
        """End the run: every candidate still open ends with the run's status."""
        self.status = status
        self.error = error
        self.ended_at = self.now()
        for cand in self.candidates.values():
            if not cand.status.done:
                cand.status = Status.FINISHED if status is Status.FINISHED else status
        missing = self.request.params.n - len(self.candidates)
        if status is Status.FINISHED and missing > 0:
            self.notes.append(f"{len(self.candidates)} of {self.request.params.n} candidates returned")
        self.version += 1

    @property
    def total_chars(self) -> int:
        return sum(c.length for c in self.candidates.values())

    def timing(self) -> dict[str, float | None]:
        """Time to first text, total time and speed: tokens/s when tokens are counted (the server's
        ``usage``, else the stream's per-token events), so while streaming as at the end; else chars/s."""
        total = self.ended_at if self.ended_at is not None else self.now()
        out: dict[str, float | None] = {"time_to_first_text": _round(self.first_text_at), "total": _round(total)}
        gen_span = total - self.first_text_at if self.first_text_at is not None else None
        tokens = self.usage.completion_tokens if self.usage else None
        if not tokens and not self.beams:
            tokens = sum(c.tokens or 0 for c in self.candidates.values())
        if tokens and total > 0:
            # Non-streaming answers arrive at once: rate over the whole request.
            span = gen_span if gen_span and self.request.stream else total
            out["tokens_per_second"] = _round(tokens / span) if span else None
        elif gen_span:
            out["chars_per_second"] = _round(self.total_chars / gen_span)
        return out

    def to_json(self) -> dict[str, object]:
        doc: dict[str, object] = {
            "candidates": [c.to_json(beam=self.beams, logprobs=bool(self.request.params.logprobs))
                           for c in self.ordered()],
            "usage": self.usage.to_json() if self.usage else None,
            "timing": self.timing(),
            "server": self.server.to_json(),
            "status": self.status.value,
        }
        if self.beams:
            doc["beam_steps"] = self.beam_step
        if self.notes:
            doc["notes"] = list(self.notes)
        if self.error is not None:
            doc["error"] = self.error.to_json()
        return doc


@dataclass(frozen=True)
class RunEvent:
    """Base of the event stream; every event carries the (shared, live) state."""

    state: RunState


@dataclass(frozen=True)
class RunStarted(RunEvent):
    """The request was sent."""


@dataclass(frozen=True)
class CandidatesChanged(RunEvent):
    """Some candidates got text or finished; ``indices`` says which."""

    indices: frozenset[int]


@dataclass(frozen=True)
class RunEnded(RunEvent):
    """The last event: ``state.status`` is finished, cancelled or failed (``state.error``)."""


def _common_prefix(a: str, b: str) -> int:
    """How many leading characters ``a`` and ``b`` share."""
    i, limit = 0, min(len(a), len(b))
    while i < limit and a[i] == b[i]:
        i += 1
    return i


def _wire(value: float | None) -> float | None:
    """A logprob for JSON: minus infinity as vLLM writes it (-9999.0), NaN (none) as null."""
    if value is None or value != value:
        return None
    return WIRE_MINUS_INFINITY if value == -math.inf else value


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
