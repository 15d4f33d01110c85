"""SQL verification on SQLite: run read-only within bounds, compare result sets.

Rows are compared as multisets (order-insensitive) unless the reference query has ORDER BY
at its top level (found by parsing it with sqlglot: an ORDER BY inside a subquery, a window
or an aggregate does not order the result). Partial credit rewards getting some columns and
rows right, so a nearly-right query is distinguishable from nonsense in the dense reward.

Every query a policy writes is bounded in all the ways SQLite lets one spend resources:
time (a progress handler past the deadline; it runs between VM steps, so no single step
may be long: strings and blobs are capped at 100 kB by `SQLITE_LIMIT_LENGTH`, and printf,
whose padding loop ignores that limit, is refused), the number of rows and bytes fetched
(read row by row, stopped at a cap) and the query text itself (no lone surrogates, no NUL,
bounded length).
"""

from __future__ import annotations

import sqlite3
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlglot
from sqlglot import exp

from envarena.types import Score

__all__ = ["SQLError", "is_ordered", "result_set_match", "run_readonly", "same_result", "trivial_match"]

# printf pads to its width one character at a time inside one VM step, past any length limit
# and out of the progress handler's reach: printf('%.*c', 2147483647, 'x') runs ~20 s.
_DENIED_FUNCTIONS = {"printf", "format"}
_ALLOWED = {
    sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_FUNCTION, getattr(sqlite3, "SQLITE_RECURSIVE", 33)
}
MAX_SQL_CHARS = 20_000
MAX_ROWS = 10_000
MAX_RESULT_BYTES = 4_000_000
#: Per-query SQLite limits (the defaults allow 1 GB strings and 2,000 columns).
_LIMITS = {
    sqlite3.SQLITE_LIMIT_LENGTH: 100_000,
    sqlite3.SQLITE_LIMIT_SQL_LENGTH: MAX_SQL_CHARS * 4,
    sqlite3.SQLITE_LIMIT_COLUMN: 100,
    sqlite3.SQLITE_LIMIT_EXPR_DEPTH: 200,
    sqlite3.SQLITE_LIMIT_COMPOUND_SELECT: 50,
    sqlite3.SQLITE_LIMIT_LIKE_PATTERN_LENGTH: 1_000,
}


class SQLError(ValueError):
    """The query failed, was not read-only, ran too long or returned too much."""


def _authorize(action: int, _arg1: Any, arg2: Any, *_: Any) -> int:
    if action == sqlite3.SQLITE_FUNCTION and str(arg2).lower() in _DENIED_FUNCTIONS:
        return sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_OK if action in _ALLOWED else sqlite3.SQLITE_DENY


def _cell_size(value: Any) -> int:
    return len(value) if isinstance(value, (str, bytes)) else 8


@contextmanager
def _bounded(connection: sqlite3.Connection, deadline: float) -> Iterator[None]:
    """Authorizer, deadline and size limits for one query; everything restored afterwards."""
    previous = {limit: connection.setlimit(limit, value) for limit, value in _LIMITS.items()}
    connection.set_authorizer(_authorize)
    connection.set_progress_handler(lambda: int(time.monotonic() > deadline), 1000)
    try:
        yield
    finally:
        connection.set_authorizer(None)
        connection.set_progress_handler(None, 0)
        for limit, value in previous.items():
            connection.setlimit(limit, value)


def _check_text(sql: Any) -> str:
    if not isinstance(sql, str):
        raise SQLError("the query must be text")
    if len(sql) > MAX_SQL_CHARS:
        raise SQLError(f"the query is longer than {MAX_SQL_CHARS} characters")
    try:
        sql.encode("utf-8")
    except UnicodeEncodeError:
        raise SQLError("the query is not valid Unicode text (lone surrogate)") from None
    if "\x00" in sql:
        raise SQLError("the query contains a NUL character")
    return sql


