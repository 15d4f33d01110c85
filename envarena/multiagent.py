"""Turn-based multi-agent environments (pettingzoo AEC) with chat observations.

Each player sees only the messages meant for it since its last move. Rewards, reward
components and outcomes are kept per player. `VersusOpponent` wraps any multi-agent
environment into a single-agent `Env` against a built-in opponent (composition, as gymnasium
wrappers do), so every single-agent tool (rollouts, check_env, trainers) works on games too.
"""

from __future__ import annotations

import abc
import inspect
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import gymnasium
import numpy as np
from pettingzoo import AECEnv

from envarena.env import Env, Solver, capped_message, coerce_action, readable_action, render_messages
from envarena.rewards import INVALID_ACTION_PENALTY, Potential, add_components, weighted_sum
from envarena.spaces import ChatActionSpace, ChatObservationSpace, Observation
from envarena.types import Message, jsonable

__all__ = ["MoveResult", "MultiAgentEnv", "Opponent", "VersusOpponent"]

logger = logging.getLogger(__name__)

#: A built-in opponent: given the env, its seat and a generator, return its move.
Opponent = Callable[["MultiAgentEnv", str, np.random.Generator], "Message | str"]


@dataclass
class MoveResult:
    """What a game makes of one player's move.

    `messages` maps players to the new messages they will see; `progress` maps players to
    their new potential in [0, 1]; `components` are the mover's extra named terms. When
    `done`, `outcomes` gives every player's final score in [0, 1].
    """

    messages: dict[str, list[Message]] = field(default_factory=dict)
    progress: dict[str, float] = field(default_factory=dict)
    components: dict[str, float] = field(default_factory=dict)
    done: bool = False
    outcomes: dict[str, float] = field(default_factory=dict)
    next_player: str | None = None
    #: False for a refused move: it does not use up the turn budget, and too many in a row forfeit.
    legal: bool = True


