"""tools/webshop-v0: the generated shop, WebShop's partial-credit score, the reference solver,
and the shortcuts a reward-seeking policy would try (each must fall short of 1.0)."""

from __future__ import annotations

import re

import pytest

import envarena
from envarena.environments.tools.webshop import MAX_QUERY_CHARS, PAGE_SIZE, WebShopEnv
from envarena.environments.tools.webshop_catalog import LEVELS, Goal, Product, match_score, satisfiable
from envarena.rewards import FORMAT_PENALTY, INVALID_ACTION_PENALTY, TOOL_ERROR_PENALTY
from envarena.types import Message, ToolCall

DIFFICULTIES = ("easy", "medium", "hard")
SEEDS = range(6)


def _env(difficulty: str = "medium", seed: int = 0, **kwargs) -> WebShopEnv:
    env = envarena.make("tools/webshop-v0", difficulty=difficulty, **kwargs)
    env.reset(seed=seed)
    return env  # type: ignore[return-value]


def _call(name: str, **arguments) -> Message:
    return Message.assistant(tool_calls=[ToolCall(id=f"call_{name}", name=name, arguments=arguments)])


def _ids(text: str) -> list[str]:
    return re.findall(r"^(B0[A-Z0-9]{8}) \|", text, re.M)


def _search(env: WebShopEnv, query: str) -> list[str]:
    observation, *_ = env.step(_call("search", query=query))
    return _ids(observation[0].content)


def _buy(env: WebShopEnv, product_id: str) -> tuple[float, bool, dict]:
    _, reward, terminated, _, info = env.step(f"<answer>{product_id}</answer>")
    return reward, terminated, info


# ---------------------------------------------------------------------- the score
def _product(**changes) -> Product:
    fields = dict(id="B0TEST0001", type="t-shirt", brand="Northwind", title="Northwind Everyday Tee",
                  attributes=("machine washable", "organic cotton", "tagless"),
                  options={"size": ("small", "large"), "color": ("navy", "black")}, price=24.99)
    return Product(**{**fields, **changes})


GOAL = Goal("t-shirt", ("machine washable", "organic cotton"), {"size": "large", "color": "navy"}, 30.0)


@pytest.mark.parametrize(("product", "selected", "expected"), [
    (_product(), {"size": "large", "color": "navy"}, 1.0),
    (_product(), {}, 3 / 5),  # offered but not chosen: options count only when chosen
    (_product(), {"size": "large"}, 4 / 5),
    (_product(), {"size": "small", "color": "navy"}, 4 / 5),
    (_product(attributes=("machine washable",)), {"size": "large", "color": "navy"}, 4 / 5),
    (_product(price=30.0), {"size": "large", "color": "navy"}, 4 / 5),  # "lower than" the limit is strict
    (_product(price=31.5, attributes=()), {}, 0.0),
    (_product(type="yoga mat"), {"size": "large", "color": "navy"}, 0.0),  # wrong kind: nothing counts
])
def test_match_score_gives_webshop_partial_credit(product, selected, expected):
    assert match_score(GOAL, product, selected).value == pytest.approx(expected)


def test_satisfiable_needs_every_criterion_within_reach():
    assert satisfiable(GOAL, _product())
    assert not satisfiable(GOAL, _product(options={"size": ("small",), "color": ("navy",)}))
    assert not satisfiable(GOAL, _product(price=30.0))
    assert not satisfiable(GOAL, _product(attributes=("organic cotton",)))


# ---------------------------------------------------------------------- the generator
@pytest.mark.parametrize("difficulty", DIFFICULTIES)
def test_shop_plants_exactly_one_answer_and_cheaper_near_misses(difficulty):
    level = LEVELS[difficulty]
    for seed in SEEDS:
        env = _env(difficulty, seed)
        goal, target = env.goal, env.products[env.target]
        assert len(env.products) == level.products
        assert [p for p in env.products.values() if satisfiable(goal, p)] == [target]
        assert len(goal.attributes) == level.attributes and 1 <= len(goal.options) <= level.options
        assert len(env.near_misses) == level.near_misses
        for pid in env.near_misses:  # same kind, exactly one criterion out of reach
            miss = env.products[pid]
            best = {n: v for n, v in goal.options.items() if v in miss.options[n]}
            assert match_score(goal, miss, best).value == pytest.approx(1 - 1 / goal.parts)
        in_budget = [p for p in env.products.values() if p.type == goal.type and p.price < goal.price_limit
                     and all(a in p.attributes for a in goal.attributes)]
        assert min(p.price for p in in_budget) < target.price, "buying the cheapest match of the kind must fail"


