"""reasoning-gym's datasets as `reasoning/<name>-v0`: every one built, solved and refused once.

The registry-wide tests (tests/test_registry.py and friends) run on a daily sample of these;
here every one of them gets a reset, the reference solver reaching outcome 1.0 and an empty
answer scoring 0, plus the reward-integrity checks on a sample of datasets.
"""

from __future__ import annotations

import os
import time

import numpy as np
import pytest

if os.environ.get("CI") != "true":  # CI installs the extra (the `test` extra includes it)
    pytest.importorskip("reasoning_gym", reason="the reasoning-gym extra is not installed")

import envarena
from envarena.errors import EnvArenaError
from envarena.registration import ID_PATTERN
from envarena.environments.reasoning import gym_tasks
from envarena.environments.reasoning.gym_tasks import NO_REFERENCE, NOT_WRAPPED, difficulty_config, env_id
from envarena.verifiers.reasoning_tasks import VERIFIER_OVERRIDES, generate_entry, score_reasoning_answer
from reasoning_gym.factory import CURRICULA, DATASETS

REASONING_IDS = sorted(i for i in envarena.registry if i.startswith("reasoning/"))
DATASET_OF = {i: envarena.registry.env_class(i).dataset for i in REASONING_IDS}


def test_every_dataset_is_an_environment_with_a_valid_id():
    assert len(REASONING_IDS) == len(DATASETS) - len(NOT_WRAPPED) > 100
    assert {DATASET_OF[i] for i in REASONING_IDS} == set(DATASETS) - set(NOT_WRAPPED)
    assert all(ID_PATTERN.match(i) for i in REASONING_IDS)
    assert envarena.spec("reasoning/basic-arithmetic-v0").category == "reasoning"


def test_list_counts_the_reasoning_category(cli):
    result = cli("list")
    assert result.returncode == 0, result.stderr
    assert f"reasoning: {len(REASONING_IDS)}" in result.stdout


@pytest.mark.parametrize("rid", REASONING_IDS)
def test_each_reference_solves_and_an_empty_answer_fails(rid):
    env = envarena.make(rid)
    dataset = DATASET_OF[rid]
    obs, _ = env.reset(seed=7)
    assert env.task.entry["question"] in obs[1].content
    _, reward, terminated, _, info = env.step("<answer></answer>")
    assert info["score"] == 0.0 and reward == 0.0 and not terminated
    if dataset in NO_REFERENCE:
        with pytest.raises(NotImplementedError, match="no reference solver"):
            env.reference_solver()
        assert env.task.reference is None, f"{dataset} now stores an answer: drop it from NO_REFERENCE"
        return
    _, _, terminated, _, info = env.step(env.reference_solver().act(obs))
    assert terminated and info["outcome"] == 1.0 and info["success"], info


def test_items_whose_answer_fails_their_own_scorer_are_redrawn():
    """jugs stores "No solution" for some puzzles (its scorer gives it 0): such an item is never posed."""
    env = envarena.make("reasoning/jugs-v0")
    env.reset(seed=1003)
    first_seed = int(np.random.default_rng(1003).integers(2**31))  # the env's first draw for this seed
    upstream = generate_entry("jugs", env.config, first_seed)
    assert upstream["answer"] == '["No solution"]'
    assert env.task.seed != first_seed
    assert env.check(env.task, env.task.reference).value == 1.0


def test_items_whose_answer_the_question_states_are_redrawn():
    """rectangle_count says "max 2" in every question, so an item whose count is 2 is solved by echoing it."""
    env = envarena.make("reasoning/rectangle-count-v0")
    env.reset(seed=1)
    first_seed = int(np.random.default_rng(1).integers(2**31))
    upstream = generate_entry("rectangle_count", env.config, first_seed)
    assert upstream["answer"] == "2" and "max 2" in upstream["question"]
    assert env.task.seed != first_seed and env.task.reference not in {"0", "2"}
    assert set(gym_tasks.ANSWER_FROM_QUESTION) == {"circuit_logic", "self_reference", "number_format"}


def test_the_whole_sweep_stays_quick():
    """Generation is the cost: one reset of every dataset, in the helper process, stays in budget."""
    start = time.monotonic()
    for rid in REASONING_IDS:
        envarena.make(rid, difficulty="easy").reset(seed=1)
    assert time.monotonic() - start < 60


