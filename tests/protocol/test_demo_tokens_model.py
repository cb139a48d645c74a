"""The demo's Markov token model: a tokenizer that round-trips any text, ranked next-token logprobs."""

from __future__ import annotations

import math

from tui_client.demo.token_model import MarkovTokens

PROMPT = "San Francisco is a"


def test_encode_decode_round_trips_any_text() -> None:
    model = MarkovTokens()
    for text in [PROMPT, "Héllo,  wörld 🙂!\n\nNew<|im_end|> line\n", " x ", "'’-", ""]:
        ids = model.encode(text)
        assert model.decode(ids, skip_special_tokens=False) == text and all(0 <= i < model.vocab_size for i in ids)
    assert "".join(map(model.token_str, model.encode(PROMPT))) == PROMPT  # token_str: each token's own text
    assert model.encode(PROMPT) == MarkovTokens().encode(PROMPT)  # stable ids
    assert model.encode("<|im_end|>") == [model.eos_token_id] == [2]  # laid out as in SmolLM2
    assert model.decode(model.encode("a<|im_end|>b")) == "ab"  # special tokens skipped unless asked for


def test_chat_template_is_smollms() -> None:
    model = MarkovTokens()
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}]
    text = "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n"
    assert model.decode(model.chat_ids(messages, add_generation_prompt=False), skip_special_tokens=False) == text
    assert model.decode(model.chat_ids(messages), skip_special_tokens=False) == text + "<|im_start|>assistant\n"


def test_next_logprobs_are_ranked_and_end_after_a_sentence() -> None:
    model, again = MarkovTokens(), MarkovTokens()
    for text in [PROMPT, "She said so.", "Alice", ""]:
        lps = model.next_logprobs(model.encode(text))
        assert list(lps.items()) == sorted(lps.items(), key=lambda item: (-item[1], item[0]))  # best first, ties: lowest id
        assert sum(math.exp(v) for v in lps.values()) <= 1 + 1e-9 and model.eos_token_id in lps
        assert len(lps) > 20 and dict(lps) == dict(again.next_logprobs(again.encode(text)))  # alternatives, deterministic
    end, middle = (model.next_logprobs(model.encode(t))[model.eos_token_id] for t in ("She said so.", "She said the"))
    assert end > math.log(0.1) > math.log(0.001) > middle  # a sequence ends after a sentence, hardly ever inside one
