"""reasoning-gym's procedural datasets as `reasoning/<name>-v0` environments (optional extra).

Each dataset generator becomes a `TaskEnv`: the episode seed picks a one-item dataset built
with that seed, the question is the prompt, reasoning-gym's own `score_answer` is the verifier
(run on the trusted side, in a killable helper: see `envarena.verifiers.reasoning_tasks`), a
wrong answer gets feedback and another attempt, and the reference solver submits the item's
answer.

Difficulty maps onto the dataset's curriculum where it has one: easy, medium and hard are
curriculum levels 0, 1 and 2 (each attribute capped at its last level). A level whose
configuration the dataset itself rejects (caesar_cipher, survo at level 2; knight_swap at 0;
modulo_grid at 1) falls back to the nearest lower level that it accepts, then to the default
configuration. rubiks_cube keeps a 3x3 cube at every level (its scramble grows): its items
store a solution only for 3x3 cubes, and its scorer's move parser drops the layer moves (2F,
1Lw) that 4x4 and 5x5 solutions need, so no reference could reach 1.0 there. Datasets without a curriculum (acre, gsm_symbolic, list_functions) use their
default configuration at every difficulty.
"""

from __future__ import annotations

import dataclasses
import re
import time
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, ClassVar

import numpy as np
from reasoning_gym.factory import CURRICULA, DATASETS, create_curriculum

from envarena.errors import EnvArenaError
from envarena.registration import registry
from envarena.task_env import MAX_ANSWER_CHARS, Difficulty, TaskEnv
from envarena.types import Score
from envarena.verifiers.match import trivial_numbers
from envarena.verifiers.reasoning_tasks import GENERATE_TIMEOUT, generate_entry, reference_answer, score_reasoning_answer

__all__ = ["LEVELS", "NOT_WRAPPED", "NO_REFERENCE", "ANSWER_FROM_QUESTION", "ReasoningGymEnv", "ReasoningTask", "difficulty_config"]

LEVELS: dict[str, int] = {"easy": 0, "medium": 1, "hard": 2}
#: reasoning-gym datasets that are not environments, with why.
NOT_WRAPPED = {"composite": "a mixture of the other datasets, which are all environments of their own"}
#: Datasets whose items carry no answer to submit (any valid solution is accepted and none is stored).
NO_REFERENCE = {
    "boxnet": "a plan of box moves is checked by simulation; the item stores no plan",
    "rush_hour": "a move sequence is checked by simulation; the item stores only the minimum number of moves",
}

_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
#: Items drawn per reset before giving up on a generator whose answers fail its own scorer.
_DRAWS = 20
#: Seconds one item may take to generate (a Sokoban or jugs item takes about one).
ITEM_TIMEOUT = 15.0
#: Datasets whose answer is by design one of the numbers the question names, so the "no number of the
#: question as the answer" rule cannot hold; a guess wins by chance there, as in multiple choice.
ANSWER_FROM_QUESTION = {
    "circuit_logic": "the answer is the circuit's output bit, 0 or 1",
    "self_reference": "the answer is how many of the seven statements are true, and the statements name the counts",
    "number_format": "the answer is the largest or smallest of the numbers listed in the question",
}
#: Config fields held fixed at every difficulty, with why (see the module docstring).
PINNED = {"rubiks_cube": {"cube_size": 3}}


def _init_fields(config: Any) -> dict[str, Any]:
    return {f.name: getattr(config, f.name) for f in dataclasses.fields(config) if f.init and f.name not in {"seed", "size"}}


def difficulty_config(name: str, difficulty: Difficulty) -> tuple[dict[str, Any], int | None]:
    """The dataset config for `difficulty` and the curriculum level it came from (None: default config)."""
    if name not in CURRICULA:
        return {}, None
    for level in range(LEVELS[difficulty], -1, -1):
        curriculum = create_curriculum(name)
        curriculum.set_global_level(level)
        try:
            config = curriculum.generate_configuration({"seed": 0, "size": 1})
            config = dataclasses.replace(config, **PINNED.get(name, {}))
            if hasattr(config, "validate"):
                config.validate()
        except (AssertionError, ValueError, TypeError):
            continue
        return _init_fields(config), level
    return {}, None


@dataclass(frozen=True)
class ReasoningTask:
    seed: int
    entry: dict[str, Any]
    reference: str | None


