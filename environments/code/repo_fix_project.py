"""The generated project of `code/repo-fix-v0`: modules of plain functions, and the bugs put in them.

A project is drawn from a library of function templates grouped into modules (numbers, text,
dates, pricing, inventory, shipping, reports). Templates are `string.Template` sources whose
`$names` are filled per seed: the function names (each has a few synonyms), the constants
(tax rate, discount tiers, separators...) and the names of the functions it calls, possibly
in another module (imported relatively; modules only call modules earlier in `MODULES`, so
imports never cycle). Docstrings state the intended behaviour with the drawn constants: they
are the specification an agent fixes the code against.

Each template lists bug sites (kind, text, replacement) of the kinds a real change slips in:
an operator swapped, an off-by-one, a wrong constant, swapped arguments, a wrong comparison,
a missing case. Nothing here runs any code; `repo_fix` runs projects in the sandbox to pick
the tests that show each bug.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from string import Template
from typing import Any

import numpy as np

from envarena.verifiers.project_calls import ProjectCall

Rng = np.random.Generator
Draw = Callable[[Rng], dict[str, Any]]
Inputs = Callable[[Rng, dict[str, Any]], tuple[Any, ...]]

_WORDS = ("red", "apple", "Blue", "river", "stone", "Quick", "lamp", "garden", "Tiny", "orbit", "maple", "cloud",
          "Silver", "harbor", "pixel", "north", "Coffee", "ember", "violet", "Atlas")  # fmt: skip
_ITEMS = ("bolt", "nut", "gear", "lens", "cable", "valve", "spring", "hinge", "pump", "fuse")
_PUNCT = (" ", " ", ", ", "! ", " - ", "  ", "_", "/")


def _pick(rng: Rng, options: tuple[Any, ...]) -> Any:
    return options[int(rng.integers(len(options)))]


def _int(rng: Rng, low: int, high: int) -> int:
    """An int in [low, high]."""
    return int(rng.integers(low, high + 1))


def _phrase(rng: Rng, words: int) -> str:
    parts = [_pick(rng, _WORDS) for _ in range(words)]
    text = "".join(p + _pick(rng, _PUNCT) for p in parts[:-1]) + parts[-1]
    return text + ("!" if rng.random() < 0.3 else "")


def _near(rng: Rng, value: int, spread: int) -> int:
    """Often exactly `value` (where comparisons go wrong), else within `spread` of it."""
    return value if rng.random() < 0.35 else value + _int(rng, -spread, spread)


@dataclass(frozen=True)
class Bug:
    kind: str
    old: str
    new: str


@dataclass(frozen=True)
class FunctionTemplate:
    key: str
    names: tuple[str, ...]
    source: str  # string.Template: $key of any function names it, $constants from `draw`
    inputs: Inputs
    calls: tuple[str, ...] = ()
    bugs: tuple[Bug, ...] = ()
    draw: Draw = field(default=lambda rng: {})


@dataclass(frozen=True)
class ModuleTemplate:
    key: str
    names: tuple[str, ...]
    doc: str
    functions: tuple[FunctionTemplate, ...]


def _t(key: str, names: tuple[str, ...], source: str, inputs: Inputs, *, calls: tuple[str, ...] = (),
       bugs: tuple[tuple[str, str, str], ...] = (), draw: Draw | None = None) -> FunctionTemplate:
    return FunctionTemplate(key, names, source.strip("\n") + "\n", inputs, calls,
                            tuple(Bug(*b) for b in bugs), draw or (lambda rng: {}))


# ----------------------------------------------------------------------------- the library

NUMBERS = ModuleTemplate("numbers", ("mathutil", "numeric", "calc"), "Small integer helpers.", (
    _t("clamp", ("clamp", "limit", "bounded"), '''
def $clamp(value, low, high):
    """`value` limited to the range [low, high] (low <= high)."""
    return max(low, min(value, high))
''', lambda rng, c: (_int(rng, -50, 150), _int(rng, 0, 30), _int(rng, 60, 100)),
       bugs=(("swapped arguments", "max(low, min(value, high))", "max(high, min(value, low))"),)),
    _t("ceil_div", ("ceil_div", "div_up", "divide_up"), '''
def $ceil_div(numerator, denominator):
    """Integer division rounded up, for a positive denominator: $ceil_div(7, 2) == 4."""
    return -(-numerator // denominator)
''', lambda rng, c: (_int(rng, 0, 5000), _int(rng, 2, 60)),
       bugs=(("missing case", "-(-numerator // denominator)", "numerator // denominator"),)),
    _t("percent_of", ("percent_of", "share", "portion"), '''
def $percent_of(amount, percent):
    """`percent`% of `amount` in whole units, halves rounded up: $percent_of(250, 10) == 25."""
    return (amount * percent + 50) // 100
''', lambda rng, c: (_int(rng, 1, 3000), _int(rng, 1, 45)),
       bugs=(("off-by-one", "(amount * percent + 50) // 100", "(amount * percent) // 100"),
             ("wrong constant", "(amount * percent + 50) // 100", "(amount * percent + 50) // 10"))),
    _t("round_to", ("round_to", "snap", "nearest_multiple"), '''
def $round_to(value, step):
    """`value` rounded to the nearest multiple of `step` (> 0), halves rounded up."""
    return (value + step // 2) // step * step
''', lambda rng, c: (_int(rng, 0, 2000), _int(rng, 2, 50)),
       bugs=(("operator swap", "(value + step // 2)", "(value - step // 2)"),)),
))

TEXT = ModuleTemplate("text", ("textutil", "strings", "text_tools"), "Text helpers for labels and codes.", (
    _t("slugify", ("slugify", "make_slug", "to_slug"), '''
def $slugify(text):
    """Lower-case `text` and join its alphanumeric runs with "$sep": "Hello, World!" -> "hello${sep}world"."""
    words = []
    current = ""
    for char in text.lower():
        if char.isalnum():
            current += char
        elif current:
            words.append(current)
            current = ""
    if current:
        words.append(current)
    return "$sep".join(words)
''', lambda rng, c: (_phrase(rng, _int(rng, 1, 4)),),
       bugs=(("missing case", "    if current:\n        words.append(current)\n", ""),
             ("missing case", "for char in text.lower():", "for char in text:")),
       draw=lambda rng: {"sep": _pick(rng, ("-", "_", "."))}),
    _t("truncate", ("truncate", "shorten", "clip_text"), '''
def $truncate(text, width):
    """`text` if it has at most `width` characters; else cut so that, ending in "$ell", it has exactly `width`."""
    if len(text) <= width:
        return text
    return text[: width - $elen] + "$ell"
''', lambda rng, c: (lambda t: (t, max(len(c["ell"]) + 1, _near(rng, len(t), 6))))(_phrase(rng, _int(rng, 2, 5))),
       bugs=(("wrong comparison", "if len(text) <= width:", "if len(text) < width:"),
             ("off-by-one", "text[: width - $elen]", "text[: width - $elen + 1]")),
       draw=lambda rng: (lambda e: {"ell": e, "elen": len(e)})(_pick(rng, ("...", "~", ".."))),),
    _t("initials", ("initials", "monogram", "name_initials"), '''
def $initials(name):
    """The upper-case first letter of each word of `name`, each followed by "$dot": "ada lovelace" -> "A${dot}L${dot}"."""
    return "".join(part[0].upper() + "$dot" for part in name.split())
''', lambda rng, c: (" ".join(_pick(rng, _WORDS).lower() for _ in range(_int(rng, 1, 4))),),
       bugs=(("missing case", "part[0].upper()", "part[0]"),),
       draw=lambda rng: {"dot": _pick(rng, (".", "", "-"))}),
    _t("count_words", ("count_words", "long_words", "word_count"), '''
def $count_words(text, min_length):
    """How many words of `text` (split on whitespace) have at least `min_length` characters."""
    return sum(1 for word in text.split() if len(word) >= min_length)
''', lambda rng, c: (" ".join(_pick(rng, _WORDS) for _ in range(_int(rng, 2, 8))), _int(rng, 3, 6)),
       bugs=(("wrong comparison", "len(word) >= min_length", "len(word) > min_length"),)),
    _t("make_code", ("make_code", "product_code", "item_code"), '''
def $make_code(name, number):
    """A product code: the slug of `name`, "$sep2", then `number` zero-padded to $width digits."""
    return $slugify(name) + "$sep2" + str(number).zfill($width)
''', lambda rng, c: (_phrase(rng, _int(rng, 1, 3)), _int(rng, 1, 999)), calls=("slugify",),
       bugs=(("off-by-one", "str(number).zfill($width)", "str(number).zfill($width - 1)"),),
       draw=lambda rng: {"sep2": _pick(rng, ("#", ":", "/")), "width": _int(rng, 4, 6)}),
))

DATES = ModuleTemplate("dates", ("calendar_util", "dates", "datemath"), "Calendar arithmetic without datetime.", (
    _t("is_leap", ("is_leap", "leap_year", "is_leap_year"), '''
def $is_leap(year):
    """Gregorian leap years: divisible by 4, except centuries, except every 400 years (2000 is one)."""
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
''', lambda rng, c: (_int(rng, 15, 25) * 100 if rng.random() < 0.4 else _int(rng, 1582, 2600),),
       bugs=(("missing case", "(year % 100 != 0 or year % 400 == 0)", "(year % 100 != 0)"),
             ("wrong comparison", "(year % 100 != 0 or", "(year % 100 == 0 or"))),
    _t("days_in_month", ("days_in_month", "month_length", "month_days"), '''
_MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def $days_in_month(year, month):
    """Days in `month` (1-12) of `year`."""
    if month == 2 and $is_leap(year):
        return 29
    return _MONTH_DAYS[month - 1]
''', lambda rng, c: (_int(rng, 1900, 2100) if rng.random() < 0.7 else 2000, _int(rng, 1, 12)), calls=("is_leap",),
       bugs=(("off-by-one", "_MONTH_DAYS[month - 1]", "_MONTH_DAYS[month % 12]"),)),
    _t("day_of_year", ("day_of_year", "ordinal_day", "day_number"), '''
def $day_of_year(year, month, day):
    """The day's number within its year: January 1 is 1, December 31 is 365 or 366."""
    return sum($days_in_month(year, m) for m in range(1, month)) + day
