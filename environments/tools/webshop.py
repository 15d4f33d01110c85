"""Web shopping in the style of WebShop (Yao et al. 2022): find, configure and buy the product
an instruction asks for in a generated shop of hundreds of products."""

from __future__ import annotations

import unicodedata
from typing import Any

import numpy as np

from envarena.env import Env, StepResult
from envarena.environments.tools.retrieval import BM25, tokens
from envarena.environments.tools.webshop_catalog import LEVELS, TYPES, Goal, MatchScore, Product, build_shop, match_score
from envarena.rewards import FORMAT_PENALTY
from envarena.task_env import Difficulty, extract_answer
from envarena.tools import tool
from envarena.types import Message, ToolCall

PAGE_SIZE = 10
MAX_QUERY_CHARS = 300
_MAX_ID_CHARS = 40
BUY_INSTRUCTIONS = ("To buy, reply with the product id in answer tags, e.g. <answer>B0ABCD1234</answer>: this ends the "
                    "episode and buys that product with the options you selected for it.")
SYSTEM_PROMPT = (
    "You are shopping in an online store for a customer. Use the tools: `search` finds products (ranked, "
    f"{PAGE_SIZE} per page), `view_product` opens a product from your search results (its attributes, options and "
    "price), `select_option` chooses an option value on a product you opened. You can only open products that "
    f"appeared in your search results and only buy products you opened. {BUY_INSTRUCTIONS} The purchase is scored "
    "by how well the product and the chosen options match the request, and whether the price is under the limit."
)


