"""A tiny word-level Markov text generator that stands in for a language model.

Order 2 with backoff to order 1 and 0, trained once (lazily) on ``corpus.txt``.
A "token" is one emitted piece: a word with its leading space, a punctuation mark,
or a paragraph break. Sampling honours vLLM's n, max_tokens, min_tokens,
temperature, top_p, top_k, seed and stop strings.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from itertools import accumulate
from typing import TypeVar

PARAGRAPH = "\n\n"
_TOKEN = re.compile(r" ?[\w'’-]+| ?[^\w\s]")
GREEDY_EPS = 1e-5  # vLLM treats a temperature below this as greedy


def tokenize(text: str) -> list[str]:
    """Split text into pieces; a blank line becomes a paragraph break, other whitespace one space."""
    pieces: list[str] = []
    for i, paragraph in enumerate(re.split(r"\n\s*\n", text)):
        pieces += [PARAGRAPH] * bool(i) + _TOKEN.findall(" ".join(paragraph.split()))
    return pieces


def context_key(piece: str) -> str:
    """Context key: words ignore case and spacing; punctuation keeps its space (' "' opens, '"' closes)."""
    word = piece.lstrip(" ")
    return word.lower() if word[:1].isalnum() else piece


@dataclass(frozen=True)
class _Dist:
    """Successors of one context, most frequent first (ties: first seen first)."""

    pieces: tuple[str, ...]
    counts: tuple[int, ...]
    cum: tuple[int, ...]

    @classmethod
    def of(cls, counts: dict[str, int]) -> _Dist:
        pieces = tuple(sorted(counts, key=lambda piece: -counts[piece]))
        ranked = tuple(counts[piece] for piece in pieces)
        return cls(pieces, ranked, tuple(accumulate(ranked)))


class MarkovModel:
    """Successor tables for contexts of two, one and zero previous words."""

    def __init__(self, text: str) -> None:
        pieces = [PARAGRAPH, *tokenize(text.strip()), PARAGRAPH]  # wraps around: no dead ends
        keys = [context_key(p) for p in pieces]
        tables: tuple[dict, dict, dict] = ({}, {}, {})
        for i in range(1, len(pieces)):
            nxt = pieces[i]
            for table, ctx in zip(tables, ((keys[i - 2], keys[i - 1]), keys[i - 1], None)):
                bucket = table.setdefault(ctx, {})
                bucket[nxt] = bucket.get(nxt, 0) + 1
        self.order2 = {k: _Dist.of(v) for k, v in tables[0].items()}
        self.order1 = {k: _Dist.of(v) for k, v in tables[1].items()}
        self.order0 = _Dist.of(tables[2][None])

    def successors(self, ctx: tuple[str, str]) -> _Dist:
        """The distribution after ``ctx`` (two keys), backing off when unseen."""
        return self.order2.get(ctx) or self.order1.get(ctx[1]) or self.order0


@cache
def default_model() -> MarkovModel:
    """The model built from the bundled corpus (built once, then cached)."""
    return MarkovModel(files(__package__).joinpath("corpus.txt").read_text(encoding="utf-8"))


def cut_at_stop(text: str, start: int, stops: tuple[str, ...]) -> tuple[str, str | None]:
    """``text`` cut before the first stop string that reaches past ``start`` (where the new text begins), and that stop."""
    for stop in stops:
        at = text.find(stop, max(0, start - len(stop) + 1))
        if at >= 0:
            return text[:at], stop
    return text, None


@dataclass(frozen=True)
class SamplingParams:
    """The subset of vLLM's sampling parameters the demo model honours."""

    n: int = 1
    max_tokens: int = 16
    min_tokens: int = 0
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 0  # 0 or -1: off
    seed: int | None = None
    stop: tuple[str, ...] = ()
    stop_at_paragraph: bool = False  # a paragraph break acts as end-of-sequence (chat)


@dataclass(frozen=True)
class Delta:
    """What one candidate produced in one step."""

    index: int
    text: str
    finish_reason: str | None = None  # "length" | "stop"
    stop_reason: str | None = None


T = TypeVar("T")


def sample_top(items: Sequence[T], logs: Sequence[float], p: SamplingParams, rng: random.Random) -> T:
    """One of ``items`` (most likely first, ``logs`` their log weights) sampled at the request's
    temperature, within its top_k and top_p."""
    if p.top_k > 0:
        items = items[: p.top_k]
    weights = [math.exp((v - logs[0]) / p.temperature) for v in logs[: len(items)]]
    if p.top_p < 1.0:
        limit, acc = p.top_p * sum(weights), 0.0
        for keep, w in enumerate(weights, 1):
            acc += w
            if acc >= limit:
                items, weights = items[:keep], weights[:keep]
                break
    return rng.choices(items, weights)[0]


class Candidate:
    """One sequence being generated."""

    def __init__(self, ctx: tuple[str, str], rng: random.Random | None) -> None:
        self.ctx, self.rng = ctx, rng
        self.full = ""  # everything generated (cut at a stop string once one is seen)
        self.text = ""  # the part already released to the client
        self.tokens = 0
        self.finish_reason: str | None = None
        self.stop_reason: str | None = None


class Generation:
    """n candidates stepped in lockstep; each :meth:`step` adds one token to each."""

    def __init__(self, prompt: str, params: SamplingParams, model: MarkovModel | None = None) -> None:
        self.params, self.model = params, model or default_model()
        keys = [PARAGRAPH, PARAGRAPH, *(context_key(p) for p in tokenize(prompt))]
        greedy = params.temperature < GREEDY_EPS
        seeds = [None if params.seed is None else params.seed + i for i in range(params.n)]
        self.candidates = [Candidate((keys[-2], keys[-1]), None if greedy else random.Random(s)) for s in seeds]
        self._hold = max((len(s) for s in params.stop), default=1) - 1  # may be a stop's prefix

    @property
    def finished(self) -> bool:
        return all(c.finish_reason for c in self.candidates)

    def step(self) -> list[Delta]:
        """Advance every unfinished candidate by one token; return their deltas."""
        return [self._advance(i, c) for i, c in enumerate(self.candidates) if not c.finish_reason]

    def _advance(self, index: int, c: Candidate) -> Delta:
        p = self.params
        piece = self._sample(self.model.successors(c.ctx), c.rng)
        c.tokens += 1
        c.ctx = (c.ctx[1], context_key(piece))
        if p.stop_at_paragraph and piece == PARAGRAPH and c.tokens > p.min_tokens:
            c.finish_reason = "stop"
        else:
            start, c.full = len(c.full), c.full + piece
            if c.tokens >= p.min_tokens:
                c.full, c.stop_reason = cut_at_stop(c.full, start, p.stop)
                c.finish_reason = "stop" if c.stop_reason else None
        if not c.finish_reason and c.tokens >= p.max_tokens:
            c.finish_reason = "length"
        released = c.full if c.finish_reason else c.full[: len(c.full) - self._hold]
        delta, c.text = released[len(c.text) :], released
        return Delta(index, delta, c.finish_reason, c.stop_reason)

    def _sample(self, dist: _Dist, rng: random.Random | None) -> str:
        p = self.params
        if rng is None:
            return dist.pieces[0]
        if p.temperature == 1.0 and p.top_k <= 0 and p.top_p >= 1.0:
            return rng.choices(dist.pieces, cum_weights=dist.cum)[0]
        keep = p.top_k if p.top_k > 0 else len(dist.pieces)  # logs of the ones top_k keeps only
        return sample_top(dist.pieces[:keep], [math.log(c) for c in dist.counts[:keep]], p, rng)