''', lambda rng, c: (_int(rng, 1900, 2100), _int(rng, 1, 12), _int(rng, 1, 28)), calls=("days_in_month",),
       bugs=(("off-by-one", "for m in range(1, month))", "for m in range(1, month + 1))"),
             ("off-by-one", "range(1, month)) + day", "range(1, month)) + day - 1"))),
    _t("quarter", ("quarter", "quarter_of", "fiscal_quarter"), '''
def $quarter(month):
    """The quarter (1-4) that `month` (1-12) falls in."""
    return (month - 1) // 3 + 1
''', lambda rng, c: (_int(rng, 1, 12),),
       bugs=(("off-by-one", "(month - 1) // 3 + 1", "month // 3 + 1"),)),
))

PRICING = ModuleTemplate("pricing", ("pricing", "billing", "prices"), "Prices in whole cents.", (
    _t("discount_rate", ("discount_rate", "bulk_discount", "volume_discount"), '''
def $discount_rate(quantity):
    """Bulk discount in percent: $r2 from $t2 units up, $r1 from $t1 units up, else 0."""
    if quantity >= $t2:
        return $r2
    if quantity >= $t1:
        return $r1
    return 0
''', lambda rng, c: (max(1, _near(rng, _pick(rng, (c["t1"], c["t2"])), 8)),),
       bugs=(("wrong comparison", "if quantity >= $t2:", "if quantity > $t2:"),
             ("missing case", "    if quantity >= $t2:\n        return $r2\n", ""),
             ("wrong constant", "        return $r1\n", "        return $r1x\n")),
       draw=lambda rng: (lambda r1: {"t1": _int(rng, 5, 15), "t2": _int(rng, 20, 50), "r1": r1,
                                      "r1x": r1 + _int(rng, 1, 4), "r2": _int(rng, 10, 20)})(_int(rng, 3, 8))),
    _t("apply_discount", ("apply_discount", "discounted", "with_discount"), '''