def test_difficulty_maps_onto_the_curriculum():
    easy, easy_level = difficulty_config("basic_arithmetic", "easy")
    hard, hard_level = difficulty_config("basic_arithmetic", "hard")
    assert (easy_level, hard_level) == (0, 2) and easy != hard
    # a level the dataset rejects falls back to the nearest lower one it accepts
    assert difficulty_config("caesar_cipher", "hard")[1] == 1
    assert difficulty_config("knight_swap", "easy") == ({}, None)
    # no curriculum: the default configuration at every difficulty
    assert "gsm_symbolic" not in CURRICULA and difficulty_config("gsm_symbolic", "hard") == ({}, None)
    first = envarena.make("reasoning/basic-arithmetic-v0", difficulty="easy")
    second = envarena.make("reasoning/basic-arithmetic-v0", difficulty="hard")
    assert first.reset(seed=3)[0][1].content != second.reset(seed=3)[0][1].content


def test_same_seed_same_task():
    env = envarena.make("reasoning/maze-v0")
    assert env.reset(seed=11)[0][1].content == env.reset(seed=11)[0][1].content
    assert len({env.reset(seed=s)[0][1].content for s in range(5)}) > 1


HACK_SAMPLE = ["knights_knaves", "rotate_matrix", "spell_backward", "word_sorting", "basic_arithmetic", "countdown",
               "arc_1d", "propositional_logic"]


@pytest.mark.parametrize("dataset", HACK_SAMPLE)
def test_non_answers_do_not_score(dataset):
    env = envarena.make(env_id(dataset))
    env.reset(seed=2)
    task = env.task
    question = task.entry["question"]
    assert env.check(task, "").value == 0.0
    assert env.check(task, "   \n").value == 0.0
    echo = env.check(task, question)
    assert echo.value == 0.0 and "repeats the question" in echo.feedback
    # the right answer buried in a long list of candidates (substring scorers pay for it)
    long = env.check(task, f"{task.reference} " + " ".join(str(n) for n in range(3000)))
    assert long.value == 0.0 and "characters long" in long.feedback
    assert env.check(task, task.reference).value == 1.0


def test_partial_credit_is_not_paid():
    """knights_knaves pays 0.65 for the question echoed inside other text: the env pays nothing."""
    env = envarena.make("reasoning/knights-knaves-v0")
    env.reset(seed=0)
    words = env.task.entry["question"].split()
    half_echo = " ".join(words[: len(words) // 2])
    score = env.check(env.task, half_echo)
    assert score.value == 0.0


def test_a_scorer_that_raises_scores_zero_with_the_reason():
    env = envarena.make("reasoning/prime-factorization-v0")
    env.reset(seed=0)
    score = env.check(env.task, "not a number")  # its scorer calls int() on each factor
    assert score.value == 0.0 and "could not be checked" in score.feedback and "ValueError" in score.feedback
    _, _, _, _, info = env.step("<answer>not a number</answer>")
    assert info["score"] == 0.0 and "error" not in info


def test_an_unsound_scorer_is_replaced_by_exact_match():
    """game_of_life_halting's own scorer pays 1.0 for any non-empty answer."""
    assert "game_of_life_halting" in VERIFIER_OVERRIDES
    env = envarena.make("reasoning/game-of-life-halting-v0")
    env.reset(seed=0)
    gold = env.task.reference
    wrong = "False" if gold == "True" else "True"
    assert DATASETS["game_of_life_halting"][0](config=DATASETS["game_of_life_halting"][1]()).score_answer(
        wrong, env.task.entry) == 1.0, "the upstream scorer was fixed: drop the override"
    assert env.check(env.task, wrong).value == 0.0
    assert env.check(env.task, gold).value == 1.0


def test_a_slow_generator_cannot_hang_an_episode():
    with pytest.raises(RuntimeError, match="took longer than"):
        generate_entry("sokoban", {}, seed=0, timeout=0.01)
    env = envarena.make("reasoning/sokoban-v0")
    env.generate_timeout = 0.01
    with pytest.raises(EnvArenaError, match="could not generate a task"):
        env.reset(seed=0)
    # the killed helper is replaced: the next task and check work
    env.generate_timeout = gym_tasks.GENERATE_TIMEOUT
    env.reset(seed=0)
    assert env.check(env.task, "").value == 0.0


def test_a_slow_scorer_scores_zero():
    """simple_integration's scorer hands the answer to sympy, which computes factorial(10**7) for minutes."""
    env = envarena.make("reasoning/simple-integration-v0")
    env.reset(seed=0)
    start = time.monotonic()
    score = score_reasoning_answer("simple_integration", env.config, env.task.seed, env.task.entry,
                                   "factorial(10**7)", timeout=2)
    assert score.value == 0.0 and "longer than 2s" in score.feedback
    assert time.monotonic() - start < 10
    assert env.check(env.task, env.task.reference).value == 1.0  # the helper was replaced
