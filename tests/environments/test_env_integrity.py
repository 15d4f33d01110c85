"""Reward integrity of the text, tool and game environments: trivial answers, hedges and
hostile inputs earn no outcome (and no more progress than an honest wrong answer), every
promise a difficulty makes holds over many seeds, and no input makes a step raise.

Each attack here scored before the fix it guards (the docstring or comment says how much).
"""

from __future__ import annotations

import itertools
import re
import shutil
import time
from fractions import Fraction

import pytest

import envarena
from envarena.environments.tools import support_world as shop
from envarena.environments.tools.customer_service import CODE_ATTEMPTS, SupportSolver
from envarena.types import Message, ToolCall
from envarena.verifiers.match import trivial_numbers

needs_bwrap = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed")
LEVELS = ("easy", "medium", "hard")
HOSTILE = ["", " ", "1" + "0" * 400, "1e309", "-1e309", "\ud800", "\x00", "9" * 5000, "(" * 300 + "1" + ")" * 300,
           "-" * 499 + "1", "1/0", "<answer>" * 2000, "ｘ" * 1000, "1" * 100_000]


def _call(name: str, **arguments) -> Message:
    return Message.assistant(tool_calls=[ToolCall(id=f"c_{name}", name=name, arguments=arguments)])


def _answer(env, text: str) -> tuple[float, dict]:
    """Submit one answer; the outcome (0 unless the episode ended) and the reward components."""
    _, _, terminated, truncated, info = env.step(f"<answer>{text}</answer>")
    return (info["outcome"] if terminated or truncated else 0.0), info["reward_components"]


# ---------------------------------------------------------------------- numeric text tasks
NUMERIC = {"text/arithmetic-v0": lambda t: t.value, "text/try-again-v0": lambda t: t.value,
           "text/word-problems-v0": lambda t: t.answer, "tools/calculator-v0": lambda t: t.value}


@pytest.mark.parametrize("env_id", NUMERIC)
@pytest.mark.parametrize("difficulty", LEVELS)
def test_numeric_answers_are_never_zero_nor_a_number_of_the_prompt(env_id, difficulty):
    """'0' or echoing a prompt number solved some tasks (word problems: ~6% answer 0)."""
    env = envarena.make(env_id, difficulty=difficulty)
    for seed in range(150):
        observation, _ = env.reset(seed=seed)
        gold = NUMERIC[env_id](env.task)
        assert Fraction(gold) not in trivial_numbers(observation[-1].content), (seed, gold)


def _numeric_attacks(prompt: str, gold: int) -> list[str]:
    numbers = re.findall(r"\d+", prompt)
    return [
        "",  # empty
        " ".join(numbers), ", ".join(numbers + [str(gold)]),  # every number in the prompt at once (and the answer)
        f"{gold} or {gold + 1}", f"{gold + 1} or {gold}", f"{gold - 1}-{gold + 1}", f"either {gold} or {gold * 2}",
        "I cannot answer that.",
    ]


@pytest.mark.parametrize("env_id", ["text/arithmetic-v0", "text/try-again-v0", "text/word-problems-v0"])
def test_numeric_hedges_and_lists_earn_nothing(env_id):
    """'6 or 5' and a list of every prompt number were read by their last number: a hedge
    that scored whenever the last candidate was right."""
    for seed in range(20):
        env = envarena.make(env_id, difficulty="medium", max_attempts=1)
        observation, _ = env.reset(seed=seed)
        gold = NUMERIC[env_id](env.task)
        for attack in _numeric_attacks(observation[-1].content, gold):
            env.reset(seed=seed)
            outcome, components = _answer(env, attack)
            assert outcome == 0.0 and components.get("progress", 0.0) <= 0.0, (seed, attack)
        # Several answer tags: only the last is the answer, worth what that answer alone is worth.
        env.reset(seed=seed)
        tags = _answer(env, f"{gold}</answer><answer>{gold + 1}")
        env.reset(seed=seed)
        assert tags == _answer(env, str(gold + 1)) and tags[0] == 0.0
        env.reset(seed=seed)
        assert _answer(env, f"The answer is {gold}.")[0] == 1.0


