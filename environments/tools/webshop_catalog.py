"""The generated shop behind `tools/webshop-v0`: product types, seeded products, the shopping
goal with its planted answer and near-misses, and the WebShop-style match score.

Kept apart from the environment so the verdict (`match_score`) is a pure function of trusted
data: a product, the options the environment recorded for it, and the goal.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class ProductType:
    """A kind of product: the words its titles use, the attributes it may have, the options
    (with every value) a product of this kind offers, and its price range in dollars."""

    name: str
    plural: str
    nouns: tuple[str, ...]
    attributes: tuple[str, ...]
    options: Mapping[str, tuple[str, ...]]
    price: tuple[float, float]


_COLORS = ("black", "white", "navy", "heather grey", "red", "olive green", "royal blue", "pink", "beige")
PRODUCT_TYPES: tuple[ProductType, ...] = (
    ProductType("t-shirt", "t-shirts", ("Crew Neck T-Shirt", "Everyday Tee", "Basic T-Shirt"),
                ("machine washable", "organic cotton", "moisture wicking", "tagless", "slim fit", "short sleeve",
                 "recycled polyester", "pre-shrunk"),
                {"size": ("x-small", "small", "medium", "large", "x-large", "xx-large"), "color": _COLORS,
                 "fit": ("men", "women", "unisex")}, (8.0, 40.0)),
    ProductType("running shoe", "running shoes", ("Running Shoe", "Road Runner Sneaker", "Trail Trainer"),
                ("non-slip sole", "breathable mesh", "lightweight", "waterproof", "arch support", "memory foam",
                 "wide toe box", "vegan"),
                {"size": ("6", "7", "8", "9", "10", "11", "12"), "color": ("black", "white", "grey", "blue", "neon yellow"),
                 "width": ("regular", "wide")}, (35.0, 140.0)),
    ProductType("headphones", "headphones", ("Over-Ear Headphones", "Studio Headset", "Travel Headphones"),
                ("wireless", "noise cancelling", "bluetooth 5.3", "foldable", "built-in microphone", "fast charging",
                 "40 hour battery", "lightweight"),
                {"color": ("black", "white", "silver", "midnight blue", "rose gold"), "style": ("over-ear", "on-ear")},
                (20.0, 220.0)),
    ProductType("coffee", "coffee", ("Coffee Beans", "Ground Coffee", "Coffee Blend"),
                ("organic", "fair trade", "single origin", "low acid", "kosher", "non-gmo", "small batch", "arabica"),
                {"size": ("12 ounce", "2 pound", "5 pound"), "roast": ("light", "medium", "dark"),
                 "flavor": ("original", "vanilla", "hazelnut", "caramel", "mocha")}, (7.0, 45.0)),
    ProductType("tea", "tea", ("Herbal Tea", "Tea Bags", "Loose Leaf Tea"),
                ("organic", "caffeine free", "non-gmo", "kosher", "gluten free", "fair trade", "compostable bags"),
                {"flavor": ("green", "chamomile", "earl grey", "peppermint", "chai", "hibiscus"),
                 "count": ("20 bags", "50 bags", "100 bags")}, (4.0, 30.0)),
    ProductType("backpack", "backpacks", ("Daypack", "Laptop Backpack", "Travel Backpack"),
                ("water resistant", "laptop compartment", "anti-theft pocket", "usb charging port", "padded straps",
                 "lightweight", "recycled polyester"),
                {"color": ("black", "grey", "navy", "olive green", "burgundy"), "capacity": ("20 liter", "30 liter", "40 liter")},
                (18.0, 120.0)),
    ProductType("phone case", "phone cases", ("Phone Case", "Protective Cover", "Slim Case"),
                ("shockproof", "slim", "magsafe compatible", "kickstand", "raised edges", "clear back", "anti-scratch"),
                {"model": ("iphone 14", "iphone 15", "iphone 15 pro", "galaxy s23", "pixel 8"),
                 "color": ("black", "clear", "purple", "mint", "red")}, (6.0, 40.0)),
    ProductType("candle", "candles", ("Scented Candle", "Jar Candle", "Candle Tin"),
                ("soy wax", "long lasting", "lead free wick", "hand poured", "vegan", "non-toxic", "gift ready"),
                {"scent": ("lavender", "vanilla", "sandalwood", "eucalyptus", "cinnamon", "ocean breeze"),
                 "size": ("4 ounce", "8 ounce", "16 ounce")}, (8.0, 45.0)),
    ProductType("yoga mat", "yoga mats", ("Yoga Mat", "Exercise Mat", "Pilates Mat"),
                ("non-slip", "extra thick", "eco friendly", "carrying strap", "sweat resistant", "latex free", "lightweight"),
                {"color": ("purple", "teal", "black", "pink", "grey"), "thickness": ("4mm", "6mm", "8mm")}, (15.0, 90.0)),
    ProductType("shampoo", "shampoo", ("Shampoo", "Daily Shampoo", "Repair Shampoo"),
                ("sulfate free", "paraben free", "cruelty free", "color safe", "for dry hair", "natural ingredients", "vegan"),
                {"size": ("8 fl oz", "16 fl oz", "32 fl oz"), "scent": ("unscented", "coconut", "argan", "tea tree", "citrus")},
                (5.0, 38.0)),
    ProductType("water bottle", "water bottles", ("Water Bottle", "Sports Bottle", "Travel Flask"),
                ("insulated", "bpa free", "leak proof", "dishwasher safe", "stainless steel", "wide mouth", "lightweight"),
                {"capacity": ("18 ounce", "24 ounce", "32 ounce", "40 ounce"),
                 "color": ("black", "white", "teal", "lilac", "sage")}, (10.0, 50.0)),
    ProductType("desk lamp", "desk lamps", ("Desk Lamp", "Reading Light", "Task Lamp"),
                ("dimmable", "led", "usb charging port", "touch control", "eye-caring", "adjustable arm", "energy efficient"),
                {"color": ("black", "white", "silver"), "plug": ("us", "eu", "uk")}, (15.0, 80.0)),
)
TYPES = {t.name: t for t in PRODUCT_TYPES}
BRANDS = ("Northwind", "Alderbrook", "Copperleaf", "Driftwell", "Emberline", "Foxhollow", "Glacier Pine", "Harbor & Vale",
          "Ironbark", "Juniper Row", "Kestrel", "Lumen Field", "Maple Crest", "Nimbus", "Oakhaven", "Pebblestone",
          "Quartzline", "Redfern", "Saltmarsh", "Tidewater", "Umberly", "Vantor", "Wrenfield", "Yarrow", "Zephyrine")
_ID_CHARS = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"


@dataclass(frozen=True)
class Product:
    """One product in the shop, as the trusted side keeps it."""

    id: str
    type: str
    brand: str
    title: str
    attributes: tuple[str, ...]
    options: Mapping[str, tuple[str, ...]]
    price: float

    def search_text(self) -> str:
        """What the search engine indexes: the title, the kind and the attributes. Option
        values are choices on the product page, so a search cannot tell which are offered."""
        kind = TYPES[self.type]
        return f"{self.title} {kind.name} {kind.plural} {' '.join(self.attributes)}"

    def description(self) -> str:
        return f"This {self.type} from {self.brand} is {_joined(self.attributes)}."


@dataclass(frozen=True)
class Goal:
    """What the shopper asks for: a kind of product, attributes it must have, option values
    to choose, and a price it must stay under."""

    type: str
    attributes: tuple[str, ...]
    options: Mapping[str, str]
    price_limit: float

    @property
    def parts(self) -> int:
        """Criteria the score counts besides the type: attributes, options and the price."""
        return len(self.attributes) + len(self.options) + 1

    def instruction(self) -> str:
        options = " and ".join(f'{name} "{value}"' for name, value in self.options.items())
        return (f"I am looking for {TYPES[self.type].plural} that are {_joined(self.attributes)}, with {options}, "
                f"and price lower than {self.price_limit:.2f} dollars.")


@dataclass(frozen=True)
class MatchScore:
    """The WebShop reward of a purchase and its parts: type match times the share of the
    criteria met (each required attribute, each required option chosen, the price limit)."""

    type_match: bool
    attributes: int
    options: int
    price_ok: bool
    parts: int

    @property
    def value(self) -> float:
        if not self.type_match:
            return 0.0
        return (self.attributes + self.options + int(self.price_ok)) / self.parts

    def summary(self, goal: Goal) -> str:
        return (f"type {'matches' if self.type_match else 'does not match'}, attributes {self.attributes}/"
                f"{len(goal.attributes)}, options {self.options}/{len(goal.options)}, price "
                f"{'within' if self.price_ok else 'over'} the limit")


def match_score(goal: Goal, product: Product, selected: Mapping[str, str]) -> MatchScore:
    """Score buying `product` with the option values `selected` for it against `goal`.

    An option counts only when it was chosen (as on WebShop's product page: a value the
    product merely offers is not the one bought); the price must be strictly under the limit."""
    return MatchScore(
        type_match=product.type == goal.type,
        attributes=sum(a in product.attributes for a in goal.attributes),
        options=sum(selected.get(name) == value for name, value in goal.options.items()),
        price_ok=product.price < goal.price_limit,
        parts=goal.parts,
    )


def satisfiable(goal: Goal, product: Product) -> bool:
    """Whether some choice of options on `product` earns the full score."""
    return (product.type == goal.type and all(a in product.attributes for a in goal.attributes)
            and all(v in product.options.get(n, ()) for n, v in goal.options.items()) and product.price < goal.price_limit)


@dataclass(frozen=True)
class Level:
    """One difficulty: shop size, goal size, how many near-misses, and the price margin
    (how far above the planted product's price the limit may lie)."""

    products: int
    attributes: int
    options: int
    near_misses: int
    margin: float
    max_turns: int


LEVELS = {
    "easy": Level(products=150, attributes=1, options=1, near_misses=3, margin=0.5, max_turns=15),
    "medium": Level(products=300, attributes=2, options=2, near_misses=6, margin=0.25, max_turns=20),
    "hard": Level(products=600, attributes=3, options=3, near_misses=10, margin=0.1, max_turns=30),
}
_OVER_LIMIT = 0.15  # a price near-miss costs up to this share more than the limit
_SAME_TYPE_SHARE = 0.2  # of the filler products: the planted product's kind, so search alone does not isolate it


@dataclass
class Shop:
    products: dict[str, Product]
    goal: Goal
    target: str
    near_misses: list[str] = field(default_factory=list)


def _joined(words: tuple[str, ...] | list[str]) -> str:
    words = list(words)
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _pick(rng: np.random.Generator, items: tuple[str, ...] | list[str], count: int) -> list[str]:
    """`count` distinct items in a seeded random order."""
    return [items[int(i)] for i in rng.permutation(len(items))[:count]]


class _Factory:
    """Draws products with unique ids for one shop."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.ids: set[str] = set()

    def new_id(self) -> str:
        while True:
            product_id = "B0" + "".join(_ID_CHARS[int(i)] for i in self.rng.integers(len(_ID_CHARS), size=8))
            if product_id not in self.ids:
                self.ids.add(product_id)
                return product_id

    def price(self, low: float, high: float) -> float:
        return round(float(self.rng.uniform(low, high)), 2)

    def options(self, kind: ProductType) -> dict[str, tuple[str, ...]]:
        """Every option of the kind, each with a random subset (two or more) of its values, in catalog order."""
        chosen = {}
        for name, values in kind.options.items():
            keep = set(_pick(self.rng, values, int(self.rng.integers(2, len(values) + 1))))
            chosen[name] = tuple(v for v in values if v in keep)
        return chosen

    def product(self, kind: ProductType, attributes: list[str], options: dict[str, tuple[str, ...]], price: float) -> Product:
        brand = BRANDS[int(self.rng.integers(len(BRANDS)))]
        noun = kind.nouns[int(self.rng.integers(len(kind.nouns)))]
        shown = _pick(self.rng, attributes, min(2, len(attributes)))
        title = f"{brand} {noun} - " + ", ".join(a.title() for a in shown) if shown else f"{brand} {noun}"
        ordered = tuple(a for a in kind.attributes if a in attributes)
        return Product(self.new_id(), kind.name, brand, title, ordered, options, price)

    def filler(self, kind: ProductType) -> Product:
        attributes = _pick(self.rng, kind.attributes, int(self.rng.integers(2, 5)))
        return self.product(kind, attributes, self.options(kind), self.price(*kind.price))


def _near_miss(factory: _Factory, goal: Goal, target: Product, index: int, cheap_below: float | None) -> Product:
    """A product of the goal's kind that fails exactly one criterion: an attribute, an
    option value or the price, in turn (the `index`-th near-miss)."""
    rng, kind = factory.rng, TYPES[goal.type]
    attributes = list(target.attributes)
    options = dict(target.options)
    low = kind.price[0]
    price = factory.price(low, cheap_below if cheap_below is not None else goal.price_limit)
    criteria = [("attribute", a) for a in goal.attributes] + [("option", n) for n in goal.options] + [("price", "")]
    kind_of_miss, which = criteria[index % len(criteria)]
    if kind_of_miss == "attribute":
        attributes.remove(which)
        spare = [a for a in kind.attributes if a not in goal.attributes and a not in attributes]
        if spare:
            attributes.append(spare[int(rng.integers(len(spare)))])
    elif kind_of_miss == "option":
        others = [v for v in kind.options[which] if v != goal.options[which]]
        keep = set(_pick(rng, others, int(rng.integers(1, len(others) + 1))))
        options[which] = tuple(v for v in kind.options[which] if v in keep)
    else:
        price = factory.price(goal.price_limit, goal.price_limit * (1 + _OVER_LIMIT))
    return factory.product(kind, attributes, options, price)



def build_shop(rng: np.random.Generator, level: Level) -> Shop:
    """A shop with exactly one product that can satisfy the goal (the planted target), its
    near-misses (same kind, one criterion off; the first ones cheaper than the target, so
    buying the cheapest match of the kind fails), and fillers of every kind (a filler that
    would satisfy the goal too is drawn again)."""
    factory = _Factory(rng)
    kind = PRODUCT_TYPES[int(rng.integers(len(PRODUCT_TYPES)))]
    required = _pick(rng, kind.attributes, level.attributes)
    extra = [a for a in kind.attributes if a not in required]
    attributes = required + _pick(rng, extra, int(rng.integers(0, 3)))
    options = factory.options(kind)
    names = _pick(rng, list(kind.options), min(level.options, len(kind.options)))
    wanted = {n: options[n][int(rng.integers(len(options[n])))] for n in kind.options if n in names}
    low, high = kind.price
    price = factory.price(low + 0.35 * (high - low), high)
    limit = float(math.ceil(price * (1 + level.margin)))
    goal = Goal(kind.name, tuple(a for a in kind.attributes if a in required), wanted, limit)
    target = factory.product(kind, attributes, options, price)
    products = [target]
    misses = []
    for i in range(level.near_misses):
        cheap = price * 0.8 if i < goal.parts else None
        misses.append(_near_miss(factory, goal, target, i, cheap))
    products += misses
    while len(products) < level.products:
        other = kind if rng.random() < _SAME_TYPE_SHARE else PRODUCT_TYPES[int(rng.integers(len(PRODUCT_TYPES)))]
        product = factory.filler(other)
        if not satisfiable(goal, product):
            products.append(product)
    order = rng.permutation(len(products))
    shelf = {products[int(i)].id: products[int(i)] for i in order}
    return Shop(shelf, goal, target.id, [m.id for m in misses])
