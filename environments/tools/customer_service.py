"""Customer service with dual control (tau-bench style): an agent with shop tools, a scripted
customer with their own tools, and verification by the final state of the shop's database."""

from __future__ import annotations

import hmac
import re
import sqlite3
import unicodedata
from collections import Counter
from collections.abc import Generator
from typing import Any

import numpy as np

from envarena.env import Env, StepResult
from envarena.environments.tools import support_world as shop
from envarena.environments.tools.support_user import Request, ScriptedUser
from envarena.rewards import INVALID_ACTION_PENALTY
from envarena.task_env import Difficulty
from envarena.tools import Tool, tool
from envarena.types import Message, ToolCall

POLICY = f"""Shop support policy
1. Identity first. Before reading a customer's orders or changing anything, find the customer by the email
   on their account, send a verification code to it, and verify the code the customer reads back to you.
2. Only act on orders of the verified customer.
3. Cancellation: only pending orders. The reason must be one of: {', '.join(shop.CANCEL_REASONS)}.
4. Address change: only pending orders; use the full new address the customer gives.
5. Returns: only delivered orders, at most {shop.RETURN_WINDOW_DAYS} days after delivery (today is day {shop.TODAY}).
   Refund to the {' or the '.join(shop.REFUND_METHODS)}, as the customer chooses. After opening a return, give
   the customer the return id and ask them to drop off the package; the return completes when they do.
6. Before any change, describe it (action and order id) and ask the customer to confirm (yes/no). Act only
   after an explicit yes.
7. If the policy does not allow a request, say that you cannot do it and why, and change nothing.
"""
# (customers in the shop, orders per customer, requests per conversation, refused-request share, order ids known)
_LEVELS = {"easy": (5, 3, 1, 0.0, True), "medium": (20, 4, 1, 0.25, False), "hard": (40, 5, 2, 0.4, False)}
POLICY_PENALTY = INVALID_ACTION_PENALTY
_VERIFIED_SHARE = 0.3  # of the progress potential; carrying out the requests is the rest
# Verification codes are secrets: six digits, one-time, compared exactly, and guessing is bounded.
_CODE = re.compile(r"[0-9]{6}")
CODE_ATTEMPTS = 3  # wrong codes before a sent code is void
MAX_CODES_SENT = 5  # codes sent per conversation
_MAX_ADDRESS = 200


def normalize_code(code: str) -> str:
    """What the customer read back, as the ASCII digits it names ('１２３ ４５６' -> '123456')."""
    text = unicodedata.normalize("NFKC", str(code).encode("utf-8", "replace").decode("utf-8"))
    return "".join(text.split())


def _order_view(db: sqlite3.Connection, order_id: str) -> str:
    _, _, status, address, placed, delivered, payment = shop.order_row(db, order_id)
    items = db.execute("SELECT id, product, variant, price, status FROM items WHERE order_id = ? ORDER BY id", (order_id,)).fetchall()
    lines = [f"Order {order_id}: {status}; placed day {placed}" + (f", delivered day {delivered}" if delivered else "")
             + f"; ship to {address}; paid by {payment}"]
    lines += [f"  {i}: {product} ({variant}) {price:.2f} [{state}]" for i, product, variant, price, state in items]
    return "\n".join(lines)