def $apply_discount(price, percent):
    """`price` after a `percent`% discount, the discount rounded half up to whole cents."""
    return price - $percent_of(price, percent)
''', lambda rng, c: (_int(rng, 100, 20000), _int(rng, 1, 40)), calls=("percent_of",),
       bugs=(("operator swap", "return price - $percent_of", "return price + $percent_of"),)),
    _t("add_tax", ("add_tax", "with_tax", "gross"), '''
TAX_PERCENT = $tax


def $add_tax(amount):
    """`amount` plus the $tax% sales tax, the tax rounded half up to whole cents."""
    return amount + $percent_of(amount, TAX_PERCENT)
''', lambda rng, c: (_int(rng, 50, 50000),), calls=("percent_of",),
       bugs=(("wrong constant", "TAX_PERCENT = $tax\n", "TAX_PERCENT = $taxx\n"),),
       draw=lambda rng: (lambda t: {"tax": t, "taxx": t + _pick(rng, (-2, -1, 1, 2, 10))})(_int(rng, 5, 21))),
    _t("line_total", ("line_total", "line_price", "position_total"), '''
def $line_total(unit_price, quantity):
    """`quantity` units at `unit_price` each, after the bulk discount for that quantity."""
    return $apply_discount(unit_price * quantity, $discount_rate(quantity))
