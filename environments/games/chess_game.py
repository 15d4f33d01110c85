"""Chess for two players (python-chess keeps the rules), or one player against a built-in opponent."""

from __future__ import annotations

import re
from typing import Any

import chess
import numpy as np

from envarena.env import Solver
from envarena.multiagent import MoveResult, MultiAgentEnv, Opponent
from envarena.task_env import Difficulty
from envarena.types import Message

PLAYERS = ("white", "black")
_COLOR = {"white": chess.WHITE, "black": chess.BLACK}
PIECE_VALUES = {chess.PAWN: 1, chess.KNIGHT: 3, chess.BISHOP: 3, chess.ROOK: 5, chess.QUEEN: 9, chess.KING: 0}
# Well-known openings; the seed picks one, so games start from varied, sound positions.
OPENINGS = (
    "",
    "e4 e5 Nf3 Nc6 Bb5",            # Ruy Lopez
    "e4 e5 Nf3 Nc6 Bc4 Bc5",        # Italian
    "e4 c5 Nf3 d6 d4 cxd4 Nxd4",    # Sicilian, open
    "e4 e6 d4 d5",                  # French
    "e4 c6 d4 d5",                  # Caro-Kann
    "d4 d5 c4 e6 Nc3 Nf6",          # Queen's Gambit Declined
    "d4 d5 c4 dxc4",                # Queen's Gambit Accepted
    "d4 Nf6 c4 g6 Nc3 Bg7 e4 d6",   # King's Indian
    "d4 Nf6 c4 e6 Nc3 Bb4",         # Nimzo-Indian
    "c4 e5 Nc3 Nf6",                # English
    "Nf3 d5 g3 Nf6 Bg2",            # Reti / King's Indian Attack
    "e4 d5 exd5 Qxd5 Nc3 Qa5",      # Scandinavian
    "e4 e5 f4 exf4",                # King's Gambit Accepted
    "d4 f5 g3 Nf6 Bg2 e6",          # Dutch
    "e4 g6 d4 Bg7 Nc3 d6",          # Modern / Pirc family
)
_TOKEN = re.compile(r"[A-Za-z0-9\-+#=]+")
_UCI = re.compile(r"[a-h][1-8][a-h][1-8][qrbn]?")


def material(board: chess.Board, color: chess.Color) -> int:
    return sum(PIECE_VALUES[p.piece_type] for p in board.piece_map().values() if p.color == color)


def parse_move(board: chess.Board, text: str) -> chess.Move | str:
    """The last move written in `text`, in SAN (Nf3, exd5, O-O, e8=Q) or UCI (g1f3), if legal.

    Words that are not moves are skipped; when the last move-like word is not a legal move the
    answer explains what is wrong with it (an earlier legal move in the text does not count).
    """
    hint = "Reply with a legal move in SAN (e.g. Nf3) or UCI (e.g. g1f3)."
    check = "; you are in check" if board.is_check() else ""
    for token in reversed(_TOKEN.findall(text)):
        token = token.strip("-")
        # UCI is lowercase (g1f3); "B6e5" is SAN (the bishop from rank 6). Upper-case UCI is read
        # as UCI only when it is not SAN.
        as_uci = token if _UCI.fullmatch(token) else None
        if as_uci is None:
            try:
                move = board.parse_san(token)
            except chess.IllegalMoveError:
                return f"Illegal move: {token} is not legal here{check}. {hint}"
            except chess.AmbiguousMoveError:
                return f"Illegal move: {token} is ambiguous; name the piece's file or rank, or use UCI. {hint}"
            except chess.InvalidMoveError:
                if not _UCI.fullmatch(token.lower()):
                    continue
                as_uci = token.lower()
            else:
                if move and move in board.legal_moves:  # python-chess reads "--" and "0000" as a null move
                    return move
                continue
        try:  # normalised: python-chess also takes the king-onto-rook form (e1h1) for castling
            return board.parse_uci(as_uci)
        except ValueError:  # illegal, or from and to on the same square
            return f"Illegal move: {token} is not legal here{check}. {hint}"
    return f"I could not find a move. {hint}"


