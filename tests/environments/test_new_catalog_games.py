"""Minesweeper, Kuhn poker, negotiation and customer service: rules and verifiers by hand."""

from __future__ import annotations

import pytest

import envarena
from envarena.environments.games.kuhn_poker import PLAYERS as POKER_PLAYERS
from envarena.environments.games.kuhn_poker import settle
from envarena.environments.games.minesweeper import Board, LogicSolver, cell_name, deduce, neighbours
from envarena.environments.games.negotiation import PLAYERS as NEGOTIATORS
from envarena.environments.tools import support_world as shop
from envarena.types import Message, ToolCall


# ---------------------------------------------------------------------- minesweeper
def test_minesweeper_counts_and_flood_fill():
    board = Board(4, {(0, 0), (3, 3)})
    assert board.counts[(1, 1)] == 1 and board.counts[(2, 2)] == 1 and board.counts[(0, 3)] == 0
    assert board.reveal((1, 1)) == [(1, 1)]  # a number opens only itself
    opened = board.reveal((0, 3))  # a zero opens its whole region and the numbered border around it
    assert (0, 0) not in opened and (3, 3) not in opened and len(opened) == 13
    assert board.cleared()


def test_minesweeper_deduction_uses_only_visible_numbers():
    board = Board(3, {(0, 0)})
    board.revealed = {(r, c) for r in (1, 2) for c in range(3)}  # the top row is still closed
    safe, mines = deduce(board, set())
    assert (safe, mines) == ({(0, 1), (0, 2)}, set())  # b2's 0 clears b1 and c1; a2's 1 is not yet enough
    board.revealed |= safe
    assert deduce(board, set()) == (set(), {(0, 0)})


@pytest.mark.parametrize("difficulty", ["easy", "medium", "hard"])
def test_minesweeper_boards_are_cleared_by_logic_alone(difficulty):
    env = envarena.make("games/minesweeper-v0", difficulty=difficulty)
    for seed in range(20):
        env.reset(seed=seed)
        solver = LogicSolver(env)
        while not env.done:
            move = solver.act([])
            row, col = int(move[8:]) - 1, "abcdefghi".index(move[7])
            assert (row, col) not in env.board.mines, "the logic solver never guesses"
            env.step(move)
        assert env.outcome == 1.0


def test_minesweeper_mine_ends_the_game_and_moves_are_checked():
    env = envarena.make("games/minesweeper-v0", difficulty="easy")
    env.reset(seed=3)
    closed_safe = next(c for c in env.board.counts if c not in env.board.mines and c not in env.board.revealed)
    opened = next(iter(env.board.revealed))
    for text, expected in [("dig", "Reply with"), (f"reveal {cell_name(opened)}", "already open"), ("reveal z9", "off the board")]:
        obs, _, _, _, info = env.step(text)
        assert expected in obs[0].content and info["reward_components"]["invalid_action"] < 0
    env.step(f"flag {cell_name(closed_safe)}")
    obs, *_ = env.step(f"reveal {cell_name(closed_safe)}")
    assert "unflag it first" in obs[0].content
    mine = next(iter(env.board.mines))
    obs, _, terminated, _, info = env.step(f"reveal {cell_name(mine)}")
    assert terminated and info["outcome"] == 0.0 and "Boom" in obs[0].content
    assert all(len(neighbours(c, 5)) in (3, 5, 8) for c in env.board.counts)


# ---------------------------------------------------------------------- kuhn poker
@pytest.mark.parametrize("history, first, second, won", [
    (("check", "check"), 2, 0, 1), (("check", "check"), 0, 1, -1),
    (("bet", "call"), 2, 1, 2), (("check", "bet", "call"), 0, 2, -2),
    (("bet", "fold"), 0, 2, 1), (("check", "bet", "fold"), 2, 0, -1), (("check",), 2, 0, None),
])
def test_kuhn_settlement(history, first, second, won):
    assert settle(history, first, second) == won


