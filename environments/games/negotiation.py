"""Split a pool of items with private values: negotiate a deal or both walk away with nothing."""

from __future__ import annotations

import re
from itertools import product
from typing import Any

import numpy as np

from envarena.env import Solver
from envarena.multiagent import MoveResult, MultiAgentEnv, Opponent
from envarena.task_env import Difficulty
from envarena.types import Message

PLAYERS = ("alice", "bob")
ITEMS = ("books", "hats", "balls")
TOTAL_VALUE = 10
# (proposals each player may make, built-in opponent) per difficulty
_ROUNDS = {"easy": 10, "medium": 8, "hard": 6}
# ASCII only (with Unicode folding "ſ" matches "s" and then names no item); counts of at most
# four digits, so a 5,000-digit number is no count rather than an int() error.
_COUNT = re.compile(r"\b(books?|hats?|balls?)\s*(?:[=:]\s*)?(\d{1,4})\b|\b(\d{1,4})\s*(books?|hats?|balls?)\b",
                    re.IGNORECASE | re.ASCII)
_PROPOSE = re.compile(r"\b(propose|offer|proposal)\b", re.IGNORECASE | re.ASCII)
_ACCEPT = re.compile(r"\baccept\b", re.IGNORECASE | re.ASCII)

Split = tuple[int, ...]  # how many of each item the proposer keeps


def points(values: Split, share: Split) -> int:
    return sum(v * n for v, n in zip(values, share))


def valuations(counts: Split) -> list[Split]:
    """Every way to value the items with non-negative integers so the whole pool is worth 10."""
    return [v for v in product(range(TOTAL_VALUE + 1), repeat=len(counts)) if points(v, counts) == TOTAL_VALUE]


def all_splits(counts: Split) -> list[Split]:
    return list(product(*(range(c + 1) for c in counts)))


def rest(counts: Split, share: Split) -> Split:
    return tuple(c - n for c, n in zip(counts, share))


def describe(share: Split) -> str:
    return " ".join(f"{name}={n}" for name, n in zip(ITEMS, share))


class ReferenceNegotiator:
    """Reads both valuations (a reference player may read hidden state) and only makes or takes
    deals it wins: first it asks for the best split for itself, then concedes points to the
    other side round by round while still ending ahead."""

    def __init__(self, env: NegotiationEnv, player: str) -> None:
        self.env, self.player = env, player

    def act(self, observation: list[Message]) -> str:
        env = self.env
        other = env.other(self.player)
        mine, theirs = env.values[self.player], env.values[other]

        def margin(share: Split) -> int:
            return points(mine, share) - points(theirs, rest(env.counts, share))

        last_chance = env.proposals_made[self.player] >= env.rounds - 1
        enough = 0 if last_chance else 1  # settle for a tie rather than no deal at the end
        offer = env.pending_offer(self.player)
        if offer is not None and margin(offer) >= enough:
            return "accept"
        concession = TOTAL_VALUE * env.proposals_made[self.player] / (2 * env.rounds)  # grows each round
        winning = [s for s in all_splits(env.counts) if margin(s) >= enough]
        options = [s for s in winning if points(theirs, rest(env.counts, s)) >= concession] or winning
        best = max(options, key=lambda s: (points(mine, s), -sum(s)))
        return f"propose {describe(best)}"


def threshold_negotiator(start: float, floor: float) -> Opponent:
    """A built-in opponent that knows only its own values: it accepts offers worth at least its
    current target and proposes the split closest to that target, lowering the target from
    `start` to `floor` (shares of the 10 points) as its proposals run out."""

    def act(env: MultiAgentEnv, seat: str, rng: np.random.Generator) -> str:
        assert isinstance(env, NegotiationEnv)
        mine = env.values[seat]
        left = env.rounds - env.proposals_made[seat]
        target = TOTAL_VALUE * (floor + (start - floor) * max(0, left - 1) / max(1, env.rounds - 1))
        offer = env.pending_offer(seat)
        if offer is not None and points(mine, offer) >= target:
            return "accept"
        options = [s for s in all_splits(env.counts) if points(mine, s) >= target] or [env.counts]
        best = min(options, key=lambda s: (points(mine, s), sum(s), int(rng.integers(1000))))
        return f"propose {describe(best)}"

    return act