class MultiAgentEnv(AECEnv, metaclass=abc.ABCMeta):
    """A turn-based game where every player acts with chat messages."""

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["ansi"], "name": "envarena", "is_parallelizable": False}
    possible_agents: list[str] = []
    default_max_turns: ClassVar[int] = 50
    reward_weights: ClassVar[dict[str, float]] = {}
    reward_range: ClassVar[tuple[float, float]] = (-1.0, 2.0)
    success_threshold: ClassVar[float] = 1.0
    #: Built-in opponent a single-agent rollout faces when none is named, per `self.difficulty`,
    #: for games whose difficulty is the opponent's strength; "random" for any other.
    opponent_by_difficulty: ClassVar[dict[str, str]] = {}
    #: Refused moves in a row after which a player forfeits. Refused moves do not count toward
    #: `max_turns`, so nobody can run out the clock with nonsense to keep a lead or force a draw.
    illegal_move_limit: ClassVar[int] = 5

    def __init__(self, *, max_turns: int | None = None, render_mode: str | None = None) -> None:
        super().__init__()
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']}")
        self.max_turns = max_turns or self.default_max_turns
        self.render_mode = render_mode
        self.agents = list(self.possible_agents)
        self._observation_spaces = {a: ChatObservationSpace() for a in self.possible_agents}
        self._action_spaces = {a: ChatActionSpace() for a in self.possible_agents}
        self.transcript: list[tuple[str, Message]] = []
        self.turn = 0
        self.moves_played = 0
        self._illegal_in_a_row: dict[str, int] = {}
        self.outcomes: dict[str, float] = {}
        self._pending: dict[str, list[Message]] = {}
        self._potentials: dict[str, Potential] = {}
        self._since_last_move: dict[str, dict[str, float]] = {}
        self._init_bookkeeping(first=self.possible_agents[0] if self.possible_agents else "")

    @property
    def default_opponent(self) -> str:
        """The built-in opponent used by single-agent rollouts when none is named."""
        return self.opponent_by_difficulty.get(getattr(self, "difficulty", ""), "random")

    # ------------------------------------------------------------------ subclass hooks
    @abc.abstractmethod
    def begin_game(self, options: dict[str, Any] | None) -> tuple[dict[str, list[Message]], str]:
        """Set up a new game from `self.np_random`; return opening messages and first player."""

    @abc.abstractmethod
    def apply_move(self, player: str, action: Message) -> MoveResult:
        """Apply a move; an illegal one returns `self.illegal(...)` and the player retries."""

    def reference_solver(self, player: str) -> Solver:
        raise NotImplementedError(f"{type(self).__name__} has no reference solver")

    def random_action(self, player: str, rng: np.random.Generator) -> Message | str:
        space = self.action_space(player)
        space.seed(int(rng.integers(1 << 31)))
        return space.sample()

    def builtin_opponents(self) -> dict[str, Opponent]:
        """Opponents available by name; games add stronger ones."""
        return {
            "random": lambda env, seat, rng: env.random_action(seat, rng),
            "scripted": lambda env, seat, rng: env.reference_solver(seat).act(env.observe(seat)),
        }

    def initial_progress(self, player: str) -> float:
        """Each player's potential at the start of a game."""
        return 0.0

    def truncation_outcomes(self) -> dict[str, float]:
        return {a: 0.0 for a in self.agents}

    # ------------------------------------------------------------------ pettingzoo API
    def observation_space(self, agent: str) -> ChatObservationSpace:
        return self._observation_spaces[agent]

    def action_space(self, agent: str) -> ChatActionSpace:
        return self._action_spaces[agent]

    def observe(self, agent: str) -> Observation:
        return Observation(m.model_copy(deep=True) for m in self._pending.get(agent, []))

    def _init_bookkeeping(self, first: str) -> None:
        self.agents = list(self.possible_agents)
        self.rewards = {a: 0.0 for a in self.agents}
        self._cumulative_rewards = {a: 0.0 for a in self.agents}
        self.terminations = {a: False for a in self.agents}
        self.truncations = {a: False for a in self.agents}
        self.infos = {a: {"turn": 0} for a in self.agents}
        self._since_last_move = {a: {} for a in self.agents}
        self.agent_selection = first

    def reset(self, seed: int | None = None, options: dict[str, Any] | None = None) -> None:
        if seed is not None or not hasattr(self, "_np_random_set"):
            self.np_random = np.random.default_rng(seed)
            self._np_random_set = True
        self.turn = 0
        self.moves_played = 0
        self._illegal_in_a_row = {a: 0 for a in self.possible_agents}
        self.outcomes = {}
        self.transcript = []
        opening, first = self.begin_game(options)
        self._pending = {a: list(opening.get(a, [])) for a in self.possible_agents}
        self._potentials = {a: Potential(self.initial_progress(a)) for a in self.possible_agents}
        self._init_bookkeeping(first)

    def step(self, action: Message | str | None) -> None:
        player = self.agent_selection
        if self.terminations[player] or self.truncations[player]:
            self._was_dead_step(action)
            return
        message = coerce_action(action) if action is not None else Message.assistant("")
        self.turn += 1
        self.transcript.append((player, message))
        self._pending[player] = []
        self._cumulative_rewards[player] = 0.0
        self._since_last_move[player] = {}
        result = self._judged_move(player, readable_action(message))
        step_components: dict[str, dict[str, float]] = {a: {} for a in self.agents}
        step_components[player].update(result.components)
        for who, phi in result.progress.items():
            step_components[who]["progress"] = self._potentials[who].update(phi)
        for who, messages in result.messages.items():
            self._pending[who].extend(capped_message(m) for m in messages)
        truncated = not result.done and self.moves_played >= self.max_turns
        if result.done or truncated:
            self.outcomes = dict(result.outcomes) if result.done else self.truncation_outcomes()
            for who in self.agents:
                step_components[who]["outcome"] = self.outcomes.get(who, 0.0)
        for who in self.agents:
            self.rewards[who] = weighted_sum(step_components[who], self.reward_weights)
            add_components(self._since_last_move[who], step_components[who])
            info: dict[str, Any] = {"turn": self.turn, "reward_components": dict(self._since_last_move[who])}
            if result.done or truncated:
                outcome = self.outcomes.get(who, 0.0)
                info.update(outcome=outcome, success=outcome >= self.success_threshold)
                self.terminations[who] = result.done
                self.truncations[who] = truncated
            self.infos[who] = jsonable(info)
        self._accumulate_rewards()
        if not (result.done or truncated):
            self.agent_selection = result.next_player or player

    def _judged_move(self, player: str, action: Message) -> MoveResult:
        """`apply_move`, with the rules every game shares: a game that raises refuses the move
        instead, legal moves use up the turn budget, and too many refusals in a row forfeit."""
        try:
            result = self.apply_move(player, action)
        except Exception as err:  # a game must never raise into the rollout: log it, refuse the move
            logger.error("%s failed on a move", type(self).__name__, exc_info=True)
            result = self.illegal(player, f"The game could not process this move ({type(err).__name__}).")
        if result.legal:
            self.moves_played += 1
            self._illegal_in_a_row[player] = 0
            return result
        self._illegal_in_a_row[player] = self._illegal_in_a_row.get(player, 0) + 1
        if self._illegal_in_a_row[player] < self.illegal_move_limit:
            return result
        reason = " ".join(m.content for m in result.messages.get(player, []))
        text = f"{player} made {self.illegal_move_limit} illegal moves in a row and forfeits the game. ({reason})"
        outcomes = {p: 0.0 if p == player else 1.0 for p in self.possible_agents}
        forfeit = self.game_over(text, outcomes)
        forfeit.components = dict(result.components)
        return forfeit

    def illegal(self, player: str, reason: str, penalty: float = INVALID_ACTION_PENALTY) -> MoveResult:
        """Tell the mover what was wrong; the same player moves again."""
        return MoveResult(messages={player: [Message.user(reason)]}, components={"legal_move": penalty},
                          next_player=player, legal=False)

    def game_over(self, text: str, outcomes: dict[str, float]) -> MoveResult:
        """End the game: everyone sees `text`, and each potential moves to its final outcome."""
        return MoveResult({p: [Message.user(text)] for p in self.possible_agents},
                          {p: outcomes[p] for p in self.possible_agents}, done=True, outcomes=outcomes)

    def render(self) -> str | None:
        if self.render_mode != "ansi":
            return None
        return render_messages([m.model_copy(update={"name": p}) for p, m in self.transcript])

    def close(self) -> None:
        """Nothing to release by default."""

    @classmethod
    def describe(cls) -> str:
        doc = inspect.getdoc(cls) or ""
        return " ".join(doc.split("\n\n")[0].split())


