"""The beam-search reference on the scripted scenarios, against results worked out by hand.

Each expected beam is ``(text, cumulative logprob, score, finish_reason)``; the comments
show the arithmetic. P is the prompt length in tokens; a beam's score is
cum / (P + generated tokens) ** length_penalty (EOS not counted: it is never kept).
Every logprob is a binary fraction, so cumulative logprobs are exact; a score is the
same single division the reference does, so it compares exactly too.
"""

from __future__ import annotations

import inspect
import math

import pytest
from beam_reference import RefBeam, reference_beam_search, reference_beam_steps
from scripted_model import DEFAULT, EOS, SCENARIOS, TABLE, ScriptedModel

from tui_client.demo.tokens import TokenModel

Row = tuple[str, float, float, str | None]
MODEL = ScriptedModel()


def run(name: str, **changes: object) -> tuple[list[list[RefBeam]], list[RefBeam]]:
    s = SCENARIOS[name]
    args = dict(width=s.width, max_tokens=s.max_tokens, eos_id=MODEL.eos_token_id, length_penalty=s.length_penalty)
    args.update(changes)
    width = args["width"]

    def next_logprobs(ids):  # what the server returns: the top 2 x width, best first
        return MODEL.top_logprobs(ids, 2 * width)

    prompt = s.prompt_ids(MODEL)
    return reference_beam_steps(next_logprobs, prompt, **args), reference_beam_search(next_logprobs, prompt, **args)


def rows(ranking: list[RefBeam]) -> list[Row]:
    return [(MODEL.text(b.tokens), b.cum_logprob, b.score, b.finish_reason) for b in ranking]


def extends(beam: RefBeam, parent: RefBeam) -> bool:
    return beam.tokens[: len(parent.tokens)] == parent.tokens and len(beam.tokens) > len(parent.tokens)


# -- the model ------------------------------------------------------------------------


def test_the_scripted_model_has_the_token_model_interface() -> None:
    wanted = {name for name in dir(TokenModel) if not name.startswith("_")} | set(TokenModel.__annotations__)
    assert wanted == {"eos_token_id", "encode", "decode", "token_str", "chat_ids", "next_logprobs"}
    assert all(hasattr(MODEL, name) for name in wanted)
    assert "skip_special_tokens" in inspect.signature(MODEL.decode).parameters
    assert "add_generation_prompt" in inspect.signature(MODEL.chat_ids).parameters
    ids = MODEL.encode("The cat sat.")
    assert [MODEL.token_str(i) for i in ids] == ["The", " cat", " sat", "."]
    assert MODEL.decode(ids + [MODEL.eos_token_id]) == "The cat sat."
    assert MODEL.decode(ids + [MODEL.eos_token_id], skip_special_tokens=False) == "The cat sat.<|im_end|>"
    assert MODEL.token_str(MODEL.eos_token_id) == EOS
    chat = MODEL.chat_ids([{"role": "user", "content": "Hi"}])
    assert MODEL.decode(chat, skip_special_tokens=False) == "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
    assert len(chat) == 9 and MODEL.decode(chat) == "user\nHi\nassistant\n"
    # Any ASCII text encodes (the client tokenizes probes of its own), word tokens first.
    zebra = MODEL.encode("The zebra, hi")
    assert MODEL.decode(zebra) == "The zebra, hi" and MODEL.token_str(zebra[0]) == "The" and len(zebra) == 11
    with pytest.raises(ValueError):
        MODEL.encode("Zürich")


def test_every_context_is_binary_fractions_summing_below_one_with_a_unique_top_k() -> None:
    for context, row in [*TABLE.items(), ("(default)", DEFAULT)]:
        ids = MODEL.tokens_of(context) if row is not DEFAULT else MODEL.encode("Hi cat ran")
        full = MODEL.next_logprobs(ids)
        assert {MODEL.token_str(t): lp for t, lp in full.items() if MODEL.token_str(t) in row} == row, context
        assert all((lp * 8).is_integer() for lp in full.values()), context
        assert math.fsum(math.exp(lp) for lp in full.values()) < 1, context
        assert len(set(full.values())) == len(full), f"{context}: equal logprobs make the top k ambiguous"
        top20 = MODEL.top_logprobs(ids, 20)  # vLLM's most: EOS (any special token) only where scripted
        assert len(top20) == 20 and all(MODEL.token_str(t) in row for t in top20 if t not in MODEL.word_ids), context
        assert set(full) == MODEL.word_ids | MODEL.special_ids, context  # forcing any of them works
        assert list(MODEL.top_logprobs(ids, 4).values()) == sorted(row.values(), reverse=True)[:4]


