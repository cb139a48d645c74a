"""What is known of one token of a candidate: its probability, its rank among the server's
alternatives, the alternatives themselves, where it is and the logprob summed up to it."""

from __future__ import annotations

import math
from dataclasses import dataclass

from tui_client.core.protocol.state import Candidate

__all__ = ["TokenFacts", "percent", "token_facts"]


@dataclass(frozen=True)
class TokenFacts:
    """Token ``index`` of ``count``; ``rank`` is 1 for the most probable, None when it is
    below every alternative the server sent (``shown`` of them, the token itself left out)."""

    index: int
    count: int
    text: str
    logprob: float  # NaN: the server sent this text without a logprob
    rank: int | None
    shown: int
    alternatives: tuple[tuple[str, float], ...]  # (text, probability), most probable first
    offset: int  # where the token starts in the candidate's text (characters)
    cumulative: float  # the logprobs summed up to and with this token (NaN ones left out)

    @property
    def probability(self) -> float:
        return _probability(self.logprob)


def _probability(logprob: float) -> float:
    if logprob != logprob:
        return math.nan
    return math.exp(min(logprob, 0.0)) if logprob > -745 else 0.0  # above 0 (a broken server's) is certain


def percent(probability: float) -> str:
    """``29.9%``; ``<0.1%`` and ``>99.9%`` at the ends (never a misleading 0.0% or 100.0%)."""
    if probability != probability:
        return "?"
    if probability >= 1.0:
        return "100%"
    if probability > 0.999:
        return ">99.9%"
    if probability < 0.001:
        return "<0.1%" if probability > 0 else "0%"
    return f"{probability * 100:.1f}%"


def logprob_text(value: float, places: int = 3) -> str:
    """``-2.098`` (``places`` decimals); a broken server's huge value as ``1e+308``, not 309 digits."""
    return f"{value:.{places}f}" if abs(value) < 1e6 else f"{value:.4g}"


def token_facts(cand: Candidate, index: int, k: int | None = None) -> TokenFacts:
    """The facts of token ``index`` (0 <= index < len(cand.token_texts)); ``k``: the
    alternatives asked for (vLLM adds the sampled token after the top ``k`` when it is not
    among them: its rank is then unknown)."""
    texts, logprobs, tops = cand.token_texts, cand.token_logprobs, cand.token_tops
    text, value, top = texts[index], logprobs[index], tops[index]
    offset = sum(len(t) for t in texts[:index])
    cumulative = math.fsum(v for v in logprobs[: index + 1] if v == v)
    others = [(alt, alt_value) for alt, alt_value in top]
    own = next((i for i, (alt, alt_value) in enumerate(others) if alt == text and alt_value == value), None)
    if own is not None:
        rank: int | None = own + 1
        shown = len(others) - 1
        if k is not None and own >= k:
            rank, shown = None, k
    else:
        shown = len(others)
        higher = sum(1 for _alt, alt_value in others if alt_value > value)
        rank = higher + 1 if value == value and higher < shown else None
    return TokenFacts(index, len(texts), text, value, rank, shown,
                      tuple((alt, _probability(alt_value)) for alt, alt_value in others), offset, cumulative)
