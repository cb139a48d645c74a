"""Reading vLLM's /metrics and /v1/models: the recorded 0.32 text, rates, label sets, bad bodies."""

from __future__ import annotations

import re

import pytest
from replay_server import OPENAI, Recording

from tui_client.core.protocol.server_facts import (
    MetricsError,
    MetricsSnapshot,
    ModelCard,
    ServerFacts,
    model_cards,
    parse_metrics,
    rates,
)

RECORDED = Recording.load(OPENAI / "metrics.json").body.decode()


def recorded(name: str) -> float:
    """The sum of every sample ``name{...} value`` of the recording, read with a regex."""
    values = re.findall(rf"^{re.escape(name)}(?:\{{[^}}]*\}})? (\S+)$", RECORDED, re.MULTILINE)
    assert values, name
    return sum(float(v) for v in values)


def test_the_recorded_metrics_of_vllm_0_32() -> None:
    snap = parse_metrics(RECORDED, at=12.5)
    assert snap.at == 12.5
    assert snap.running == recorded("vllm:num_requests_running")
    assert snap.waiting == recorded("vllm:num_requests_waiting")
    assert snap.kv_cache == recorded("vllm:kv_cache_usage_perc")
    assert snap.prompt_tokens == recorded("vllm:prompt_tokens_total") > 0
    assert snap.generation_tokens == recorded("vllm:generation_tokens_total") > 0
    assert snap.preemptions == recorded("vllm:num_preemptions_total")
    assert snap.engines == len(re.findall(r"^vllm:num_requests_running\{", RECORDED, re.MULTILINE)) == 1
    # The _created gauges and the by-source counters are not counted in.
    assert snap.prompt_tokens != recorded("vllm:prompt_tokens_created")
    assert snap.to_json()["prompt_tokens_total"] == int(recorded("vllm:prompt_tokens_total"))


def text(*samples: str) -> str:
    lines = ["# TYPE vllm:num_requests_running gauge", "# TYPE vllm:generation_tokens_total counter",
             "# TYPE vllm:kv_cache_usage_perc gauge"]
    return "\n".join([*lines, *samples]) + "\n"


def test_label_sets_are_summed_and_kv_cache_is_the_fullest_engines() -> None:
    snap = parse_metrics(text(
        'vllm:num_requests_running{engine="0",model_name="m"} 3',
        'vllm:num_requests_running{engine="1",model_name="m"} 2',
        'vllm:generation_tokens_total{engine="0",model_name="m"} 100',
        'vllm:generation_tokens_total{engine="1",model_name="m"} 50',
        'vllm:kv_cache_usage_perc{engine="0",model_name="m"} 0.25',
        'vllm:kv_cache_usage_perc{engine="1",model_name="m"} 0.75',
    ), at=0)
    assert (snap.running, snap.generation_tokens, snap.kv_cache, snap.engines) == (5, 150, 0.75, 2)
    assert snap.waiting is None and snap.prompt_tokens is None  # absent, not zero


def test_older_vllm_names_its_kv_cache_gpu_cache_usage() -> None:
    snap = parse_metrics('# TYPE vllm:gpu_cache_usage_perc gauge\nvllm:gpu_cache_usage_perc{model_name="m"} 0.5\n', at=0)
    assert snap.kv_cache == 0.5


@pytest.mark.parametrize("body, why", [
    ("<!doctype html><html><title>nginx</title></html>", "not Prometheus text"),
    ('{"detail": "Not Found"}', "not Prometheus text"),
    ("# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total 3.5\n", "no vllm: metrics"),
    ("", "no vllm: metrics"),
])
def test_what_is_not_vllm_metrics_says_why(body: str, why: str) -> None:
    with pytest.raises(MetricsError, match=why):
        parse_metrics(body, at=0)


def test_rates_from_two_snapshots() -> None:
    before = MetricsSnapshot(at=10.0, prompt_tokens=1000, generation_tokens=500, preemptions=1)
    after = MetricsSnapshot(at=12.0, prompt_tokens=1100, generation_tokens=1324, preemptions=3)
    moved = rates(before, after)
    assert moved is not None
    assert (moved.seconds, moved.prompt_tps, moved.generation_tps, moved.preemptions) == (2.0, 50.0, 412.0, 2)
    assert rates(after, after) is None  # no time passed
    restarted = rates(after, MetricsSnapshot(at=14.0, prompt_tokens=10, generation_tokens=5, preemptions=0))
    assert restarted is not None and restarted.generation_tps is None and restarted.preemptions is None
    missing = rates(MetricsSnapshot(at=0.0), MetricsSnapshot(at=1.0, generation_tokens=5))
    assert missing is not None and missing.generation_tps is None


def test_the_recording_twice_moves_nothing() -> None:
    moved = rates(parse_metrics(RECORDED, at=1.0), parse_metrics(RECORDED, at=3.0))
    assert moved is not None and (moved.prompt_tps, moved.generation_tps, moved.preemptions) == (0.0, 0.0, 0)


def test_model_cards_keep_root_parent_and_max_model_len() -> None:
    raw = Recording.load(OPENAI / "models.json").body
    import json

    data = json.loads(raw)["data"]
    assert model_cards(data) == (ModelCard(data[0]["id"], data[0]["root"], None, data[0]["max_model_len"]),)
    cards = model_cards([
        {"id": "base", "root": "/models/base", "parent": None, "max_model_len": 4096},
        {"id": "sql-lora", "root": "/adapters/sql", "parent": "base", "max_model_len": 4096},
        {"id": 7}, "junk", {"id": "odd", "max_model_len": True, "root": 3},
    ])
    assert [c.id for c in cards] == ["base", "sql-lora", "odd"]
    assert [c.adapter for c in cards] == [False, True, False]
    assert cards[2] == ModelCard("odd")  # a bool is no length, a number no root
    facts = ServerFacts("http://h", "completions", models=cards)
    assert facts.model("sql-lora") == cards[1]
    assert facts.model("unknown") == cards[0]  # the first base model
    assert facts.to_json()["models"][1] == {"id": "sql-lora", "root": "/adapters/sql", "parent": "base",
                                            "max_model_len": 4096, "adapter": True}
