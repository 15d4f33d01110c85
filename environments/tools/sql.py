"""Text-to-SQL over a SQLite database generated from the seed, with a read-only query tool."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from envarena.task_env import Difficulty, TaskEnv
from envarena.tools import tool
from envarena.types import Message, Score, ToolCall
from envarena.verifiers import SQLError, result_set_match, run_readonly
from envarena.verifiers.sql import trivial_match

_FIRST = ["Ada", "Ben", "Cleo", "Dev", "Eli", "Fay", "Gus", "Hana", "Ivo", "Jun", "Kai", "Lea", "Mo", "Nia", "Oto", "Pia"]
_LAST = ["Abe", "Baker", "Cruz", "Diaz", "Eng", "Fox", "Gray", "Hale", "Ito", "Jain", "Kim", "Lund"]
_CITIES = ["Lisbon", "Osaka", "Lagos", "Lima", "Oslo", "Perth", "Quito", "Seoul"]
_CATEGORIES = ["books", "garden", "kitchen", "music", "sports", "toys"]
_ITEMS = ["lamp", "kettle", "rope", "drum", "ball", "novel", "spade", "puzzle", "pan", "kite", "atlas", "flute"]
_SCHEMA = """CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL, city TEXT NOT NULL, signup_year INTEGER NOT NULL);
CREATE TABLE products (id INTEGER PRIMARY KEY, name TEXT NOT NULL, category TEXT NOT NULL, price REAL NOT NULL);
CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL REFERENCES customers(id), product_id INTEGER NOT NULL REFERENCES products(id), quantity INTEGER NOT NULL, order_year INTEGER NOT NULL);"""
# (customers, products, orders, question templates allowed) per difficulty
_LEVELS = {"easy": (12, 10, 30, (0, 1, 2)), "medium": (30, 20, 120, (0, 1, 2, 3, 4, 5)), "hard": (80, 40, 400, (3, 4, 5, 6, 7))}
_MAX_SHOWN_ROWS = 20
_MAX_SHOWN_CELL = 80  # characters of one value shown by the query tool
_MAX_TOOL_MESSAGE = 4_000  # characters of one query tool reply


@dataclass(frozen=True)
class SQLTask:
    question: str
    gold_sql: str
    #: The database the question is about, built from the same seed (None in a bare template).
    db: sqlite3.Connection | None = field(default=None, compare=False, repr=False)


def _ambiguous(db: sqlite3.Connection, task: SQLTask) -> bool:
    """A top-1 question whose top two tie has two right answers: draw another."""
    if "LIMIT 1" not in task.gold_sql:
        return False
    _, rows = run_readonly(db, task.gold_sql.replace("LIMIT 1", "LIMIT 2"))
    return len(rows) == 2 and rows[0][-1] == rows[1][-1]


def build_database(rng: np.random.Generator, customers: int, products: int, orders: int) -> sqlite3.Connection:
    """A fresh in-memory database; the same seed always builds the same rows."""
    db = sqlite3.connect(":memory:", check_same_thread=False)  # env steps run on worker threads
    db.executescript(_SCHEMA)
    names = [f"{_FIRST[i % len(_FIRST)]} {_LAST[(i * 7 + i // len(_FIRST)) % len(_LAST)]}" for i in range(customers)]
    db.executemany(
        "INSERT INTO customers VALUES (?, ?, ?, ?)",
        [(i + 1, names[i], str(rng.choice(_CITIES)), int(rng.integers(2015, 2025))) for i in range(customers)],
    )
    db.executemany(
        "INSERT INTO products VALUES (?, ?, ?, ?)",
        [
            (i + 1, f"{_ITEMS[i % len(_ITEMS)]} {i + 1}", str(rng.choice(_CATEGORIES)), round(float(rng.uniform(2, 200)), 2))
            for i in range(products)
        ],
    )
    buyers = rng.integers(1, customers + 1, size=orders)
    db.executemany(
        "INSERT INTO orders VALUES (?, ?, ?, ?, ?)",
        [
            (i + 1, int(buyers[i]), int(rng.integers(1, products + 1)), int(rng.integers(1, 6)), int(rng.integers(2018, 2025)))
            for i in range(orders)
        ],
    )
    db.commit()
    return db


def _templates(rng: np.random.Generator) -> list[Callable[[], SQLTask]]:
    city = str(rng.choice(_CITIES))
    category = str(rng.choice(_CATEGORIES))
    price = int(rng.integers(20, 150))
    year = int(rng.integers(2019, 2024))
    return [
        lambda: SQLTask(f"How many customers live in {city}?", f"SELECT COUNT(*) FROM customers WHERE city = '{city}'"),
        lambda: SQLTask(
            f"List the names of the products in the {category} category that cost more than {price}.",
            f"SELECT name FROM products WHERE category = '{category}' AND price > {price}",
        ),
        lambda: SQLTask(
            f"Which customers signed up in {year} or later? Give their names.",
            f"SELECT name FROM customers WHERE signup_year >= {year}",
        ),
        lambda: SQLTask(
            f"What is the total quantity of items ordered by customers who live in {city}?",
            "SELECT SUM(o.quantity) FROM orders o JOIN customers c ON c.id = o.customer_id "
            f"WHERE c.city = '{city}'",
        ),
        lambda: SQLTask(
            "For each product category, how many products are there? Give the category and the count, "
            "ordered by category name.",
            "SELECT category, COUNT(*) FROM products GROUP BY category ORDER BY category",
        ),
        lambda: SQLTask(
            "Give the names of the customers who have never placed an order.",
            "SELECT name FROM customers WHERE id NOT IN (SELECT customer_id FROM orders)",
        ),
        lambda: SQLTask(
            f"What is the total revenue (quantity times price) of orders placed in {year}, per product category? "
            "Give the category and the revenue rounded to 2 decimals, highest revenue first.",
            "SELECT p.category, ROUND(SUM(o.quantity * p.price), 2) AS revenue FROM orders o "
            f"JOIN products p ON p.id = o.product_id WHERE o.order_year = {year} GROUP BY p.category ORDER BY revenue DESC",
        ),
        lambda: SQLTask(
            f"Which city's customers ordered the most items in total since {year}? Give the city and the total.",
            "SELECT c.city, SUM(o.quantity) AS total FROM orders o JOIN customers c ON c.id = o.customer_id "
            f"WHERE o.order_year >= {year} GROUP BY c.city ORDER BY total DESC LIMIT 1",
        ),
    ]


def _cell(value: object) -> str:
    text = str(value)
    return text if len(text) <= _MAX_SHOWN_CELL else text[:_MAX_SHOWN_CELL] + f"...({len(text)} chars)"


class _SQLSolver:
    """Looks at the gold query's result with the tool, then submits the gold query."""

    def __init__(self, env: SQLEnv) -> None:
        self.env = env

    def act(self, observation: list[Message]) -> Message:
        if not any(m.role == "tool" for m in observation):
            call = ToolCall(id="call_0", name="query", arguments={"sql": self.env.task.gold_sql})
            return Message.assistant(tool_calls=[call])
        return Message.assistant(f"<answer>{self.env.task.gold_sql}</answer>")


