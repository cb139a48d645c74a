"""Every default of the app, in one place: the front ends, the protocol and the config read them here."""

from __future__ import annotations

from types import MappingProxyType

DEFAULT_HOST = "localhost"
"""The server host without ``--host`` or ``--url`` (like vLLM's example client)."""

DEFAULT_PORT = 8000
"""The server port without ``--port`` or ``--url`` (``vllm serve``'s own default)."""

DEFAULT_URL = f"http://{DEFAULT_HOST}:{DEFAULT_PORT}"
"""Where the app connects without ``--url`` or ``--demo`` (like vLLM's example client)."""

DEFAULT_API = "auto"
"""The protocol choice without ``--api``: ask ``/v1/models``, fall back to ``/generate``."""

DEFAULT_TIMEOUT = 600.0
"""Seconds without a byte before a run fails; a non-streaming answer waits for the whole generation."""

CONNECT_TIMEOUT = 10.0
"""The longest a connection attempt waits (seconds), however long ``--timeout`` is."""

AFTER_DONE_GRACE = 0.25
"""How long a stream is read on after ``[DONE]`` (seconds), to count what a server sends too
many; then the connection is closed, even if the server keeps it open."""

DEFAULT_MAX_LINE_BYTES = 64 * 1024 * 1024
"""The largest streamed line or SSE event accepted (``--max-line-bytes``)."""

DEFAULT_MAX_TOTAL_CHARS = 256 * 1024 * 1024
"""The most text one run may hold (``--max-total-chars``)."""

MAX_N = 64
"""The n slider's range (1 to this): the TUI refuses more; ``generate`` allows up to ``LIMITS["n"]``."""

LIMITS = MappingProxyType({
    "n": 1024,  # candidates of one generate run
    "top_k": 1 << 20,  # beyond any vocabulary
    "max_tokens": 1 << 24,  # beyond any context window
    "max_line_bytes": 1 << 32,
    "max_total_chars": 1 << 32,
    "run_id": (1 << 63) - 1,  # SQLite's INTEGER
    "history_limit": (1 << 63) - 1,
    "port": 65535,
})
"""The largest value each integer setting accepts (flags, config file, TUI fields); each is at
least 1 (``port``: 0, any free one). A value past these is refused with the range, never clamped."""

VLLM_MAX_LOGPROBS = 20
"""vLLM's default ``--max-logprobs``: the most ``--logprobs`` may ask for; a live beam search of
width n asks for 2n a step."""

PROMPT_FILE_MAX_BYTES = 64 * 1024 * 1024
"""The largest ``--prompt-file`` read (a bigger file, or ``/dev/zero``, is refused, not read to the end)."""

SEED_PROMPT = "San Francisco is a"
"""vLLM's example client's default prompt (``generate`` without ``--prompt``)."""

GENERATE_DEFAULTS = MappingProxyType({"prompt": SEED_PROMPT, "n": 1, "temperature": 0.0, "max_tokens": 16,
                                      "stream": False, "logprobs": 0})
"""What an unset flag means for ``generate``: the seed client's choices (greedy, 16 tokens, no streaming)."""

TUI_DEFAULTS = MappingProxyType({"prompt": "", "n": 4, "temperature": 0.8, "max_tokens": 128, "stream": True,
                                 "logprobs": 0})
"""What an unset flag means for the TUI: where exploring is useful."""

GREEDY_FALLBACK_TEMPERATURE = 0.8
"""``generate --n N`` (N > 1) without ``--temperature`` samples at this (greedy makes N equal candidates)."""

HISTORY_LIST_LIMIT = 100
"""How many runs ``tui-client history list`` prints without ``--limit``."""

HISTORY_LIST_PREVIEW_CHARS = 60
"""How much of a prompt one line of a history listing shows (then an ellipsis)."""

DEMO_HOST = "127.0.0.1"
"""The address the embedded demo server binds (loopback only)."""

DEMO_MODEL = "demo-markov"
"""The model id the demo server serves (``serve-demo --models a,b`` serves others)."""
DEMO_PORT = 8000
"""``tui-client serve-demo``'s port without ``--port`` (where the app looks by default)."""

DEMO_TOKEN_DELAY = 0.03
"""Seconds per generation step of the demo server: slow enough to watch the text grow."""

SERVER_POLL_INTERVAL = 2.0
"""How often the server panel (F5) and the header's server line ask ``/metrics`` and ``/v1/models``
again (seconds), while the panel is open or a run goes."""

SERVER_FACTS_TIMEOUT = 5.0
"""The longest one of those requests waits (seconds): a hanging ``/metrics`` is missing, not a stall."""

SERVER_BACKOFF_MAX = 60.0
"""A source that failed (timed out, refused, 5xx) is asked again after 2, 4, 8... polls, at most this many seconds apart."""

SERVER_HISTORY_SECONDS = 60.0
"""How far back the server panel's sparklines reach (seconds of samples)."""

DEMO_KV_CACHE_TOKENS = 8192
"""The demo server's pretend KV cache, in tokens: its ``vllm:kv_cache_usage_perc`` is the tokens in flight over this."""

DEMO_MAX_NUM_SEQS = 32
"""The demo server's pretend ``--max-num-seqs``: sequences past it count as waiting in its ``/metrics``."""
