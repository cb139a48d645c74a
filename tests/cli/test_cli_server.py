"""`tui-client server [--json]` end to end: a real process against the demo, the replay of a real vLLM,
a server without /metrics, and nothing listening."""

from __future__ import annotations

import json

from cli_runner import run_cli
from facts_server import FactsServer
from replay_server import OPENAI, Recording, ReplayServer


def test_json_against_the_demo_server(demo_url: str) -> None:
    out = run_cli("server", "--url", demo_url, "--json")
    assert out.returncode == 0, out.stderr
    facts = json.loads(out.stdout)
    assert set(facts) == {"url", "api", "reachable", "version", "models", "metrics", "rates", "missing", "unreachable"}
    assert facts["url"] == demo_url and facts["api"] == "completions" and facts["reachable"] is True
    assert facts["version"].startswith("0.32.0")
    assert facts["models"] == [{"id": "demo-markov", "root": "demo-markov", "parent": None, "max_model_len": 2048,
                                "adapter": False}]
    metrics = facts["metrics"]
    assert metrics["num_requests_running"] == 0 and metrics["kv_cache_usage_perc"] == 0.0
    assert isinstance(metrics["generation_tokens_total"], int)
    assert facts["missing"] == {} and facts["rates"] is None


def test_json_against_the_recorded_vllm() -> None:
    metrics = Recording.load(OPENAI / "metrics.json").body.decode()
    generated = next(line for line in metrics.splitlines() if line.startswith("vllm:generation_tokens_total{"))
    with ReplayServer(OPENAI / "metrics.json", also=(OPENAI / "version.json",)) as server:
        out = run_cli("server", "--url", server.url, "--json")
    assert out.returncode == 0, out.stderr
    facts = json.loads(out.stdout)
    assert facts["version"] == "0.32.0"
    assert [(m["id"], m["max_model_len"]) for m in facts["models"]] == [("smollm2-135m", 2048)]
    assert facts["metrics"]["generation_tokens_total"] == int(float(generated.rsplit(" ", 1)[1]))
    assert facts["missing"] == {}


def test_text_names_what_is_missing() -> None:
    with FactsServer("html") as server:
        out = run_cli("server", "--url", server.url)
        assert server.count("/metrics") == 1
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == f"server   {server.url} (completions)"
    assert "version  vLLM 0.32.0" in lines
    assert "models   smollm2-135m  root /tmp/smolhf  max_model_len 2048" in lines
    assert lines[-1] == "missing  metrics: /metrics is not Prometheus text (an HTML page: Welcome to nginx!)"
    assert not any(line.startswith("load") for line in lines)


def test_nothing_listening_is_one_line_and_exit_1(unused_url: str) -> None:
    out = run_cli("server", "--url", unused_url)
    assert out.returncode == 1
    assert out.stdout == ""
    assert len(out.stderr.splitlines()) == 1 and "connection refused" in out.stderr
    assert out.stderr.startswith("tui-client server: error: ")


def test_demo_flag_and_help() -> None:
    out = run_cli("server", "--demo")
    assert out.returncode == 0, out.stderr
    assert "max_model_len 2048" in out.stdout and "0 running · 0 waiting · KV cache 0.0%" in out.stdout
    help_text = run_cli("server", "--help").stdout
    assert "--json" in help_text and "/metrics" in help_text
    assert "tui-client server [options]" in run_cli("--help").stdout


def test_serve_demo_without_metrics_is_the_missing_case() -> None:
    import socket
    import subprocess
    import sys
    import time

    import httpx

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "tui_client", "serve-demo", "--port", str(port), "--no-metrics"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                assert httpx.get(url + "/metrics").status_code == 404
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "serve-demo did not start"
                time.sleep(0.05)
        out = run_cli("server", "--url", url, "--json")
    finally:
        proc.terminate()
        proc.wait(10)
    assert out.returncode == 0, out.stderr
    facts = json.loads(out.stdout)
    assert facts["missing"] == {"metrics": "no /metrics: 404"} and facts["metrics"] is None
    assert facts["models"][0]["max_model_len"] == 2048