''', lambda rng, c: (_int(rng, 50, 3000), _int(rng, 1, 70)), calls=("apply_discount", "discount_rate"),
       bugs=(("swapped arguments", "$discount_rate(quantity))", "$discount_rate(unit_price))"),)),
    _t("order_total", ("order_total", "invoice_total", "basket_total"), '''
def $order_total(lines):
    """Total of an order given as [unit_price, quantity] lines, with the tax added once to the sum."""
    subtotal = 0
    for unit_price, quantity in lines:
        subtotal += $line_total(unit_price, quantity)
    return $add_tax(subtotal)
''', lambda rng, c: ([[_int(rng, 50, 3000), _int(rng, 1, 60)] for _ in range(_int(rng, 1, 4))],),
       calls=("line_total", "add_tax"),
       bugs=(("swapped arguments", "$line_total(unit_price, quantity)", "$line_total(quantity, unit_price)"),)),
))

INVENTORY = ModuleTemplate("inventory", ("inventory", "stock", "warehouse"), "Stock levels as {item: units} dicts.", (
    _t("low_stock", ("low_stock", "needs_restock", "running_low"), '''
def $low_stock(stock, threshold):
    """Names of the items with fewer than `threshold` units, sorted alphabetically."""
    return sorted(name for name, units in stock.items() if units < threshold)
''', lambda rng, c: (lambda t: ({i: max(0, _near(rng, t, 8)) for i in _items(rng)}, t))(_int(rng, 3, 12)),
       bugs=(("wrong comparison", "if units < threshold)", "if units <= threshold)"),
             ("missing case", "return sorted(name for", "return list(name for"))),
    _t("take", ("take", "remove_units", "withdraw"), '''
def $take(stock, name, units):
    """A copy of `stock` with up to `units` of `name` taken out (never below 0); `stock` is not changed."""
    updated = dict(stock)
    updated[name] = max(0, updated.get(name, 0) - units)
    return updated
''', lambda rng, c: (lambda s: (s, _pick(rng, tuple(s)), _int(rng, 1, 25)))({i: _int(rng, 0, 20) for i in _items(rng)}),
       bugs=(("operator swap", "updated.get(name, 0) - units", "updated.get(name, 0) + units"),
             ("swapped arguments", "max(0, updated.get(name, 0) - units)", "max(0, units - updated.get(name, 0))"))),
    _t("fulfil", ("fulfil", "ship_orders", "process_orders"), '''
