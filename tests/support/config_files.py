"""A config file that sets every key, for the config tests and the CLI tests that read it."""

FULL = """\
url = "http://gpu-box:8000/v1"
api = "chat"
model = "qwen"
timeout = 30
theme = "nord"

[sampling]
n = 8
temperature = 1
top_p = 0.9
top_k = 50
max_tokens = 64
seed = 7
stop = ["\\n\\n", "END"]
presence_penalty = 0.5
frequency_penalty = -0.5
logprobs = 3

[keys]
"app.run" = "ctrl+g"
"app.help" = "f2,question_mark"
"""