def draw_requests(rng: np.random.Generator, db: sqlite3.Connection, customer: shop.Customer, count: int,
                  refused_share: float, knows_ids: bool) -> list[Request] | None:
    """Requests for one customer: allowed ones the policy permits, refused ones it forbids.

    At least one request is allowed: where every drawn request is forbidden, an allowed one is
    added, so an agent that refuses everything never leaves the shop as expected. None when
    this customer's orders cannot supply the requests (the caller draws another shop).
    """
    orders = {o: shop.order_row(db, o) for o in customer.orders}
    in_window = [o for o, row in orders.items() if row[2] == "delivered" and shop.TODAY - row[5] <= shop.RETURN_WINDOW_DAYS]
    too_late = [o for o, row in orders.items() if row[2] == "delivered" and shop.TODAY - row[5] > shop.RETURN_WINDOW_DAYS]
    pending = [o for o, row in orders.items() if row[2] == "pending"]
    shipped = [o for o, row in orders.items() if row[2] == "shipped"]
    refusals = [bool(rng.random() < refused_share) for _ in range(count)]
    if all(refusals):
        refusals.insert(int(rng.integers(count + 1)), False)
    requests: list[Request] = []
    used: set[str] = set()
    for refuse in refusals:
        options: list[tuple[str, str, bool]] = (
            [("cancel", o, False) for o in shipped] + [("address", o, False) for o in shipped] + [("return", o, False) for o in too_late]
            if refuse else
            [("cancel", o, True) for o in pending] + [("address", o, True) for o in pending] + [("return", o, True) for o in in_window]
        )
        options = [opt for opt in options if opt[1] not in used]
        if not options:
            return None
        kind, order_id, allowed = options[int(rng.integers(len(options)))]
        used.add(order_id)
        items = db.execute("SELECT id, product FROM items WHERE order_id = ? ORDER BY id", (order_id,)).fetchall()
        item_id, product = items[int(rng.integers(len(items)))]
        street = f"{int(rng.integers(1, 400))} {['Maple Rd', 'Bay St', 'Hill Ct', 'Park Ave'][int(rng.integers(4))]}"
        requests.append(Request(
            kind=kind, order_id=order_id, product=product, allowed=allowed, knows_order_id=knows_ids,  # type: ignore[arg-type]
            reason=shop.CANCEL_REASONS[int(rng.integers(2))], address=f"{street}, Springfield 11201",
            item_ids=(item_id,), refund_method=shop.REFUND_METHODS[int(rng.integers(2))],
        ))
    return requests


def carry_out(db: sqlite3.Connection, request: Request) -> None:
    """Apply a request the way a correct agent and customer would (for the expected state)."""
    if not request.allowed:
        return
    if request.kind == "cancel":
        shop.cancel_order(db, request.order_id, request.reason)
    elif request.kind == "address":
        shop.change_address(db, request.order_id, request.address)
    else:
        reply = shop.return_items(db, request.order_id, list(request.item_ids), request.refund_method)
        shop.drop_off(db, reply.split()[1])


class SupportSolver:
    """Follows the policy step by step. It reads the customer's goal from the environment (a
    reference solver may read hidden state) but still asks the customer for every detail the
    tools need, so the whole conversation is exercised."""

    def __init__(self, env: CustomerServiceEnv) -> None:
        self.env = env
        self.script = self._script()
        self.started = False

    def act(self, observation: list[Message]) -> Message:
        if not self.started:
            self.started = True
            return next(self.script)
        return self.script.send(observation)

    @staticmethod
    def _call(name: str, **arguments: Any) -> Message:
        return Message.assistant(tool_calls=[ToolCall(id=f"call_{name}", name=name, arguments=arguments)])

    def _script(self) -> Generator[Message, list[Message], None]:
        said = yield Message.assistant("Hello! Before I can help, I need to verify your identity. What is the email on your account?")
        email = re.search(r"[\w.+-]+@[\w.-]+\.\w+", said[-1].content).group(0).rstrip(".")  # type: ignore[union-attr]
        found = yield self._call("find_customer_by_email", email=email)
        customer_id = re.search(r"C\d+", found[-1].content).group(0)  # type: ignore[union-attr]
        yield self._call("send_verification_code", customer_id=customer_id)
        said = yield Message.assistant("I have sent a verification code to your email. Please tell me the code.")
        code = re.search(r"\d{6}", said[-1].content).group(0)  # type: ignore[union-attr]
        yield self._call("verify_customer", customer_id=customer_id, code=code)
        yield self._call("list_orders")
        for request in self.env.user.requests:
            yield from self._handle(request)

    def _handle(self, request: Request) -> Generator[Message, list[Message], None]:
        order = request.order_id
        yield self._call("get_order", order_id=order)
        if not request.allowed:
            yield Message.assistant(f"I'm sorry, I cannot do that for order {order}: our policy does not allow it "
                                    f"(see the order's status and dates).")
            return
        if request.kind == "cancel":
            said = yield Message.assistant(f"What is the reason for cancelling order {order}: "
                                           f"{' or '.join(shop.CANCEL_REASONS)}?")
            reason = next(r for r in shop.CANCEL_REASONS if r in said[-1].content)
            yield Message.assistant(f"I will cancel order {order} (reason: {reason}). Please confirm (yes/no).")
            yield self._call("cancel_order", order_id=order, reason=reason)
            yield Message.assistant(f"Order {order} is cancelled. Anything else?")
        elif request.kind == "address":
            said = yield Message.assistant("What is the new shipping address?")
            address = said[-1].content.split("The new address is ", 1)[1].rstrip(".")
            yield Message.assistant(f"I will change the address of order {order} to {address}. Please confirm (yes/no).")
            yield self._call("change_address", order_id=order, address=address)
            yield Message.assistant(f"The address of order {order} is updated. Anything else?")
        else:
            said = yield Message.assistant("Should the refund go to the original payment method or a gift card?")
            method = next(m for m in shop.REFUND_METHODS if m in said[-1].content)
            yield Message.assistant(f"I will return item {', '.join(request.item_ids)} from order {order} with a refund to "
                                    f"the {method}. Please confirm (yes/no).")
            opened = yield self._call("return_items", order_id=order, item_ids=list(request.item_ids), refund_method=method)
            return_id = re.search(r"R\d{4}", opened[-1].content).group(0)  # type: ignore[union-attr]
            yield Message.assistant(f"Return {return_id} is open. Please drop off the package to complete it.")


