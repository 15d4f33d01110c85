"""Games, single- and two-player."""

from envarena.environments.games import frozenlake, game24, hanoi, mastermind, tictactoe, wordle

__all__ = ["frozenlake", "game24", "hanoi", "mastermind", "tictactoe", "wordle"]
