"""The catalog: every catalog environment's ID, class and tags, in one table.

Nothing here is imported until it is used: the registry reads this table, and imports an
environment's module the first time that environment is looked up, listed or built. So a
missing optional dependency (`chess`, `reasoning_gym`) hides only the environments that need
it, and `envarena --help` does not pay for importing thirty modules.

Adding an environment means adding its module and one line below. Families generated from an
optional library (one environment per dataset or game) are listed in `GROUPS` instead: an ID
prefix and the module whose import registers the family.
"""

from __future__ import annotations

__all__ = ["CATALOG", "GROUPS"]

#: ID -> ("module:Class" under `envarena.environments`, tags)
CATALOG: dict[str, tuple[str, tuple[str, ...]]] = {
    "text/arithmetic-v0": ("text.arithmetic:ArithmeticEnv", ("math", "retry")),
    "text/cipher-v0": ("text.cipher:CipherEnv", ("text", "decoding", "retry")),
    "text/copy-v0": ("text.copy:CopyEnv", ("sanity", "rl-smoke-test")),
    "text/countdown-v0": ("text.countdown:CountdownEnv", ("math", "search", "retry")),
    "text/knights-knaves-v0": ("text.knights_knaves:KnightsKnavesEnv", ("logic", "reasoning", "retry")),
    "text/try-again-v0": ("text.try_again:TryAgainEnv", ("math", "retry", "sparse-feedback")),
    "text/word-problems-v0": ("text.word_problems:WordProblemsEnv", ("math", "reasoning", "retry")),
    "tools/calculator-v0": ("tools.calculator:CalculatorEnv", ("math", "tool-use")),
    "tools/customer-service-v0": ("tools.customer_service:CustomerServiceEnv", ("tool-use", "dual-control", "policy", "database")),
    "tools/retrieval-v0": ("tools.retrieval:RetrievalEnv", ("retrieval", "multi-hop", "tool-use")),
    "tools/webshop-v0": ("tools.webshop:WebShopEnv", ("shopping", "long-horizon", "tool-use")),
    "tools/sql-v0": ("tools.sql:SQLEnv", ("sql", "database", "tool-use")),
    "code/debugging-v0": ("code.debugging:DebuggingEnv", ("code", "python", "debugging", "retry")),
    "code/humaneval-v0": ("code.humaneval:HumanEvalEnv", ("code", "python", "unit-tests", "retry")),
    "code/python-tool-v0": ("code.python_tool:PythonToolEnv", ("code", "math", "tool-use")),
    "code/repo-fix-v0": ("code.repo_fix:RepoFixEnv", ("code", "python", "long-horizon", "tool-use", "swe")),
    "code/synthesis-v0": ("code.synthesis:SynthesisEnv", ("code", "python", "synthesis", "retry")),
    "games/2048-v0": ("games.g2048:Game2048Env", ("game", "planning", "single-player")),
    "games/chess-v0": ("games.chess_game:ChessEnv", ("game", "board", "two-player")),
    "games/connect4-v0": ("games.connect4:ConnectFourEnv", ("game", "board", "two-player")),
    "games/crafter-v0": ("games.crafter:CrafterEnv", ("game", "survival", "crafting", "long-horizon", "single-player")),
    "games/frozenlake-v0": ("games.frozenlake:FrozenLakeEnv", ("game", "navigation", "single-player")),
    "games/game24-v0": ("games.game24:Game24Env", ("game", "math", "single-player")),
    "games/hanoi-v0": ("games.hanoi:HanoiEnv", ("game", "planning", "single-player")),
    "games/kuhn-poker-v0": ("games.kuhn_poker:KuhnPokerEnv", ("game", "cards", "imperfect-information", "two-player")),
    "games/mastermind-v0": ("games.mastermind:MastermindEnv", ("game", "logic", "single-player")),
    "games/minesweeper-v0": ("games.minesweeper:MinesweeperEnv", ("game", "logic", "single-player")),
    "games/negotiation-v0": ("games.negotiation:NegotiationEnv", ("game", "negotiation", "imperfect-information", "two-player")),
    "games/sokoban-v0": ("games.sokoban:SokobanEnv", ("game", "planning", "single-player")),
    "games/sudoku-v0": ("games.sudoku:SudokuEnv", ("game", "logic", "single-player")),
    "games/tictactoe-v0": ("games.tictactoe:TicTacToeEnv", ("game", "board", "two-player")),
    "games/wordle-v0": ("games.wordle:WordleEnv", ("game", "word", "single-player")),
    "games/xiangqi-v0": ("games.xiangqi:XiangqiEnv", ("game", "board", "two-player")),
}

#: ID prefix -> module (under `envarena.environments`) whose import registers that family.
GROUPS: dict[str, str] = {
    "reasoning/": "reasoning.gym_tasks",
    "arena/": "arena.textarena_games",
}
