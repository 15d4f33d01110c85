"""The customer in the customer-service environment: a scripted user who holds the goal.

The user knows what they want and their own details, reveals a detail only when asked for it,
agrees only to the action they want (a proposal naming one order and one action), and acts on
their side through their own tools: reading the verification code from their inbox and
dropping off a return package. It understands the
agent by keywords, so an agent that speaks plainly ("what is your email?", "please confirm
(yes/no)") is understood whatever else it says.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass, field
from typing import Literal

from envarena.environments.tools.support_world import drop_off

RequestKind = Literal["cancel", "address", "return"]
_CONFIRMATION = re.compile(r"\b(confirm|proceed|go ahead|shall i|should i|would you like me to|do you want me to|yes/no|yes or no)\b")
_REFUSAL = re.compile(r"\b(cannot|can't|can not|unable|not able|not allowed|not possible|not eligible|policy does not)\b")
_RETURN_ID = re.compile(r"\b(r\d{4})\b")
_ORDER_ID = re.compile(r"\bw\d+\b")
_ACTION_WORDS = {"cancel": re.compile(r"\bcancel"), "address": re.compile(r"\baddress"),
                 "return": re.compile(r"\breturn\b")}


@dataclass
class Request:
    """One thing the user wants; `allowed` is False when the shop's policy forbids it."""

    kind: RequestKind
    order_id: str
    product: str
    allowed: bool = True
    knows_order_id: bool = True
    reason: str = ""
    address: str = ""
    item_ids: tuple[str, ...] = ()
    refund_method: str = ""

    def reference(self) -> str:
        return f"order {self.order_id}" if self.knows_order_id else f"the order with my {self.product}"

    def ask(self) -> str:
        if self.kind == "cancel":
            return f"I'd like to cancel {self.reference()}."
        if self.kind == "address":
            return f"I need to change the shipping address of {self.reference()}."
        return f"I want to return my {self.product} from {self.reference()}."


@dataclass
class ScriptedUser:
    name: str
    email: str
    customer_id: str
    requests: list[Request]
    current: int = 0
    confirmed_order: str | None = None  # the order the user last said "yes" to an action on
    confirmed_kind: RequestKind | None = None  # and that action
    finished: bool = False
    actions: list[str] = field(default_factory=list)  # the user's own tool calls, for the record

    def opening(self) -> str:
        return f"Hi, this is {self.name}. {self.requests[0].ask()}"

    # ------------------------------------------------------------------ the user's own tools
    def read_inbox(self, db: sqlite3.Connection) -> str | None:
        self.actions.append("read_inbox")
        row = db.execute("SELECT message FROM inbox WHERE customer_id = ? ORDER BY rowid DESC LIMIT 1", (self.customer_id,)).fetchone()
        found = re.search(r"\d{6}", row[0]) if row else None
        return found.group(0) if found else None

    def drop_off_package(self, db: sqlite3.Connection, return_id: str) -> None:
        self.actions.append(f"drop_off_package({return_id})")
        drop_off(db, return_id)

    # ------------------------------------------------------------------ conversation
    def done_with(self, request: Request, db: sqlite3.Connection) -> bool:
        """Whether the shop's records show the request carried out (returns: dropped off too)."""
        status, address = db.execute("SELECT status, address FROM orders WHERE id = ?", (request.order_id,)).fetchone()
        if request.kind == "cancel":
            return status == "cancelled"
        if request.kind == "address":
            return address == request.address
        rows = db.execute("SELECT status FROM returns WHERE order_id = ?", (request.order_id,)).fetchall()
        return any(r[0] == "dropped off" for r in rows)

    def _next(self, preface: str) -> tuple[str, bool]:
        self.current += 1
        self.confirmed_order = self.confirmed_kind = None
        if self.current == len(self.requests):
            self.finished = True
            return f"{preface} That's all I needed, goodbye.", True
        return f"{preface} One more thing: {self.requests[self.current].ask()}", False

    def reply(self, agent_text: str, db: sqlite3.Connection, verified: bool) -> tuple[str, bool]:
        """The user's answer to the agent's message, and whether the user ends the conversation."""
        if self.finished:
            return "I have nothing else, thanks.", True
        text = agent_text.lower()
        request = self.requests[self.current]
        if request.allowed and self.done_with(request, db):
            return self._next("Great, thank you!")
        if request.allowed and request.kind == "return":
            for return_id in _RETURN_ID.findall(text):
                row = db.execute("SELECT order_id, status FROM returns WHERE id = ?", (return_id.upper(),)).fetchone()
                if row and row[0] == request.order_id and row[1] == "awaiting drop-off":
                    self.drop_off_package(db, return_id.upper())
                    return self._next(f"I've dropped off the package for {return_id.upper()}.")
        if not request.allowed and _REFUSAL.search(text):
            return self._next("I see, that's a pity.")
        names_an_order = re.search(r"\bw\d{4}\b", text) is not None
        if "code" in text and not verified and not names_an_order:
            code = self.read_inbox(db)
            return (f"I checked my inbox: the code is {code}.", False) if code else ("I haven't received any code.", False)
        if "email" in text and not names_an_order:  # "can you confirm your email?" asks for the email
            return f"My email is {self.email}.", False
        if _CONFIRMATION.search(text):
            return self._confirm(request, text)
        return self._details(request, text), False

    def _confirm(self, request: Request, text: str) -> tuple[str, bool]:
        """Yes only to a proposal that names this order alone and this action alone: a message
        that lists several orders or several actions is not a description of one change."""
        named_orders = set(_ORDER_ID.findall(text))
        named_actions = {kind for kind, word in _ACTION_WORDS.items() if word.search(text)}
        if named_orders == {request.order_id.lower()} and named_actions == {request.kind}:
            self.confirmed_order, self.confirmed_kind = request.order_id, request.kind
            return "Yes, please go ahead.", False
        self.confirmed_order = self.confirmed_kind = None
        return f"No, that's not what I asked for. {request.ask()}", False

    def _details(self, request: Request, text: str) -> str:
        if "reason" in text and request.kind == "cancel":
            return f"The reason: {request.reason}."
        if any(w in text for w in ("refund", "gift card", "payment")) and request.kind == "return":
            return f"Please refund it to my {request.refund_method}."
        if "address" in text and request.kind == "address":
            return f"The new address is {request.address}."
        if any(w in text for w in ("which", "order", "item", "product")):
            return f"It's {request.reference()}; the item is my {request.product}."
        return request.ask()
