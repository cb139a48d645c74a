"""vLLM's beam search, one step at a time, without I/O.

The same loop ``vllm serve`` runs for ``use_beam_search`` (vLLM 0.6 and later): per
step, every live beam asks for 2 x width logprobs of its next token; each (token,
logprob) is a candidate scored by cumulative logprob; an end-of-sequence candidate is
completed; the rest are cut to the best ``width``. The answer is completed + live beams
sorted by ``cum_logprob / length ** length_penalty``. A client driving this over HTTP
(:mod:`.beam_runner`) and the demo server answering ``use_beam_search`` both use it.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Beam:
    """One hypothesis: the generated token ids (never the end-of-sequence id) and their logprob."""

    tokens: tuple[int, ...]
    cum_logprob: float
    ident: int
    parent: int | None = None  # the ident of the beam it extends by one token
    finish_reason: str | None = None  # "stop" once it met end-of-sequence; None while live


class BeamSearch:
    """The search state; :meth:`step` applies one round of next-token logprobs."""

    def __init__(
        self,
        width: int,
        *,
        prompt_len: int,
        eos_token_id: int | None,
        prompt_last: int | None = None,
        length_penalty: float = 1.0,
        ignore_eos: bool = False,
        generated_only: bool = False,
    ) -> None:
        self.width = width
        self.prompt_len = prompt_len
        self.eos_token_id = None if ignore_eos else eos_token_id
        self._eos = eos_token_id  # the score discounts a final end-of-sequence even with ignore_eos
        self._prompt_last = prompt_last  # the prompt's last id (a beam with nothing generated ends there)
        self.length_penalty = length_penalty
        self.generated_only = generated_only  # vLLM 0.33 scores by generated tokens only
        self._ids = itertools.count(1)
        self.live: list[Beam] = [Beam((), 0.0, 0)]
        self.completed: list[Beam] = []
        self.steps = 0

    @property
    def logprobs_per_step(self) -> int:
        """How many logprobs each live beam asks for (vLLM: twice the width)."""
        return 2 * self.width

    def step(self, logprobs: Sequence[Mapping[int, float]]) -> None:
        """One round: ``logprobs[i]`` is {token id: logprob} of live beam i's next token."""
        if len(logprobs) != len(self.live):
            raise ValueError(f"{len(logprobs)} logprob sets for {len(self.live)} live beams")
        candidates: list[tuple[float, int, Beam]] = []
        for beam, options in zip(self.live, logprobs):
            for token, logprob in options.items():
                cum = beam.cum_logprob + logprob
                if token == self.eos_token_id:
                    self.completed.append(Beam(beam.tokens, cum, next(self._ids), beam.ident, "stop"))
                else:
                    candidates.append((cum, token, beam))
        # vLLM picks with numpy (ties in an unspecified order); a stable sort keeps the first listed.
        best = sorted(range(len(candidates)), key=lambda k: -candidates[k][0])[: self.width]
        self.live = [
            Beam(parent.tokens + (token,), cum, next(self._ids), parent.ident)
            for cum, token, parent in (candidates[k] for k in best)
        ]
        self.steps += 1

    def score(self, beam: Beam) -> float:
        """The beam score the answer is sorted by (length-normalised cumulative logprob)."""
        length = len(beam.tokens) + (0 if self.generated_only else self.prompt_len)
        last = beam.tokens[-1] if beam.tokens else self._prompt_last
        if last is not None and last == self._eos:  # only with ignore_eos (or a prompt ending in it)
            length -= 1
        return beam.cum_logprob / (max(length, 1) ** self.length_penalty)

    def ranking(self) -> list[Beam]:
        """The answer if the search stopped now: the best ``width`` of completed and live beams."""
        return sorted(self.completed + self.live, key=self.score, reverse=True)[: self.width]
