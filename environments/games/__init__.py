"""Games, single- and two-player."""

from envarena.environments.games import connect4, g2048, frozenlake, game24, hanoi, mastermind, sokoban, sudoku, tictactoe, wordle

__all__ = ["connect4", "g2048", "frozenlake", "game24", "hanoi", "mastermind", "sokoban", "sudoku", "tictactoe", "wordle"]
