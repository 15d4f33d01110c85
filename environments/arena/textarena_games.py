"""TextArena's games as `arena/<name>-v0` environments (optional extra `arena`).

Games of two or more players become `MultiAgentEnv`s with seats `player_0`, `player_1`, ...
(TextArena's Player 0, Player 1, ...), so self-play, `-e opponent=...` and per-player rewards
work as for envarena's own games; single-player games become `Env`s. Which games, and why the
others are left out: `catalog.py`. How a game is stepped, seeded and read: `session.py`.

Rules, the same as envarena's other games:
- A move TextArena refuses (it calls `set_invalid_move`) is an illegal move: the mover is told
  TextArena's reason, gets a `legal_move` penalty (single-player: `invalid_action`) and moves
  again; `illegal_move_limit` refusals in a row forfeit (single-player: the turn budget runs
  out, outcome 0). TextArena's own allowance of one retry is lifted so this rule is the one
  that holds.
- Outcomes: win 1, draw 0.5, loss 0 (TextArena's +1/0/-1); a single-player game's outcome is
  its own reward in [0, 1] (partial credit where the game gives it).
- Dense reward: single-player games that measure their own completion (FrozenLake's distance,
  Sudoku's cells, ...) pay it as a potential (`progress`); games of several players have no
  such measure, so a player's potential moves only at the end, to its outcome.
- No reference solver: TextArena ships none. The `random` opponent and `random_action` pick
  among the `[move]` options the game itself last showed the player (its prompt's examples, the
  "Available Moves" many games list), skipping ones it refused since its last legal move, not
  random text. Limit: where a game lists no moves (Nim shows only piles) the random player soon
  runs out of options and forfeits, so there any legal play beats `opponent=random`; train such
  games in self-play or against another policy.
"""

from __future__ import annotations

from importlib.util import find_spec
from typing import Any, ClassVar

import numpy as np

from envarena.env import Env, StepResult
from envarena.environments.arena.catalog import GAMES, ArenaGame, game_name
from envarena.environments.arena.session import MoveOutcome, Session, outcome_from_reward
from envarena.multiagent import MoveResult, MultiAgentEnv
from envarena.registration import registry
from envarena.task_env import Difficulty
from envarena.types import Message

__all__ = ["NO_REFERENCE", "TextArenaGameEnv", "TextArenaSoloEnv", "env_id"]

# TextArena itself is imported by the first game built (about 1.5 s); without it, the registry
# skips this family as it skips any whose optional library is missing.
if find_spec("textarena") is None:
    raise ModuleNotFoundError("No module named 'textarena'", name="textarena")

#: Why no `arena/*` environment has a reference solver (tests/catalog_ids.py reads it).
NO_REFERENCE = "TextArena ships no solver for its games"
#: Method names under which single-player games report their completion in [0, 1].
_PROGRESS_METHODS = ("_get_percentage_completion", "_progress", "_calculate_progress")


def env_id(game: str) -> str:
    return f"arena/{game_name(game)}-v0"


def _seed(rng: np.random.Generator) -> int:
    return int(rng.integers(2**31))


class _Moves:
    """The `[move]` options the game last showed each player, for random play; an option the
    game refused is not tried again until the player's next legal move."""

    def __init__(self) -> None:
        self.latest: dict[int, list[str]] = {}
        self.refused: dict[int, set[str]] = {}

    def update(self, result: MoveOutcome) -> None:
        """Take the options of a new position; a refused move leaves the position, and them, as they were."""
        if result.invalid_reason is not None:
            return
        for pid, found in result.options.items():
            if found:
                self.latest[pid] = sorted(set(found))

    def judged(self, pid: int, move: str, legal: bool) -> None:
        if legal:
            self.refused.pop(pid, None)
        else:
            self.refused.setdefault(pid, set()).add(move.strip())

    def sample(self, pid: int, rng: np.random.Generator) -> str | None:
        refused = self.refused.get(pid, set())
        options = [m for m in self.latest.get(pid, []) if m not in refused]
        return options[int(rng.integers(len(options)))] if options else None