def hanging_value(board: chess.Board, color: chess.Color) -> int:
    """Value of `color`'s most valuable piece the side to move can win outright (undefended or
    attacked by something cheaper): a cheap stand-in for a capture search."""
    worst = 0
    for square, piece in board.piece_map().items():
        if piece.color != color or piece.piece_type == chess.KING:
            continue
        attackers = board.attackers(not color, square)
        if not attackers:
            continue
        cheapest = min(PIECE_VALUES[board.piece_type_at(a)] or 100 for a in attackers)
        defended = bool(board.attackers(color, square))
        value = PIECE_VALUES[piece.piece_type]
        gain = value if not defended else value - cheapest
        worst = max(worst, gain)
    return worst


def king_freedom(board: chess.Board, color: chess.Color) -> int:
    """Squares around `color`'s king that are empty or hold an enemy piece and are not attacked."""
    king = board.king(color)
    if king is None:
        return 0
    free = 0
    for square in chess.SquareSet(chess.BB_KING_ATTACKS[king]):
        occupant = board.piece_at(square)
        if (occupant is None or occupant.color != color) and not board.is_attacked_by(not color, square):
            free += 1
    return free


def evaluate_move(board: chess.Board, move: chess.Move) -> float:
    """One-ply score for the side to move: mate first, then material kept, then squeezing the
    enemy king, with repetition and stalemate counted as failures when ahead."""
    me = board.turn
    board.push(move)
    try:
        if board.is_checkmate():
            return 1e6
        lead = material(board, me) - material(board, not me)
        if board.is_stalemate() or board.is_insufficient_material() or board.can_claim_draw():
            return -1e5 if lead > 0 else 0.0
        score = 10.0 * (lead - hanging_value(board, me))
        score -= 2.0 * king_freedom(board, not me)
        enemy_king, my_king = board.king(not me), board.king(me)
        if lead >= 3 and enemy_king is not None and my_king is not None:
            score -= 0.5 * chess.square_distance(enemy_king, my_king)
            score += 0.3 * (3 - min(chess.square_file(enemy_king), 7 - chess.square_file(enemy_king),
                                    chess.square_rank(enemy_king), 7 - chess.square_rank(enemy_king)))
        if move.promotion:
            score += 5.0
        if board.piece_type_at(move.to_square) == chess.PAWN:
            score += 0.2 * (chess.square_rank(move.to_square) if me == chess.WHITE else 7 - chess.square_rank(move.to_square))
        return score
    finally:
        board.pop()


def best_move(board: chess.Board) -> chess.Move:
    return max(board.legal_moves, key=lambda m: (evaluate_move(board, m), m.uci()))


class GreedySolver:
    """Takes mate in one when it sees it, else the move that keeps the most material and most
    confines the enemy king (one ply, no deeper search): enough to beat a random player."""

    def __init__(self, env: ChessEnv) -> None:
        self.env = env

    def act(self, observation: list[Message]) -> str:
        board = self.env.board
        return board.san(best_move(board))


