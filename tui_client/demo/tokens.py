"""What the demo server needs of a model to answer at the token level.

``/tokenize``, ``/detokenize``, token-id prompts, ``logprobs``, ``logit_bias`` and
``use_beam_search`` all work on token ids; a model that satisfies :class:`TokenModel`
serves them. The demo's own one is built on its Markov chain; tests pass scripted
ones (fixed next-token logprobs) to pin down a beam search exactly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol


class TokenModel(Protocol):
    """A tokenizer and a next-token distribution over its ids."""

    eos_token_id: int
    """The id that ends a sequence (finish_reason ``stop``, stop_reason null)."""

    def encode(self, text: str) -> list[int]:
        """``text`` as token ids (no special tokens added)."""
        ...

    def decode(self, ids: Sequence[int], *, skip_special_tokens: bool = True) -> str:
        """Token ids back to text; special tokens (end-of-sequence...) kept only when asked."""
        ...

    def token_str(self, token_id: int) -> str:
        """One token's own text (what ``token_strs`` and completions ``logprobs.tokens`` list)."""
        ...

    def chat_ids(self, messages: Sequence[Mapping[str, Any]], *, add_generation_prompt: bool = True) -> list[int]:
        """A conversation through the model's chat template, as ids."""
        ...

    def next_logprobs(self, ids: Sequence[int]) -> Mapping[int, float]:
        """Log-probabilities (natural log, temperature 1) of the token after ``ids``.

        May leave out tokens of negligible probability; the ones it lists sum to at most 1
        in probability. Deterministic: the same ids give the same answer.
        """
        ...


UNLISTED_LOGPROB = -50.0
"""The logprob of an id ``next_logprobs`` leaves out: negligible, yet a ``logit_bias`` can force it (as on vLLM)."""


class RankedLogprobs(dict[int, float]):
    """What ``next_logprobs`` may return to be fast: a dict already best first (ties: lowest id).

    The server then takes the top k and the argmax from its head instead of scanning it all.
    """
