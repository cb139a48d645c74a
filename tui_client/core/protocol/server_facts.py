"""What a vLLM server says about itself: ``/version``, ``/v1/models`` and ``/metrics``.

:func:`parse_metrics` reads vLLM's Prometheus text (with ``prometheus_client``'s parser) into a
:class:`MetricsSnapshot`: running and waiting requests, KV cache usage and the token and
preemption counters, summed over label sets (models, engines). :func:`rates` turns two snapshots
into tokens per second. :class:`ServerWatch` asks the three sources through the client's own
connection, remembers what is missing and why, backs off from a source that fails (a 404 or an
answer that is not Prometheus text is not asked again until a manual refresh) and keeps the
samples the server panel's sparklines draw.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from tui_client.core.defaults import (
    SERVER_BACKOFF_MAX,
    SERVER_FACTS_TIMEOUT,
    SERVER_HISTORY_SECONDS,
    SERVER_POLL_INTERVAL,
)
from tui_client.core.protocol.apis import loads
from tui_client.core.protocol.client import VLLMClient, describe_body, shown_url
from tui_client.core.protocol.errors import ClientError, ErrorKind, without_userinfo

__all__ = [
    "SOURCES", "MetricsError", "MetricsSnapshot", "ModelCard", "Rates", "Sample", "ServerFacts", "ServerWatch",
    "model_cards", "parse_metrics", "rates",
]

SOURCES = ("version", "models", "metrics")
"""The sources of :class:`ServerFacts`, by name; their paths are :data:`PATHS`."""

PATHS = {"version": "/version", "models": "/v1/models", "metrics": "/metrics"}

# Sample names (counters keep their _total in samples; prometheus_client strips it from families).
RUNNING = "vllm:num_requests_running"
WAITING = "vllm:num_requests_waiting"
KV_CACHE = ("vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc")  # vLLM 0.32's, then V0's name
PROMPT_TOKENS = "vllm:prompt_tokens_total"
GENERATION_TOKENS = "vllm:generation_tokens_total"
PREEMPTIONS = "vllm:num_preemptions_total"
_SUMMED = (RUNNING, WAITING, PROMPT_TOKENS, GENERATION_TOKENS, PREEMPTIONS)


class MetricsError(ValueError):
    """``/metrics`` answered, but not with vLLM's Prometheus text; ``str()`` is the reason."""


@dataclass(frozen=True)
class ModelCard:
    """One entry of ``/v1/models``: a model, or a LoRA adapter of ``parent``."""

    id: str
    root: str | None = None
    parent: str | None = None
    max_model_len: int | None = None

    @property
    def adapter(self) -> bool:
        """A LoRA adapter: vLLM lists it as a model whose ``parent`` is the base model."""
        return self.parent is not None

    def to_json(self) -> dict[str, object]:
        return {"id": self.id, "root": self.root, "parent": self.parent, "max_model_len": self.max_model_len,
                "adapter": self.adapter}


def model_cards(raw: object) -> tuple[ModelCard, ...]:
    """The cards of ``/v1/models``'s ``data`` (dicts with a string ``id``); odd fields become None."""

    def text(value: object) -> str | None:
        return value if isinstance(value, str) else None

    out = []
    for card in raw if isinstance(raw, (list, tuple)) else ():
        if not isinstance(card, Mapping) or not isinstance(card.get("id"), str):
            continue
        length = card.get("max_model_len")
        length = length if isinstance(length, int) and not isinstance(length, bool) and length > 0 else None
        out.append(ModelCard(card["id"], text(card.get("root")), text(card.get("parent")), length))
    return tuple(out)


