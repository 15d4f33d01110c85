"""The shop behind the customer-service environment: a SQLite database, its seeded contents, the
write operations both the agent's tools and the expected-state builder use, and the state
snapshot that verification compares."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field

import numpy as np

TODAY = 100  # days since the shop opened; return windows count from here
RETURN_WINDOW_DAYS = 30
CANCEL_REASONS = ("no longer needed", "ordered by mistake")
REFUND_METHODS = ("original payment", "gift card")
_FIRST = ["Ana", "Bruno", "Chen", "Dara", "Emil", "Farah", "Goran", "Hiro", "Ines", "Jonas", "Kemi", "Luca", "Mei", "Nadia"]
_LAST = ["Alves", "Brandt", "Costa", "Dubois", "Evans", "Fischer", "Garcia", "Haddad", "Ivanov", "Jensen", "Kowalski", "Lopez"]
_STREETS = ["Elm St", "Harbor Rd", "Mill Lane", "Oak Ave", "Pine Ct", "River Way", "Station Sq", "Willow Dr"]
_CITIES = [("Springfield", "11201"), ("Riverton", "22314"), ("Lakeside", "33602"), ("Hillview", "44113"), ("Fairport", "55401")]
PRODUCTS = [("kettle", "1.7 l"), ("desk lamp", "LED"), ("backpack", "30 l"), ("headphones", "wireless"), ("yoga mat", "6 mm"),
            ("coffee grinder", "burr"), ("water bottle", "1 l"), ("umbrella", "compact"), ("keyboard", "mechanical"),
            ("running shoes", "size 42"), ("blender", "600 W"), ("sunglasses", "polarized")]
COLORS = ["black", "blue", "green", "red", "white", "grey"]
_PAYMENTS = ["credit card", "paypal", "gift card"]
SCHEMA = """
CREATE TABLE customers (id TEXT PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL UNIQUE, zip TEXT NOT NULL);
CREATE TABLE orders (id TEXT PRIMARY KEY, customer_id TEXT NOT NULL REFERENCES customers(id), status TEXT NOT NULL,
    address TEXT NOT NULL, placed_day INTEGER NOT NULL, delivered_day INTEGER, payment TEXT NOT NULL, cancel_reason TEXT);
CREATE TABLE items (id TEXT PRIMARY KEY, order_id TEXT NOT NULL REFERENCES orders(id), product TEXT NOT NULL,
    variant TEXT NOT NULL, price REAL NOT NULL, status TEXT NOT NULL);
CREATE TABLE returns (id TEXT PRIMARY KEY, order_id TEXT NOT NULL REFERENCES orders(id), item_ids TEXT NOT NULL,
    refund_method TEXT NOT NULL, amount REAL NOT NULL, status TEXT NOT NULL);
CREATE TABLE inbox (customer_id TEXT NOT NULL, message TEXT NOT NULL);
"""
# Tables whose final contents decide the outcome; the inbox is the user's device, not the shop's record.
VERIFIED_TABLES = ("customers", "orders", "items", "returns")


class PolicyError(ValueError):
    """An operation the shop's rules forbid; the message says which rule."""


@dataclass
class Customer:
    id: str
    name: str
    email: str
    zip: str
    orders: list[str] = field(default_factory=list)


def build_shop(rng: np.random.Generator, customers: int, orders_per_customer: int) -> tuple[sqlite3.Connection, list[Customer]]:
    """A fresh in-memory shop; the same generator state always builds the same rows.

    Every customer gets orders in each status so any request type can be drawn for them.
    """
    db = sqlite3.connect(":memory:", check_same_thread=False)  # env steps run on worker threads
    db.executescript(SCHEMA)
    people: list[Customer] = []
    order_no, item_no = 2001, 5001
    statuses = ["pending", "delivered", "shipped", "delivered", "pending", "delivered", "cancelled"]
    for i in range(customers):
        first, last = _FIRST[int(rng.integers(len(_FIRST)))], _LAST[int(rng.integers(len(_LAST)))]
        city, zip_code = _CITIES[int(rng.integers(len(_CITIES)))]
        person = Customer(f"C{1001 + i}", f"{first} {last}", f"{first}.{last}{i}@example.com".lower(), zip_code)
        db.execute("INSERT INTO customers VALUES (?, ?, ?, ?)", (person.id, person.name, person.email, person.zip))
        address = f"{int(rng.integers(1, 400))} {_STREETS[int(rng.integers(len(_STREETS)))]}, {city} {zip_code}"
        used_products: set[str] = set()
        for k in range(orders_per_customer):
            status = statuses[k % len(statuses)]
            placed = TODAY - int(rng.integers(1, 20)) if status in ("pending", "shipped") else TODAY - int(rng.integers(10, 70))
            delivered = min(TODAY, placed + int(rng.integers(2, 8))) if status == "delivered" else None
            order_id = f"W{order_no}"
            order_no += 1
            db.execute("INSERT INTO orders VALUES (?, ?, ?, ?, ?, ?, ?, NULL)",
                       (order_id, person.id, status, address, placed, delivered, _PAYMENTS[int(rng.integers(len(_PAYMENTS)))]))
            for _ in range(int(rng.integers(1, 3))):
                choices = [p for p in PRODUCTS if p[0] not in used_products]
                product, spec = choices[int(rng.integers(len(choices)))]
                used_products.add(product)  # a product appears once per customer, so naming it finds the order
                variant = f"{COLORS[int(rng.integers(len(COLORS)))]}, {spec}"
                db.execute("INSERT INTO items VALUES (?, ?, ?, ?, ?, ?)",
                           (f"I{item_no}", order_id, product, variant, round(float(rng.uniform(9, 180)), 2),
                            "cancelled" if status == "cancelled" else "ordered"))
                item_no += 1
            person.orders.append(order_id)
        people.append(person)
    db.commit()
    return db, people