def _normal(text: str) -> str:
    """Case, width and spacing folded, so 'Navy ', 'ＮＡＶＹ' and 'navy' name the same value."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


class _ShopSolver:
    """Searches for the planted product by its title (read from the hidden shop), pages until
    it shows, opens it, chooses the required options in one message and buys it."""

    def __init__(self, env: WebShopEnv) -> None:
        self.env = env
        self.page = 0

    def act(self, observation: list[Message]) -> Message:
        env = self.env
        target = env.products[env.target]
        if target.id not in env.found:
            self.page += 1
            return _call("search", query=target.title, page=self.page)
        if target.id not in env.viewed:
            return _call("view_product", product_id=target.id)
        chosen = env.selected.get(target.id, {})
        missing = [(n, v) for n, v in env.goal.options.items() if chosen.get(n) != v]
        if missing:
            return Message.assistant(tool_calls=[
                ToolCall(id=f"call_{env.turn}_{i}", name="select_option",
                         arguments={"product_id": target.id, "option": n, "value": v}) for i, (n, v) in enumerate(missing)])
        return Message.assistant(f"<answer>{target.id}</answer>")


def _call(name: str, **arguments: Any) -> Message:
    return Message.assistant(tool_calls=[ToolCall(id=f"call_{name}", name=name, arguments=arguments)])


class WebShopEnv(Env):
    """Web shopping in the style of WebShop: search a generated shop, open products, choose
    options and buy the one the instruction asks for.

    Each seed builds a shop of 150 (easy), 300 (medium) or 600 (hard) products of a dozen kinds
    (t-shirts, running shoes, headphones, coffee, ...), each with a title, attributes, options
    with values and a price, and asks for a kind with 1, 2 or 3 required attributes, 1 to 3
    option values and a price limit (tighter on hard). Exactly one product can satisfy the
    request; several near-misses of the same kind fail one criterion each, and the first of
    them are cheaper than it. `search` ranks by BM25 over titles and attributes; products can
    be opened only from search results and bought only once opened; buying is the text reply
    `<answer>ID</answer>`. Rewards: `progress` (potential, settled at the outcome when the episode ends, so a product opened but not bought keeps nothing: the match score of the product in
    hand with its chosen options), `tool_error`, `invalid_action` (buying a product not
    opened), `format` (a reply that buys nothing) and `outcome` (WebShop's score: type match
    times the share of required attributes, chosen option values and the price limit met).
    """

    default_max_turns = LEVELS["medium"].max_turns

    def __init__(self, *, difficulty: Difficulty = "medium", max_turns: int | None = None,
                 render_mode: str | None = None) -> None:
        if difficulty not in LEVELS:
            raise ValueError(f"difficulty must be one of {', '.join(LEVELS)}")
        self.difficulty = difficulty
        self.level = LEVELS[difficulty]
        super().__init__(max_turns=max_turns or self.level.max_turns, render_mode=render_mode)
        self.products: dict[str, Product] = {}
        self.target = ""
        self.near_misses: list[str] = []
        self.goal = Goal("", (), {}, 0.0)
        self.index: BM25 | None = None
        self._reset_session()

    def _reset_session(self) -> None:
        self.found: set[str] = set()  # ids shown in search results
        self.viewed: set[str] = set()  # ids opened with view_product
        self.selected: dict[str, dict[str, str]] = {}  # product id -> option -> value, as recorded here
        self.current: str | None = None  # the product in hand: the last one opened or configured

    # ------------------------------------------------------------------ episode setup
    def begin_episode(self, options: dict[str, Any] | None) -> list[Message]:
        shop = build_shop(self.np_random, self.level)
        self.products, self.goal, self.target, self.near_misses = shop.products, shop.goal, shop.target, shop.near_misses
        self.index = BM25({pid: p.search_text() for pid, p in self.products.items()})
        self._reset_session()
        return [Message.system(SYSTEM_PROMPT), Message.user(f"{self.goal.instruction()} {BUY_INSTRUCTIONS}")]

    # ------------------------------------------------------------------ agent tools
    @tool
    def search(self, query: str, page: int = 1) -> str:
        """Search the shop; returns one page of results (id, title, price), best match first.

        Args:
            query: Words to look for, e.g. "organic cotton t-shirt".
            page: Which page of results to show, starting at 1.
        """
        if len(query) > MAX_QUERY_CHARS:
            raise ValueError(f"a query has at most {MAX_QUERY_CHARS} characters; this one has {len(query)}")
        words = tokens(unicodedata.normalize("NFKC", query))
        if not words:
            raise ValueError("the query has no words to search for (letters or digits)")
        assert self.index is not None
        hits = self.index.search(" ".join(words), k=len(self.products))
        if not hits:
            return f"No products match {query!r}."
        pages = -(-len(hits) // PAGE_SIZE)
        if not 1 <= page <= pages:
            raise ValueError(f"page {page} does not exist; the results have {pages} page(s)")
        shown = hits[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]
        self.found.update(shown)
        lines = [f"{pid} | {self.products[pid].title} | ${self.products[pid].price:.2f}" for pid in shown]
        first = (page - 1) * PAGE_SIZE + 1
        head = f"Results {first}-{first + len(shown) - 1} of {len(hits)} (page {page} of {pages}):"
        return "\n".join([head, *lines])

    def _shown(self, product_id: str, *, opened: bool) -> Product:
        """The product the agent names, if it may act on it: shown by a search (to open it) or
        already opened (to configure or buy it)."""
        pid = _normal(product_id[:_MAX_ID_CHARS]).upper()
        allowed = self.viewed if opened else self.found
        if pid not in allowed:
            where = "products you opened with view_product" if opened else "your search results"
            raise ValueError(f"there is no product {product_id[:_MAX_ID_CHARS]!r} among {where}")
        return self.products[pid]

    @tool
    def view_product(self, product_id: str) -> str:
        """Open a product from your search results: description, attributes, options and price.

        Args:
            product_id: A product id from the search results, e.g. B0ABCD1234.
        """
        product = self._shown(product_id, opened=False)
        self.viewed.add(product.id)
        self.current = product.id
        options = "\n".join(f"  {name}: {', '.join(values)}" for name, values in product.options.items())
        chosen = self.selected.get(product.id, {})
        selected = ", ".join(f"{n} = {v}" for n, v in chosen.items()) or "none yet"
        return (f"Product {product.id}: {product.title}\nKind: {product.type}\nPrice: ${product.price:.2f}\n"
                f"Attributes: {', '.join(product.attributes) or 'none'}\nDescription: {product.description()}\n"
                f"Options (choose with select_option):\n{options}\nSelected: {selected}")

    @tool
    def select_option(self, product_id: str, option: str, value: str) -> str:
        """Choose a value for one option of a product you opened (a later choice replaces it).

        Args:
            product_id: The id of a product you opened with view_product.
            option: The option's name as the product page shows it, e.g. "size".
            value: One of the values the product offers for it, e.g. "large".
        """
        product = self._shown(product_id, opened=True)
        name = _normal(option)
        if name not in product.options:
            raise ValueError(f"product {product.id} has no option {option[:50]!r}; its options: {', '.join(product.options)}")
        offered = product.options[name]
        chosen = _normal(value)
        if chosen not in offered:
            raise ValueError(f"product {product.id} offers no {name} {value[:50]!r}; it offers: {', '.join(offered)}")
        self.selected.setdefault(product.id, {})[name] = chosen
        self.current = product.id
        return f"Selected {name} = {chosen} for {product.id}."

    # ------------------------------------------------------------------ rewards
    def score(self, product_id: str) -> MatchScore:
        """The match score of buying `product_id` now, with the options recorded for it."""
        return match_score(self.goal, self.products[product_id], self.selected.get(product_id, {}))

    def _phi(self) -> float:
        return 0.0 if self.current is None else self.score(self.current).value

    def progress_after_tools(self) -> float | None:
        return self._phi()

    def settled_progress(self) -> float:
        """The bought product's score; 0 when nothing was bought (the turns ran out)."""
        return self.outcome

    def respond(self, action: Message) -> StepResult:
        answer, tagged = extract_answer(action.content)
        if not tagged:
            return StepResult([Message.user(f"That reply buys nothing. {BUY_INSTRUCTIONS}")],
                              components={"format": FORMAT_PENALTY})
        pid = _normal(answer[:_MAX_ID_CHARS]).upper()
        if pid not in self.viewed:
            return self.invalid(f"You can only buy a product you opened with view_product; {answer[:_MAX_ID_CHARS]!r} "
                                f"is not one of them. {BUY_INSTRUCTIONS}")
        verdict = self.score(pid)
        chosen = ", ".join(f"{n} = {v}" for n, v in self.selected.get(pid, {}).items()) or "no options chosen"
        text = (f"You bought {pid} ({self.products[pid].title}; {chosen}) for ${self.products[pid].price:.2f}. "
                f"Score {verdict.value:.2f}: {verdict.summary(self.goal)}.")
        self.current = pid
        return StepResult([Message.user(text)], progress=verdict.value, done=True, outcome=verdict.value,
                          info={"bought": pid, "score_parts": {"type": verdict.type_match, "attributes": verdict.attributes,
                                                                "options": verdict.options, "price": verdict.price_ok}})

    def reference_solver(self) -> _ShopSolver:
        return _ShopSolver(self)

    def random_action(self, rng: np.random.Generator) -> Message:
        """A legal-looking but aimless shopper: searches two words of some kind's vocabulary,
        opens, configures and buys products it came across."""
        roll = rng.random()
        found, viewed = sorted(self.found), sorted(self.viewed)
        if viewed and roll < 0.15:
            return Message.assistant(f"<answer>{viewed[int(rng.integers(len(viewed)))]}</answer>")
        if viewed and roll < 0.35:
            product = self.products[viewed[int(rng.integers(len(viewed)))]]
            name = list(product.options)[int(rng.integers(len(product.options)))]
            value = product.options[name][int(rng.integers(len(product.options[name])))]
            return _call("select_option", product_id=product.id, option=name, value=value)
        if found and roll < 0.6:
            return _call("view_product", product_id=found[int(rng.integers(len(found)))])
        kind = list(TYPES.values())[int(rng.integers(len(TYPES)))]
        words = [kind.plural, kind.attributes[int(rng.integers(len(kind.attributes)))]]
        return _call("search", query=" ".join(words))