def test_same_seed_same_shop_and_seeds_differ():
    a, b, c = _env(seed=7), _env(seed=7), _env(seed=8)
    assert a.products == b.products and a.goal == b.goal and a.target == b.target
    assert a.transcript[1].content == b.transcript[1].content
    assert a.products != c.products


# ---------------------------------------------------------------------- the reference solver
@pytest.mark.parametrize("difficulty", DIFFICULTIES)
def test_reference_solver_buys_the_right_product(difficulty):
    for seed in SEEDS:
        env = envarena.make("tools/webshop-v0", difficulty=difficulty)
        observation, _ = env.reset(seed=seed)
        solver, total, done = env.reference_solver(), 0.0, False
        while not done:
            observation, reward, terminated, truncated, info = env.step(solver.act(observation))
            total += reward
            done = terminated or truncated
        assert terminated and info["outcome"] == 1.0 and info["success"], (difficulty, seed)
        assert total == pytest.approx(2.0)  # progress telescopes to 1, plus the outcome


# ---------------------------------------------------------------------- shortcuts a policy would try
def test_buying_without_searching_or_opening_is_refused():
    env = _env()
    _, reward, terminated, _, info = env.step(f"<answer>{env.target}</answer>")  # the right id, never shown
    assert not terminated and info["reward_components"] == {"invalid_action": INVALID_ACTION_PENALTY}
    env.step(_call("view_product", product_id=env.target))  # cannot open it without a search either
    assert env.target not in env.viewed
    shown = _search(env, "backpacks t-shirts coffee")
    reward, terminated, _ = _buy(env, shown[0])  # shown in a search but never opened
    assert not terminated and reward == INVALID_ACTION_PENALTY


@pytest.mark.parametrize("product_id", ["B0NOTREAL1", "", "' OR 1=1 --", "\ud800\u202e" * 500, "x" * 20000],
                         ids=["made-up", "empty", "injection", "surrogates", "20k-chars"])
def test_unknown_ids_are_tool_errors(product_id):
    env = _env()
    _search(env, env.goal.instruction())
    _, reward, _, _, info = env.step(_call("view_product", product_id=product_id))
    assert info["reward_components"]["tool_error"] == TOOL_ERROR_PENALTY
    assert env.viewed == set() and env.current is None
    _, _, terminated, _, info = env.step(f"<answer>{product_id}</answer>")
    assert not terminated and "invalid_action" in info["reward_components"]


def test_options_the_product_does_not_offer_are_refused():
    env = _env()
    shown = _search(env, env.products[env.target].title)
    env.step(_call("view_product", product_id=env.target))
    name = next(iter(env.goal.options))
    missing = next(v for v in ("no such value", "purple polka dots") if v not in env.products[env.target].options[name])
    for option, value in [(name, missing), ("warranty", "lifetime"), (name, "")]:
        observation, reward, *_ = env.step(_call("select_option", product_id=env.target, option=option, value=value))
        assert reward == TOOL_ERROR_PENALTY
        assert re.search(r"offers no|has no option", observation[0].content)
    other = next(p for p in shown if p != env.target)
    _, reward, *_ = env.step(_call("select_option", product_id=other, option=name, value=env.goal.options[name]))
    assert reward == TOOL_ERROR_PENALTY  # shown but never opened
    assert env.selected == {}
    # a value written another way names the same value
    value = env.goal.options[name]
    observation, *_ = env.step(_call("select_option", product_id=env.target, option=f" {name.upper()} ",
                                     value=value.upper().replace(" ", "  ")))
    assert env.selected[env.target] == {name: value}, observation[0].content