class ReasoningGymEnv(TaskEnv[ReasoningTask]):
    """A reasoning-gym task, scored by its own `score_answer`, with retries and feedback."""

    dataset: ClassVar[str]
    #: Seconds a reset may spend generating (all draws together) before it fails with a clear error.
    generate_timeout: float = GENERATE_TIMEOUT

    def __init__(
        self,
        *,
        difficulty: Difficulty = "medium",
        max_attempts: int | None = None,
        max_turns: int | None = None,
        render_mode: str | None = None,
    ) -> None:
        super().__init__(difficulty=difficulty, max_attempts=max_attempts, max_turns=max_turns,
                         render_mode=render_mode)
        self.config, self.level = difficulty_config(self.dataset, difficulty)

    def generate(self, rng: np.random.Generator) -> ReasoningTask:
        """The first seeded item that can be posed: generated in time, with a stored answer that
        passes the dataset's own scorer and fits in an answer.

        Some generators fail on some seeds (tsumego raises, number_sequence at hard can loop),
        and some emit items their scorer fails (jugs stores "No solution" for some puzzles) or
        answers longer than `MAX_ANSWER_CHARS` (tower_of_hanoi at hard), and some state their
        numeric answer in the question (rectangle_count's "max 2"), so that echoing a number of
        the question or "0" would score, as the catalog's rule forbids; the next seed is drawn
        instead, within `_DRAWS` items and `generate_timeout` seconds in all.
        """
        deadline = time.monotonic() + self.generate_timeout
        reason = "no item was drawn"
        for _ in range(_DRAWS):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            seed = int(rng.integers(2**31))
            try:
                entry = generate_entry(self.dataset, self.config, seed, timeout=min(left, ITEM_TIMEOUT))
            except RuntimeError as err:
                reason = str(err)
                continue
            task = ReasoningTask(seed, entry, reference_answer(entry))
            if self.dataset in NO_REFERENCE:
                return task
            if task.reference is None or len(task.reference) > MAX_ANSWER_CHARS:
                reason = "the generated items store no answer that fits in a reply"
            elif self.dataset not in ANSWER_FROM_QUESTION and _trivial(task):
                reason = "the generated items' answers are numbers the question states"
            elif self.check(task, task.reference).value == 1.0:
                return task
            else:
                reason = "the generated items' answers fail the dataset's own scorer"
        raise EnvArenaError(f"reasoning/{self.dataset}: could not generate a task ({reason})")

    def prompt(self, task: ReasoningTask) -> str:
        return f"{task.entry['question']}\n\n{self.answer_instructions}"

    def check(self, task: ReasoningTask, answer: str) -> Score:
        return score_reasoning_answer(self.dataset, self.config, task.seed, task.entry, answer)

    def solution(self, task: ReasoningTask) -> str:
        if task.reference is None:
            raise NotImplementedError(f"reasoning-gym's {self.dataset} items store no answer to submit")
        return task.reference

    def random_action(self, rng: np.random.Generator) -> str:
        """A well-formed guess (a random number), so the random agent measures chance, not format."""
        return f"<answer>{int(rng.integers(2, 1000))}</answer>"

    def reference_solver(self) -> Any:
        if self.dataset in NO_REFERENCE:
            raise NotImplementedError(f"{self.dataset} has no reference solver: {NO_REFERENCE[self.dataset]}")
        return super().reference_solver()


def _trivial(task: ReasoningTask) -> bool:
    """Whether the answer is 0 or a number written in the question (see `trivial_numbers`)."""
    assert task.reference is not None
    if _NUMBER.fullmatch(task.reference.strip()) is None:
        return False
    return Fraction(task.reference.strip()) in trivial_numbers(str(task.entry["question"]))


def env_id(name: str) -> str:
    """`reasoning/<name>-v0`, with the dataset's underscores written as dashes."""
    return f"reasoning/{name.replace('_', '-')}-v0"


def _class_name(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_")) + "Env"


def _register_all() -> None:
    for name in sorted(DATASETS):
        if name in NOT_WRAPPED:
            continue
        dataset_cls = DATASETS[name][0]
        category = dataset_cls.__module__.split(".")[1] if dataset_cls.__module__.count(".") >= 2 else "other"
        levels = "easy/medium/hard map onto its curriculum levels 0/1/2" if name in CURRICULA else (
            "it has no curriculum, so every difficulty uses its default configuration")
        doc = (f"reasoning-gym's {name} task ({category}), scored by its own score_answer; "
               f"{levels}.\n\nWrong answers get feedback and another attempt (3 by default).")
        cls = type(_class_name(name), (ReasoningGymEnv,), {"dataset": name, "__doc__": doc, "__module__": __name__})
        globals()[cls.__name__] = cls
        registry.add(env_id(name), cls, tags=("reasoning-gym", category))


_register_all()