class CustomerServiceEnv(Env):
    """Customer service with dual control, in the style of tau-bench: help a scripted customer
    under a written policy, using shop tools on a SQLite database, while the customer acts on
    their side with their own tools (reading a verification code from their inbox, dropping off a
    return package).

    Requests are cancellations, address changes and returns; some are forbidden by the policy
    and must be refused without changing anything (after looking the order up); every
    conversation has at least one allowed request, so refusing everything never succeeds.
    Verification compares the final database with the state the correct actions produce, and
    needs the customer verified with the one-time code they read back (compared exactly; a
    few wrong codes void it). Easy: one request, the customer knows the order id; medium: a
    bigger shop, the customer names only the product, a quarter of conversations add a
    forbidden request; hard: two requests per conversation, each forbidden with chance 0.4.
    Rewards: `progress` (potential: identity verified, then the share of the expected
    database changes made, minus wrong changes), `policy_violation` (a tool call the policy
    forbids), `tool_error` and `outcome` (1 when the final database equals the expected one,
    the customer was verified and every refused order was looked at).
    """

    default_max_turns = 40

    def __init__(self, *, difficulty: Difficulty = "medium", max_turns: int | None = None, render_mode: str | None = None) -> None:
        self.difficulty = difficulty
        super().__init__(max_turns=max_turns, render_mode=render_mode)
        self.db: sqlite3.Connection | None = None
        self.user = ScriptedUser("", "", "", [])
        self.verified: str | None = None
        self.violations = 0

    # ------------------------------------------------------------------ episode setup
    def begin_episode(self, options: dict[str, Any] | None) -> list[Message]:
        customers, per_customer, count, refused, knows_ids = _LEVELS[self.difficulty]
        rng = self.np_random
        while True:
            db, people = shop.build_shop(rng, customers, per_customer)
            customer = people[int(rng.integers(len(people)))]
            requests = draw_requests(rng, db, customer, count, refused, knows_ids)
            if requests is not None:
                break
            db.close()
        if self.db is not None:
            self.db.close()
        self.db = db
        self.code = f"{int(rng.integers(100000, 1000000))}"
        self.user = ScriptedUser(customer.name, customer.email, customer.id, requests)
        self.verified = None
        self.violations = 0
        self._codes: dict[str, str] = {}  # the code each customer's inbox holds; env memory, never the DB
        self._wrong_codes: Counter[str] = Counter()
        self._sent_log: list[str] = []  # whom each code went to, in order
        self.viewed: set[str] = set()  # orders the agent looked at after verification
        self.initial = shop.snapshot(db)
        expected_db = shop.copy_database(db)
        for request in requests:
            carry_out(expected_db, request)
        self.expected = shop.snapshot(expected_db)
        expected_db.close()
        self.expected_changes = shop.changed_rows(self.initial, self.expected)
        return [Message.system(f"You are a customer-service agent for an online shop. Follow this policy.\n\n{POLICY}"),
                Message.user(self.user.opening())]

    # ------------------------------------------------------------------ agent tools
    def _shop(self) -> sqlite3.Connection:
        assert self.db is not None
        return self.db

    def _require(self, ok: bool, rule: str) -> None:
        if not ok:
            self.violations += 1
            raise shop.PolicyError(rule)

    def _owned_order(self, order_id: str) -> str:
        self._require(self.verified is not None, "policy 1: verify the customer's identity first")
        row = self._shop().execute("SELECT customer_id FROM orders WHERE id = ?", (order_id,)).fetchone()
        if row is None:
            raise ValueError(f"there is no order {order_id}")
        self._require(row[0] == self.verified, f"policy 2: order {order_id} does not belong to the verified customer")
        return order_id

    def _confirmed_change(self, order_id: str, kind: str) -> None:
        """The customer's last yes was to exactly this change: this order and this action."""
        self._owned_order(order_id)
        self._require(self.user.confirmed_order == order_id and self.user.confirmed_kind == kind,
                      f"policy 6: describe the change to order {order_id} and get the customer's explicit yes first")

    def _write(self, operation: Any, *args: Any) -> str:
        try:
            result = operation(self._shop(), *args)
        except shop.PolicyError:
            self.violations += 1
            raise
        self.user.confirmed_order = self.user.confirmed_kind = None  # one yes, one change
        return str(result)

    @tool
    def find_customer_by_email(self, email: str) -> str:
        """Find a customer's id from the email on their account.

        Args:
            email: The customer's email address.
        """
        row = self._shop().execute("SELECT id, name FROM customers WHERE email = ?", (email.strip().lower(),)).fetchone()
        if row is None:
            raise ValueError(f"no customer has the email {email}")
        return f"Customer {row[0]}: {row[1]}."

    @tool
    def send_verification_code(self, customer_id: str) -> str:
        """Send a one-time verification code to the customer's email; the customer reads it to you.

        Args:
            customer_id: The customer's id, e.g. C1001.
        """
        if self._shop().execute("SELECT 1 FROM customers WHERE id = ?", (customer_id,)).fetchone() is None:
            raise ValueError(f"there is no customer {customer_id}")
        if len(self._sent_log) >= MAX_CODES_SENT:
            raise ValueError(f"{MAX_CODES_SENT} codes were sent in this conversation already; no more can be sent")
        # The customer's first code is drawn at reset (same seed, same code); every other code is fresh.
        first = customer_id == self.user.customer_id and customer_id not in self._sent_log
        code = self.code if first else f"{int(self.np_random.integers(100000, 1000000))}"
        self._sent_log.append(customer_id)
        self._codes[customer_id] = code
        self._wrong_codes[customer_id] = 0
        self._shop().execute("INSERT INTO inbox VALUES (?, ?)", (customer_id, f"Your verification code is {code}."))
        return f"A code was sent to the email of {customer_id}."

    @tool
    def verify_customer(self, customer_id: str, code: str) -> str:
        """Check the code the customer read back to you; on success the customer is verified.

        Args:
            customer_id: The customer's id.
            code: The six-digit code the customer gave you.
        """
        expected = self._codes.get(customer_id)
        if expected is None:
            raise ValueError(f"no valid code was sent to {customer_id}; call send_verification_code first")
        given = normalize_code(code)
        if not (_CODE.fullmatch(given) and hmac.compare_digest(given.encode(), expected.encode())):
            self._wrong_codes[customer_id] += 1
            if self._wrong_codes[customer_id] >= CODE_ATTEMPTS:
                del self._codes[customer_id]
                raise ValueError(f"the code does not match; after {CODE_ATTEMPTS} wrong codes it is void: send a new one")
            raise ValueError("the code does not match")
        del self._codes[customer_id]  # one-time
        self.verified = customer_id
        return f"Customer {customer_id} is verified."

    @tool
    def list_orders(self) -> str:
        """List the verified customer's orders with their items."""
        self._require(self.verified is not None, "policy 1: verify the customer's identity first")
        ids = [r[0] for r in self._shop().execute("SELECT id FROM orders WHERE customer_id = ? ORDER BY id", (self.verified,))]
        self.viewed.update(ids)
        return "\n".join(_order_view(self._shop(), o) for o in ids)

    @tool
    def get_order(self, order_id: str) -> str:
        """Show one order: status, dates, address, payment and items.

        Args:
            order_id: The order id, e.g. W2001.
        """
        view = _order_view(self._shop(), self._owned_order(order_id))
        self.viewed.add(order_id)
        return view

    @tool
    def cancel_order(self, order_id: str, reason: str) -> str:
        """Cancel a pending order (needs the customer's confirmation).

        Args:
            order_id: The order id.
            reason: "no longer needed" or "ordered by mistake".
        """
        self._confirmed_change(order_id, "cancel")
        return self._write(shop.cancel_order, order_id, reason)

    @tool
    def change_address(self, order_id: str, address: str) -> str:
        """Change the shipping address of a pending order (needs the customer's confirmation).

        Args:
            order_id: The order id.
            address: The full new address.
        """
        if len(address) > _MAX_ADDRESS:
            raise ValueError(f"an address has at most {_MAX_ADDRESS} characters")
        self._confirmed_change(order_id, "address")
        return self._write(shop.change_address, order_id, address)

    @tool
    def return_items(self, order_id: str, item_ids: list[str], refund_method: str) -> str:
        """Open a return for items of a delivered order (needs the customer's confirmation).

        Args:
            order_id: The order id.
            item_ids: Ids of the items to return, e.g. ["I5003"].
            refund_method: "original payment" or "gift card".
        """
        self._confirmed_change(order_id, "return")
        return self._write(shop.return_items, order_id, item_ids, refund_method)

    # ------------------------------------------------------------------ rewards
    def _dispatch_tools(self, calls: list[ToolCall]) -> StepResult:
        before = self.violations
        result = super()._dispatch_tools(calls)
        if self.violations > before:
            result.components["policy_violation"] = POLICY_PENALTY * (self.violations - before)
        return result

    def _phi(self) -> float:
        verified = _VERIFIED_SHARE if self.verified == self.user.customer_id else 0.0
        if not self.expected_changes:
            return verified
        made = shop.changed_rows(self.initial, shop.snapshot(self._shop()))
        right = len(made & self.expected_changes) - len(made - self.expected_changes)
        return verified + (1 - _VERIFIED_SHARE) * max(0.0, right / len(self.expected_changes))

    def progress_after_tools(self) -> float | None:
        return self._phi()

    def _state_matches(self) -> float:
        """1.0 when the shop is as the correct actions leave it, and the agent did what the
        policy asks before any answer: verified this customer and looked at every order it
        refused to change (a refusal without checking is a guess, even when it is right)."""
        checked = self.verified == self.user.customer_id and all(
            r.order_id in self.viewed for r in self.user.requests if not r.allowed)
        return float(checked and shop.snapshot(self._shop()) == self.expected)

    def respond(self, action: Message) -> StepResult:
        reply, ended = self.user.reply(action.content, self._shop(), verified=self.verified == self.user.customer_id)
        info = {"user_actions": list(self.user.actions)}
        if ended:
            return StepResult([Message.user(reply)], self._phi(), {}, True, self._state_matches(), info)
        return StepResult([Message.user(reply)], self._phi(), info=info)

    def truncation_outcome(self) -> float:
        return self._state_matches()

    def reference_solver(self) -> SupportSolver:
        return SupportSolver(self)

    def random_action(self, rng: np.random.Generator) -> Message:
        tools: list[Tool] = self.tools
        if rng.random() < 0.5:
            return Message.assistant(str(rng.choice(["Hello, how can I help?", "Please confirm (yes/no).",
                                                     "What is your email?", "Sorry, I cannot do that."])))
        chosen = tools[int(rng.integers(len(tools)))]
        order = f"W{int(rng.integers(2001, 2030))}"
        arguments = {"email": "someone@example.com", "customer_id": self.user.customer_id, "code": "123456", "order_id": order,
                     "reason": shop.CANCEL_REASONS[0], "address": "1 Main St, Springfield 11201", "item_ids": ["I5001"],
                     "refund_method": shop.REFUND_METHODS[0]}
        wanted = {k: v for k, v in arguments.items() if k in chosen.parameters.get("properties", {})}
        return Message.assistant(tool_calls=[ToolCall(id="call_random", name=chosen.name, arguments=wanted)])

    def close(self) -> None:
        if self.db is not None:
            self.db.close()
            self.db = None
