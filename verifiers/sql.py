"""SQL verification on SQLite: run read-only with a deadline, compare result sets.

Rows are compared as multisets (order-insensitive) unless the reference query has ORDER
BY. Partial credit rewards getting some columns and rows right, so a nearly-right query is
distinguishable from nonsense in the dense reward.
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections import Counter
from typing import Any

from envarena.types import Score

__all__ = ["SQLError", "result_set_match", "run_readonly"]

_ALLOWED = {sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_FUNCTION, getattr(sqlite3, "SQLITE_RECURSIVE", 33)}
_ORDER_BY = re.compile(r"\border\s+by\b", re.IGNORECASE)


class SQLError(ValueError):
    """The query failed, was not read-only, or ran too long."""


def _authorize(action: int, *_: Any) -> int:
    return sqlite3.SQLITE_OK if action in _ALLOWED else sqlite3.SQLITE_DENY


def run_readonly(
    connection: sqlite3.Connection, sql: str, *, timeout: float = 2.0, max_rows: int = 10_000
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Run one SELECT; writes, pragmas and attaching are refused by the authorizer."""
    deadline = time.monotonic() + timeout
    connection.set_authorizer(_authorize)
    connection.set_progress_handler(lambda: int(time.monotonic() > deadline), 1000)
    try:
        cursor = connection.execute(sql)
        rows = cursor.fetchmany(max_rows + 1)
        columns = [d[0] for d in cursor.description or []]
    except sqlite3.Warning as err:  # e.g. more than one statement
        raise SQLError(str(err)) from None
    except sqlite3.Error as err:
        if time.monotonic() > deadline:
            raise SQLError(f"the query ran longer than {timeout:g}s") from None
        message = str(err)
        if "not authorized" in message:
            message = "only read-only SELECT queries are allowed"
        raise SQLError(message) from None
    finally:
        connection.set_authorizer(None)
        connection.set_progress_handler(None, 0)
    if len(rows) > max_rows:
        raise SQLError(f"the query returned more than {max_rows} rows")
    return columns, rows


def _normalize(value: Any) -> Any:
    return round(value, 6) if isinstance(value, float) else value


def _column_values(rows: list[tuple[Any, ...]], index: int) -> Counter[Any]:
    return Counter(_normalize(r[index]) for r in rows)


def _f1(expected: Counter[Any], got: Counter[Any]) -> float:
    overlap = sum((expected & got).values())
    if not overlap:
        return 0.0
    precision, recall = overlap / sum(got.values()), overlap / sum(expected.values())
    return 2 * precision * recall / (precision + recall)


def result_set_match(connection: sqlite3.Connection, gold_sql: str, answer_sql: str) -> Score:
    """1.0 for the same result set; otherwise partial credit in `components["partial"]`."""
    gold_columns, gold_rows = run_readonly(connection, gold_sql)
    try:
        _, rows = run_readonly(connection, answer_sql)
    except SQLError as err:
        return Score(value=0.0, feedback=f"Your query failed: {err}.")
    gold = [tuple(map(_normalize, r)) for r in gold_rows]
    got = [tuple(map(_normalize, r)) for r in rows]
    ordered = bool(_ORDER_BY.search(gold_sql))
    if (gold == got) if ordered else (Counter(gold) == Counter(got)):
        return Score(value=1.0, components={"partial": 1.0})
    # Partial credit: pair each gold column with the answer column whose values overlap it
    # most (multiset F1), then score how many rows agree on the paired columns.
    width = len(rows[0]) if rows else 0
    pairs: list[tuple[int, int, float]] = []
    free = set(range(width))
    for g in range(len(gold_columns)):
        target = _column_values(gold, g)
        scored = [(_f1(target, _column_values(got, a)), a) for a in sorted(free)]
        best, a = max(scored, default=(0.0, -1))
        if best > 0:
            pairs.append((g, a, best))
            free.discard(a)
    column_score = sum(f for _, _, f in pairs) / max(len(gold_columns), width, 1)
    row_score = 0.0
    if pairs:
        gold_proj = Counter(tuple(r[g] for g, _, _ in pairs) for r in gold)
        got_proj = Counter(tuple(r[a] for _, a, _ in pairs) for r in got)
        row_score = _f1(gold_proj, got_proj)
    hint = "rows are in the wrong order" if ordered and Counter(gold) == Counter(got) else (
        f"your result has {len(got)} rows and {width} columns; the expected one has {len(gold)} rows "
        f"and {len(gold_columns)} columns"
    )
    return Score(value=0.0, components={"partial": 0.4 * column_score * row_score + 0.1 * column_score},
                 feedback=f"The result does not match: {hint}.")