def $fulfil(stock, orders):
    """Apply `orders` ([name, units] pairs) in turn; return [final stock, names of orders not filled in full]."""
    short = []
    for name, units in orders:
        if stock.get(name, 0) < units:
            short.append(name)
        stock = $take(stock, name, units)
    return [stock, short]
''', lambda rng, c: (lambda s: (s, [[_pick(rng, tuple(s)), _int(rng, 1, 12)] for _ in range(_int(rng, 1, 4))]))(
        {i: _int(rng, 0, 15) for i in _items(rng)}), calls=("take",),
       bugs=(("wrong comparison", "if stock.get(name, 0) < units:", "if stock.get(name, 0) <= units:"),)),
    _t("restock_plan", ("restock_plan", "reorder", "refill_plan"), '''
def $restock_plan(stock, target):
    """Units to order for each item below `target` to bring it up to `target`, as {name: units}."""
    return {name: target - units for name, units in stock.items() if units < target}
''', lambda rng, c: (lambda t: ({i: _int(rng, 0, t + 5) for i in _items(rng)}, t))(_int(rng, 5, 30)),
       bugs=(("swapped arguments", "{name: target - units for", "{name: units - target for"),)),
))

SHIPPING = ModuleTemplate("shipping", ("shipping", "delivery", "logistics"), "Parcel weights, costs and delivery times.", (
    _t("parcel_weight", ("parcel_weight", "total_weight", "packed_weight"), '''
def $parcel_weight(items):
    """Grams of a parcel of [grams_each, quantity] items, plus $pack g of packaging."""
    return sum(grams * quantity for grams, quantity in items) + $pack
''', lambda rng, c: ([[_int(rng, 5, 900), _int(rng, 1, 9)] for _ in range(_int(rng, 1, 4))],),
       bugs=(("operator swap", "sum(grams * quantity for", "sum(grams + quantity for"),),
       draw=lambda rng: {"pack": _int(rng, 20, 300)}),
    _t("shipping_cost", ("shipping_cost", "postage", "freight"), '''
def $shipping_cost(weight_grams, distance_km):
    """Cents to ship: $base, plus $per_kg per started kilogram, plus $per_100 per started 100 km; at most $cap."""
    cost = $base + $per_kg * $ceil_div(weight_grams, 1000) + $per_100 * $ceil_div(distance_km, 100)
    return min(cost, $cap)
''', lambda rng, c: (_int(rng, 100, 9000), _int(rng, 1, 1500)), calls=("ceil_div",),
       bugs=(("swapped arguments", "$ceil_div(weight_grams, 1000)", "$ceil_div(1000, weight_grams)"),
             ("operator swap", "return min(cost, $cap)", "return max(cost, $cap)")),
       draw=lambda rng: {"base": _int(rng, 200, 600), "per_kg": _int(rng, 50, 200), "per_100": _int(rng, 20, 90),
                         "cap": _int(rng, 2000, 3500)}),
    _t("delivery_days", ("delivery_days", "transit_days", "days_to_deliver"), '''
def $delivery_days(distance_km):
    """Days to deliver: 1 up to $d1 km, 2 up to $d2 km, then 1 more per started $d3 km beyond $d2 km."""
    if distance_km <= $d1:
        return 1
    if distance_km <= $d2:
        return 2
    return 2 + $ceil_div(distance_km - $d2, $d3)
''', lambda rng, c: (max(1, _near(rng, _pick(rng, (c["d1"], c["d2"], 3 * c["d2"])), 150)),), calls=("ceil_div",),
       bugs=(("wrong comparison", "if distance_km <= $d1:", "if distance_km < $d1:"),
             ("wrong constant", "return 2 + $ceil_div", "return 1 + $ceil_div")),
       draw=lambda rng: {"d1": _int(rng, 30, 80), "d2": _int(rng, 150, 400), "d3": _int(rng, 150, 300)}),
))

REPORTS = ModuleTemplate("reports", ("reports", "receipts", "formatting"), "Text output for receipts.", (
    _t("format_cents", ("format_cents", "money", "as_price"), '''
