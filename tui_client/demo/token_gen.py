"""Generation on token ids, as vLLM's engine does it, over any :class:`TokenModel`.

:class:`TokenGeneration` samples n sequences per prompt one token a step (logit_bias,
temperature, top_k, top_p, min_tokens, stop strings, the end of sequence), keeping each
step's logprobs the way vLLM reports them. :class:`BeamSearches` runs vLLM's beam search
(:class:`~tui_client.core.protocol.beam_search.BeamSearch`) with the same per-step
logprobs a client gets from ``max_tokens: 1`` requests, so the two give the same beams.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import islice

from tui_client.core.protocol.beam_search import BeamSearch
from tui_client.demo.markov import GREEDY_EPS, SamplingParams, cut_at_stop, sample_top
from tui_client.demo.tokens import UNLISTED_LOGPROB, RankedLogprobs, TokenModel


@dataclass(frozen=True)
class TokenParams:
    """Sampling parameters plus the token-level ones."""

    sampling: SamplingParams
    logprobs: int | None = None  # logprobs per token (besides the sampled one's); None: none
    logit_bias: Mapping[int, float] = field(default_factory=dict)
    ignore_eos: bool = False


def top(logprobs: Mapping[int, float], k: int) -> list[tuple[int, float]]:
    """The k likeliest (id, logprob), best first; ties: lowest id."""
    if k <= 0:
        return []
    if isinstance(logprobs, RankedLogprobs):
        return list(islice(logprobs.items(), k))
    return heapq.nsmallest(k, logprobs.items(), key=lambda item: (-item[1], item[0]))


def pick(
    logprobs: Mapping[int, float],
    sampling: SamplingParams,
    rng: random.Random | None,
    bias: Mapping[int, float] | None = None,
    banned: int | None = None,
) -> int:
    """The next token: argmax (``rng`` None) or a draw of softmax((logprob + bias) / T), after top_k and top_p.

    Ids the model leaves out count as :data:`UNLISTED_LOGPROB` (a bias of 100 still forces
    them); ``banned`` (the end of sequence under ``min_tokens``) is masked unless nothing else is left.
    """
    if rng is None and not bias and isinstance(logprobs, RankedLogprobs):
        best = list(islice(logprobs, 2))
        return best[1] if best[0] == banned and len(best) > 1 else best[0]
    scores: Mapping[int, float] = logprobs
    if bias:
        unlisted = {t: UNLISTED_LOGPROB + b for t, b in bias.items() if t not in logprobs}
        scores = {t: lp + bias.get(t, 0.0) for t, lp in logprobs.items()} | unlisted
    if banned in scores and len(scores) > 1:
        scores = {t: v for t, v in scores.items() if t != banned}
    if rng is None:
        return max(scores, key=lambda t: (scores[t], -t))
    ranked = sorted(scores.items(), key=lambda item: (-item[1], item[0]))
    return sample_top([t for t, _ in ranked], [v for _, v in ranked], sampling, rng)


def step_logprobs(logprobs: Mapping[int, float], token: int, k: int) -> dict[int, float]:
    """What vLLM returns for a step: the sampled token first, then the top k (not re-sorted)."""
    return {token: logprobs.get(token, UNLISTED_LOGPROB), **dict(top(logprobs, k))}


def _rng(sampling: SamplingParams, offset: int) -> random.Random | None:
    if sampling.temperature < GREEDY_EPS:
        return None
    return random.Random(None if sampling.seed is None else sampling.seed + offset)


@dataclass(frozen=True)
class TokenStep:
    """One token of one sequence: what a stream event carries."""

    index: int
    token: int
    logprobs: dict[int, float]  # the step's logprobs (sampled first); empty unless asked for
    text: str  # the text released with it (may be empty: held back, or the end of sequence)
    finish_reason: str | None = None
    stop_reason: str | None = None


class TokenSequence:
    """One sequence being generated; choice ``index`` of the answer."""

    def __init__(self, index: int, prompt: Sequence[int], rng: random.Random | None) -> None:
        self.index, self.prompt, self.rng = index, list(prompt), rng
        self.ids = list(prompt)  # prompt + generated
        self.steps: list[TokenStep] = []
        self.text = ""  # released to the client
        self.full = ""  # detokenized so far (cut at a stop string once one is seen)
        self._prefix = self._read = len(prompt)  # incremental detokenization, as vLLM does it
        self.finish_reason: str | None = None
        self.stop_reason: str | None = None

    @property
    def tokens(self) -> list[int]:
        """The generated ids (the end of sequence included when it ended the sequence)."""
        return self.ids[len(self.prompt) :]

    def detokenize(self, decode: Callable[[list[int]], str]) -> str:
        """The new text (vLLM's incremental detokenization: wait while a character is incomplete)."""
        before = decode(self.ids[self._prefix : self._read])
        after = decode(self.ids[self._prefix :])
        if len(after) > len(before) and not after.endswith("\ufffd"):
            self._prefix, self._read = self._read, len(self.ids)
            return after[len(before) :]
        return ""


class TokenGeneration:
    """n sequences per prompt (choice index = prompt position * n + i), stepped in lockstep."""

    def __init__(self, model: TokenModel, prompts: Sequence[Sequence[int]], params: TokenParams) -> None:
        self.model, self.params = model, params
        n = params.sampling.n
        self.sequences = [
            TokenSequence(p * n + i, prompt, _rng(params.sampling, p * n + i)) for p, prompt in enumerate(prompts) for i in range(n)
        ]
        self._hold = max((len(s) for s in params.sampling.stop), default=1) - 1  # may be a stop's prefix

    @property
    def finished(self) -> bool:
        return all(s.finish_reason for s in self.sequences)

    def step(self) -> list[TokenStep]:
        """Advance every unfinished sequence by one token."""
        return [self._advance(s) for s in self.sequences if not s.finish_reason]

    def _advance(self, seq: TokenSequence) -> TokenStep:
        model, p = self.model, self.params
        sp = p.sampling
        eos = None if p.ignore_eos else model.eos_token_id
        logprobs = model.next_logprobs(seq.ids)
        generated = len(seq.ids) - len(seq.prompt)
        token = pick(logprobs, sp, seq.rng, p.logit_bias, eos if generated < sp.min_tokens else None)
        seq.ids.append(token)
        generated += 1
        if token == eos:
            seq.finish_reason = "stop"
        else:
            start, seq.full = len(seq.full), seq.full + seq.detokenize(model.decode)
            if generated >= sp.min_tokens:
                seq.full, seq.stop_reason = cut_at_stop(seq.full, start, sp.stop)
                seq.finish_reason = "stop" if seq.stop_reason else None
        if not seq.finish_reason and generated >= sp.max_tokens:
            seq.finish_reason = "length"
        released = seq.full if seq.finish_reason else seq.full[: len(seq.full) - self._hold]
        delta, seq.text = released[len(seq.text) :], released
        shown = step_logprobs(logprobs, token, p.logprobs) if p.logprobs is not None else {}
        step = TokenStep(seq.index, token, shown, delta, seq.finish_reason, seq.stop_reason)
        seq.steps.append(step)
        return step


class BeamSearches:
    """vLLM's beam search over ``model``, one search a prompt, stepped in lockstep.

    Each live beam's step is what ``max_tokens: 1, logprobs: 2 * width`` at ``temperature``
    answers for its ids (:func:`step_logprobs`), so a client running the loop over HTTP
    at temperature 0 sees the same numbers and ends with the same beams.
    """

    def __init__(
        self,
        model: TokenModel,
        prompts: Sequence[Sequence[int]],
        width: int,
        max_tokens: int,
        *,
        length_penalty: float = 1.0,
        temperature: float = 0.0,
        ignore_eos: bool = False,
        seed: int | None = None,
    ) -> None:
        self.model, self.max_tokens = model, max_tokens
        self.prompts = [list(p) for p in prompts]
        self.searches = [
            BeamSearch(width, prompt_len=len(p), eos_token_id=model.eos_token_id, length_penalty=length_penalty, ignore_eos=ignore_eos)
            for p in self.prompts
        ]
        self._sampling = SamplingParams(temperature=temperature, seed=seed)
        self._rng = _rng(self._sampling, 0)

    def _done(self, search: BeamSearch) -> bool:
        return search.steps >= self.max_tokens or not search.live

    @property
    def finished(self) -> bool:
        return all(map(self._done, self.searches))

    def step(self) -> list[BeamSearch]:
        """One step of every search still going; returns all the searches."""
        for prompt, search in zip(self.prompts, self.searches):
            if self._done(search):
                continue
            steps = []
            for beam in search.live:
                logprobs = self.model.next_logprobs(prompt + list(beam.tokens))
                steps.append(step_logprobs(logprobs, pick(logprobs, self._sampling, self._rng), search.logprobs_per_step))
            search.step(steps)
        return self.searches