class TextArenaGameEnv(MultiAgentEnv):
    """A TextArena game for several players (subclassed once per game below)."""

    arena: ClassVar[ArenaGame]
    default_max_turns = 300
    reward_range = (-1.0, 2.0)

    def __init__(self, *, difficulty: Difficulty = "medium", max_turns: int | None = None,
                 render_mode: str | None = None) -> None:
        self.difficulty = difficulty
        self.metadata = {**MultiAgentEnv.metadata, "name": f"arena_{game_name(self.arena.game)}_v0"}
        super().__init__(max_turns=max_turns, render_mode=render_mode)
        self.session: Session | None = None
        self._moves = _Moves()

    @staticmethod
    def seat(pid: int) -> str:
        return f"player_{pid}"

    def _messages(self, result: MoveOutcome) -> dict[str, list[Message]]:
        self._moves.update(result)
        return {self.seat(pid): messages for pid, messages in result.messages.items()}

    def begin_game(self, options: dict[str, Any] | None) -> tuple[dict[str, list[Message]], str]:
        self.session = Session(self.arena.variant(self.difficulty), self.arena.players, _seed(self.np_random))
        self._moves = _Moves()
        return self._messages(self.session.opening()), self.seat(self.session.current_player)

    def apply_move(self, player: str, action: Message) -> MoveResult:
        assert self.session is not None, "reset() first"
        result: MoveOutcome = self.session.step(action.content)
        self._moves.judged(int(player.rsplit("_", 1)[1]), action.content, result.invalid_reason is None)
        messages = self._messages(result)
        if result.done:
            outcomes = {self.seat(pid): outcome_from_reward(result.rewards.get(pid, -1.0), self.arena.players)
                        for pid in range(self.arena.players)}
            end = Message.user(f"Game over. {result.reason}".strip())
            for seat in self.possible_agents:
                messages.setdefault(seat, []).append(end)
            return MoveResult(messages, dict(outcomes), done=True, outcomes=outcomes)
        if result.invalid_reason is not None:
            refused = self.illegal(player, f"Invalid move: {result.invalid_reason} Please resubmit a valid move.")
            refused.messages = {**messages, player: refused.messages[player]}
            return refused
        next_player = self.seat(self.session.current_player)
        if not messages.get(next_player):
            messages.setdefault(next_player, []).append(Message.user("Your move."))
        return MoveResult(messages, next_player=next_player)

    def random_action(self, player: str, rng: np.random.Generator) -> Message | str:
        move = self._moves.sample(int(player.rsplit("_", 1)[1]), rng)
        return move if move is not None else super().random_action(player, rng)

    def reference_solver(self, player: str) -> Any:
        raise NotImplementedError(f"{env_id(self.arena.game)} has no reference solver: {NO_REFERENCE}")


class TextArenaSoloEnv(Env):
    """A single-player TextArena game (subclassed once per game below)."""

    arena: ClassVar[ArenaGame]
    default_max_turns = 100
    reward_range = (-1.0, 2.0)

    def __init__(self, *, difficulty: Difficulty = "medium", max_turns: int | None = None,
                 render_mode: str | None = None) -> None:
        self.difficulty = difficulty
        super().__init__(max_turns=max_turns, render_mode=render_mode)
        self.session: Session | None = None
        self._moves = _Moves()

    def begin_episode(self, options: dict[str, Any] | None) -> list[Message]:
        self.session = Session(self.arena.variant(self.difficulty), 1, _seed(self.np_random))
        self._moves = _Moves()
        opening = self.session.opening()
        self._moves.update(opening)
        return opening.messages.get(0, [])

    def _completion(self) -> float | None:
        game = self.session.env if self.session is not None else None
        while game is not None and not any(hasattr(game, m) for m in _PROGRESS_METHODS) and hasattr(game, "env"):
            game = game.env
        for name in _PROGRESS_METHODS:
            method = getattr(game, name, None)
            if callable(method):
                try:
                    return min(1.0, max(0.0, float(method())))
                except Exception:  # a game's own measure failing must not fail the step
                    return None
        return None

    def initial_progress(self) -> float:
        return self._completion() or 0.0

    def respond(self, action: Message) -> StepResult:
        assert self.session is not None, "reset() first"
        result = self.session.step(action.content)
        messages = result.messages.get(0, [])
        self._moves.judged(0, action.content, result.invalid_reason is None)
        self._moves.update(result)
        if result.done:
            outcome = outcome_from_reward(result.rewards.get(0, 0.0), 1)
            end = Message.user(f"Game over. {result.reason}".strip())
            return StepResult([*messages, end], progress=outcome, done=True, outcome=outcome)
        if result.invalid_reason is not None:
            return self.invalid(f"Invalid move: {result.invalid_reason} Please resubmit a valid move.")
        return StepResult(messages or [Message.user("Your move.")], progress=self._completion())

    def random_action(self, rng: np.random.Generator) -> Message | str:
        move = self._moves.sample(0, rng)
        return move if move is not None else super().random_action(rng)

    def reference_solver(self) -> Any:
        raise NotImplementedError(f"{env_id(self.arena.game)} has no reference solver: {NO_REFERENCE}")


def _describe(arena: ArenaGame) -> str:
    who = "a single-player game" if arena.players == 1 else f"a game for {arena.players} players"
    return (f"TextArena's {arena.game} ({arena.textarena_id}), {who}; difficulty picks one of its variants "
            f"where it has easier or harder ones.\n\nMoves are written as TextArena asks, usually in brackets "
            f"such as [move]; a refused move costs a penalty and is retried.")


def _register_all() -> None:
    for arena in GAMES.values():
        base = TextArenaSoloEnv if arena.players == 1 else TextArenaGameEnv
        name = "".join(part.capitalize() for part in game_name(arena.game).split("-")) + "ArenaEnv"
        attrs: dict[str, Any] = {"arena": arena, "__doc__": _describe(arena), "__module__": __name__}
        if arena.players > 1:
            attrs["possible_agents"] = [f"player_{i}" for i in range(arena.players)]
        cls = type(name if not name[0].isdigit() else f"Game{name}", (base,), attrs)
        globals()[cls.__name__] = cls
        kind = "single-player" if arena.players == 1 else ("two-player" if arena.players == 2 else "multi-player")
        registry.add(env_id(arena.game), cls, tags=("textarena", "game", kind))


_register_all()
