"""A complete xiangqi (Chinese chess) rules engine: moves, check, mate, FEN and perft.

The board is 10 rows by 9 files, row 0 at black's side (the first FEN row) and row 9 at
red's. Moves are written in ICCS coordinates: files a-i from red's left, ranks 0-9 from red's
side, e.g. `h2e2` (red's cannon to the centre). Red moves first; FEN writes red as `w`.

Kept by hand rather than borrowed because no maintained Python package covers the rules;
`perft` against the published node counts is the proof that it is right.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ROWS, FILES = 10, 9
RED, BLACK = "red", "black"
START_FEN = "rnbakabnr/9/1c5c1/p1p1p1p1p/9/9/P1P1P1P1P/1C5C1/9/RNBAKABNR w"
PIECE_NAMES = {"k": "general", "a": "advisor", "b": "elephant", "n": "horse", "r": "chariot", "c": "cannon", "p": "soldier"}
_ORTHOGONAL = ((-1, 0), (1, 0), (0, -1), (0, 1))
_DIAGONAL = ((-1, -1), (-1, 1), (1, -1), (1, 1))
_HORSE = ((-2, -1), (-2, 1), (2, -1), (2, 1), (-1, -2), (1, -2), (-1, 2), (1, 2))
# ASCII only: with Unicode case folding "İ" and "ı" match [a-i] and then are no file.
_ICCS = re.compile(r"\b([a-i])([0-9])\s*(?:[-x]\s*)?([a-i])([0-9])\b", re.IGNORECASE | re.ASCII)


def side_of(piece: str) -> str:
    return RED if piece.isupper() else BLACK


def opponent(side: str) -> str:
    return BLACK if side == RED else RED


def on_board(r: int, c: int) -> bool:
    return 0 <= r < ROWS and 0 <= c < FILES


def in_palace(side: str, r: int, c: int) -> bool:
    return 3 <= c <= 5 and (7 <= r <= 9 if side == RED else 0 <= r <= 2)


def on_own_half(side: str, r: int) -> bool:
    return r >= 5 if side == RED else r <= 4


@dataclass(frozen=True)
class Move:
    src: tuple[int, int]
    dst: tuple[int, int]

    def iccs(self) -> str:
        return square_name(self.src) + square_name(self.dst)


def square_name(square: tuple[int, int]) -> str:
    r, c = square
    return f"{'abcdefghi'[c]}{ROWS - 1 - r}"


def parse_square(file: str, rank: str) -> tuple[int, int]:
    return ROWS - 1 - int(rank), "abcdefghi".index(file.lower())


class Position:
    """Pieces on the board and the side to move; moves are made and unmade in place."""

    def __init__(self, cells: list[list[str]], turn: str) -> None:
        self.cells, self.turn = cells, turn

    # ---------------------------------------------------------------- FEN
    @classmethod
    def from_fen(cls, fen: str) -> Position:
        fields = fen.split()
        rows = fields[0].split("/") if fields else []
        if len(rows) != ROWS:
            raise ValueError(f"a xiangqi FEN has {ROWS} rows separated by '/', got {len(rows)}")
        cells = []
        for text in rows:
            row: list[str] = []
            for ch in text:
                if ch.isdigit():
                    row.extend("." * int(ch))
                elif ch.lower() in PIECE_NAMES:
                    row.append(ch)
                else:
                    raise ValueError(f"unknown piece letter '{ch}' in the FEN")
            if len(row) != FILES:
                raise ValueError(f"every FEN row has {FILES} files, '{text}' has {len(row)}")
            cells.append(row)
        side = fields[1].lower() if len(fields) > 1 else "w"
        if side not in ("w", "r", "b"):
            raise ValueError(f"the side to move is 'w' (red) or 'b' (black), got '{side}'")
        return cls(cells, BLACK if side == "b" else RED)

    def fen(self) -> str:
        rows = []
        for row in self.cells:
            text, empty = "", 0
            for cell in row:
                if cell == ".":
                    empty += 1
                    continue
                text += (str(empty) if empty else "") + cell
                empty = 0
            rows.append(text + (str(empty) if empty else ""))
        return "/".join(rows) + (" w" if self.turn == RED else " b")

    def copy(self) -> Position:
        return Position([list(row) for row in self.cells], self.turn)

    # ---------------------------------------------------------------- move generation
    def pseudo_moves(self, side: str | None = None) -> list[Move]:
        """Moves that follow each piece's movement rules, ignoring whether they expose the general."""
        side = side or self.turn
        moves: list[Move] = []
        for r in range(ROWS):
            for c in range(FILES):
                piece = self.cells[r][c]
                if piece != "." and side_of(piece) == side:
                    moves.extend(Move((r, c), dst) for dst in self._destinations(r, c, piece.lower(), side))
        return moves

    def _free_or_enemy(self, r: int, c: int, side: str) -> bool:
        target = self.cells[r][c]
        return target == "." or side_of(target) != side

    def _destinations(self, r: int, c: int, kind: str, side: str) -> list[tuple[int, int]]:
        cells, out = self.cells, []
        if kind in "rc":
            for dr, dc in _ORTHOGONAL:
                nr, nc, jumped = r + dr, c + dc, False
                while on_board(nr, nc):
                    target = cells[nr][nc]
                    if not jumped:
                        if target == ".":
                            out.append((nr, nc))
                        elif kind == "r":
                            if side_of(target) != side:
                                out.append((nr, nc))
                            break
                        else:
                            jumped = True  # the cannon's screen
                    elif target != ".":
                        if side_of(target) != side:
                            out.append((nr, nc))
                        break
                    nr, nc = nr + dr, nc + dc
        elif kind == "n":
            for dr, dc in _HORSE:
                nr, nc = r + dr, c + dc
                leg = (r + dr // 2, c) if abs(dr) == 2 else (r, c + dc // 2)
                if on_board(nr, nc) and cells[leg[0]][leg[1]] == "." and self._free_or_enemy(nr, nc, side):
                    out.append((nr, nc))
        elif kind == "b":
            for dr, dc in _DIAGONAL:
                nr, nc = r + 2 * dr, c + 2 * dc
                if on_board(nr, nc) and on_own_half(side, nr) and cells[r + dr][c + dc] == "." and self._free_or_enemy(nr, nc, side):
                    out.append((nr, nc))
        elif kind in "ak":
            for dr, dc in _DIAGONAL if kind == "a" else _ORTHOGONAL:
                nr, nc = r + dr, c + dc
                if in_palace(side, nr, nc) and self._free_or_enemy(nr, nc, side):
                    out.append((nr, nc))
        else:  # soldier: forward, and sideways once across the river
            forward = -1 if side == RED else 1
            steps = [(forward, 0)] + ([(0, -1), (0, 1)] if not on_own_half(side, r) else [])
            for dr, dc in steps:
                nr, nc = r + dr, c + dc
                if on_board(nr, nc) and self._free_or_enemy(nr, nc, side):
                    out.append((nr, nc))
        return out

    def general(self, side: str) -> tuple[int, int] | None:
        target = "K" if side == RED else "k"
        for r in range(ROWS):
            for c in range(3, 6):
                if self.cells[r][c] == target:
                    return r, c
        return None

    def in_check(self, side: str) -> bool:
        """Whether `side`'s general is attacked, counting two generals facing on an open file."""
        where = self.general(side)
        return True if where is None else self.is_attacked(where, opponent(side))

    def is_attacked(self, square: tuple[int, int], by: str) -> bool:
        """Whether a piece of side `by` could capture on `square` (if an enemy stood there).

        Works backwards from the square, so it costs a few ray walks instead of a move list.
        A general "attacks" along an open file only another general: the flying-general rule.
        """
        r, c = square
        cells = self.cells
        target_is_general = cells[r][c].lower() == "k"

        def is_by(piece: str, kind: str) -> bool:
            return piece != "." and piece.lower() == kind and side_of(piece) == by

        for dr, dc in _ORTHOGONAL:
            nr, nc, screens, distance = r + dr, c + dc, 0, 1
            while on_board(nr, nc):
                piece = cells[nr][nc]
                if piece != ".":
                    if screens == 0 and (is_by(piece, "r") or (is_by(piece, "k") and (target_is_general or (distance == 1 and in_palace(by, r, c))))):
                        return True
                    if screens == 1 and is_by(piece, "c"):
                        return True
                    screens += 1
                    if screens > 1:
                        break
                nr, nc, distance = nr + dr, nc + dc, distance + 1
        for dr, dc in _HORSE:
            hr, hc = r + dr, c + dc
            if on_board(hr, hc) and is_by(cells[hr][hc], "n"):
                # the horse moves by (-dr, -dc); its leg is next to it along the long side
                leg = (hr - dr // 2, hc) if abs(dr) == 2 else (hr, hc - dc // 2)
                if cells[leg[0]][leg[1]] == ".":
                    return True
        for dr, dc in _DIAGONAL:
            nr, nc = r + dr, c + dc
            if in_palace(by, r, c) and on_board(nr, nc) and is_by(cells[nr][nc], "a"):
                return True
            er, ec = r + 2 * dr, c + 2 * dc
            if on_own_half(by, r) and on_board(er, ec) and is_by(cells[er][ec], "b") and cells[nr][nc] == ".":
                return True
        toward = 1 if by == BLACK else -1  # `by`'s soldiers walk toward +1 rows if black
        for dr, dc in ((-toward, 0), (0, -1), (0, 1)):
            nr, nc = r + dr, c + dc
            if on_board(nr, nc) and is_by(cells[nr][nc], "p") and (dc == 0 or not on_own_half(by, nr)):
                return True
        return False

    def make(self, move: Move) -> str:
        (sr, sc), (dr, dc) = move.src, move.dst
        captured = self.cells[dr][dc]
        self.cells[dr][dc], self.cells[sr][sc] = self.cells[sr][sc], "."
        self.turn = opponent(self.turn)
        return captured

    def unmake(self, move: Move, captured: str) -> None:
        (sr, sc), (dr, dc) = move.src, move.dst
        self.cells[sr][sc], self.cells[dr][dc] = self.cells[dr][dc], captured
        self.turn = opponent(self.turn)

    def is_legal(self, move: Move) -> bool:
        mover = self.turn
        captured = self.make(move)
        try:
            return not self.in_check(mover)
        finally:
            self.unmake(move, captured)

    def legal_moves(self) -> list[Move]:
        return [m for m in self.pseudo_moves() if self.is_legal(m)]

    def has_legal_move(self) -> bool:
        return any(self.is_legal(m) for m in self.pseudo_moves())

    def perft(self, depth: int) -> int:
        """Leaf nodes of the legal move tree to `depth`: the standard move-generator check."""
        if depth == 0:
            return 1
        moves = self.legal_moves()
        if depth == 1:
            return len(moves)
        total = 0
        for move in moves:
            captured = self.make(move)
            total += self.perft(depth - 1)
            self.unmake(move, captured)
        return total

    # ---------------------------------------------------------------- text
    def parse_move(self, text: str) -> Move | str:
        """The last ICCS move in `text` (e.g. h2e2) if legal, else what was wrong with it."""
        found = _ICCS.findall(text)
        if not found:
            return "I could not find a move. Reply with a move in ICCS coordinates, e.g. h2e2 (from h2 to e2)."
        f1, r1, f2, r2 = found[-1]
        move = Move(parse_square(f1, r1), parse_square(f2, r2))
        name = move.iccs()
        piece = self.cells[move.src[0]][move.src[1]]
        if piece == ".":
            return f"Illegal move {name}: there is no piece on {square_name(move.src)}."
        if side_of(piece) != self.turn:
            return f"Illegal move {name}: the {PIECE_NAMES[piece.lower()]} on {square_name(move.src)} is not yours."
        if move not in self.pseudo_moves():
            return f"Illegal move {name}: a {PIECE_NAMES[piece.lower()]} cannot move from {square_name(move.src)} to {square_name(move.dst)}."
        if not self.is_legal(move):
            return f"Illegal move {name}: it would leave your general in check or facing the other general."
        return move

    def render(self) -> str:
        lines = []
        for r, row in enumerate(self.cells):
            lines.append(f"{ROWS - 1 - r} " + " ".join(row))
            if r == 4:
                lines.append("  ~~~~~ river ~~~~~")
        lines.append("  a b c d e f g h i")
        return "\n".join(lines)
