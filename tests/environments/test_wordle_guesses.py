"""Wordle accepts any English five-letter word as a guess, as the real game does; answers stay common words."""

from __future__ import annotations

import pytest

import envarena
from envarena.environments.games.wordle import allowed_guesses, word_list

# Common openers and everyday words that are not in the answer list.
COMMON_NON_ANSWERS = ["adieu", "stare", "arose", "tears", "irate", "cared", "moved"]


def test_common_words_outside_the_answer_list_are_accepted():
    answers = set(word_list())
    assert not answers & set(COMMON_NON_ANSWERS), "the words must test the allowed list, not the answers"
    env = envarena.make("games/wordle-v0", difficulty="easy")  # 8 guesses: room for all of them
    env.reset(seed=3)
    for word in COMMON_NON_ANSWERS:
        if word == env.secret:
            continue
        observation, _, terminated, _, info = env.step(f"<answer>{word}</answer>")
        assert "invalid_action" not in info["reward_components"], observation[0].content
        assert observation[0].content.startswith(f"{word} -> "), observation[0].content
        if terminated:
            break


@pytest.mark.parametrize("nonsense", ["xqzvk", "aaaaa", "qwert", "xviii", "hdqrs", "texas"])
def test_nonsense_roman_numerals_and_names_are_still_refused(nonsense):
    env = envarena.make("games/wordle-v0")
    env.reset(seed=0)
    observation, _, terminated, _, info = env.step(f"<answer>{nonsense}</answer>")
    assert "not in the word list" in observation[0].content and not terminated
    assert info["reward_components"]["invalid_action"] < 0


def test_answers_come_from_the_answer_list_only():
    answers = set(word_list())
    guesses = allowed_guesses()
    assert len(guesses) > 4 * len(answers) and answers <= guesses
    for difficulty in ("easy", "medium", "hard"):
        env = envarena.make("games/wordle-v0", difficulty=difficulty)
        secrets = set()
        for seed in range(60):
            env.reset(seed=seed)
            secrets.add(env.secret)
        assert secrets <= answers and len(secrets) > 30