def test_toggling_options_cannot_farm_progress():
    env = _env("hard", 3)
    _search(env, env.products[env.target].title)
    env.step(_call("view_product", product_id=env.target))
    name, value = next(iter(env.goal.options.items()))
    wrong = next(v for v in env.products[env.target].options[name] if v != value)
    progress, paid = 0.0, []
    for _ in range(8):
        for v in (value, wrong):
            *_, info = env.step(_call("select_option", product_id=env.target, option=name, value=v))
            paid.append(info["reward_components"]["progress"])
            progress += paid[-1]
    assert max(paid) == pytest.approx(1 / env.goal.parts)  # choosing the right value is worth something once...
    assert progress == pytest.approx(0.0)  # ...and every gain is paid back by the matching loss


@pytest.mark.parametrize("query", ["", "   ", "\u200b\u200d\ufeff\ud800", "!!! ??? ---", "q" * (MAX_QUERY_CHARS + 1)],
                         ids=["empty", "spaces", "invisible", "punctuation", "too-long"])
def test_empty_junk_and_huge_queries_are_tool_errors(query):
    env = _env()
    observation, reward, *_ = env.step(_call("search", query=query))
    assert reward == TOOL_ERROR_PENALTY and observation[0].content.startswith("Error")
    assert env.found == set()


def test_search_is_paged_bounded_and_folds_width():
    env = _env()
    kind = env.goal.type
    plain = _search(env, kind)
    assert 0 < len(plain) <= PAGE_SIZE
    assert _search(env, kind.upper().replace("-", "－").translate({i: i + 0xFEE0 for i in range(0x41, 0x5B)})) == plain
    observation, reward, *_ = env.step(_call("search", query=kind, page=10_000))
    assert reward == TOOL_ERROR_PENALTY and "does not exist" in observation[0].content
    observation, *_ = env.step(_call("search", query=kind, page=2))
    second = _ids(observation[0].content)
    assert second and set(second).isdisjoint(plain)


def test_a_reply_that_buys_nothing_costs_format_and_continues():
    env = _env()
    _, reward, terminated, _, info = env.step("I would buy the navy one, it looks great!")
    assert not terminated and info["reward_components"] == {"format": FORMAT_PENALTY}


def _first_result_policy(env: WebShopEnv, *, cheapest: bool) -> float:
    """Search the instruction, then buy the first result (or the cheapest one of the right kind
    under the limit), choosing the required options where the product offers them."""
    shown = _search(env, env.goal.instruction())
    for pid in shown:
        env.step(_call("view_product", product_id=pid))
    pick = shown[0]
    if cheapest:
        fits = [p for p in shown if env.products[p].type == env.goal.type and env.products[p].price < env.goal.price_limit]
        pick = min(fits or shown, key=lambda p: env.products[p].price)
    for name, value in env.goal.options.items():
        env.step(_call("select_option", product_id=pick, option=name, value=value))
    return _buy(env, pick)[2]["outcome"]


@pytest.mark.parametrize("cheapest", [False, True])
def test_first_result_and_cheapest_result_are_not_enough(cheapest):
    outcomes = [_first_result_policy(_env(d, s), cheapest=cheapest) for d in DIFFICULTIES for s in SEEDS]
    assert sum(o == 1.0 for o in outcomes) <= len(outcomes) // 4, outcomes
    assert sum(outcomes) / len(outcomes) < 0.9


def test_the_right_product_without_its_options_is_partial():
    env = _env("medium", 2)
    _search(env, env.products[env.target].title)
    env.step(_call("view_product", product_id=env.target))
    _, terminated, info = _buy(env, env.target)
    assert terminated and info["outcome"] == pytest.approx((len(env.goal.attributes) + 1) / env.goal.parts)


def test_running_out_of_turns_buys_nothing():
    env = _env("easy", 0, max_turns=3)
    for _ in range(3):
        *_, terminated, truncated, info = env.step(_call("search", query=env.goal.instruction()))
    assert truncated and not terminated and info["outcome"] == 0.0