def test_kuhn_match_is_duplicate_and_the_reference_ties_itself():
    env = envarena.make("games/kuhn-poker-v0", hands=6)
    env.reset(seed=4)
    held = {p: [] for p in POKER_PLAYERS}
    while not all(env.terminations.values()):
        player = env.agent_selection
        if not env.history:
            for p in POKER_PLAYERS:
                if len(held[p]) == env.hand:
                    held[p].append(env.card_of(p))
        env.step(env.reference_solver(player).act(env.observe(player)))
    # every deal is played twice with the cards swapped between the players
    for pair in range(3):
        a, b = held[POKER_PLAYERS[0]][2 * pair : 2 * pair + 2]
        c, d = held[POKER_PLAYERS[1]][2 * pair : 2 * pair + 2]
        assert (a, b) == (d, c)
    assert env.outcomes == {p: 0.5 for p in POKER_PLAYERS} and sum(env.chips.values()) == 0


def test_kuhn_rejects_illegal_actions_and_odd_match_lengths():
    env = envarena.make("games/kuhn-poker-v0", opponent="random")
    env.reset(seed=0)
    obs, _, _, _, info = env.step("I call")
    assert "cannot call now" in obs[0].content and info["reward_components"]["legal_move"] < 0
    obs, *_ = env.step("hmm")
    assert "check or bet" in obs[0].content
    with pytest.raises(envarena.InvalidOptionError, match="even number"):
        envarena.make("games/kuhn-poker-v0", hands=3)


# ---------------------------------------------------------------------- negotiation
def test_negotiation_deal_scores_each_side_by_its_own_values():
    env = envarena.make("games/negotiation-v0")
    env.reset(seed=2)
    alice, bob = NEGOTIATORS
    env.values = {alice: (1, 2, 3), bob: (3, 2, 1)}
    env.counts = (1, 1, 2)
    env.step("Take the books, I keep the rest. propose books=0 hats=1 balls=2")
    assert 'They say: "Take the books, I keep the rest."' in env.observe(bob)[-1].content
    env.step("accept")
    assert env.outcomes == {alice: 1.0, bob: 0.0}
    assert "worth 8 points to you" in env.observe(alice)[-1].content


def test_negotiation_checks_moves_and_ends_without_a_deal():
    env = envarena.make("games/negotiation-v0", difficulty="hard")
    env.reset(seed=0)
    alice, bob = NEGOTIATORS
    env.step("accept")
    assert "no proposal from the other player" in env.observe(alice)[-1].content
    env.step("propose books=99")
    assert "There are only" in env.observe(alice)[-1].content
    for _ in range(env.rounds):
        env.step("propose books=0 hats=0 balls=0")  # alice
        env.step("propose books=0 hats=0 balls=0")  # bob
    env.step("I refuse. propose books=1")  # alice has no proposals left and does not accept
    assert env.outcomes == {alice: 0.0, bob: 0.0}
    assert "No deal" in env.observe(bob)[-1].content


# ---------------------------------------------------------------------- customer service
def _call(name: str, **arguments) -> Message:
    return Message.assistant(tool_calls=[ToolCall(id="c", name=name, arguments=arguments)])


def _seed_where(env, wanted, tries: int = 200) -> int:
    """The first seed whose generated conversation satisfies `wanted(env)`."""
    for seed in range(tries):
        env.reset(seed=seed)
        if wanted(env):
            return seed
    raise AssertionError("no seed in range generates the case this test needs")


def _verify(env) -> None:
    user = env.user
    env.step(_call("find_customer_by_email", email=user.email))
    env.step(_call("send_verification_code", customer_id=user.customer_id))
    obs, *_ = env.step("Please tell me the code I sent to your email.")
    code = obs[0].content.split("the code is ")[1].rstrip(".")
    assert "read_inbox" in env.user.actions, "the user reads the code with their own tool"
    obs, *_ = env.step(_call("verify_customer", customer_id=user.customer_id, code=code))
    assert "is verified" in obs[0].content


@pytest.mark.parametrize("question", ["Can you confirm the email on your account?",
                                      "Could you please provide the email address associated with your account?"])
