"""The pure beam-search steps: scores as vLLM computes them, worked by hand."""

from __future__ import annotations

from tui_client.core.protocol.beam_search import Beam, BeamSearch


def test_the_score_counts_the_prompt_and_discounts_a_final_end_of_sequence() -> None:
    search = BeamSearch(2, prompt_len=3, eos_token_id=2, prompt_last=7)
    assert search.score(Beam((5,), -2.0, 1)) == -2.0 / 4  # 3 prompt + 1 generated
    assert search.score(Beam((), -1.0, 2)) == -1.0 / 3
    kept = BeamSearch(2, prompt_len=3, eos_token_id=2, ignore_eos=True)
    assert kept.score(Beam((5, 2), -3.0, 3)) == -3.0 / 4  # with ignore_eos an EOS stays, uncounted (vLLM)
    assert BeamSearch(2, prompt_len=3, eos_token_id=2, length_penalty=2.0).score(Beam((5,), -2.0, 1)) == -2.0 / 16
    assert BeamSearch(2, prompt_len=3, eos_token_id=2, generated_only=True).score(Beam((5,), -2.0, 1)) == -2.0


def test_a_step_completes_end_of_sequence_and_keeps_the_best_width() -> None:
    search = BeamSearch(2, prompt_len=1, eos_token_id=2)
    search.step([{9: -0.5, 2: -1.0, 8: -1.5, 7: -3.0}])
    assert [(b.tokens, b.cum_logprob) for b in search.live] == [((9,), -0.5), ((8,), -1.5)]
    assert [(b.tokens, b.cum_logprob, b.finish_reason) for b in search.completed] == [((), -1.0, "stop")]
    # scores: (9) -0.5/2, (8) -1.5/2, completed () -1.0/1: the completed one ranks last
    assert [b.tokens for b in search.ranking()] == [(9,), (8,)]
    assert search.logprobs_per_step == 4