@dataclass(frozen=True)
class MetricsSnapshot:
    """vLLM's gauges and counters at one moment (``at``: the client's monotonic clock), summed
    over label sets; KV cache usage is the fullest engine's, a fraction from 0 to 1."""

    at: float
    running: float | None = None
    waiting: float | None = None
    kv_cache: float | None = None
    prompt_tokens: float | None = None
    generation_tokens: float | None = None
    preemptions: float | None = None
    engines: int = 0

    def to_json(self) -> dict[str, object]:
        return {
            "num_requests_running": _number(self.running), "num_requests_waiting": _number(self.waiting),
            "kv_cache_usage_perc": None if self.kv_cache is None else round(self.kv_cache * 100, 2),
            "prompt_tokens_total": _number(self.prompt_tokens),
            "generation_tokens_total": _number(self.generation_tokens),
            "num_preemptions_total": _number(self.preemptions), "engines": self.engines,
        }


def _number(value: float | None) -> int | float | None:
    """A counter or gauge for JSON: an integer when it is one."""
    if value is None:
        return None
    return int(value) if value.is_integer() else value


def parse_metrics(text: str, at: float) -> MetricsSnapshot:
    """vLLM's ``/metrics`` as a snapshot; :class:`MetricsError` when it is not Prometheus text or
    has none of vLLM's metrics (a proxy's page, another exporter)."""
    sums: dict[str, float] = {}
    usage: dict[str, list[float]] = {}
    engines: set[tuple[tuple[str, str], ...]] = set()
    try:
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                name, value = sample.name, sample.value
                if not math.isfinite(value):
                    continue
                if name in _SUMMED:
                    sums[name] = sums.get(name, 0.0) + value
                    if name == RUNNING:
                        engines.add(tuple(sorted(sample.labels.items())))
                elif name in KV_CACHE:
                    usage.setdefault(name, []).append(value)
    except (ValueError, TypeError, IndexError, KeyError) as err:
        raise MetricsError(f"not Prometheus text ({_short(str(err))})") from None
    if not sums and not usage:
        raise MetricsError("no vllm: metrics in it (not a vLLM server?)")
    kv = next((max(usage[name]) for name in KV_CACHE if name in usage), None)  # the current name first
    return MetricsSnapshot(
        at, sums.get(RUNNING), sums.get(WAITING), None if kv is None else min(max(kv, 0.0), 1.0),
        sums.get(PROMPT_TOKENS), sums.get(GENERATION_TOKENS), sums.get(PREEMPTIONS), len(engines),
    )


@dataclass(frozen=True)
class Rates:
    """What moved between two snapshots: tokens per second and the preemptions in between
    (None where a counter is missing or went back, as when the server restarted)."""

    seconds: float
    prompt_tps: float | None
    generation_tps: float | None
    preemptions: float | None

    def to_json(self) -> dict[str, object]:
        def rounded(value: float | None) -> float | None:
            return None if value is None else round(value, 1)

        return {"seconds": round(self.seconds, 3), "prompt_tokens_per_s": rounded(self.prompt_tps),
                "generation_tokens_per_s": rounded(self.generation_tps), "preemptions": _number(self.preemptions)}


def rates(before: MetricsSnapshot, after: MetricsSnapshot) -> Rates | None:
    """The rates from ``before`` to ``after``; None when no time passed between them."""
    seconds = after.at - before.at
    if not seconds > 0:
        return None

    def delta(old: float | None, new: float | None) -> float | None:
        return None if old is None or new is None or new < old else new - old

    prompt, generated = delta(before.prompt_tokens, after.prompt_tokens), delta(before.generation_tokens, after.generation_tokens)
    return Rates(seconds, None if prompt is None else prompt / seconds, None if generated is None else generated / seconds,
                 delta(before.preemptions, after.preemptions))


@dataclass(frozen=True)
class Sample:
    """One point of the sparklines: when, generation tokens/s, KV cache usage (percent)."""

    at: float
    generation_tps: float | None
    kv_cache_perc: float | None