def $format_cents(cents):
    """Cents as a price: 1234 -> "${cur}12.34", 5 -> "${cur}0.05", -250 -> "-${cur}2.50"."""
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    return f"{sign}$cur{cents // 100}.{cents % 100:02d}"
''', lambda rng, c: (_int(rng, -3000, 30000) if rng.random() < 0.6 else _int(rng, -9, 9) * 100 + _int(rng, 0, 9),),
       bugs=(("missing case", "{cents % 100:02d}", "{cents % 100}"),
             ("missing case", "    cents = abs(cents)\n", "")),
       draw=lambda rng: {"cur": _pick(rng, ("$", "EUR ", "GBP "))}),
    _t("receipt_line", ("receipt_line", "format_line", "line_text"), '''
def $receipt_line(name, cents, width):
    """A receipt line of exactly `width` characters: `name` (truncated to leave a space) left, the price right."""
    price = $format_cents(cents)
    label = $truncate(name, width - len(price) - 1)
    return label + " " * (width - len(label) - len(price)) + price
''', lambda rng, c: (_phrase(rng, _int(rng, 1, 4)), _int(rng, 1, 20000), _int(rng, 20, 32)),
       calls=("format_cents", "truncate"),
       bugs=(("off-by-one", "width - len(price) - 1)", "width - len(price))"),)),
))

#: Modules in import order: a module only calls functions of modules before it.
MODULES: tuple[ModuleTemplate, ...] = (NUMBERS, TEXT, DATES, PRICING, INVENTORY, SHIPPING, REPORTS)
TEMPLATES: dict[str, FunctionTemplate] = {f.key: f for m in MODULES for f in m.functions}
MODULE_OF: dict[str, ModuleTemplate] = {f.key: m for m in MODULES for f in m.functions}
PACKAGES = ("shopkit", "storefront", "tradelib", "counterpy", "bazaar", "ledgerly", "cartwheel", "merchant")


def _items(rng: Rng) -> list[str]:
    count = _int(rng, 2, 5)
    return [_ITEMS[int(i)] for i in rng.choice(len(_ITEMS), size=count, replace=False)]


# ----------------------------------------------------------------------------- a drawn project


@dataclass
class Function:
    """One function of a drawn project: where it lives and its rendered source block."""

    key: str
    name: str
    module: str  # the module's file stem, e.g. "pricing"
    block: str
    constants: dict[str, Any]


@dataclass
class Project:
    package: str
    modules: list[str]  # module keys in import order
    module_names: dict[str, str]  # module key -> file stem
    functions: dict[str, Function]  # by template key, in module order

    def path(self, module_key: str) -> str:
        return f"{self.package}/{self.module_names[module_key]}.py"

    def import_name(self, function_key: str) -> str:
        return f"{self.package}.{self.functions[function_key].module}"

    def sources(self, blocks: dict[str, str] | None = None) -> dict[str, str]:
        """The package's files; `blocks` replaces some functions' source (a bugged version)."""
        blocks = blocks or {}
        files = {f"{self.package}/__init__.py": f'"""{self.package}: a small shop toolkit."""\n'}
        for module_key in self.modules:
            template = next(m for m in MODULES if m.key == module_key)
            keys = [k for k in self.functions if MODULE_OF[k].key == module_key]
            imports: dict[str, list[str]] = {}
            for key in keys:
                for callee in TEMPLATES[key].calls:
                    other = MODULE_OF[callee].key
                    if other != module_key:
                        imports.setdefault(self.module_names[other], []).append(self.functions[callee].name)
            head = f'"""{template.doc}"""\n'
            if imports:
                lines = (f"from .{m} import {', '.join(sorted(set(n)))}\n" for m, n in sorted(imports.items()))
                head += "\n" + "".join(lines)
            body = "\n\n".join(blocks.get(k, self.functions[k].block) for k in keys)
            files[self.path(module_key)] = head + "\n\n" + body
        return files

    def pool(self, rng: Rng, key: str, size: int) -> list[ProjectCall]:
        """Distinct calls of one function with drawn arguments."""
        function = self.functions[key]
        seen: dict[str, ProjectCall] = {}
        for _ in range(size * 3):
            args = TEMPLATES[key].inputs(rng, function.constants)
            seen.setdefault(repr(args), ProjectCall(self.import_name(key), function.name, args))
            if len(seen) >= size:
                break
        return list(seen.values())

    def callers(self, key: str) -> set[str]:
        """The functions whose result can change when `key` changes (itself included)."""
        found = {key}
        changed = True
        while changed:
            changed = False
            for other in self.functions:
                if other not in found and found & set(TEMPLATES[other].calls):
                    found.add(other)
                    changed = True
        return found


def _closure(keys: set[str]) -> set[str]:
    result, frontier = set(keys), list(keys)
    while frontier:
        for callee in TEMPLATES[frontier.pop()].calls:
            if callee not in result:
                result.add(callee)
                frontier.append(callee)
    return result


def draw_project(rng: Rng, module_count: int) -> Project:
    """A package of about `module_count` modules (the callees a function needs come along)."""
    order = [MODULES[int(i)] for i in rng.permutation(len(MODULES))]
    keys: set[str] = set()
    modules: set[str] = set()
    for module in order:
        if len(modules) >= module_count:
            break
        size = min(len(module.functions), _int(rng, 2, 4))
        chosen = {module.functions[int(i)].key for i in rng.choice(len(module.functions), size=size, replace=False)}
        wanted = _closure(chosen)
        new_modules = {MODULE_OF[k].key for k in wanted} | modules
        if len(new_modules) > module_count:
            continue
        keys |= wanted
        modules = new_modules
    module_keys = [m.key for m in MODULES if m.key in modules]
    names = {m.key: _pick(rng, m.names) for m in MODULES if m.key in modules}
    ordered = [f.key for m in MODULES for f in m.functions if f.key in keys]
    chosen_names = {k: _pick(rng, TEMPLATES[k].names) for k in ordered}
    functions: dict[str, Function] = {}
    for key in ordered:
        template = TEMPLATES[key]
        constants = template.draw(rng)
        block = Template(template.source).substitute({**chosen_names, **constants})
        functions[key] = Function(key, chosen_names[key], names[MODULE_OF[key].key], block, constants)
    return Project(_pick(rng, PACKAGES), module_keys, names, functions)


@dataclass(frozen=True)
class InjectedBug:
    """A bug put into one function: the solver swaps `buggy` back for `fixed` in `path`."""

    key: str
    kind: str
    path: str
    buggy: str
    fixed: str


def inject(project: Project, key: str, bug: Bug) -> InjectedBug:
    function = project.functions[key]
    values = {**{k: f.name for k, f in project.functions.items()}, **function.constants}
    old, new = (Template(text).substitute(values) for text in (bug.old, bug.new))
    if function.block.count(old) != 1:
        raise ValueError(f"bug site {old!r} of {key} is not unique")
    buggy = function.block.replace(old, new, 1)
    return InjectedBug(key, bug.kind, project.path(MODULE_OF[key].key), buggy, function.block)


def visible_test_file(project: Project, module_key: str, cases: list[tuple[str, ProjectCall, Any]]) -> str:
    """A pytest file for one module's visible tests: (test name, call, expected value)."""
    names = sorted({call.function for _, call, _ in cases})
    lines = [f'"""Tests of {project.package}.{project.module_names[module_key]}."""\n',
             f"from {project.package}.{project.module_names[module_key]} import {', '.join(names)}\n"]
    for name, call, expected in cases:
        lines.append(f"\ndef {name}():\n    assert {call.describe()} == {expected!r}\n")
    return "\n".join(lines)