def test_numeric_answers_are_read_as_written():
    env = envarena.make("text/arithmetic-v0", difficulty="easy", max_attempts=1)
    seed = next(s for s in range(200) if env.reset(seed=s) and env.task.value < 0)
    value = env.task.value
    for written in [f"−{-value}", f"{value}.0", f"{value * 10}e-1", f"= {value}"]:
        env.reset(seed=seed)
        assert _answer(env, written)[0] == 1.0, written


@pytest.mark.parametrize("env_id", ["text/arithmetic-v0", "text/try-again-v0", "text/word-problems-v0",
                                    "text/countdown-v0", "text/knights-knaves-v0", "text/cipher-v0", "text/copy-v0",
                                    "games/game24-v0", "tools/sql-v0", "tools/retrieval-v0"])
def test_hostile_answers_never_raise_or_hang(env_id):
    """`1` + 400 zeros raised OverflowError (arithmetic), `1e309` and a lone surrogate raised
    in countdown and game24, a lone surrogate raised UnicodeEncodeError in SQL."""
    env = envarena.make(env_id, max_attempts=1)
    for text in HOSTILE:
        env.reset(seed=1)
        start = time.monotonic()
        _, reward, _, _, info = env.step(f"<answer>{text}</answer>")
        # Some of these state a small number ("((1))"): an honest wrong answer, with its closeness.
        assert time.monotonic() - start < 5 and info.get("outcome", 0.0) == 0.0 and reward < 0.5, repr(text[:20])