@dataclass(frozen=True)
class ServerFacts:
    """What the server said at the last refresh. ``missing``: each source that gave nothing, with
    why (``{"metrics": "no /metrics: 404"}``); ``unreachable``: one line when nothing answered."""

    url: str
    api: str | None
    version: str | None = None
    models: tuple[ModelCard, ...] = ()
    metrics: MetricsSnapshot | None = None
    rates: Rates | None = None
    missing: Mapping[str, str] = field(default_factory=dict)
    unreachable: str | None = None

    @property
    def reachable(self) -> bool:
        return self.unreachable is None

    def model(self, name: str | None) -> ModelCard | None:
        """The card of model ``name``, else the first base model's."""
        for card in self.models:
            if card.id == name:
                return card
        return next((card for card in self.models if not card.adapter), self.models[0] if self.models else None)

    def to_json(self) -> dict[str, object]:
        """The stable JSON object of ``tui-client server --json``."""
        return {
            "url": self.url, "api": self.api, "reachable": self.reachable, "version": self.version,
            "models": [card.to_json() for card in self.models],
            "metrics": None if self.metrics is None else self.metrics.to_json(),
            "rates": None if self.rates is None else self.rates.to_json(),
            "missing": dict(self.missing), "unreachable": self.unreachable,
        }


@dataclass
class _Source:
    """One source's state between refreshes: the last value, why it is missing, when to ask again."""

    value: Any = None
    reason: str | None = None
    failures: int = 0
    next_try: float = 0.0  # math.inf: not until a manual refresh
    asked: int = 0  # requests sent (the tests count them)


_UNREACHABLE = (ErrorKind.CONNECT, ErrorKind.DNS, ErrorKind.TLS)