class ChessEnv(MultiAgentEnv):
    """Chess with the full rules (python-chess): checkmate wins; stalemate, repetition, the
    fifty-move rule and insufficient material draw.

    Moves are accepted in SAN (Nf3, exd5, O-O, e8=Q) or UCI (g1f3, e7e8q). The seed picks one of
    sixteen well-known openings to start from. Played single-agent, the other seat is a
    built-in opponent chosen by difficulty: random (easy), one-ply material greed (medium), or
    the reference player (hard); easy prompts also list the legal moves. Rewards: `legal_move`
    penalty, `progress` (potential: material balance squashed into [0, 1]) and `outcome`
    (1 win, 0.5 draw or unfinished at the turn limit, 0 loss).
    """

    possible_agents = list(PLAYERS)
    opponent_by_difficulty = {"easy": "random", "medium": "greedy", "hard": "scripted"}
    default_max_turns = 400

    def __init__(self, *, difficulty: Difficulty = "medium", max_turns: int | None = None, render_mode: str | None = None) -> None:
        self.difficulty = difficulty
        self.metadata = {**MultiAgentEnv.metadata, "name": "chess_v0"}
        super().__init__(max_turns=max_turns, render_mode=render_mode)
        self.board = chess.Board()

    def _position_text(self, player: str) -> str:
        lines = [str(self.board), f"FEN: {self.board.fen()}"]
        if self.board.is_check():
            lines.append("You are in check.")
        if self.difficulty == "easy":
            lines.append("Legal moves: " + " ".join(self.board.san(m) for m in self.board.legal_moves))
        lines.append(f"Your move ({player}).")
        return "\n".join(lines)

    def begin_game(self, options: dict[str, Any] | None) -> tuple[dict[str, list[Message]], str]:
        self.board = chess.Board()
        opening = OPENINGS[int(self.np_random.integers(len(OPENINGS)))]
        for san in opening.split():
            self.board.push_san(san)
        first = "white" if self.board.turn == chess.WHITE else "black"
        rules = ("You are playing chess as {p}. Uppercase letters are white pieces, lowercase black. "
                 "Reply with one legal move in SAN (e.g. Nf3) or UCI (e.g. g1f3).")
        messages = {p: [Message.system(rules.format(p=p))] for p in PLAYERS}
        played = f"The game opens with: {opening}.\n" if opening else ""
        messages[first].append(Message.user(played + self._position_text(first)))
        if played:
            other = PLAYERS[1 - PLAYERS.index(first)]
            messages[other].append(Message.user(played.strip()))
        return messages, first

    def initial_progress(self, player: str) -> float:
        return self._phi(player)

    def _phi(self, player: str) -> float:
        color = _COLOR[player]
        return float(0.5 + 0.5 * np.tanh((material(self.board, color) - material(self.board, not color)) / 10.0))

    def apply_move(self, player: str, action: Message) -> MoveResult:
        move = parse_move(self.board, action.content)
        if isinstance(move, str):
            return self.illegal(player, move)
        san = self.board.san(move)
        self.board.push(move)
        opponent = PLAYERS[1 - PLAYERS.index(player)]
        said = f"{player.capitalize()} played {san} ({move.uci()})."
        outcome = self.board.outcome(claim_draw=True)
        if outcome is not None:
            if outcome.winner is None:
                outcomes = {p: 0.5 for p in PLAYERS}
                verdict = f"draw ({outcome.termination.name.lower().replace('_', ' ')})"
            else:
                winner = "white" if outcome.winner == chess.WHITE else "black"
                outcomes = {winner: 1.0, PLAYERS[1 - PLAYERS.index(winner)]: 0.0}
                verdict = f"{winner} wins by checkmate"
            return self.game_over(f"{said}\n{self.board}\nGame over: {verdict}.", outcomes)
        prompt = Message.user(f"{said}\n{self._position_text(opponent)}")
        return MoveResult({opponent: [prompt]}, {p: self._phi(p) for p in PLAYERS}, next_player=opponent)

    def truncation_outcomes(self) -> dict[str, float]:
        return {p: 0.5 for p in PLAYERS}

    def reference_solver(self, player: str) -> Solver:
        return GreedySolver(self)

    def random_action(self, player: str, rng: np.random.Generator) -> str:
        moves = sorted(self.board.legal_moves, key=lambda m: m.uci())
        return moves[int(rng.integers(len(moves)))].uci()

    def builtin_opponents(self) -> dict[str, Opponent]:
        def greedy(env: MultiAgentEnv, seat: str, rng: np.random.Generator) -> str:
            board = self.board
            moves = list(board.legal_moves)
            gains = [PIECE_VALUES[board.piece_type_at(m.to_square)] if board.is_capture(m) and board.piece_type_at(m.to_square) else 0
                     for m in moves]
            best = max(gains)
            choices = [m for m, g in zip(moves, gains) if g == best]
            return choices[int(rng.integers(len(choices)))].uci()

        return {**super().builtin_opponents(), "greedy": greedy}