class SQLEnv(TaskEnv[SQLTask]):
    """Answer a question about a generated shop database with one SQL query.

    Each seed builds its own SQLite database (customers, products, orders) and asks a
    templated question; the agent may explore with a read-only `query` tool and submits a
    final SELECT, graded by result-set match (order matters only where the question asks
    for one). No task's answer is reached by a trivial query (an empty result, a lone
    0/NULL/''/1, a whole table or column): the generator draws another. Difficulty sets
    database size and question complexity (filters, joins, grouping, anti-joins, top-1). Rewards: `progress` (potential: partial column/row
    overlap of the best query), `tool_error`, `format` and `outcome`.
    """

    default_max_attempts = 3
    tool_turns = 6
    answer_instructions = "Put your final SQL query (one SELECT statement) inside <answer></answer> tags."

    def __init__(
        self,
        *,
        difficulty: Difficulty = "medium",
        max_attempts: int | None = None,
        max_turns: int | None = None,
        render_mode: str | None = None,
    ) -> None:
        super().__init__(difficulty=difficulty, max_attempts=max_attempts, max_turns=max_turns, render_mode=render_mode)
        self.db: sqlite3.Connection | None = None

    @tool
    def query(self, sql: str) -> str:
        """Run a read-only SQL query on the database and see up to 20 rows.

        Args:
            sql: One SQLite SELECT statement.
        """
        assert self.db is not None
        try:
            columns, rows = run_readonly(self.db, sql)
        except SQLError as err:
            raise ValueError(str(err)) from None
        shown = "\n".join(" | ".join(map(_cell, r)) for r in rows[:_MAX_SHOWN_ROWS])
        more = f"\n... ({len(rows)} rows in all)" if len(rows) > _MAX_SHOWN_ROWS else ""
        text = f"{' | '.join(map(_cell, columns))}\n{shown}".rstrip()
        if len(text) > _MAX_TOOL_MESSAGE:
            text = text[:_MAX_TOOL_MESSAGE] + "\n... (output cut)"
        return text + more

    def generate(self, rng: np.random.Generator) -> SQLTask:
        customers, products, orders, allowed = _LEVELS[self.difficulty]
        db = build_database(rng, customers, products, orders)
        while True:
            task = _templates(rng)[int(rng.choice(allowed))]()
            if not _ambiguous(db, task) and trivial_match(db, task.gold_sql) is None:
                return replace(task, db=db)

    def begin_task(self, task: SQLTask) -> None:
        if self.db is not None and self.db is not task.db:
            self.db.close()
        self.db = task.db

    def system_prompt(self) -> str:
        return f"You answer questions about a SQLite database. Its schema:\n{_SCHEMA}\n{self.answer_instructions}"

    def prompt(self, task: SQLTask) -> str:
        return f"{task.question} You can explore the data with the query tool first. {self.answer_instructions}"

    def check(self, task: SQLTask, answer: str) -> Score:
        assert self.db is not None
        return result_set_match(self.db, task.gold_sql, answer.strip().rstrip(";"))

    def solution(self, task: SQLTask) -> str:
        return task.gold_sql

    def reference_solver(self) -> _SQLSolver:  # type: ignore[override]
        return _SQLSolver(self)

    def random_action(self, rng: np.random.Generator) -> Message:
        other = _templates(rng)[int(rng.integers(8))]().gold_sql
        if rng.random() < 0.4:
            return Message.assistant(tool_calls=[ToolCall(id=f"call_{self.turn}", name="query", arguments={"sql": other})])
        return Message.assistant(f"<answer>{other}</answer>")

    def close(self) -> None:
        super().close()
        if self.db is not None:
            self.db.close()
            self.db = None
