"""The demo's :class:`~tui_client.demo.tokens.TokenModel`: the Markov chain, token by token.

Vocabulary (fixed, built from the bundled corpus): three special tokens laid out as in
SmolLM2 (``<|endoftext|>`` 0, ``<|im_start|>`` 1, ``<|im_end|>`` 2, the end of sequence),
a newline and the chat roles, every piece :func:`~tui_client.demo.markov.tokenize`
makes of the corpus (most frequent first), single characters, and 256 byte tokens so
that any text encodes. Next-token probabilities mix the chain's order-2, order-1 and
order-0 counts (so beams have real alternatives); after a sentence end the end of
sequence gets :data:`EOS_AFTER_SENTENCE` of the mass, elsewhere a sliver. Each context's
distribution is computed once and cached: a beam step is a few dictionary look-ups.
"""

from __future__ import annotations

import math
import re
import string
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

from tui_client.demo.markov import PARAGRAPH, MarkovModel, context_key, default_model
from tui_client.demo.tokens import RankedLogprobs

SPECIALS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")
IM_START, EOS = 1, 2
NEWLINE = "\n"
ROLES = ("system", "user", "assistant")
EOS_AFTER_SENTENCE = 0.2  # the end of sequence's share of the mass after ". ! ?"
EOS_ELSEWHERE = 1e-4  # never impossible: forcing it with logit_bias must work anywhere
UNIGRAM_TOP = 64  # the order-0 part keeps the most frequent pieces only (the rest is negligible)
# markov's pieces with whitespace kept as is; special tokens written out are read as such
_PIECE = re.compile("|".join(map(re.escape, SPECIALS)) + r"|\n\n|\n| ?[\w'’-]+| ?[^\w\s]|\s")
_SENTENCE_END = frozenset(".!?")
_CLOSING = frozenset({'"', "’", ")"})


class MarkovTokens:
    """Token ids over the Markov chain (see the module docstring); deterministic."""

    eos_token_id = EOS

    def __init__(self, chain: MarkovModel | None = None) -> None:
        self.chain = chain or default_model()
        pieces = list(dict.fromkeys([*SPECIALS, NEWLINE, *ROLES, *self.chain.order0.pieces]))  # each text once
        known = set(pieces)
        pieces += [c for c in dict.fromkeys(string.printable[:95] + "".join(pieces)) if c not in known]
        self._text = pieces  # id -> text (byte tokens are past the end of this list)
        self._byte0 = len(pieces)
        self.vocab_size = self._byte0 + 256
        self._ids = {p: i for i, p in enumerate(pieces)}
        # What a token is as context: specials and newlines read as a paragraph break.
        self._ctx = [PARAGRAPH if i < len(SPECIALS) or p in (NEWLINE, PARAGRAPH) else context_key(p) for i, p in enumerate(pieces)]
        self._ctx += [f"<0x{b:02X}>" for b in range(256)]
        self._dists: dict[tuple[str, str], RankedLogprobs] = {}

    # --- tokenizer -------------------------------------------------------------------
    def encode(self, text: str) -> list[int]:
        ids: list[int] = []
        for piece in _PIECE.findall(text):
            known = self._ids.get(piece)
            if known is not None:
                ids.append(known)
                continue
            for ch in piece:  # an unknown word: characters, or their UTF-8 bytes
                known = self._ids.get(ch)
                ids += [known] if known is not None else [self._byte0 + b for b in ch.encode()]
        return ids

    def decode(self, ids: Sequence[int], *, skip_special_tokens: bool = True) -> str:
        out: list[str] = []
        pending = bytearray()
        for i in ids:
            if i >= self._byte0:
                pending.append(self._byte(i))
                continue
            if pending:
                out.append(pending.decode("utf-8", "replace"))
                pending.clear()
            if not (skip_special_tokens and i < len(SPECIALS)):
                out.append(self._text[i])
        if pending:
            out.append(pending.decode("utf-8", "replace"))
        return "".join(out)

    def token_str(self, token_id: int) -> str:
        if token_id >= self._byte0:
            return bytes([self._byte(token_id)]).decode("utf-8", "replace")
        return self._text[token_id]

    def chat_ids(self, messages: Sequence[Mapping[str, Any]], *, add_generation_prompt: bool = True) -> list[int]:
        """SmolLM2's template: ``<|im_start|>role\\ncontent<|im_end|>\\n`` a message."""
        nl = self._ids[NEWLINE]
        ids: list[int] = []
        for m in messages:
            content = m.get("content") or ""
            if isinstance(content, list):  # OpenAI content parts
                content = "".join(part.get("text", "") for part in content if isinstance(part, dict))
            ids += [IM_START, *self.encode(str(m.get("role", "user"))), nl, *self.encode(str(content)), EOS, nl]
        if add_generation_prompt:
            ids += [IM_START, self._ids["assistant"], nl]
        return ids

    def _byte(self, token_id: int) -> int:
        if token_id >= self.vocab_size:
            raise IndexError(token_id)
        return token_id - self._byte0

    # --- model -----------------------------------------------------------------------
    def next_logprobs(self, ids: Sequence[int]) -> Mapping[int, float]:
        """The distribution after ``ids`` (best first, ties: lowest id); shared, do not mutate."""
        before, last = ([PARAGRAPH, PARAGRAPH] + [self._ctx[i] for i in ids[-2:]])[-2:]
        dist = self._dists.get((before, last))
        if dist is None:
            if len(self._dists) > 100_000:  # a bound, not a policy: real use visits a few thousand
                self._dists.clear()
            dist = self._dists[before, last] = self._mix(before, last)
        return dist

    def _mix(self, before: str, last: str) -> RankedLogprobs:
        chain = self.chain
        o2, o1, o0 = chain.order2.get((before, last)), chain.order1.get(last), chain.order0
        unigram = (o0.pieces[:UNIGRAM_TOP], o0.counts, o0.cum[-1])
        if o2 and o1:
            parts = [(0.75, (o2.pieces, o2.counts, o2.cum[-1])), (0.2, (o1.pieces, o1.counts, o1.cum[-1])), (0.05, unigram)]
        elif o1:
            parts = [(0.9, (o1.pieces, o1.counts, o1.cum[-1])), (0.1, unigram)]
        else:
            parts = [(1.0, unigram)]
        sentence_end = last in _SENTENCE_END or (last in _CLOSING and before in _SENTENCE_END)
        eos = EOS_AFTER_SENTENCE if sentence_end else EOS_ELSEWHERE
        probs = {EOS: eos}
        for weight, (pieces, counts, total) in parts:
            scale = (1 - eos) * weight / total
            for piece, count in zip(pieces, counts):
                tid = self._ids[piece]
                probs[tid] = probs.get(tid, 0.0) + scale * count
        ranked = sorted(probs.items(), key=lambda item: (-item[1], item[0]))
        return RankedLogprobs((tid, math.log(p)) for tid, p in ranked)


@cache
def default_token_model() -> MarkovTokens:
    """The token model over the bundled corpus (built once, then cached)."""
    return MarkovTokens()