class NegotiationEnv(MultiAgentEnv):
    """Negotiation: two players split a pool of books, hats and balls; each values the items
    differently and privately (the whole pool is worth 10 points to each).

    Players take turns either proposing a split (`propose books=2 hats=0 balls=1`: what the
    proposer keeps, the rest goes to the other) or accepting the other's latest proposal
    (`accept`); anything else written alongside is passed on as a message. If the proposals
    run out with no deal, both get nothing. The winner is whoever the deal gives more of their
    own points. Easy allows 10 proposals each against a random opponent, medium 8 against a
    fair one, hard 6 against a tough one. Rewards: `legal_move` penalty, `progress` (potential:
    the points the latest proposal would give the player, over 10) and `outcome` (1 for a deal
    that gives the player more points than the opponent, 0.5 equal, 0 fewer or no deal).
    """

    possible_agents = list(PLAYERS)
    opponent_by_difficulty = {"easy": "random", "medium": "fair", "hard": "tough"}
    default_max_turns = 60

    def __init__(self, *, difficulty: Difficulty = "medium", max_turns: int | None = None, render_mode: str | None = None) -> None:
        self.difficulty = difficulty
        self.rounds = _ROUNDS[difficulty]
        self.metadata = {**MultiAgentEnv.metadata, "name": "negotiation_v0"}
        super().__init__(max_turns=max_turns, render_mode=render_mode)
        self.counts: Split = (1, 1, 1)
        self.values: dict[str, Split] = {}
        self.proposals_made = {p: 0 for p in PLAYERS}
        self.offer: tuple[str, Split] | None = None  # (proposer, what the proposer keeps)

    def other(self, player: str) -> str:
        return PLAYERS[1 - PLAYERS.index(player)]

    def pending_offer(self, player: str) -> Split | None:
        """What `player` would receive by accepting the other side's latest proposal."""
        if self.offer is None or self.offer[0] == player:
            return None
        return rest(self.counts, self.offer[1])

    def begin_game(self, options: dict[str, Any] | None) -> tuple[dict[str, list[Message]], str]:
        rng = self.np_random
        while True:
            counts = tuple(int(c) for c in rng.integers(1, 5, size=len(ITEMS)))
            if not 5 <= sum(counts) <= 7:
                continue
            choices = valuations(counts)
            a, b = (choices[int(i)] for i in rng.integers(len(choices), size=2))
            wanted_by_someone = all(x or y for x, y in zip(a, b))
            contested = any(x and y for x, y in zip(a, b))
            if wanted_by_someone and contested and a != b:
                break
        self.counts = counts
        self.values = {PLAYERS[0]: a, PLAYERS[1]: b}
        self.proposals_made = {p: 0 for p in PLAYERS}
        self.offer = None
        opening = {}
        for p in PLAYERS:
            worth = ", ".join(f"{name} {v} each" for name, v in zip(ITEMS, self.values[p]))
            opening[p] = [
                Message.system(
                    "You are negotiating how to split a pool of items with another player. Each turn either propose "
                    "a split by saying what YOU keep, e.g. 'propose books=1 hats=2 balls=0', or say 'accept' to take "
                    "the other player's latest proposal. You may add a short message. If no deal is reached, both "
                    "get 0. You win if the deal gives you more of your points than it gives them of theirs."
                ),
                Message.user(f"Pool: {describe(counts)}. Your private values: {worth} (the pool is worth "
                             f"{TOTAL_VALUE} to you). Each player may make {self.rounds} proposals."),
            ]
        opening[PLAYERS[0]][-1].content += " You go first."
        return opening, PLAYERS[0]

    def _parse_split(self, text: str) -> Split | str:
        share = [0] * len(ITEMS)
        found = _COUNT.findall(text)
        if not found:
            return "Say what you keep, e.g. 'propose books=1 hats=2 balls=0', or 'accept'."
        for name_a, n_a, n_b, name_b in found:
            name, n = (name_a or name_b).lower(), int(n_a or n_b)
            index = next(i for i, item in enumerate(ITEMS) if item.startswith(name.rstrip("s")))
            share[index] = n
        for n, total, name in zip(share, self.counts, ITEMS):
            if n > total:
                return f"There are only {total} {name}; you asked for {n}."
        return tuple(share)

    def apply_move(self, player: str, action: Message) -> MoveResult:
        other = self.other(player)
        text = action.content
        proposing = list(_PROPOSE.finditer(text))
        if _ACCEPT.search(text) and not proposing:
            if self.offer is None or self.offer[0] == player:
                return self.illegal(player, "There is no proposal from the other player to accept; make one instead.")
            return self._deal(player, self.offer[1], proposer=other)
        if self.proposals_made[player] >= self.rounds:
            return self._no_deal(f"{player} had no proposals left and did not accept")
        if not proposing:
            return self.illegal(player, "Start with 'propose' (e.g. 'propose books=1 hats=2 balls=0') or say 'accept'.")
        share = self._parse_split(text[proposing[-1].end():])
        if isinstance(share, str):
            return self.illegal(player, share)
        self.offer = (player, share)
        self.proposals_made[player] += 1
        yours = rest(self.counts, share)
        progress = {player: points(self.values[player], share) / TOTAL_VALUE,
                    other: points(self.values[other], yours) / TOTAL_VALUE}
        note = text[: proposing[-1].start()].strip()[:300]
        said = f' They say: "{note}"' if note else ""
        left = self.rounds - self.proposals_made[other]
        choice = f"Accept, or make a proposal ({left} left)." if left else "You have no proposals left: accept, or there is no deal."
        prompt = (f"The other player proposes to keep {describe(share)}, leaving you {describe(yours)} "
                  f"(worth {points(self.values[other], yours)} to you).{said} {choice}")
        return MoveResult({other: [Message.user(prompt)]}, progress, next_player=other)

    def _deal(self, accepter: str, kept_by_proposer: Split, proposer: str) -> MoveResult:
        shares = {proposer: kept_by_proposer, accepter: rest(self.counts, kept_by_proposer)}
        scored = {p: points(self.values[p], shares[p]) for p in PLAYERS}
        a, b = scored[PLAYERS[0]], scored[PLAYERS[1]]
        outcomes = {PLAYERS[0]: float(a > b) + 0.5 * (a == b), PLAYERS[1]: float(b > a) + 0.5 * (a == b)}
        messages = {p: [Message.user(f"Deal: you get {describe(shares[p])}, worth {scored[p]} points to you; the other "
                                     f"player scores {scored[self.other(p)]} of theirs.")] for p in PLAYERS}
        progress = {p: scored[p] / TOTAL_VALUE for p in PLAYERS}
        return MoveResult(messages, progress, done=True, outcomes=outcomes)

    def _no_deal(self, why: str) -> MoveResult:
        messages = {p: [Message.user(f"No deal ({why}): both players get 0.")] for p in PLAYERS}
        return MoveResult(messages, {p: 0.0 for p in PLAYERS}, done=True, outcomes={p: 0.0 for p in PLAYERS})

    def reference_solver(self, player: str) -> Solver:
        return ReferenceNegotiator(self, player)

    def random_action(self, player: str, rng: np.random.Generator) -> str:
        if self.pending_offer(player) is not None and rng.random() < 0.5:
            return "accept"
        splits = all_splits(self.counts)
        return f"propose {describe(splits[int(rng.integers(len(splits)))])}"

    def builtin_opponents(self) -> dict[str, Opponent]:
        return {**super().builtin_opponents(), "fair": threshold_negotiator(0.8, 0.5), "tough": threshold_negotiator(1.0, 0.6)}
