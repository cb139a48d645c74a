"""What the user asks for: the prompt, the sampling parameters, the chat API's system
prompt and the extra vLLM fields (:mod:`.extra_fields`), validated.

Validation happens here, before anything is sent, so the CLI can name the flag and
the TUI can show the message next to the field.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from tui_client.core.defaults import LIMITS, VLLM_MAX_LOGPROBS
from tui_client.core.protocol.errors import ClientError, ErrorKind
from tui_client.core.protocol.extra_fields import extra_problem


@dataclass(frozen=True)
class SamplingParams:
    """vLLM sampling parameters. ``None`` means "leave it to the server"."""

    n: int = 1
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    max_tokens: int | None = None
    seed: int | None = None
    stop: tuple[str, ...] = ()
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    beam_search: bool = False
    length_penalty: float | None = None  # beam search: the score is cumulative logprob / length ** this
    logprobs: int | None = None  # per-token logprobs with this many alternatives; None or 0: off

    def problems(self, *, stream: bool = False, client_beams: bool = False, legacy: bool = False,
                 max_n: int = LIMITS["n"]) -> dict[str, str]:
        """Every invalid field mapped to a one-line reason (empty when all is well).

        ``client_beams``: a streamed beam search is run by the client, step by step
        (``vllm serve``: 2n logprobs a step, within the server's limit). ``legacy``: the
        server speaks ``/generate``, which has no logprobs. ``max_n``: the most candidates
        the front end takes (the TUI's slider: :data:`~tui_client.core.defaults.MAX_N`).
        """
        out: dict[str, str] = {}
        if not _int_in(self.n, 1, max_n):
            out["n"] = f"n must be between 1 and {max_n}, got {self.n}"
        if self.temperature is not None and not (_finite(self.temperature) and self.temperature >= 0):
            out["temperature"] = f"temperature must be 0 or more, got {self.temperature}"
        if self.top_p is not None and not (_finite(self.top_p) and 0 < self.top_p <= 1):
            out["top_p"] = f"top_p must be in (0, 1], got {self.top_p}"
        if self.top_k is not None and not (self.top_k == -1 or _int_in(self.top_k, 1, LIMITS["top_k"])):
            out["top_k"] = f"top_k must be -1 (off) or between 1 and {LIMITS['top_k']}, got {self.top_k}"
        if self.max_tokens is not None and not _int_in(self.max_tokens, 1, LIMITS["max_tokens"]):
            out["max_tokens"] = f"max_tokens must be between 1 and {LIMITS['max_tokens']}, got {self.max_tokens}"
        if self.seed is not None and not (isinstance(self.seed, int) and -(2**63) <= self.seed < 2**63):
            out["seed"] = f"seed must fit in 64 bits, got {self.seed}"
        for name in ("presence_penalty", "frequency_penalty"):
            value = getattr(self, name)
            if value is not None and not (_finite(value) and -2 <= value <= 2):
                out[name] = f"{name} must be between -2 and 2, got {value}"
        if any(s == "" for s in self.stop):
            out["stop"] = "stop strings must not be empty"
        if self.length_penalty is not None and not _finite(self.length_penalty):
            out["length_penalty"] = f"length_penalty must be a number, got {self.length_penalty}"
        if self.beam_search and stream and client_beams and 2 * self.n > VLLM_MAX_LOGPROBS:
            out["beam_search"] = (
                f"live beam search of width {self.n} asks for {2 * self.n} logprobs a step, over vLLM's limit of "
                f"{VLLM_MAX_LOGPROBS} (--max-logprobs): use n of {VLLM_MAX_LOGPROBS // 2} or less"
            )
        if self.beam_search and self.n < 2 and "n" not in out:
            out["beam_search"] = "beam search needs n of at least 2 (the beam width)"
        out.update(self._logprobs_problems(legacy))
        return out

    def _logprobs_problems(self, legacy: bool) -> dict[str, str]:
        k = self.logprobs
        if k is None:
            return {}
        if isinstance(k, bool) or not isinstance(k, int) or not 0 <= k <= VLLM_MAX_LOGPROBS:
            return {"logprobs": f"logprobs must be between 0 (off) and {VLLM_MAX_LOGPROBS} (vLLM's default "
                                f"--max-logprobs), got {k}"}
        if k and legacy:
            return {"logprobs": "the legacy /generate API has no logprobs: use the OpenAI API of `vllm serve` "
                                "(--api completions or chat)"}
        if k and self.beam_search:
            return {"logprobs": "logprobs are not available with beam search"}
        return {}

    def vllm_fields(self) -> dict[str, object]:
        """The fields as vLLM names them, without the ones left to the server."""
        body: dict[str, object] = {"n": self.n}
        for name in ("temperature", "top_p", "top_k", "max_tokens", "seed", "presence_penalty", "frequency_penalty"):
            value = getattr(self, name)
            if value is not None:
                body[name] = value
        if self.stop:
            body["stop"] = list(self.stop)
        if self.beam_search:
            body["use_beam_search"] = True
            if self.length_penalty is not None:
                body["length_penalty"] = self.length_penalty
        return body

    def as_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["stop"] = list(self.stop)
        return data


@dataclass(frozen=True)
class Turn:
    """One message of a chat conversation before the prompt (``role``: ``user`` or ``assistant``)."""

    role: str
    content: str

    def to_json(self) -> dict[str, str]:
        return {"role": self.role, "content": self.content}


@dataclass(frozen=True)
class Parent:
    """Where a run came from: candidate ``candidate`` of history run ``run``, cut at character
    ``offset`` of its text (None: its whole text, a continuation)."""

    run: int
    candidate: int
    offset: int | None = None

    def to_json(self) -> dict[str, int | None]:
        return {"run": self.run, "candidate": self.candidate, "offset": self.offset}


@dataclass(frozen=True)
class GenerationRequest:
    """One run: a prompt, its sampling parameters, streaming or not; for the chat API a
    system prompt; more vLLM fields (``extra``) merged into the body as they are.

    Chat only: ``turns`` is the conversation before the prompt. An empty prompt after an
    assistant turn asks the model to go on with that turn (a fork inside a reply).
    ``parent`` is not sent: the history keeps it to draw the run tree.
    """

    prompt: str
    params: SamplingParams = field(default_factory=SamplingParams)
    stream: bool = True
    system: str | None = None  # chat only: the first message, role "system" (None or "": none)
    extra: Mapping[str, Any] = field(default_factory=dict)  # e.g. {"min_p": 0.05}; see extra_fields
    turns: tuple[Turn, ...] = ()
    parent: Parent | None = None

    def messages(self) -> list[dict[str, str]]:
        """The chat messages: the system prompt, the turns, then the prompt as the user's (unless
        it continues a reply)."""
        messages = [{"role": "system", "content": self.system}] if self.system else []
        messages += [turn.to_json() for turn in self.turns]
        if not self.continues_reply:
            messages.append({"role": "user", "content": self.prompt})
        return messages

    @property
    def continues_reply(self) -> bool:
        """True when the last turn is the assistant's and the prompt is empty: the model goes on with it."""
        return not self.prompt and bool(self.turns) and self.turns[-1].role == "assistant"

    def problems(self, *, stream: bool | None = None, client_beams: bool = False, legacy: bool = False,
                 chat: bool | None = None, max_n: int = LIMITS["n"]) -> dict[str, str]:
        """Every invalid field mapped to a one-line reason: :meth:`SamplingParams.problems`,
        then ``system`` (``chat`` False: the API is not chat; None: not known yet) and ``extra``."""
        out = self.params.problems(stream=self.stream if stream is None else stream, client_beams=client_beams,
                                   legacy=legacy, max_n=max_n)
        if self.system and chat is False:
            out["system"] = ("a system prompt is for the chat API (--api chat); completions and /generate "
                             "take the prompt alone")
        problem = extra_problem(self.extra)
        if problem:
            out["extra"] = problem
        return out

    def validate(self, *, client_beams: bool = False, legacy: bool = False, chat: bool | None = None) -> None:
        """Raise :class:`ClientError` (kind INVALID) naming the first bad field."""
        problems = self.problems(client_beams=client_beams, legacy=legacy, chat=chat)
        if problems:
            name, reason = next(iter(problems.items()))
            raise ClientError(ErrorKind.INVALID, reason, field=name)

    def with_params(self, **changes: object) -> GenerationRequest:
        return replace(self, params=replace(self.params, **changes))


def _int_in(value: object, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _finite(value: float) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def request_from(values: Mapping[str, Any]) -> GenerationRequest:
    """A request from a front end's defaults (:data:`tui_client.core.defaults.TUI_DEFAULTS`)."""
    sampling = {key: value for key, value in values.items() if key not in ("prompt", "stream")}
    return GenerationRequest(values["prompt"], SamplingParams(**sampling), stream=values["stream"])