def run_readonly(
    connection: sqlite3.Connection,
    sql: str,
    *,
    timeout: float = 2.0,
    max_rows: int = MAX_ROWS,
    max_bytes: int = MAX_RESULT_BYTES,
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Run one SELECT; writes, pragmas and attaching are refused by the authorizer.

    Raises `SQLError` for a failed, refused or too long query and for a result with more than
    `max_rows` rows or `max_bytes` bytes of cells (fetching stops there, so a huge result is
    never held in memory).
    """
    sql = _check_text(sql)
    deadline = time.monotonic() + timeout
    rows: list[tuple[Any, ...]] = []
    size = 0
    cursor: sqlite3.Cursor | None = None
    try:
        with _bounded(connection, deadline):
            cursor = connection.execute(sql)
            columns = [d[0] for d in cursor.description or []]
            for row in cursor:  # one row at a time: at most one row (<= 100 x 100 kB) past the caps
                rows.append(row)
                size += sum(map(_cell_size, row))
                if len(rows) > max_rows:
                    raise SQLError(f"the query returned more than {max_rows} rows")
                if size > max_bytes:
                    raise SQLError(f"the query returned more than {max_bytes:,} bytes")
    except sqlite3.Warning as err:  # e.g. more than one statement
        raise SQLError(str(err)) from None
    except (sqlite3.Error, ValueError, OverflowError, MemoryError) as err:
        if isinstance(err, SQLError):
            raise
        if time.monotonic() > deadline:
            raise SQLError(f"the query ran longer than {timeout:g}s") from None
        message = str(err)
        if "not authorized" in message:
            message = "only read-only SELECT queries are allowed (and not printf/format)"
        raise SQLError(message[:300]) from None
    finally:
        if cursor is not None:
            cursor.close()
    return columns, rows


def is_ordered(sql: str) -> bool:
    """Whether the query's result order is defined: ORDER BY on the outermost query only."""
    try:
        tree = sqlglot.parse_one(sql, read="sqlite")
    except sqlglot.errors.SqlglotError:
        return False
    return isinstance(tree, exp.Query) and tree.args.get("order") is not None


def _normalize(value: Any) -> Any:
    return round(value, 6) if isinstance(value, float) else value


def _normalized(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    return [tuple(map(_normalize, r)) for r in rows]


def same_result(gold: list[tuple[Any, ...]], got: list[tuple[Any, ...]], *, ordered: bool) -> bool:
    """Equal result sets: as lists when the order is defined, as multisets otherwise."""
    gold, got = _normalized(gold), _normalized(got)
    return gold == got if ordered else Counter(gold) == Counter(got)


def _trivial_queries(connection: sqlite3.Connection) -> Iterator[str]:
    """Answers that need no understanding of the question: constants, nothing, whole tables."""
    yield from ("SELECT 1 WHERE 0", "SELECT NULL", "SELECT 0", "SELECT ''", "SELECT 1", "SELECT 0.0")
    tables = [r[0] for r in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    for table in tables:
        yield f'SELECT * FROM "{table}"'
        yield f'SELECT COUNT(*) FROM "{table}"'
        for column in (r[1] for r in connection.execute(f'PRAGMA table_info("{table}")')):
            yield f'SELECT "{column}" FROM "{table}"'
            yield f'SELECT DISTINCT "{column}" FROM "{table}"'


def trivial_match(connection: sqlite3.Connection, gold_sql: str) -> str | None:
    """A trivial query whose result equals the gold result (in any order), or None.

    A task whose gold result is empty, a lone 0/NULL/'' or 1, a whole table or column is
    solved without reading the question; generators must draw another task.
    """
    _, gold = run_readonly(connection, gold_sql)
    if not gold or all(all(v in (None, 0, "") for v in row) for row in gold):
        return "SELECT 1 WHERE 0" if not gold else "SELECT NULL"
    for query in _trivial_queries(connection):
        _, rows = run_readonly(connection, query)
        if same_result(gold, rows, ordered=False):
            return query
    return None


def _column_values(rows: list[tuple[Any, ...]], index: int) -> Counter[Any]:
    return Counter(r[index] for r in rows)


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
    gold, got = _normalized(gold_rows), _normalized(rows)
    ordered = is_ordered(gold_sql)
    if same_result(gold, got, ordered=ordered):
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