# ---------------------------------------------------------------------- countdown and game24
def _integer_only_solution(numbers: tuple[int, ...]) -> bool:
    """Independent exhaustive search: combine any two values, integer results only."""
    if len(numbers) == 1:
        return numbers[0] == 24
    for i, j in itertools.permutations(range(len(numbers)), 2):
        a, b = numbers[i], numbers[j]
        rest = tuple(n for k, n in enumerate(numbers) if k not in (i, j))
        results = [a + b, a - b, a * b] + ([a // b] if b and a % b == 0 else [])
        if any(_integer_only_solution(rest + (r,)) for r in results):
            return True
    return False


def test_game24_every_difficulty_keeps_its_promise():
    """Hard promised that every solution needs a fraction; most hard tasks had an integer-only
    solution. Easy and medium draw 1-9 and 1-13; none is solved by the sum or product of all."""
    from envarena.verifiers import evaluate

    for difficulty, largest in (("easy", 9), ("medium", 13), ("hard", 13)):
        env = envarena.make("games/game24-v0", difficulty=difficulty)
        for seed in range(300):
            env.reset(seed=seed)
            numbers = env.task
            assert len(numbers) == 4 and all(1 <= n <= largest for n in numbers)
            assert evaluate(env.solution(numbers)) == 24
            assert sum(numbers) != 24 and numbers[0] * numbers[1] * numbers[2] * numbers[3] != 24
            if difficulty == "hard":
                assert not _integer_only_solution(numbers), numbers


def test_countdown_targets_need_a_search():
    from envarena.verifiers import evaluate

    for difficulty in LEVELS:
        env = envarena.make("text/countdown-v0", difficulty=difficulty)
        for seed in range(200):
            env.reset(seed=seed)
            task = env.task
            assert evaluate(task.solution) == task.target
            product = 1
            for n in task.numbers:
                product *= n
            assert task.target not in task.numbers and task.target not in (sum(task.numbers), product)
            for attack in ["+".join(map(str, task.numbers)), "*".join(map(str, task.numbers)),
                           ", ".join(map(str, task.numbers)), f"{task.solution} or 1"]:
                assert env.check(task, attack).value == 0.0


@pytest.mark.parametrize("difficulty", LEVELS)
def test_difficulty_promises_of_the_text_tasks(difficulty):
    """What each docstring promises per level, over many seeds."""
    from envarena.environments.text.knights_knaves import solutions

    index = LEVELS.index(difficulty)
    arithmetic, countdown = envarena.make("text/arithmetic-v0", difficulty=difficulty), \
        envarena.make("text/countdown-v0", difficulty=difficulty)
    knights, cipher = envarena.make("text/knights-knaves-v0", difficulty=difficulty), \
        envarena.make("text/cipher-v0", difficulty=difficulty)
    for seed in range(100):
        arithmetic.reset(seed=seed)
        assert len(re.findall(r" [-+*/] ", arithmetic.task.expression)) == (2, 4, 6)[index]
        countdown.reset(seed=seed)
        assert len(countdown.task.numbers) == (3, 4, 6)[index]
        knights.reset(seed=seed)
        assert len(knights.task.names) == (2, 3, 4)[index]
        assert solutions(len(knights.task.names), knights.task.statements) == [knights.task.roles]  # exactly one
        observation, _ = cipher.reset(seed=seed)
        task = cipher.task
        assert task.ciphertext != task.plaintext and len(task.key) == (1, 1, 3)[index]
        if difficulty == "easy":
            told = f"forward by {ord(task.key) - ord('a')} places"
        else:
            told = "unknown amount" if difficulty == "medium" else f"key '{task.key}'"
        assert told in observation[-1].content


# ---------------------------------------------------------------------- knights and knaves
@pytest.mark.parametrize("template", [
    "{a}: a {ra}, {b}: a {rb}", "{a} is a {ra} and {b} is a {rb}", "{a} - {ra}; {b} - {rb}", "{b}={rb}, {a}={ra}",
    "{A}: {RA}. {B}: {RB}", "{a} is a {ra}\n{b} is a {rb}", "{a} is not a {nra}, {b} is not a {nrb}",
])
def test_knights_knaves_reads_natural_phrasings(template):
    """'Eve: a knave, Dee: a knave' and the others were read wrong or not at all."""
    env = envarena.make("text/knights-knaves-v0", difficulty="easy")
    for seed in range(12):
        env.reset(seed=seed)
        (a, b), (ra, rb) = env.task.names, ["knight" if r else "knave" for r in env.task.roles]
        other = {"knight": "knave", "knave": "knight"}
        text = template.format(a=a, b=b, ra=ra, rb=rb, A=a.upper(), B=b.upper(), RA=ra.upper(), RB=rb.upper(),
                               nra=other[ra], nrb=other[rb])
        assert env.check(env.task, text).value == 1.0, text


def test_knights_knaves_group_phrasing_and_hedges():
    env = envarena.make("text/knights-knaves-v0", difficulty="medium")
    for seed in range(12):
        env.reset(seed=seed)
        names, roles = env.task.names, env.task.roles
        knights = ", ".join(n for n, r in zip(names, roles) if r) or "nobody"
        knaves = ", ".join(n for n, r in zip(names, roles) if not r) or "nobody"
        if "nobody" not in (knights, knaves):
            assert env.check(env.task, f"Knights: {knights}. Knaves: {knaves}").value == 1.0
        every = "; ".join(", ".join(f"{n}: {'knight' if r else 'knave'}" for n, r in zip(names, combo))
                          for combo in itertools.product((1, 0), repeat=len(names)))
        both = ", ".join(f"{n}: knight, {n}: knave" for n in names)
        either = ", ".join(f"{n}: knight or knave" for n in names)
        for hedge in [every, both, either, f"Knights: {', '.join(names)}. Knaves: {', '.join(names)}"]:
            score = env.check(env.task, hedge)
            assert score.value == 0.0 and score.components.get("partial", 0.0) == 0.0, hedge


# ---------------------------------------------------------------------- cipher and retrieval
def test_cipher_progress_needs_decoded_words():
    """Echoing the ciphertext (spaces in place) or filling every letter with 'e' earned progress."""
    env = envarena.make("text/cipher-v0", difficulty="medium")
    for seed in range(20):
        env.reset(seed=seed)
        task = env.task
        for attack in [task.ciphertext, re.sub(r"[a-z]", "e", task.ciphertext), " ".join(["e" * 5] * 4), ""]:
            score = env.check(task, attack)
            assert score.value == 0.0 and score.components["partial"] == 0.0, attack
        first, *rest = task.plaintext.split()
        assert env.check(task, " ".join([first] + ["x" * 5] * len(rest))).components["partial"] > 0


@pytest.mark.parametrize("env_id", ["text/copy-v0", "text/cipher-v0", "tools/retrieval-v0"])
def test_text_answers_hedges_and_empty_answers_earn_nothing(env_id):
    """'<right> or <other>' earned 0.99 progress in copy (positions compared up to the sequence
    length): now extra text counts against it, below a one-character honest wrong answer."""
    env = envarena.make(env_id, difficulty="easy")
    for seed in range(10):
        env.reset(seed=seed)
        right = env.solution(env.task)
        honest_wrong = env.check(env.task, "x").components.get("partial", 0.0)
        for attack in [f"{right} or 7", f"7 or {right}", f"{right}, {right}x", "", " "]:
            score = env.check(env.task, attack)
            assert score.value == 0.0, attack
            if env_id == "text/copy-v0":
                assert score.components["partial"] <= max(honest_wrong, 0.2) + 1e-9, attack


def test_retrieval_reading_everything_is_not_progress():
    """Reading every document earned half the progress without following the chain."""
    env = envarena.make("tools/retrieval-v0", difficulty="hard")
    env.reset(seed=0)
    calls = [ToolCall(id=f"r{i}", name="read", arguments={"doc_id": d}) for i, d in enumerate(env.task.documents)]
    _, reward, _, _, info = env.step(Message.assistant(tool_calls=calls))
    assert info["reward_components"].get("progress", 0.0) == 0.0 and reward <= 0.0
    env.reset(seed=0)
    solver, observation = env.reference_solver(), []
    while not env.done:
        observation, *_ = env.step(solver.act(observation))
    assert env.outcome == 1.0


# ---------------------------------------------------------------------- SQL
SQL_ATTACKS = ["SELECT 1 WHERE 0", "SELECT NULL", "SELECT 0", "SELECT ''", "SELECT 1", "SELECT * FROM customers",
               "SELECT * FROM products", "SELECT * FROM orders", "SELECT name FROM customers",
               "SELECT name FROM products", "SELECT COUNT(*) FROM customers", "SELECT id FROM customers WHERE id < 0"]


@pytest.mark.parametrize("difficulty", LEVELS)
def test_sql_no_task_is_solved_by_a_trivial_query(difficulty):
    """About 13% of tasks had an empty gold result: any query returning no rows scored 1.0."""
    env = envarena.make("tools/sql-v0", difficulty=difficulty)
    for seed in range(300):
        env.reset(seed=seed)
        rows = env.db.execute(env.task.gold_sql).fetchall()
        assert rows and any(v not in (None, 0, "") for row in rows for v in row), (seed, env.task.gold_sql)
        for attack in SQL_ATTACKS:
            assert env.check(env.task, attack).value == 0.0, (seed, env.task.gold_sql, attack)
        if "LIMIT 1" in env.task.gold_sql:  # a top-1 question has one right answer: no tie for first
            top = env.db.execute(env.task.gold_sql.replace("LIMIT 1", "LIMIT 2")).fetchall()
            assert len(top) < 2 or top[0][-1] != top[1][-1]
        assert env.check(env.task, env.task.gold_sql).value == 1.0


def test_sql_tool_output_and_time_are_bounded():
    """A recursive CTE returned a 20 MB tool message; six printf columns ran 4x past 2 s."""
    env = envarena.make("tools/sql-v0")
    env.reset(seed=0)
    attacks = {
        "cte": "WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM r LIMIT 5000) "
               "SELECT hex(zeroblob(400)) FROM r",
        "printf": "SELECT " + ", ".join(["printf('%.*c', 40000000, 'x')"] * 6),
        "wide": "SELECT " + ", ".join(f"hex(zeroblob(20000)) AS c{i}" for i in range(60)),
        "surrogate": "SELECT '\ud800'",
        "nul": "SELECT '\x00'",
        "forever": "WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM r) SELECT x FROM r ORDER BY -x",
    }
    for name, sql in attacks.items():
        start = time.monotonic()
        observation, _, _, _, _ = env.step(_call("query", sql=sql))
        assert time.monotonic() - start < 5, name
        assert len(observation[0].content) <= 5_000, name
        env.reset(seed=0)


# ---------------------------------------------------------------------- customer service
def _verify(env, code_text: str | None = None) -> str:
    """Find, send a code, let the customer read it, verify; returns the verify tool's reply."""
    user = env.user
    env.step(_call("find_customer_by_email", email=user.email))
    env.step(_call("send_verification_code", customer_id=user.customer_id))
    said, *_ = env.step("Please tell me the code I sent to your email.")
    code = said[0].content.split("the code is ")[1].rstrip(".") if code_text is None else code_text
    observation, *_ = env.step(_call("verify_customer", customer_id=user.customer_id, code=code))
    return observation[0].content


@pytest.mark.parametrize("code", ["", " ", "Your", "verification code is", ".", "Your verification code is"])
def test_customer_service_code_is_compared_exactly(code):
    """`code=""` verified any customer: the code was checked as a substring of the inbox."""
    env = envarena.make("tools/customer-service-v0", difficulty="easy")
    env.reset(seed=0)
    user = env.user
    env.step(_call("send_verification_code", customer_id=user.customer_id))
    observation, reward, _, _, info = env.step(_call("verify_customer", customer_id=user.customer_id, code=code))
    assert "does not match" in observation[0].content and env.verified is None
    assert info["reward_components"].get("progress", 0.0) == 0.0 and reward <= 0.0
    env.reset(seed=0)
    assert "is verified" in _verify(env, code_text=f" {env.code[:3]} {env.code[3:]} ")  # spacing is normalised


def test_customer_service_codes_cannot_be_guessed_or_derived():
    env = envarena.make("tools/customer-service-v0", difficulty="medium")
    env.reset(seed=3)
    user = env.user
    env.step(_call("send_verification_code", customer_id=user.customer_id))
    wrong = [c for c in (f"{i:06d}" for i in range(100000, 100010)) if c != env.code][:CODE_ATTEMPTS]
    guesses = [ToolCall(id=f"g{c}", name="verify_customer", arguments={"customer_id": user.customer_id, "code": c})
               for c in wrong]
    right = {"customer_id": user.customer_id, "code": env.code}
    guesses.append(ToolCall(id="right", name="verify_customer", arguments=right))
    observation, *_ = env.step(Message.assistant(tool_calls=guesses))
    assert env.verified is None, f"a code is void after {CODE_ATTEMPTS} wrong tries"
    assert "no valid code" in observation[-1].content
    # Another customer's code is not a function of this one's (it was code * 7919 mod 900000 + 100000).
    env.reset(seed=3)
    _verify(env)
    other = next(c for c in env.db.execute("SELECT id FROM customers").fetchall() if c[0] != user.customer_id)[0]
    env.step(_call("send_verification_code", customer_id=other))
    derived = f"{(int(env.code) * 7919) % 900000 + 100000}"
    observation, *_ = env.step(_call("verify_customer", customer_id=other, code=derived))
    assert env.verified == user.customer_id


def test_customer_service_refusing_everything_never_succeeds():
    """A quarter of medium conversations were one forbidden request: 'I cannot do that' won them."""
    for difficulty in LEVELS:
        env = envarena.make("tools/customer-service-v0", difficulty=difficulty)
        for seed in range(40):
            env.reset(seed=seed)
            assert any(r.allowed for r in env.user.requests)
            _verify(env)
            env.step(_call("list_orders"))
            while not env.done:
                env.step("I'm sorry, I cannot do that: our policy does not allow it.")
            assert env.outcome == 0.0, (difficulty, seed)


class _BlindRefusals(SupportSolver):
    """The reference solver, except that it refuses forbidden requests without looking them up."""

    def _script(self):
        said = yield Message.assistant("Hello! What is the email on your account?")
        email = re.search(r"[\w.+-]+@[\w.-]+\.\w+", said[-1].content).group(0).rstrip(".")
        found = yield self._call("find_customer_by_email", email=email)
        customer_id = re.search(r"C\d+", found[-1].content).group(0)
        yield self._call("send_verification_code", customer_id=customer_id)
        said = yield Message.assistant("Please tell me the code.")
        code = re.search(r"\d{6}", said[-1].content).group(0)
        yield self._call("verify_customer", customer_id=customer_id, code=code)
        for request in self.env.user.requests:
            if request.allowed:
                yield from self._handle(request)
            else:
                yield Message.assistant("I'm sorry, I cannot do that: our policy does not allow it.")


def test_customer_service_a_refusal_counts_only_after_looking_at_the_order():
    env = envarena.make("tools/customer-service-v0", difficulty="hard")
    seeds = [s for s in range(60) if env.reset(seed=s) and not all(r.allowed for r in env.user.requests)][:5]
    assert seeds
    for seed in seeds:
        for solver_type, outcome in ((_BlindRefusals, 0.0), (SupportSolver, 1.0)):
            env.reset(seed=seed)
            solver, observation = solver_type(env), []
            while not env.done:
                observation, *_ = env.step(solver.act(observation))
            assert env.outcome == outcome, (seed, solver_type.__name__)


def test_customer_service_customer_says_yes_to_one_described_change_only():
    env = envarena.make("tools/customer-service-v0", difficulty="easy")
    env.reset(seed=next(s for s in range(100) if env.reset(seed=s) and env.user.requests[0].kind == "cancel"))
    order = env.user.requests[0].order_id
    _verify(env)
    others = [o for (o,) in env.db.execute("SELECT id FROM orders WHERE customer_id = ?", (env.user.customer_id,))]
    for hedge in [f"I will cancel, return or change the address of order {order}. Please confirm (yes/no).",
                  f"I will cancel orders {', '.join(others)}. Please confirm (yes/no).",
                  f"I will cancel order {order}0. Please confirm (yes/no)."]:
        observation, *_ = env.step(hedge)
        assert env.user.confirmed_order is None and "not what I asked" in observation[0].content, hedge
    env.step(_call("cancel_order", order_id=order, reason=env.user.requests[0].reason))
    assert shop.snapshot(env.db) == env.initial
    # A yes binds the order and the action: a cancellation's yes does not allow an address change.
    env.step(f"I will cancel order {order}. Please confirm (yes/no).")
    address = "1 Elm St, Springfield 11201"
    observation, _, _, _, info = env.step(_call("change_address", order_id=order, address=address))
    assert "explicit yes" in observation[0].content and info["reward_components"]["policy_violation"] < 0
    assert shop.snapshot(env.db) == env.initial
    env.step(_call("cancel_order", order_id=order, reason=env.user.requests[0].reason))
    assert shop.snapshot(env.db) != env.initial


# ---------------------------------------------------------------------- python tool
def test_python_tool_answers_are_never_trivial():
    env = envarena.make("code/python-tool-v0", difficulty="easy")
    for seed in range(100):
        env.reset(seed=seed)
        assert Fraction(env.task.answer) not in trivial_numbers(env.task.question)


@needs_bwrap
def test_python_tool_progress_pays_only_for_a_computed_answer():
    """Printing every integer below 100,000 earned the 'answer seen in tool output' progress."""
    env = envarena.make("code/python-tool-v0", difficulty="easy")
    seed = next(s for s in range(100) if env.reset(seed=s) and env.task.answer < 100_000)
    for code in ["for i in range(100000):\n    print(i)", f"print({env.task.answer})",
                 f"print('candidates: {env.task.answer - 1} {env.task.answer}')\nprint(0)"]:
        env.reset(seed=seed)
        _, reward, _, _, info = env.step(_call("python", code=code))
        assert info["reward_components"].get("progress", 0.0) == 0.0 and reward <= 0.0, code
    env.reset(seed=seed)
    outcome, _ = _answer(env, "1" + "0" * 400)  # raised OverflowError
    assert outcome == 0.0
    env.reset(seed=seed)
    _, reward, _, _, info = env.step(_call("python", code=env.task.program))
    assert info["reward_components"]["progress"] == 0.5  # a real computation still earns it