def test_customer_understands_plain_questions(question):
    env = envarena.make("tools/customer-service-v0", difficulty="easy")
    env.reset(seed=0)
    obs, *_ = env.step(question)
    assert obs[0].content == f"My email is {env.user.email}."


def test_customer_service_refuses_changes_without_verification_or_confirmation():
    env = envarena.make("tools/customer-service-v0", difficulty="easy")
    env.reset(seed=1)
    request = env.user.requests[0]
    obs, reward, _, _, info = env.step(_call("list_orders"))
    assert "verify the customer's identity first" in obs[0].content
    assert info["reward_components"]["policy_violation"] < 0 and reward < 0
    _verify(env)
    tool = {"cancel": "cancel_order", "address": "change_address", "return": "return_items"}[request.kind]
    arguments = {"cancel": {"reason": shop.CANCEL_REASONS[0]}, "address": {"address": "9 Bay St, Springfield 11201"},
                 "return": {"item_ids": list(request.item_ids), "refund_method": shop.REFUND_METHODS[0]}}[request.kind]
    obs, _, _, _, info = env.step(_call(tool, order_id=request.order_id, **arguments))
    assert "explicit yes" in obs[0].content and info["reward_components"]["policy_violation"] < 0
    assert shop.snapshot(env.db) == env.initial, "a refused call changes nothing"


def test_customer_service_forbidden_request_must_be_refused_not_done():
    env = envarena.make("tools/customer-service-v0", difficulty="hard")
    env.reset(seed=_seed_where(env, lambda e: not e.user.requests[0].allowed))
    request = env.user.requests[0]
    _verify(env)
    env.step(f"I will {request.kind} order {request.order_id}. Please confirm (yes/no).")
    assert env.user.confirmed_order == request.order_id
    tool = {"cancel": "cancel_order", "address": "change_address", "return": "return_items"}[request.kind]
    arguments = {"cancel": {"reason": shop.CANCEL_REASONS[0]}, "address": {"address": "9 Bay St, Springfield 11201"},
                 "return": {"item_ids": list(request.item_ids), "refund_method": shop.REFUND_METHODS[0]}}[request.kind]
    obs, _, _, _, info = env.step(_call(tool, order_id=request.order_id, **arguments))
    assert "Error" in obs[0].content and info["reward_components"]["policy_violation"] < 0
    obs, *_ = env.step("I'm sorry, I cannot do that under our policy.")
    assert "pity" in obs[0].content


def test_customer_service_outcome_is_the_database_state():
    env = envarena.make("tools/customer-service-v0", difficulty="easy")
    env.reset(seed=_seed_where(env, lambda e: e.user.requests[0].kind == "cancel"))
    request = env.user.requests[0]
    _verify(env)
    obs, *_ = env.step("I will cancel order W1. Please confirm (yes/no).")
    assert "not what I asked for" in obs[0].content and env.user.confirmed_order is None
    env.step(f"I will cancel order {request.order_id}. Please confirm (yes/no).")
    wrong_reason = next(r for r in shop.CANCEL_REASONS if r != request.reason)
    env.step(_call("cancel_order", order_id=request.order_id, reason=wrong_reason))
    assert env._phi() < 1.0, "a change that differs from the expected one is not full progress"
    obs, _, terminated, _, info = env.step(f"Order {request.order_id} is cancelled.")
    assert terminated and info["outcome"] == 0.0, "the order is cancelled, but with the wrong reason on record"


def test_customer_service_return_needs_the_customer_to_drop_off_the_package():
    env = envarena.make("tools/customer-service-v0", difficulty="medium")
    env.reset(seed=_seed_where(env, lambda e: e.user.requests[0].kind == "return" and e.user.requests[0].allowed))
    solver = env.reference_solver()
    observation: list[Message] = []
    while not env.done:
        observation, *_ = env.step(solver.act(observation))
    assert env.outcome == 1.0
    assert any(a.startswith("drop_off_package(") for a in env.user.actions)
    assert env.db.execute("SELECT status FROM returns").fetchall() == [("dropped off",)]
