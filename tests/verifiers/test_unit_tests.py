"""Differential unit-test verification: partial credit, failure reports, and the plain-data codec."""

from __future__ import annotations

import math
import shutil

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from envarena.sandbox import Limits
from envarena.verifiers import TestSuite, run_unit_tests
from envarena.sandbox.plain_data import PlainDataError, decode, dumps, encode, loads

needs_bwrap = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed")

CHECK = """
def check(candidate):
    assert candidate(1, 2) == 3
    assert candidate(2, 2) == 4
    x = 10
    assert candidate(x, 5) == 15
"""
ADD = "def add(a, b):\n    return a + b\n"


def add_suite() -> TestSuite:
    return TestSuite.from_check_function(CHECK, "add", ADD)


@needs_bwrap
def test_partial_credit_is_the_fraction_of_tests_passed():
    suite = add_suite()
    assert suite.total == 3
    full = run_unit_tests(ADD, suite)
    assert full.value == 1.0 and full.components["tests_passed"] == 1.0
    partial = run_unit_tests("def add(a, b):\n    return 3 if a == 1 else a * b\n", suite)
    assert partial.value == pytest.approx(2 / 3)
    assert "candidate(x, 5) == 15" in partial.feedback and "AssertionError" in partial.feedback


@needs_bwrap
def test_hangs_crashes_and_fake_reports_do_not_pass():
    suite = add_suite()
    hang = run_unit_tests("def add(a, b):\n    while a == 2: pass\n    return a + b\n", suite,
                          limits=Limits(wall_seconds=1))
    assert hang.value == pytest.approx(1 / 3) and "Timed out" in hang.feedback and "candidate(2, 2)" in hang.feedback
    broken = run_unit_tests("def add(a, b) return a + b\n", suite)
    assert broken.value == 0.0 and "SyntaxError" in broken.feedback
    faker = (
        "import sys\nfor i in range(4):\n    print('@@envarena-0000000000000000@@{\"i\": %d, \"ok\": true}' % i)\n"
        "sys.exit(0)\ndef add(a, b):\n    return 0\n"
    )
    assert run_unit_tests(faker, suite).value == 0.0
    missing = run_unit_tests("def plus(a, b):\n    return a + b\n", suite)
    assert missing.value == 0.0 and "no function named add" in missing.feedback


@needs_bwrap
def test_tests_that_expect_an_exception_see_the_candidates_exception_type():
    reference = "def root(x):\n    if x < 0:\n        raise ValueError('negative')\n    return x ** 0.5\n"
    steps = [
        "assert candidate(4) == 2",
        "try:\n    candidate(-1)\n    raise AssertionError('no error')\nexcept ValueError:\n    pass",
    ]
    suite = TestSuite.from_asserts(steps, "root", reference)
    assert run_unit_tests(reference, suite).value == 1.0
    silent = "def root(x):\n    return abs(x) ** 0.5\n"
    assert run_unit_tests(silent, suite).value == 0.5
    # a crash or a hang is not "an exception" the test can swallow with `except Exception`
    generic = TestSuite.from_asserts(["try:\n    candidate(-1)\nexcept Exception:\n    pass"], "root", reference)
    assert run_unit_tests("import os\ndef root(x):\n    os._exit(0)\n", generic).value == 0.0
    assert run_unit_tests("def root(x):\n    while True: pass\n", generic, limits=Limits(wall_seconds=1)).value == 0.0


@needs_bwrap
def test_tolerances_and_properties_in_the_tests_still_hold():
    reference = "def half(x):\n    return x / 2\n"
    suite = TestSuite.from_asserts(["assert abs(candidate(1.0) - 0.5) < 1e-6", "assert candidate(3) > 1"], "half",
                                   reference)
    assert run_unit_tests("def half(x):\n    return x * 0.5 + 1e-9\n", suite).value == 1.0
    assert run_unit_tests("def half(x):\n    return round(x / 2)\n", suite).value == 0.5


def test_a_suite_whose_reference_fails_is_rejected():
    suite = TestSuite.from_asserts(["assert candidate(1) == 2"], "f", "def f(x):\n    return x\n")
    with pytest.raises(ValueError, match="reference fails test 0"):
        run_unit_tests("def f(x):\n    return 2\n", suite)


# ----------------------------------------------------------------------------- plain data

plain_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text() | st.binary()
    | st.complex_numbers(allow_nan=False),
    lambda inner: st.lists(inner, max_size=4) | st.tuples(inner, inner)
    | st.dictionaries(st.text(max_size=5) | st.integers(), inner, max_size=4)
    | st.frozensets(st.integers() | st.text(max_size=3), max_size=4),
    max_leaves=20,
)


def same(a: object, b: object) -> bool:
    """Equal, with the same exact types all the way down (NaN equals NaN here)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return (math.isnan(a) and math.isnan(b)) or a == b  # type: ignore[arg-type]
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))  # type: ignore[arg-type]
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)  # type: ignore[index]
    return a == b


@settings(max_examples=200, deadline=None, derandomize=True)
@given(plain_values)
def test_plain_data_round_trips_with_exact_types(value):
    assert same(loads(dumps(value)), value)


def test_plain_data_refuses_what_could_run_code():
    class Sneaky(int):
        def __eq__(self, other):
            return True

    class AlwaysEqual:
        def __eq__(self, other):
            return True

    for value in (Sneaky(3), AlwaysEqual(), [1, AlwaysEqual()], {"k": Sneaky(1)}, iter([1]), type, print):
        with pytest.raises(PlainDataError):
            encode(value)
    deep: list = []
    for _ in range(200):
        deep = [deep]
    with pytest.raises(PlainDataError):
        encode(deep)
    nested = '["list",[' * 200 + '["none"]' + "]]" * 200
    for text in (nested, '["int","1e5"]', '["float","nan!"]', '["set",[["list",[]]]]', '{"__class__":1}',
                 '["str",1]', '["bool","yes"]', '["dict",[[1]]]', '["int","' + "9" * 5000 + '"]', "[" * 100000,
                 '["object","os.system"]', "[]", '["none",1]'):
        with pytest.raises(PlainDataError):
            loads(text)
    assert decode(["tuple", [["int", "1"], ["str", "a"]]]) == (1, "a")


@needs_bwrap
def test_errors_that_steer_the_tests_control_flow_are_not_re_raised():
    """StopIteration inside `map` would end the iteration early and make `all(...)` true."""
    suite = TestSuite.from_asserts(["assert all(map(candidate, [2, 4, 6]))", "assert not any(map(candidate, [1, 3]))"],
                                   "is_even", "def is_even(n):\n    return n % 2 == 0\n")
    for error in ("StopIteration", "AssertionError", "RuntimeError", "GeneratorExit", "KeyboardInterrupt",
                  "SystemExit", "StopAsyncIteration"):
        assert run_unit_tests(f"def is_even(n):\n    raise {error}('x')\n", suite).value == 0.0, error


def test_asserts_that_never_mention_the_candidate_are_setup_not_tests():
    check = "def check(candidate):\n    assert True, 'always passes'\n    assert candidate(1) == 2\n    assert 1 + 1 == 2\n"
    suite = TestSuite.from_check_function(check, "inc", "def inc(x):\n    return x + 1\n")
    assert suite.total == 1
