"""Small Python functions with specs, reference code, input generators and bug injections.

Shared by the debugging and synthesis environments: hidden tests are computed by running the
reference implementation on seeded random inputs, so every task is generated, not stored.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class FunctionSpec:
    name: str
    signature: str
    doc: str
    source: str  # reference implementation (body included)
    inputs: Callable[[np.random.Generator], tuple[Any, ...]]
    bugs: tuple[tuple[str, str], ...]  # (exact text in source, replacement) each breaking it

    def reference(self) -> Callable[..., Any]:
        namespace: dict[str, Any] = {}
        exec(self.source, namespace)
        return namespace[self.name]


def _ints(rng: np.random.Generator, low: int, high: int, size: int) -> list[int]:
    return [int(x) for x in rng.integers(low, high, size=size)]


def _word(rng: np.random.Generator, length: int) -> str:
    return "".join(chr(97 + int(i)) for i in rng.integers(0, 26, size=length))


BANK: tuple[FunctionSpec, ...] = (
    FunctionSpec(
        "running_max", "def running_max(values: list[int]) -> list[int]:",
        "Return a list whose i-th item is the largest of values[0..i].",
        "def running_max(values: list[int]) -> list[int]:\n    out = []\n    best = None\n    for v in values:\n"
        "        if best is None or v > best:\n            best = v\n        out.append(best)\n    return out\n",
        lambda rng: (_ints(rng, -50, 50, int(rng.integers(0, 9))),),
        (("v > best", "v < best"), ("out.append(best)", "out.append(v)")),
    ),
    FunctionSpec(
        "count_vowels", "def count_vowels(text: str) -> int:",
        "Count the vowels (a, e, i, o, u, either case) in text.",
        "def count_vowels(text: str) -> int:\n    return sum(1 for ch in text.lower() if ch in 'aeiou')\n",
        lambda rng: ("".join(rng.choice(list("abcdeEIOUxyz "), size=int(rng.integers(0, 15)))),),
        (("text.lower()", "text"), ("'aeiou'", "'aeio'")),
    ),
    FunctionSpec(
        "second_largest", "def second_largest(values: list[int]) -> int | None:",
        "Return the second largest distinct value, or None if there are fewer than two distinct values.",
        "def second_largest(values: list[int]) -> int | None:\n    distinct = sorted(set(values))\n"
        "    return distinct[-2] if len(distinct) >= 2 else None\n",
        lambda rng: (_ints(rng, 0, 10, int(rng.integers(0, 7))),),
        (("sorted(set(values))", "sorted(values)"), ("len(distinct) >= 2", "len(distinct) > 2")),
    ),
    FunctionSpec(
        "rotate", "def rotate(values: list[int], k: int) -> list[int]:",
        "Rotate the list right by k places (k may exceed the length); an empty list stays empty.",
        "def rotate(values: list[int], k: int) -> list[int]:\n    if not values:\n        return []\n"
        "    k %= len(values)\n    return values[-k:] + values[:-k] if k else list(values)\n",
        lambda rng: (_ints(rng, 0, 9, int(rng.integers(0, 7))), int(rng.integers(0, 12))),
        (("k %= len(values)", "k = k"), ("values[-k:] + values[:-k]", "values[k:] + values[:k]")),
    ),
    FunctionSpec(
        "is_balanced", "def is_balanced(text: str) -> bool:",
        "Return True if every bracket in text ((), [], {}) is closed in the right order.",
        "def is_balanced(text: str) -> bool:\n    pairs = {')': '(', ']': '[', '}': '{'}\n    stack = []\n"
        "    for ch in text:\n        if ch in '([{':\n            stack.append(ch)\n        elif ch in pairs:\n"
        "            if not stack or stack.pop() != pairs[ch]:\n                return False\n    return not stack\n",
        lambda rng: ("".join(rng.choice(list("()[]{}a"), size=int(rng.integers(0, 9)))),),
        (("return not stack", "return True"), ("stack.pop() != pairs[ch]", "stack.pop() == pairs[ch]")),
    ),
    FunctionSpec(
        "compress", "def compress(text: str) -> str:",
        "Run-length encode text: 'aaab' becomes 'a3b1'. The empty string stays empty.",
        "def compress(text: str) -> str:\n    out = []\n    i = 0\n    while i < len(text):\n        j = i\n"
        "        while j < len(text) and text[j] == text[i]:\n            j += 1\n        out.append(f'{text[i]}{j - i}')\n"
        "        i = j\n    return ''.join(out)\n",
        lambda rng: ("".join(rng.choice(list("aab"), size=int(rng.integers(0, 10)))),),
        (("f'{text[i]}{j - i}'", "f'{text[i]}{j - i - 1}'"), ("        i = j\n", "        i = j + 1\n")),
    ),
    FunctionSpec(
        "digit_sum", "def digit_sum(n: int) -> int:",
        "Return the sum of the decimal digits of n (use the absolute value for negative n).",
        "def digit_sum(n: int) -> int:\n    return sum(int(d) for d in str(abs(n)))\n",
        lambda rng: (int(rng.integers(-10**6, 10**6)),),
        (("str(abs(n))", "str(n).lstrip('-')[1:]"), ("int(d)", "int(d) % 9")),
    ),
    FunctionSpec(
        "word_lengths", "def word_lengths(sentence: str) -> dict[str, int]:",
        "Map each distinct word (split on whitespace) to its length.",
        "def word_lengths(sentence: str) -> dict[str, int]:\n    return {w: len(w) for w in sentence.split()}\n",
        lambda rng: (" ".join(_word(rng, int(rng.integers(1, 6))) for _ in range(int(rng.integers(0, 5)))),),
        (("len(w)", "len(w) - 1"), ("sentence.split()", "sentence.split(' ')")),
    ),
)


def test_cases(spec: FunctionSpec, rng: np.random.Generator, count: int) -> list[str]:
    """`assert` lines with inputs drawn from the seed and outputs from the reference code."""
    fn = spec.reference()
    cases = []
    for _ in range(count):
        args = spec.inputs(rng)
        cases.append(f"assert candidate({', '.join(map(repr, args))}) == {fn(*args)!r}")
    return cases