class ServerWatch:
    """Asks a server its facts at each :meth:`refresh`; one per client, for the session.

    A source that answers 404, or with a body that is not what it should be, is not asked again
    until ``refresh(manual=True)``; one that times out, is refused or answers 5xx is asked again
    after 1, 2, 4... poll intervals (at most :data:`SERVER_BACKOFF_MAX` seconds). ``/version`` is
    asked once. Each source is asked at most once per refresh, and the three at the same time.
    """

    def __init__(
        self, client: VLLMClient, *, timeout: float = SERVER_FACTS_TIMEOUT, interval: float = SERVER_POLL_INTERVAL,
        history_seconds: float = SERVER_HISTORY_SECONDS, clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.timeout, self.interval, self.clock = timeout, interval, clock
        self.sources = {name: _Source() for name in SOURCES}
        self.samples: deque[Sample] = deque(maxlen=max(2, math.ceil(history_seconds / interval) + 1))
        """The sparklines' points, oldest first: one per refresh that read ``/metrics``."""
        self.facts: ServerFacts | None = None
        self._previous: MetricsSnapshot | None = None

    async def refresh(self, *, manual: bool = False) -> ServerFacts:
        """Ask each source that is due; the facts as they now stand (also kept as :attr:`facts`)."""
        now = self.clock()
        if manual:
            for source in self.sources.values():
                source.next_try = 0.0
                source.failures = 0
        asks = {"version": self._version, "models": self._models, "metrics": self._metrics}
        due = [name for name in SOURCES if self.sources[name].next_try <= now
               and not (name == "version" and self.sources[name].value is not None and not manual)]
        results = await asyncio.gather(*(self._ask(name, asks[name]) for name in due))
        answered = any(results)
        if not due:  # every source backing off: as it was
            unreachable = self.facts.unreachable if self.facts is not None else None
        elif answered:
            unreachable = None
        else:
            reason = next((self.sources[name].reason for name in due if self.sources[name].reason), None)
            unreachable = reason or f"{self.client.base_url} did not answer"
        metrics: MetricsSnapshot | None = self.sources["metrics"].value
        moved = None
        if metrics is not None and "metrics" in due and self.sources["metrics"].reason is None:
            if self._previous is not None:
                moved = rates(self._previous, metrics)
            self._previous = metrics
            self.samples.append(Sample(metrics.at, None if moved is None else moved.generation_tps,
                                       None if metrics.kv_cache is None else metrics.kv_cache * 100))
        elif self.facts is not None and metrics is not None:
            moved = self.facts.rates  # not asked this time (backing off): as it was
        server = self.client.describe()
        self.facts = ServerFacts(
            url=without_userinfo(shown_url(server.url)), api=server.api.value if server.api else None,
            version=self.sources["version"].value, models=self.sources["models"].value or (),
            metrics=metrics, rates=moved,
            missing={name: source.reason for name, source in self.sources.items() if source.reason},
            unreachable=unreachable,
        )
        return self.facts

    def asked(self, name: str) -> int:
        """How many requests went to source ``name`` so far."""
        return self.sources[name].asked

    async def _ask(self, name: str, ask: Callable[[], Any]) -> bool:
        """Ask one source; True when the server answered at all (even a 404)."""
        source = self.sources[name]
        source.asked += 1
        try:
            source.value, source.reason = await ask(), None
            source.failures, source.next_try = 0, 0.0
            return True
        except _Missing as missing:  # answered, but nothing usable: not asked again until a manual refresh
            source.value, source.reason, source.next_try = None, missing.reason, math.inf
            return True
        except ClientError as err:
            source.value = source.value if name == "version" else None
            source.reason = self._failure(name, err)
            source.failures += 1
            backoff = min(self.interval * 2 ** (source.failures - 1), SERVER_BACKOFF_MAX)
            source.next_try = self.clock() + backoff - self.interval / 2  # due at the poll after that
            return err.status is not None

    def _failure(self, name: str, err: ClientError) -> str:
        path = PATHS[name]
        if err.kind is ErrorKind.TIMEOUT:
            return f"{path} timed out ({self.timeout:g} s without an answer)"
        if err.kind in _UNREACHABLE:
            return err.message
        if err.status is not None:
            return f"{path} answered {err.status}" + (" (needs the API key)" if err.kind is ErrorKind.AUTH else "")
        if err.kind is ErrorKind.DISCONNECTED:
            return f"{path}: the server closed the connection"
        return f"{path}: {err.message}"

    async def _get(self, name: str) -> Any:
        """The answer of source ``name``: :class:`_Missing` for a 404, ClientError for other statuses."""
        resp = await self.client.get(PATHS[name], timeout=self.timeout)
        if resp.status_code == 404:
            extra = " (the legacy /generate server has none)" if name == "models" else ""
            raise _Missing(f"no {PATHS[name]}: 404{extra}")
        if resp.status_code >= 400:
            raise self.client.status_error(resp)
        return resp

    def _json(self, name: str, resp: Any) -> Any:
        try:
            return loads(resp.content)
        except Exception:
            raise _Missing(f"{PATHS[name]} is not JSON ({describe_body(resp, resp.content)})") from None

    async def _version(self) -> str:
        data = self._json("version", await self._get("version"))
        if not isinstance(data, dict) or not isinstance(data.get("version"), str):
            raise _Missing('/version has no {"version": ...}')
        return data["version"]

    async def _models(self) -> tuple[ModelCard, ...]:
        data = self._json("models", await self._get("models"))
        if not isinstance(data, dict) or not isinstance(data.get("data"), list):
            raise _Missing('/v1/models is no model list ({"data": [...]})')
        return model_cards(data["data"])

    async def _metrics(self) -> MetricsSnapshot:
        resp = await self._get("metrics")
        at = self.clock()
        ctype = resp.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype in ("text/html", "application/json"):
            raise _Missing(f"/metrics is not Prometheus text ({describe_body(resp, resp.content)})")
        text = resp.content.decode("utf-8", "replace")
        try:  # ~60 kB from vLLM 0.32 takes ~8 ms to parse: off the event loop
            return await asyncio.to_thread(parse_metrics, text, at)
        except MetricsError as err:
            raise _Missing(f"/metrics: {err}") from None


class _Missing(Exception):
    """A source answered with nothing usable; ``reason`` says what."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _short(text: str, limit: int = 80) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
