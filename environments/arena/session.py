"""One TextArena game in progress, seen through envarena's eyes.

`Session` owns a raw TextArena environment (its observation wrappers left out: they re-send
the whole history as one string, and envarena hands each player only its new messages) with
the game's own action wrappers kept (most add the `[...]` brackets a move needs). It turns
TextArena's observation tuples into chat messages, tells an illegal move from a legal one, and
reads the final rewards.

Seeding. TextArena games draw from the module-level `random` (and seed it globally in
`State.__init__`), which concurrent environments in one process would share: each game's
moves would depend on the others'. Every TextArena module's `random` name is therefore
pointed at a proxy that forwards to the `random.Random` of the session running in the current
context (a `ContextVar`, so threads and asyncio tasks each see their own), and to the real
module outside a session. Limit: the few uses of `numpy.random` (SpellingBee's letters, the
randomized IteratedStagHunt variant; neither is registered) stay global. The same patch
silences the `print` calls some games leave in, which would corrupt stdio protocols
(`envarena mcp-serve`).
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import random
import re
import sys
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from envarena.errors import EnvArenaError
from envarena.types import Message

__all__ = ["MoveOutcome", "Session", "bracketed_moves", "outcome_from_reward"]

logger = logging.getLogger(__name__)

_ACTIVE: ContextVar[random.Random | None] = ContextVar("envarena_textarena_random", default=None)
#: Invalid moves TextArena tolerates before it ends a game itself; envarena's own rule
#: (`MultiAgentEnv.illegal_move_limit`, the turn budget for single-player games) applies instead.
_NO_LIMIT = 10**9
#: Characters of an action handed to a game: the last ones, as envarena reads actions. Some games'
#: parsers are quadratic (Othello takes 8 s on 32 KB of digits) or call int() on any run of digits.
MAX_MOVE_CHARS = 4000
_BRACKETED = re.compile(r"\[([^\[\]\n]{1,40})\]")
_NOT_MOVES = re.compile(r"^(GAME|Player \d+|Player|Game|GAME MESSAGE)$")


class _RandomProxy:
    """Stands in for the `random` module inside TextArena's modules (see the module docstring)."""

    def __getattr__(self, name: str) -> Any:
        rng = _ACTIVE.get()
        if rng is not None and not name.startswith("_") and hasattr(random.Random, name):
            return getattr(rng, name)
        return getattr(random, name)


_PROXY = _RandomProxy()


def _quiet_print(*args: Any, **kwargs: Any) -> None:
    logger.debug("textarena: %s", " ".join(str(a) for a in args))


def _patch_modules() -> None:
    """Point every loaded TextArena module's `random` at the proxy and silence its prints."""
    for name, module in list(sys.modules.items()):
        if not name.startswith("textarena") or module is None:
            continue
        if getattr(module, "random", None) is random:
            module.random = _PROXY  # type: ignore[attr-defined]
        if name.startswith("textarena.envs.") and getattr(module, "print", None) is not _quiet_print:
            module.print = _quiet_print  # type: ignore[attr-defined]


def outcome_from_reward(reward: float, players: int) -> float:
    """TextArena's reward as an outcome in [0, 1]: for games of several players win (+1) is 1, draw
    (0) 0.5, loss (-1) 0; a single-player game's reward is already a score in [0, 1] (-1 for a
    game lost outright counts as 0)."""
    value = float(reward) if players == 1 else (float(reward) + 1.0) / 2.0
    return min(1.0, max(0.0, value))


def bracketed_moves(text: str) -> list[str]:
    """The `[move]` examples and options a game shows, without speaker tags such as `[GAME]`."""
    return [f"[{m.strip()}]" for m in _BRACKETED.findall(text) if m.strip() and not _NOT_MOVES.match(m.strip())]


@dataclass
class MoveOutcome:
    """What one TextArena step did: messages per player id, whether the move was refused, the end."""

    messages: dict[int, list[Message]] = field(default_factory=dict)
    #: The `[move]` options in what the game itself (not another player) told each player.
    options: dict[int, list[str]] = field(default_factory=dict)
    invalid_reason: str | None = None
    done: bool = False
    rewards: dict[int, float] = field(default_factory=dict)
    reason: str = ""


