"""Games, single- and two-player."""

from envarena.environments.games import chess_game, connect4, frozenlake, g2048, game24, hanoi, kuhn_poker, mastermind, minesweeper, negotiation, sokoban, sudoku, tictactoe, wordle, xiangqi

__all__ = ["chess_game", "connect4", "g2048", "frozenlake", "game24", "hanoi", "kuhn_poker", "mastermind", "minesweeper", "negotiation", "sokoban", "sudoku", "tictactoe", "wordle", "xiangqi"]