def test_the_longest_scripted_suffix_of_the_context_wins_and_calls_are_recorded() -> None:
    model = ScriptedModel()
    chat = model.chat_ids([{"role": "user", "content": "Hi"}])
    top = model.next_logprobs(chat + model.tokens_of("Hi"))  # the chat answer "Hi", not the prompt "Hi"
    assert model.token_str(next(iter(top))) == "!"
    assert model.next_logprobs(model.tokens_of(".Hi")) == model.next_logprobs(model.tokens_of("Hi"))  # suffix "Hi"
    assert [m for m, _ in model.calls] == ["chat_ids", "next_logprobs", "next_logprobs", "next_logprobs"]
    assert model.count("next_logprobs") == 3 and model.count("encode") == 0


# -- the scenarios, by hand -----------------------------------------------------------


def test_prune_replace() -> None:
    steps, final = run("prune_replace")  # P = 1 ("The"), width 2, 3 steps
    assert [rows(r) for r in steps] == [
        # "The": cat -0.75, dog -1.25, big -2.5, red -3.0 -> keep cat, dog; length 2
        [(" cat", -0.75, -0.75 / 2, None), (" dog", -1.25, -1.25 / 2, None)],
        # cat: sat -0.75-0.5=-1.25, ran -0.75-1.0=-1.75, . -4.75, on -5.75
        # dog: ran -1.25-0.75=-2.0, sat -2.25, . -3.75, on -4.25 -> keep cat sat, cat ran; length 3
        [(" cat sat", -1.25, -1.25 / 3, None), (" cat ran", -1.75, -1.75 / 3, None)],
        # cat sat: on -1.25-0.25=-1.5, . -3.5, away -4.25, the -5.25
        # cat ran: away -1.75-0.5=-2.25, . -3.25, EOS -> " cat ran" -4.25 done (score -4.25/3), on -5.25
        [(" cat sat on", -1.5, -1.5 / 4, None), (" cat ran away", -2.25, -2.25 / 4, None)],
    ]
    assert rows(final) == [(" cat sat on", -1.5, -1.5 / 4, "length"), (" cat ran away", -2.25, -2.25 / 4, "length")]
    (cat, dog), (cat_sat, cat_ran) = steps[0], steps[1]
    # Pruned: rank 1 " dog" has no descendant at step 2 (no EOS yet: the ranking is every live beam).
    assert not any(extends(b, dog) for b in steps[1])
    # Replaced: rank 0's child " cat ran" takes rank 1; rank 0 is extended.
    assert extends(cat_ran, cat) and not extends(cat_ran, dog) and extends(cat_sat, cat)


def test_short_wins() -> None:
    steps, final = run("short_wins")  # P = 1 ("Once"), width 2, 4 steps
    assert [rows(r) for r in steps] == [
        # "Once": cat -0.5, dog -1.5, big -3, red -4; length 2
        [(" cat", -0.5, -0.5 / 2, None), (" dog", -1.5, -1.5 / 2, None)],
        # cat: sat -1.25, EOS -> C = " cat" -0.5-1.5 = -2.0 done (score -2/2 = -1.0), ran -2.5, . -3.5
        # dog: ran -2.0, sat -3.0, . -4.25, on -5.25 -> keep cat sat, dog ran (length 3); C ranks below both
        [(" cat sat", -1.25, -1.25 / 3, None), (" dog ran", -2.0, -2.0 / 3, None)],
        # cat sat: on -3.0, the -3.25, . -3.5, big -3.75; dog ran: away -2.75, on -4.0, . -5.0, the -6.0
        # -> dog ran away, cat sat on (length 4: -0.6875, -0.75); C (-1.0) still out
        [(" dog ran away", -2.75, -2.75 / 4, None), (" cat sat on", -3.0, -3.0 / 4, None)],
        # dog ran away: . -5.25, EOS -> " dog ran away" -6.0 done (-6/4 = -1.5), on -6.25, the -6.75
        # cat sat on: the -5.5, mat -6.0, . -6.5, big -7.0 -> live: -5.25/5 = -1.05, -5.5/5 = -1.1
        # ranking: C -1.0 > -1.05 > -1.1 > -1.5
        [(" cat", -2.0, -2.0 / 2, "stop"), (" dog ran away.", -5.25, -5.25 / 5, None)],
    ]
    assert rows(final) == [(" cat", -2.0, -1.0, "stop"), (" dog ran away.", -5.25, -5.25 / 5, "length")]
    # The short completed beam (2 tokens with the prompt) beats the long ones once normalised.
    short = final[0]
    assert short.finish_reason == "stop" and len(short.tokens) < len(final[1].tokens)
    assert all(short not in ranking for ranking in steps[1:3])  # completed at step 2, out of the ranking until step 4
    # Step 3 swaps the ranks: each is replaced by a continuation of the other.
    (cat_sat, dog_ran), (dog_ran_away, cat_sat_on) = steps[1], steps[2]
    assert extends(dog_ran_away, dog_ran) and extends(cat_sat_on, cat_sat)


