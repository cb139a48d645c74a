"""The demo server's ``/metrics``: vLLM 0.32's names, written by ``prometheus_client`` itself.

Every generation the demo paces (:func:`tui_client.demo.wire.paced`) is a :class:`Job` of the
app's :class:`DemoMeter`: its sequences count as running requests (past
:data:`DEMO_MAX_NUM_SEQS` as waiting, as vLLM's scheduler would queue them), each step adds its
tokens to ``vllm:generation_tokens_total``, and the KV cache usage is the tokens in flight over
a pretend cache of :data:`DEMO_KV_CACHE_TOKENS`.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from tui_client.core.defaults import DEMO_KV_CACHE_TOKENS, DEMO_MAX_NUM_SEQS

CONTENT_TYPE = CONTENT_TYPE_LATEST
"""What ``/metrics`` answers with (``text/plain; version=...``), as vLLM's does."""


class Job:
    """One paced generation: its sequences and the tokens they hold (prompt + generated)."""

    def __init__(self, meter: DemoMeter, sequences: int, prompt_tokens: int) -> None:
        self.meter, self.sequences, self.tokens = meter, max(1, sequences), prompt_tokens * max(1, sequences)
        self.ended = False

    def step(self, generated: int) -> None:
        """A step that gave ``generated`` tokens (one per sequence still going)."""
        self.sequences = generated
        self.tokens += generated
        self.meter.generation_tokens.inc(generated)
        if self.meter.tokens_in_flight() > self.meter.kv_tokens:  # vLLM would preempt a sequence here
            self.meter.preemptions.inc()

    def end(self) -> None:
        """The generation ended or its client left (safe to call twice)."""
        if not self.ended:
            self.ended = True
            self.meter.jobs.discard(self)


class DemoMeter:
    """The demo app's counters and gauges, with vLLM's labels (``engine``, ``model_name``)."""

    def __init__(self, model_name: str, *, kv_tokens: int = DEMO_KV_CACHE_TOKENS, max_num_seqs: int = DEMO_MAX_NUM_SEQS) -> None:
        self.kv_tokens, self.max_num_seqs = kv_tokens, max_num_seqs
        self.jobs: set[Job] = set()
        self.registry = CollectorRegistry(auto_describe=True)
        labels = {"engine": "0", "model_name": model_name}

        def gauge(name: str, doc: str) -> Gauge:
            return Gauge(name, doc, list(labels), registry=self.registry).labels(**labels)

        def counter(name: str, doc: str) -> Counter:
            return Counter(name, doc, list(labels), registry=self.registry).labels(**labels)

        self.running = gauge("vllm:num_requests_running", "Number of requests in model execution batches.")
        self.waiting = gauge("vllm:num_requests_waiting", "Number of requests waiting to be processed.")
        self.kv_cache = gauge("vllm:kv_cache_usage_perc", "KV-cache usage. 1 means 100 percent usage.")
        self.preemptions = counter("vllm:num_preemptions", "Cumulative number of preemption from the engine.")
        self.prompt_tokens = counter("vllm:prompt_tokens", "Number of prefill tokens processed.")
        self.generation_tokens = counter("vllm:generation_tokens", "Number of generation tokens processed.")

    def begin(self, sequences: int, prompt_tokens: int = 0) -> Job:
        """A generation starts: ``sequences`` candidates (or beams) of a ``prompt_tokens`` prompt."""
        job = Job(self, sequences, prompt_tokens)
        self.jobs.add(job)
        self.prompt_tokens.inc(prompt_tokens)
        return job

    def tokens_in_flight(self) -> int:
        return sum(job.tokens for job in self.jobs)

    def exposition(self) -> bytes:
        """The Prometheus text of the moment."""
        sequences = sum(job.sequences for job in self.jobs)
        self.running.set(min(sequences, self.max_num_seqs))
        self.waiting.set(max(0, sequences - self.max_num_seqs))
        self.kv_cache.set(min(1.0, self.tokens_in_flight() / self.kv_tokens))
        return generate_latest(self.registry)