class Session:
    """A TextArena game for `num_players`, seeded, stepped one move at a time."""

    def __init__(self, game_id: str, num_players: int, seed: int) -> None:
        self.num_players = num_players
        self._rng = random.Random(seed)
        self._invalid: list[str] = []
        try:
            import textarena
            from textarena.envs.registration import ENV_REGISTRY
        except Exception as err:  # a broken install: one sentence, not a traceback
            raise EnvArenaError(f"TextArena cannot be imported ({type(err).__name__}: {err})") from None
        spec = ENV_REGISTRY[game_id]
        if isinstance(spec.entry_point, str):  # import the game's module first, so that even the
            importlib.import_module(spec.entry_point.partition(":")[0])  # constructor draws seeded
        _patch_modules()
        with self._own_random():
            self._rng.seed(seed)
            env = textarena.make(f"{game_id}-raw")
            for wrapper in spec.default_wrappers or []:
                if issubclass(wrapper, textarena.ActionWrapper):
                    env = wrapper(env)
            _patch_modules()
            self._rng.seed(seed)
            env.reset(num_players=num_players, seed=seed)
        self.env = env
        self._role_names = dict(getattr(self.state, "role_mapping", {}) or {})
        self.state.error_allowance = _NO_LIMIT
        original = self.state.set_invalid_move

        def record_invalid(*args: Any, **kwargs: Any) -> Any:
            reason = kwargs.get("reason", args[0] if args else "")
            self._invalid.append(str(reason or "the move is not valid"))
            return original(*args, **kwargs)

        self.state.set_invalid_move = record_invalid

    @property
    def state(self) -> Any:
        return self.env.state

    @property
    def current_player(self) -> int:
        return int(self.state.current_player_id)

    @contextlib.contextmanager
    def _own_random(self) -> Iterator[None]:
        token = _ACTIVE.set(self._rng)
        try:
            yield
        finally:
            _ACTIVE.reset(token)

    def opening(self) -> MoveOutcome:
        """Every player's first messages: the game's prompt as a system message, then the rest."""
        raw = self._drain()
        return MoveOutcome({pid: self._as_messages(pid, items, True) for pid, items in raw.items()},
                           {pid: self._options(items) for pid, items in raw.items()})

    def step(self, text: str) -> MoveOutcome:
        self._invalid.clear()
        failure = None
        with self._own_random():
            try:
                done, _ = self.env.step(text[-MAX_MOVE_CHARS:])
            except Exception as err:  # games parse with int() and friends: 5,000 digits make them raise
                logger.warning("%s could not process a move: %s: %s", type(self.env).__name__, type(err).__name__,
                               str(err)[:200])
                done, failure = False, f"the game could not read this move ({type(err).__name__})."
        raw = self._drain()
        result = MoveOutcome({pid: self._as_messages(pid, items, False) for pid, items in raw.items()},
                             {pid: self._options(items) for pid, items in raw.items()})
        if done or self.state.done:
            rewards = getattr(self.state, "rewards", None) or {}
            info = getattr(self.state, "game_info", {}) or {}
            reasons = {str(v.get("reason")) for v in info.values() if isinstance(v, dict) and v.get("reason")}
            result.done, result.reason = True, " ".join(sorted(reasons))
            result.rewards = {int(p): float(r) for p, r in rewards.items()}
        elif self._invalid or failure:
            result.invalid_reason = failure or self._invalid[-1]
        return result

    @staticmethod
    def _options(items: list[tuple[Any, ...]]) -> list[str]:
        return [m for sender, text, _ in items if sender == -1 for m in bracketed_moves(str(text))]

    def _drain(self) -> dict[int, list[tuple[Any, ...]]]:
        """The observations queued for each player (the current player's through the game's
        `get_observation`, which some games extend with the board)."""
        raw: dict[int, list[tuple[Any, ...]]] = {}
        current = self.current_player
        with self._own_random():
            _, observation = self.env.get_observation()
        raw[current] = list(observation or [])
        for pid in range(self.num_players):
            if pid != current:
                raw[pid] = list(self.state.observations.get(pid, []))
                self.state.observations[pid] = []
        return raw

    def _as_messages(self, pid: int, items: list[tuple[Any, ...]], first: bool) -> list[Message]:
        from textarena.core import ObservationType

        prompts: list[str] = []
        lines: list[str] = []
        for sender, text, kind in items:
            if kind == ObservationType.PROMPT:
                prompts.append(str(text))
            elif sender == pid and kind == ObservationType.PLAYER_ACTION:
                continue  # a player's own move, echoed back: it knows what it said
            else:
                name = "GAME" if sender == -1 else self._role_names.get(sender, f"Player {sender}")
                lines.append(f"[{name}] {text}")
        messages = [Message.system("\n\n".join(prompts))] if prompts and first else []
        if prompts and not first:
            lines = prompts + lines
        if lines:
            messages.append(Message.user("\n".join(lines)))
        return messages
