"""Games, single- and two-player."""

from envarena.environments.games import mastermind, tictactoe, wordle

__all__ = ["mastermind", "tictactoe", "wordle"]