def copy_database(db: sqlite3.Connection) -> sqlite3.Connection:
    clone = sqlite3.connect(":memory:", check_same_thread=False)
    db.backup(clone)
    return clone


def snapshot(db: sqlite3.Connection) -> dict[str, list[tuple]]:
    """Every verified table's rows, sorted: equal snapshots mean equal shop states."""
    return {table: sorted(db.execute(f"SELECT * FROM {table}").fetchall()) for table in VERIFIED_TABLES}  # noqa: S608


def changed_rows(before: dict[str, list[tuple]], after: dict[str, list[tuple]]) -> set[tuple[str, tuple]]:
    """Rows present after but not before (new or modified), as (table, row)."""
    return {(table, row) for table in VERIFIED_TABLES for row in set(after[table]) - set(before[table])}


# ---------------------------------------------------------------------- shop operations
def order_row(db: sqlite3.Connection, order_id: str) -> tuple:
    row = db.execute("SELECT id, customer_id, status, address, placed_day, delivered_day, payment FROM orders WHERE id = ?",
                     (order_id,)).fetchone()
    if row is None:
        raise ValueError(f"there is no order {order_id}")
    return row


def cancel_order(db: sqlite3.Connection, order_id: str, reason: str) -> str:
    status = order_row(db, order_id)[2]
    if status != "pending":
        raise PolicyError(f"order {order_id} is {status}; only pending orders can be cancelled")
    if reason not in CANCEL_REASONS:
        raise PolicyError(f"the reason must be one of: {', '.join(CANCEL_REASONS)}")
    db.execute("UPDATE orders SET status = 'cancelled', cancel_reason = ? WHERE id = ?", (reason, order_id))
    db.execute("UPDATE items SET status = 'cancelled' WHERE order_id = ?", (order_id,))
    return f"Order {order_id} is cancelled ({reason}). The payment will be refunded in full."


def change_address(db: sqlite3.Connection, order_id: str, address: str) -> str:
    status = order_row(db, order_id)[2]
    if status != "pending":
        raise PolicyError(f"order {order_id} is {status}; the address can only change while an order is pending")
    if len(address.strip()) < 8:
        raise ValueError("give the full address: street, number, city and postcode")
    db.execute("UPDATE orders SET address = ? WHERE id = ?", (address.strip(), order_id))
    return f"Order {order_id} will ship to {address.strip()}."


def return_items(db: sqlite3.Connection, order_id: str, item_ids: list[str], refund_method: str) -> str:
    _, _, status, _, _, delivered, _ = order_row(db, order_id)
    if status != "delivered":
        raise PolicyError(f"order {order_id} is {status}; only delivered orders can be returned")
    if TODAY - int(delivered) > RETURN_WINDOW_DAYS:
        raise PolicyError(f"order {order_id} was delivered {TODAY - int(delivered)} days ago; returns close after {RETURN_WINDOW_DAYS} days")
    if refund_method not in REFUND_METHODS:
        raise PolicyError(f"the refund method must be one of: {', '.join(REFUND_METHODS)}")
    if not item_ids:
        raise ValueError("name at least one item to return")
    rows = {r[0]: r for r in db.execute("SELECT id, price, status FROM items WHERE order_id = ?", (order_id,))}
    for item in item_ids:
        if item not in rows:
            raise ValueError(f"item {item} is not part of order {order_id}")
        if rows[item][2] != "ordered":
            raise PolicyError(f"item {item} is already {rows[item][2]}")
    number = db.execute("SELECT COUNT(*) FROM returns").fetchone()[0] + 1
    return_id = f"R{3000 + number}"
    amount = round(sum(rows[i][1] for i in item_ids), 2)
    db.execute("INSERT INTO returns VALUES (?, ?, ?, ?, ?, 'awaiting drop-off')",
               (return_id, order_id, ",".join(sorted(item_ids)), refund_method, amount))
    db.executemany("UPDATE items SET status = 'return requested' WHERE id = ?", [(i,) for i in item_ids])
    return (f"Return {return_id} is open for {', '.join(sorted(item_ids))} ({amount:.2f} to {refund_method}). "
            "The customer must drop the package off; the refund follows once it is scanned.")


def drop_off(db: sqlite3.Connection, return_id: str) -> str:
    row = db.execute("SELECT status FROM returns WHERE id = ?", (return_id,)).fetchone()
    if row is None:
        raise ValueError(f"there is no return {return_id}")
    db.execute("UPDATE returns SET status = 'dropped off' WHERE id = ?", (return_id,))
    return f"Package for {return_id} dropped off."