class VersusOpponent(gymnasium.Env[Observation, Message]):
    """A multi-agent game seen by one player, the other seats played by a built-in opponent.

    A wrapper, not a subclass of the authoring base: it owns no task of its own and forwards
    to `self.game`, as gymnasium wrappers forward to `self.env`. It offers everything the
    single-agent `Env` interface promises (reset, step, tools, reference_solver,
    random_action, max_turns, outcome, transcript) and is registered as a virtual `Env`, so
    rollouts, servers and trainers treat it as one.
    """

    def __init__(self, game: MultiAgentEnv, *, opponent: str | None = None, seat: str | None = None) -> None:
        self.game = game
        self.opponent_name = opponent or game.default_opponent
        available = game.builtin_opponents()
        if self.opponent_name not in available:
            raise ValueError(
                f"unknown opponent '{self.opponent_name}'; choose one of: {', '.join(sorted(available))}"
            )
        self._opponent = available[self.opponent_name]
        self.seat = seat or game.possible_agents[0]
        if self.seat not in game.possible_agents:
            raise ValueError(f"unknown seat '{self.seat}'; choose one of: {', '.join(game.possible_agents)}")
        self.metadata = dict(game.metadata)
        self.render_mode = game.render_mode
        self.reward_weights = game.reward_weights
        self.success_threshold = game.success_threshold
        self.reward_range = game.reward_range
        self.max_turns = game.max_turns
        self.observation_space = game.observation_space(self.seat)
        self.action_space = game.action_space(self.seat)
        self.transcript: list[Message] = []
        self.turn = 0
        self.outcome = 0.0
        self.done = False
        self._opponent_rng = np.random.default_rng()

    @property
    def tools(self) -> list[Any]:
        """Games are played with moves in text, not with tools."""
        return []

    @classmethod
    def describe(cls) -> str:  # the wrapped game describes itself
        return ""

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Observation, dict[str, Any]]:
        super().reset(seed=seed)  # seeds self.np_random
        self.game.reset(seed=seed, options=options)
        self._opponent_rng = np.random.default_rng(int(self.np_random.integers(1 << 62)))
        self.turn = 0
        self.done = False
        self.outcome = 0.0
        self._play_opponents()
        observation = self.game.observe(self.seat)
        self.transcript = list(observation)
        return observation, {"turn": 0, "seat": self.seat, "opponent": self.opponent_name}

    def _play_opponents(self) -> None:
        game = self.game
        while game.agent_selection != self.seat and not self._game_over():
            who = game.agent_selection
            game.step(self._opponent(game, who, self._opponent_rng))

    def _game_over(self) -> bool:
        return self.game.terminations[self.seat] or self.game.truncations[self.seat]

    def step(self, action: Message | str) -> tuple[Observation, float, bool, bool, dict[str, Any]]:
        if self.done:
            raise RuntimeError("the episode is over; call reset() first")
        message = coerce_action(action)
        self.turn += 1
        self.transcript.append(message)
        self.game.step(message)
        self._play_opponents()
        game = self.game
        reward = float(game._cumulative_rewards[self.seat])
        terminated = bool(game.terminations[self.seat])
        truncated = bool(game.truncations[self.seat])
        info = dict(game.infos[self.seat])
        info["reward_components"] = dict(info.get("reward_components", {}))
        if terminated or truncated:
            self.done = True
            self.outcome = float(info.get("outcome", 0.0))
        observation = game.observe(self.seat)
        self.transcript.extend(observation)
        return observation, reward, terminated, truncated, info

    def reference_solver(self) -> Solver:
        return self.game.reference_solver(self.seat)

    def random_action(self, rng: np.random.Generator) -> Message | str:
        return self.game.random_action(self.seat, rng)

    def render(self) -> str | None:  # type: ignore[override]
        if self.render_mode != "ansi":
            return None
        return render_messages(self.transcript)

    def close(self) -> None:
        self.game.close()


Env.register(VersusOpponent)
