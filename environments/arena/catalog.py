"""Which TextArena games become envarena environments, with how many players and which variants.

The table is written down, not probed at import, so that listing the catalog never imports
TextArena (about 1.5 s, most of it nltk); tests/environments/test_textarena.py checks it
against the installed TextArena: every game it lists is in `GAMES` or in `LEFT_OUT`.
Written against textarena 0.7.4 (the `arena` extra pins 0.7.x).

Difficulty picks one of the game's own variants: `medium` is always the base game
(`<Game>-v0`); `easy` and `hard` are the variants named in `EASY`/`HARD`, and the base game
where the game has no easier or harder variant.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["EASY", "FIXED_TASK", "GAMES", "HARD", "LEFT_OUT", "ArenaGame", "game_name", "textarena_games"]


@dataclass(frozen=True)
class ArenaGame:
    """A TextArena game as registered: its base ID, the players it is played with, its variants."""

    game: str  # TextArena's name, e.g. "TicTacToe"
    players: int
    base_id: str = ""

    @property
    def textarena_id(self) -> str:
        return self.base_id or f"{self.game}-v0"

    def variant(self, difficulty: str) -> str:
        table = EASY if difficulty == "easy" else HARD if difficulty == "hard" else {}
        return table.get(self.game, self.textarena_id)


_SINGLE = ["2048", "Bandit", "Blackjack", "Countdown", "Crosswords", "Cryptarithm", "FifteenPuzzle", "FrozenLake",
           "GuessTheNumber", "LightsOut", "LogicPuzzle", "Mastermind", "Minesweeper", "PegJump", "RushHour",
           "Secretary", "Set", "Slitherlink", "Sokoban", "Sudoku", "ThreeCardMonte", "TowerOfHanoi"]
_TWO = ["Alquerque", "Battleship", "Breakthrough", "Chopsticks", "ColonelBlotto", "ConnectFour", "Crusade",
        "GameOfPureStrategy", "GermanWhist", "HighSociety", "IndianPoker", "IteratedMatchingPennies",
        "IteratedPrisonersDilemma", "IteratedRockPaperScissors", "IteratedTwoThirdsAverage",
        "IteratedUltimatumGame", "KuhnPoker", "LinesOfAction", "MemoryGame", "NewRecruit", "Nim", "Othello",
        "PigDice", "QuantumTicTacToe", "SimpleBlindAuction", "SimpleNegotiation", "SimpleTak", "SpiteAndMalice",
        "Stratego", "Tak", "TicTacToe", "TruthAndDeception", "TwoDollar", "UltimateTicTacToe", "WildTicTacToe",
        # games for 2 or more players, registered with two
        "Briscola", "Golf", "LiarsDice", "MarketEntryGame", "Poker", "PublicGoodsGame", "Snake", "Surround"]

#: Every registered game, by TextArena name.
GAMES: dict[str, ArenaGame] = {
    **{g: ArenaGame(g, 1) for g in _SINGLE},
    **{g: ArenaGame(g, 2) for g in _TWO},
    "SantoriniBaseFixed": ArenaGame("SantoriniBaseFixed", 2),  # 2 or 3 players
    # more than two players, registered with the fewest the game allows (seats player_0 .. player_N-1)
    "ThreePlayerTicTacToe": ArenaGame("ThreePlayerTicTacToe", 3),
    "ThreePlayerGOPS": ArenaGame("ThreePlayerGOPS", 3),
    "ThreePlayerIPD": ArenaGame("ThreePlayerIPD", 3),
    "Taboo": ArenaGame("Taboo", 4),  # two teams of two
    "SettlersOfCatan": ArenaGame("SettlersOfCatan", 4),
    "SecretMafia": ArenaGame("SecretMafia", 6),  # hidden roles; a player's outcome is its team's
}

_PY312 = "its module uses Python 3.12 f-string syntax and does not import on Python 3.11"
_NLTK = "needs nltk's `words` corpus, a download at first use (no network here or in CI)"
_JURY = "judged by an LLM jury through OpenRouter (network and an API key)"
#: Games TextArena lists that are not environments here, with why.
LEFT_OUT: dict[str, str] = {
    "Checkers": _PY312,
    "Chess": _PY312,
    "IteratedStagHunt": _PY312,
    "Klondike": _PY312,
    "ReverseTicTacToe": _PY312,
    "UltimateTexasHoldem": _PY312,
    "Codenames": f"four players in two teams; also {_NLTK}",
    "DontSayIt": _NLTK,
    "Hangman": _NLTK,
    "LetterAuction": _NLTK,
    "SpellingBee": _NLTK,
    "WordChains": _NLTK,
    "WordLadder": _NLTK,
    "Wordle": _NLTK,
    "WordSearch": _NLTK,
    "Debate": _JURY,
    "ScenarioPlanning": _JURY,
    "GuessWho": "its answers come from an LLM through OpenRouter (network and an API key)",
    "TwentyQuestions": "its answers come from an LLM through OpenRouter (network and an API key)",
    "BabyAiText": "needs the `gym` and `minigrid` packages (TextArena does not declare them)",
    "ScorableGames": "its game descriptions are not shipped in the textarena wheel (FileNotFoundError)",
    "UsedCarNegotiation": "its instruction files are not shipped in the textarena wheel (FileNotFoundError)",
    "UsedCar": "registered by TextArena, but its module `textarena.envs.UsedCar` does not exist",
    "CharacterConclave": "its step calls `State.add_observation` without the required observation type (TypeError)",
}

#: Registered games whose TextArena version poses the same puzzle at every seed (it has no generator:
#: fixed numbers, equation, board or disks); their seed only changes nothing but the random draws.
FIXED_TASK = {"Countdown", "Cryptarithm", "PegJump", "TowerOfHanoi"}

#: Easier and harder variants, by game (see the module docstring).
EASY: dict[str, str] = {
    "2048": "2048-v0-very-easy",
    "Minesweeper": "Minesweeper-v0-small",
    "Sudoku": "Sudoku-v0-easy",
    "Breakthrough": "Breakthrough-v0-small",
    "ColonelBlotto": "ColonelBlotto-v0-small",
    "IndianPoker": "IndianPoker-v0-short",
    "Othello": "Othello-v0-small",
    "PigDice": "PigDice-v0-short",
    "LiarsDice": "LiarsDice-v0-small",
    "Poker": "Poker-v0-small",
}
HARD: dict[str, str] = {
    "2048": "2048-v0-hard",
    "Bandit": "Bandit-v0-hard",
    "Crosswords": "Crosswords-v0-hardcore",
    "FrozenLake": "FrozenLake-v0-hardcore",
    "GuessTheNumber": "GuessTheNumber-v0-hardcore",
    "LogicPuzzle": "LogicPuzzle-v0-hard",
    "Mastermind": "Mastermind-v0-hard",
    "Minesweeper": "Minesweeper-v0-hard",
    "Secretary": "Secretary-v0-long",
    "Sokoban": "Sokoban-v0-medium",
    "Sudoku": "Sudoku-v0-hard",
    "TowerOfHanoi": "TowerOfHanoi-v0-hard",
    "Battleship": "Battleship-v0-standard",
    "Breakthrough": "Breakthrough-v0-large",
    "ColonelBlotto": "ColonelBlotto-v0-large",
    "Golf": "Golf-v0-medium",
    "IndianPoker": "IndianPoker-v0-long",
    "LiarsDice": "LiarsDice-v0-large",
    "MemoryGame": "MemoryGame-v0-hard",
    "Nim": "Nim-v0-large",
    "Othello": "Othello-v0-hard",
    "PigDice": "PigDice-v0-long",
    "SimpleTak": "SimpleTak-v0-medium",
    "Tak": "Tak-v0-medium",
    "Snake": "Snake-v0-standard",
    "Surround": "Surround-v0-standard",
}


def game_name(game: str) -> str:
    """The envarena name of a TextArena game: `TowerOfHanoi` -> `tower-of-hanoi`."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "-", game).lower()


def textarena_games(registry_ids: list[str]) -> set[str]:
    """The games behind TextArena's registry IDs (`Sudoku-v0-hard`, `Sudoku-v0-raw` -> `Sudoku`)."""
    return {re.match(r"(.+?)-v\d+", i).group(1) for i in registry_ids}  # type: ignore[union-attr]
