"""Kuhn poker, played as a duplicate match so skill, not the deal, decides the winner."""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from envarena.env import Solver
from envarena.multiagent import MoveResult, MultiAgentEnv, Opponent
from envarena.task_env import Difficulty
from envarena.types import Message

PLAYERS = ("player_1", "player_2")
CARDS = ("J", "Q", "K")
_WORDS = {"check": "check", "pass": "check", "bet": "bet", "raise": "bet", "call": "call", "fold": "fold"}
# ASCII only: with Unicode case folding "paſſ" would match and then be no known word.
_ACTION = re.compile(r"\b(check|pass|bet|raise|call|fold)\b", re.IGNORECASE | re.ASCII)
NASH_ALPHA = 0.2  # the first player's bluff rate; any value in [0, 1/3] is an equilibrium


def legal_actions(history: tuple[str, ...]) -> tuple[str, ...]:
    return ("call", "fold") if history and history[-1] == "bet" else ("check", "bet")


def settle(history: tuple[str, ...], first_card: int, second_card: int) -> int | None:
    """Chips the first actor wins (negative: loses) once the hand is over; None while it runs."""
    showdown = 1 if first_card > second_card else -1
    match history:
        case ("check", "check"):
            return showdown
        case ("bet", "call") | ("check", "bet", "call"):
            return 2 * showdown
        case ("bet", "fold"):
            return 1
        case ("check", "bet", "fold"):
            return -1
    return None


def value_strategy(card: int, history: tuple[str, ...]) -> str:
    """Bet the Q and K, bluff the J only when checked to, call with Q or K, fold the J."""
    if legal_actions(history) == ("check", "bet"):
        return "bet" if card >= 1 or history == ("check",) else "check"
    return "call" if card >= 1 else "fold"


def equilibrium_strategy(card: int, history: tuple[str, ...], rng: np.random.Generator) -> str:
    """Kuhn's Nash equilibrium family (first player parameterised by NASH_ALPHA)."""
    a = NASH_ALPHA
    if history == ():
        return "bet" if rng.random() < (a, 0.0, 3 * a)[card] else "check"
    if history == ("check",):
        return "bet" if rng.random() < (1 / 3, 0.0, 1.0)[card] else "check"
    call_rate = (0.0, 1 / 3, 1.0)[card] if history == ("bet",) else (0.0, a + 1 / 3, 1.0)[card]
    return "call" if rng.random() < call_rate else "fold"


class ValueSolver:
    def __init__(self, env: KuhnPokerEnv, player: str) -> None:
        self.env, self.player = env, player

    def act(self, observation: list[Message]) -> str:
        return value_strategy(self.env.card_of(self.player), self.env.history)