def test_length_penalty_flips_the_final_order() -> None:
    steps, final = run("length_penalty")  # the short_wins search scored by cum / length ** 2
    assert rows(steps[1]) == [(" cat sat", -1.25, -1.25 / 9, None), (" dog ran", -2.0, -2.0 / 9, None)]
    # Finished: C " cat" -2/2**2 = -0.5, " dog ran away" -6/4**2 = -0.375; live -5.25/5**2 = -0.21, -5.5/5**2 = -0.22
    assert rows(final) == [(" dog ran away.", -5.25, -5.25 / 25, "length"), (" cat sat on the", -5.5, -5.5 / 25, "length")]
    _, unpenalised = run("short_wins")
    assert [b.tokens for b in unpenalised] != [b.tokens for b in final]
    assert unpenalised[1].tokens == final[0].tokens  # the same beams, the order flipped, " cat" pushed out
    _, by_cum = run("length_penalty", length_penalty=0.0)  # length ignored: by cumulative logprob alone
    assert rows(by_cum) == [(" cat", -2.0, -2.0, "stop"), (" dog ran away.", -5.25, -5.25, "length")]


def test_eos_first() -> None:
    steps, final = run("eos_first")  # P = 1 ("Hi"), width 2, 3 steps
    assert [rows(r) for r in steps] == [
        # "Hi": EOS -> "" -0.75 done (length 1: -0.75), cat -1.25, dog -2.0, the -2.5
        # ranking: cat -1.25/2 = -0.625 > "" -0.75 > dog -2/2 = -1.0
        [(" cat", -1.25, -1.25 / 2, None), ("", -0.75, -0.75, "stop")],
        # cat: . -2.0, sat -2.5, EOS -> " cat" -3.25 (-1.625), ran -4.25
        # dog: ran -2.75, sat -3.5, EOS -> " dog" -4.5 (-2.25), . -5.0 -> keep cat., cat sat
        # ranking: cat. -2/3 > "" -0.75 > cat sat -2.5/3
        [(" cat.", -2.0, -2.0 / 3, None), ("", -0.75, -0.75, "stop")],
        # cat.: EOS -> " cat." -2.5 (-2.5/3), the -3.5, cat -4.5, dog -5.0
        # cat sat: . -3.25, on -3.75, EOS -> " cat sat" -4.5 (-1.5), the -5.5
        # ranking: "" -0.75 > cat sat. -3.25/4 = -0.8125 > cat. (stop) -0.833 > cat. the -0.875
        [("", -0.75, -0.75, "stop"), (" cat sat.", -3.25, -3.25 / 4, None)],
    ]
    assert rows(final) == [("", -0.75, -0.75, "stop"), (" cat sat.", -3.25, -3.25 / 4, "length")]
    assert final[0].tokens == ()  # EOS at the very first step: nothing generated


def test_tie_at_the_cut() -> None:
    steps, final = run("tie")  # P = 1 ("So"), width 2, 2 steps
    # "So": cat -0.5, dog -1.0 -> step 2: cat sat -1.5, cat ran -2.0, cat . -2.5, cat on -3.5,
    # dog sat -1.0-1.0 = -2.0, dog ran -3.0, dog . -3.25, dog on -4.0: rank 1 is a tie at -2.0.
    assert rows(steps[0]) == [(" cat", -0.5, -0.25, None), (" dog", -1.0, -0.5, None)]
    # Well defined: the scores and rank 0.
    assert [(b.cum_logprob, b.score) for b in final] == [(-1.5, -1.5 / 3), (-2.0, -2.0 / 3)]
    assert MODEL.text(final[0].tokens) == " cat sat" and MODEL.text(final[1].tokens) in (" cat ran", " dog sat")
    # Not specified by vLLM (numpy's partition): the reference's stable sort keeps the one listed
    # first, beam 0's " cat ran".
    assert MODEL.text(final[1].tokens) == " cat ran"