class KuhnPokerEnv(MultiAgentEnv):
    """Kuhn poker: a three-card deck (J < Q < K), one card each, an ante of 1 and one bet of 1.

    Each turn says check or bet (no bet yet) or call or fold (facing a bet). The match is
    duplicate: every deal is played twice with the players' cards and seats swapped, so
    the luck of the deal cancels and whoever plays better ends ahead. Played single-agent,
    the other seat is random (easy), a fixed value-betting strategy (medium) or the Nash
    equilibrium (hard). Rewards: `legal_move` penalty, `progress` (potential: chips won so
    far squashed into [0, 1]) and `outcome` (1 ahead after the match, 0.5 level, 0 behind).
    """

    possible_agents = list(PLAYERS)
    opponent_by_difficulty = {"easy": "random", "medium": "scripted", "hard": "equilibrium"}
    default_max_turns = 200

    def __init__(self, *, difficulty: Difficulty = "medium", hands: int = 40, max_turns: int | None = None,
                 render_mode: str | None = None) -> None:
        if hands < 2 or hands % 2:
            raise ValueError("hands must be an even number of at least 2 (deals are played in swapped pairs)")
        self.difficulty = difficulty
        self.hands = hands
        self.metadata = {**MultiAgentEnv.metadata, "name": "kuhn_poker_v0"}
        super().__init__(max_turns=max_turns or max(self.default_max_turns, 4 * hands), render_mode=render_mode)
        self.chips = {p: 0 for p in PLAYERS}
        self.deals: list[tuple[int, int]] = []
        self.hand = 0
        self.history: tuple[str, ...] = ()

    # ------------------------------------------------------------------ hand bookkeeping
    def _seats(self) -> tuple[str, str]:
        """(first actor, second actor) of the current hand: the button alternates."""
        return (PLAYERS[0], PLAYERS[1]) if self.hand % 2 == 0 else (PLAYERS[1], PLAYERS[0])

    def _cards(self) -> tuple[int, int]:
        """Cards of (first actor, second actor). Both hands of a pair deal the same cards to the
        same seats while the players swap seats, so each player holds each hand once."""
        return self.deals[self.hand // 2]

    def card_of(self, player: str) -> int:
        first, _ = self._seats()
        return self._cards()[0 if player == first else 1]

    def _hand_opening(self) -> dict[str, list[Message]]:
        first, second = self._seats()
        out = {}
        for p in PLAYERS:
            where = "You act first" if p == first else "Your opponent acts first"
            out[p] = [Message.user(f"Hand {self.hand + 1} of {self.hands}. You hold the {CARDS[self.card_of(p)]}. "
                                   f"Both players ante 1. {where}. Chips so far: {self.chips[p]:+d}.")]
        out[first][-1].content += " Check or bet?"
        return out

    def begin_game(self, options: dict[str, Any] | None) -> tuple[dict[str, list[Message]], str]:
        self.deals = [tuple(int(c) for c in self.np_random.permutation(3)[:2]) for _ in range(self.hands // 2)]  # type: ignore[misc]
        self.hand, self.history = 0, ()
        self.chips = {p: 0 for p in PLAYERS}
        rules = Message.system(
            "You are playing Kuhn poker: a deck of J, Q, K; each player antes 1 and gets one card. With no bet "
            "on the table say 'check' or 'bet' (1 chip); facing a bet say 'call' or 'fold'. At a showdown the "
            f"higher card takes the pot. The match is {self.hands} hands; finish with more chips than your opponent."
        )
        opening = self._hand_opening()
        return {p: [rules.model_copy(), *opening[p]] for p in PLAYERS}, self._seats()[0]

    def initial_progress(self, player: str) -> float:
        return 0.5

    def _phi(self, player: str) -> float:
        return float(0.5 + 0.5 * np.tanh(self.chips[player] / 8.0))

    # ------------------------------------------------------------------ moves
    def apply_move(self, player: str, action: Message) -> MoveResult:
        allowed = legal_actions(self.history)
        found = _ACTION.findall(action.content)
        if not found:
            return self.illegal(player, f"Reply with one of: {' or '.join(allowed)}.")
        word = _WORDS[found[-1].lower()]
        if word not in allowed:
            return self.illegal(player, f"You cannot {word} now; reply with {' or '.join(allowed)}.")
        self.history += (word,)
        first, second = self._seats()
        other = second if player == first else first
        won = settle(self.history, *self._cards())
        if won is None:
            return MoveResult({other: [Message.user(f"Your opponent says {word}. {' or '.join(legal_actions(self.history)).capitalize()}?")]},
                              next_player=other)
        self.chips[first] += won
        self.chips[second] -= won
        return self._finish_hand(word, won)

    def _finish_hand(self, last_word: str, first_won: int) -> MoveResult:
        first, second = self._seats()
        cards = dict(zip((first, second), self._cards()))
        showdown = self.history[-1] != "fold"
        messages: dict[str, list[Message]] = {}
        for p in PLAYERS:
            other = second if p == first else first
            mine = first_won if p == first else -first_won
            reveal = f" Showdown: your {CARDS[cards[p]]} against their {CARDS[cards[other]]}." if showdown else ""
            result = "won" if mine > 0 else "lost"
            messages[p] = [Message.user(f"Actions: {' '.join(self.history)}.{reveal} You {result} {abs(mine)}. "
                                        f"Chips: {self.chips[p]:+d}.")]
        progress = {p: self._phi(p) for p in PLAYERS}
        self.hand += 1
        self.history = ()
        if self.hand == self.hands:
            a, b = self.chips[PLAYERS[0]], self.chips[PLAYERS[1]]
            outcomes = {PLAYERS[0]: 1.0, PLAYERS[1]: 0.0} if a > b else {PLAYERS[0]: 0.0, PLAYERS[1]: 1.0} if b > a else {p: 0.5 for p in PLAYERS}
            for p in PLAYERS:
                messages[p].append(Message.user(f"Match over after {self.hands} hands: you finish {self.chips[p]:+d}."))
            return MoveResult(messages, {p: outcomes[p] for p in PLAYERS}, done=True, outcomes=outcomes)
        for p, more in self._hand_opening().items():
            messages[p].extend(more)
        return MoveResult(messages, progress, next_player=self._seats()[0])

    def truncation_outcomes(self) -> dict[str, float]:
        a, b = self.chips[PLAYERS[0]], self.chips[PLAYERS[1]]
        return {PLAYERS[0]: float(a > b) + 0.5 * (a == b), PLAYERS[1]: float(b > a) + 0.5 * (a == b)}

    def reference_solver(self, player: str) -> Solver:
        return ValueSolver(self, player)

    def random_action(self, player: str, rng: np.random.Generator) -> str:
        allowed = legal_actions(self.history)
        return allowed[int(rng.integers(len(allowed)))]

    def builtin_opponents(self) -> dict[str, Opponent]:
        def equilibrium(env: MultiAgentEnv, seat: str, rng: np.random.Generator) -> str:
            return equilibrium_strategy(self.card_of(seat), self.history, rng)

        return {**super().builtin_opponents(), "equilibrium": equilibrium}