def test_tie_kept() -> None:
    steps, final = run("tie_kept")  # the same, width 3: both tied beams stay, in an unspecified order
    # step 1: cat -0.5, dog -1.0, big -4.0 (length 2)
    assert rows(steps[0]) == [(" cat", -0.5, -0.25, None), (" dog", -1.0, -0.5, None), (" big", -4.0, -2.0, None)]
    # step 2: cat sat -1.5, then -2.0 twice (" big" goes on with the default: -4 - 1.125 = -5.125 at best)
    assert rows(final)[0] == (" cat sat", -1.5, -0.5, "length")
    assert sorted(rows(final)[1:]) == [(" cat ran", -2.0, -2.0 / 3, "length"), (" dog sat", -2.0, -2.0 / 3, "length")]
    assert [MODEL.text(b.tokens) for b in final] == [" cat sat", " cat ran", " dog sat"]  # the stable order


def test_chat() -> None:
    scenario = SCENARIOS["chat"]
    assert MODEL.decode(scenario.prompt_ids(MODEL), skip_special_tokens=False) == MODEL.chat_text(scenario.messages())
    steps, final = run("chat")  # P = 9 (the ChatML prompt), width 2, 3 steps
    assert [rows(r) for r in steps] == [
        # Hello -0.5, Hi -1.25, . -3, cat -4 (length 10)
        [("Hello", -0.5, -0.5 / 10, None), ("Hi", -1.25, -1.25 / 10, None)],
        # Hello: ! -0.75, EOS -> "Hello" -2.5 (-0.25), . -3.5, cat -4.5
        # Hi: ! -1.75, EOS -> "Hi" -2.25 (-0.225), . -6.25, cat -7.25 -> keep Hello!, Hi! (length 11)
        [("Hello!", -0.75, -0.75 / 11, None), ("Hi!", -1.75, -1.75 / 11, None)],
        # Hello!: EOS -> -0.875 (length 11), cat -3.75; Hi!: EOS -> -2.0, cat -4.25 (live: length 12)
        [("Hello!", -0.875, -0.875 / 11, "stop"), ("Hi!", -2.0, -2.0 / 11, "stop")],
    ]
    assert rows(final) == [("Hello!", -0.875, -0.875 / 11, "stop"), ("Hi!", -2.0, -2.0 / 11, "stop")]


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_the_answer_is_the_last_ranking_with_unfinished_beams_at_length(name: str) -> None:
    steps, final = run(name)
    assert len(steps) == SCENARIOS[name].max_tokens and len(final) == SCENARIOS[name].width
    assert final == [RefBeam(b.tokens, b.cum_logprob, b.score, b.finish_reason or "length") for b in steps[-1]]
    assert all(b.finish_reason is None or b.finish_reason == "stop" for ranking in steps for b in ranking)
    # No beam holds a special token, so texts tell beams apart (the live tests match by text).
    assert all(not set(b.tokens) & MODEL.special_ids for ranking in steps for b in ranking)
    assert all(len({MODEL.text(b.tokens) for b in ranking}) == len(ranking) for ranking in steps)


# -- corners of vLLM's loop -----------------------------------------------------------


def test_the_search_stops_when_every_candidate_is_eos() -> None:
    eos = 2
    calls: list[tuple[int, ...]] = []

    def next_logprobs(ids):
        calls.append(tuple(ids))
        return {eos: -0.5} if len(ids) > 1 else {7: -0.25, eos: -1.0}

    steps = reference_beam_steps(next_logprobs, [5], width=2, max_tokens=8, eos_id=eos)
    # step 1: [7] -0.25 live, [] -1.0 done; step 2: [7] + EOS -0.75 done, nothing live -> stop
    assert [[(b.tokens, b.cum_logprob, b.score, b.finish_reason) for b in r] for r in steps] == [
        [((7,), -0.25, -0.25 / 2, None), ((), -1.0, -1.0, "stop")],
        [((7,), -0.75, -0.75 / 2, "stop"), ((), -1.0, -1.0, "stop")],
    ]
    assert calls == [(5,), (5, 7)]
    final = reference_beam_search(next_logprobs, [5], width=2, max_tokens=8, eos_id=eos)
    assert [b.finish_reason for b in final] == ["stop", "stop"]


def test_ignore_eos_keeps_eos_as_a_token_and_the_score_does_not_count_it() -> None:
    steps, final = run("eos_first", ignore_eos=True, max_tokens=1)
    # "Hi": EOS -0.75 is now a live beam [EOS]; its length is 2 - 1 (vLLM drops a final EOS) -> -0.75;
    # cat -1.25 / 2 = -0.625 ranks first.
    assert [(b.tokens, b.cum_logprob, b.score, b.finish_reason) for b in final] == [
        ((MODEL.tokens_of(" cat")[0],), -1.25, -1.25 / 2, "length"),
        ((MODEL.eos_token_id,), -0.75, -0.75 / 1, "length"),
    ]
