"""Crafter in text: survive on a generated map and craft your way up to a goal tool.

Modelled on Crafter (Hafner, 2021): gather wood, place a table, make pickaxes, mine stone,
coal and iron, while food, drink and energy run down and zombies hunt you. The world and
its rules live in `crafter_world`; this module is the chat layer (commands in, a text view
out), the rewards and the reference solver.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from typing import Any

import numpy as np

from envarena.env import Env, StepResult
from envarena.environments.games.crafter_world import (
    ACHIEVEMENTS,
    COAL,
    COLLECT,
    COW,
    DIRECTIONS,
    EDGE,
    GRASS,
    IRON,
    LEGEND,
    MAKE,
    MAX_ITEM,
    MAX_VITAL,
    NEAR,
    PATH,
    PLACE,
    PLACEABLE,
    PLAYER,
    SAND,
    STONE,
    TABLE,
    TREE,
    WALKABLE,
    WATER,
    ZOMBIE,
    Level,
    World,
    generate,
    with_article,
)
from envarena.task_env import Difficulty
from envarena.types import Message

__all__ = ["COMMANDS", "GOAL_CHAINS", "CrafterEnv", "CrafterSolver", "parse_commands", "render_view", "route"]

#: Per difficulty: the map, the goal tool, and the turn budget. The reference solver's longest
#: episode over 600 seeds took 22 / 39 / 105 replies (it batches moves) and 36 / 87 / 217 ticks,
#: so the budget leaves it a wide margin and still fits an agent that sends one command per reply.
_LEVELS: dict[str, tuple[Level, str, int]] = {
    "easy": (Level(side=24, cows=3, zombies=1, zombie_spawn=0.01), "wood_pickaxe", 100),
    "medium": (Level(side=32, cows=4, zombies=2, zombie_spawn=0.02), "stone_pickaxe", 150),
    "hard": (Level(side=40, cows=5, zombies=3, zombie_spawn=0.03), "iron_pickaxe", 300),
}
#: The achievements on the way to each goal, in the order the recipes force.
GOAL_CHAINS = {
    "wood_pickaxe": ("collect_wood", "place_table", "make_wood_pickaxe"),
    "stone_pickaxe": ("collect_wood", "place_table", "make_wood_pickaxe", "collect_stone", "make_stone_pickaxe"),
    "iron_pickaxe": (
        "collect_wood", "place_table", "make_wood_pickaxe", "collect_stone", "make_stone_pickaxe",
        "collect_coal", "place_furnace", "collect_iron", "make_iron_pickaxe",
    ),
}
ACHIEVEMENT_REWARD = 0.1
MAX_COMMANDS = 5
VIEW_RADIUS = 4
COMMANDS = (
    "noop", *(f"move {d}" for d in DIRECTIONS), "do", "eat", "drink", "sleep",
    *(f"place {p}" for p in PLACE), *(f"make {t.replace('_', ' ')}" for t in MAKE),
)
_COMMAND_SET = frozenset(COMMANDS)
_STRIP = " \t\r\n.!`'\"*"


def parse_commands(text: str) -> list[str] | str:
    """The commands of one reply, or why it cannot be played (a whole reply is refused, so a
    bad command never leaves half a plan executed)."""
    parts = [p for p in (part.strip(_STRIP) for part in text.split(";")) if p]
    if not parts:
        return "Send a command, e.g. `move north` or `do`."
    if len(parts) > MAX_COMMANDS:
        return f"Send at most {MAX_COMMANDS} commands separated by ';' (you sent {len(parts)}); nothing was done."
    commands = []
    for part in parts:
        words = part.lower().replace("_", " ").replace("-", " ").split()
        if words and words[0] in ("go", "walk"):
            words[0] = "move"
        if words and words[0] == "craft":
            words[0] = "make"
        if len(words) == 1 and words[0] in DIRECTIONS:
            words.insert(0, "move")
        command = " ".join(words)
        if command not in _COMMAND_SET:
            shown = part if len(part) <= 60 else part[:60] + "..."
            return f"Unknown command {shown!r}; nothing was done. Commands: {', '.join(COMMANDS)}."
        commands.append(command)
    return commands


def _offset_text(dr: int, dc: int) -> str:
    parts = [f"{abs(dr)} {'north' if dr < 0 else 'south'}"] if dr else []
    parts += [f"{abs(dc)} {'west' if dc < 0 else 'east'}"] if dc else []
    return ", ".join(parts)


def render_view(world: World) -> str:
    """The local view, the nearest thing of each kind in it, vitals and inventory."""
    pr, pc = world.player
    rows, nearest = [], {}
    for dr in range(-VIEW_RADIUS, VIEW_RADIUS + 1):
        row = []
        for dc in range(-VIEW_RADIUS, VIEW_RADIUS + 1):
            cell = (pr + dr, pc + dc)
            creature = world.creatures.get(cell)
            mark = PLAYER if (dr, dc) == (0, 0) else creature.kind if creature else world.material(cell)
            row.append(mark)
            if mark not in (PLAYER, GRASS, SAND, PATH, EDGE):
                gap = abs(dr) + abs(dc)
                if mark not in nearest or gap < nearest[mark][0]:
                    nearest[mark] = (gap, dr, dc)
        rows.append(" ".join(row))
    faced = world.faced()
    faced_mark = world.creatures[faced].kind if faced in world.creatures else world.material(faced)
    ranked = sorted(nearest.items(), key=lambda kv: kv[1])
    near = "; ".join(f"{LEGEND[m]} {_offset_text(dr, dc)}" for m, (_, dr, dc) in ranked)
    items = ", ".join(f"{k.replace('_', ' ')} {n}" for k, n in world.inventory.items() if n) or "nothing"
    return "\n".join([
        f"You are at row {pr}, column {pc} of the {len(world.grid)}x{len(world.grid[0])} map, "
        f"facing {world.facing} ({LEGEND[faced_mark]}).",
        *rows,
        f"Nearest: {near or 'nothing but open ground'}.",
        f"Health {world.health}/{MAX_VITAL}, food {world.food}/{MAX_VITAL}, drink {world.drink}/{MAX_VITAL}, "
        f"energy {world.energy}/{MAX_VITAL}.",
        f"Inventory: {items}.",
    ])


def _rules(goal: str) -> str:
    legend = ", ".join(f"{m} {name}" for m, name in LEGEND.items())
    places = "; ".join(
        f"place {name}: {', '.join(f'{n} {i}' for i, n in needs.items())}{', near a table' if table else ''}"
        for name, (needs, table) in PLACE.items()
    )
    makes = "; ".join(
        f"make {tool.replace('_', ' ')}: {', '.join(f'{n} {i}' for i, n in needs.items())}, near a "
        f"{' and a '.join(LEGEND[s] for s in stations)}"
        for tool, (needs, stations) in MAKE.items()
    )
    mining = "; ".join(f"{LEGEND[m]} needs {with_article(tool)}" for m, (_, tool, _) in COLLECT.items() if tool)
    return (
        f"You are playing a text version of Crafter, a survival and crafting game. Goal: make {with_article(goal)}.\n"
        f"Each reply is one command, or up to {MAX_COMMANDS} separated by ';' (e.g. `move west; move west; do`); "
        f"each command takes one tick. Commands: {', '.join(COMMANDS)}.\n"
        "Moving turns you that way and steps if the cell is free; otherwise you only turn to face it. "
        "`do` acts on the faced cell: collects wood from a tree, mines stone, coal, iron or diamond "
        f"({mining}), drinks water, hits a cow or zombie. `eat` hits a faced cow (a killed cow gives food), "
        "`drink` drinks faced water, `sleep` rests one tick (+1 energy, but zombies hit harder).\n"
        f"Recipes: {places}; {makes}. 'Near' means within {NEAR} cells, diagonals included. "
        f"Things are placed on the faced cell. You carry at most {MAX_ITEM} of each item.\n"
        "Food, drink and energy drop over time; when any is 0 you lose health, otherwise health "
        "slowly returns. Zombies chase you; one that reaches you strikes after a short wind-up, then every "
        "few ticks. At 0 health the game ends.\n"
        f"The view is the 9x9 square around you, north at the top. Legend: {legend}.\n"
        f"Achievements (each rewarded once): {', '.join(ACHIEVEMENTS)}."
    )


class CrafterEnv(Env):
    """Crafter in text: gather, craft and survive on a generated map until you make the goal tool.

    The map (grass, sand, water, trees, stone with coal, iron and diamond, cows, zombies) comes
    from the seed, and the generator checks that the goal's resources are reachable. Easy asks
    for a wood pickaxe on a 24x24 map with one zombie, medium a stone pickaxe on 32x32 with two,
    hard an iron pickaxe on 40x40 with three. Up to 5 commands per reply, separated by ';'.
    Rewards: `progress` (potential: share of the goal's achievement chain unlocked),
    `achievement` (+0.1 per new Crafter achievement, each once), `invalid_action` (unknown or
    impossible commands), and `outcome` (1 for the goal tool, else the chain share; dying ends it).
    """

    reward_range = (-1.0, 1.0 + 1.0 + ACHIEVEMENT_REWARD * len(ACHIEVEMENTS))

    def __init__(
        self, *, difficulty: Difficulty = "medium", max_turns: int | None = None, render_mode: str | None = None
    ) -> None:
        self.difficulty = difficulty
        self.level, self.goal, budget = _LEVELS[difficulty]
        self.chain = GOAL_CHAINS[self.goal]
        super().__init__(max_turns=max_turns or budget, render_mode=render_mode)
        self.world: World = World(grid=[[GRASS]], player=(0, 0), level=self.level)

    def begin_episode(self, options: dict[str, Any] | None) -> list[Message]:
        self.world = generate(self.np_random, self.level, self.goal)
        return [Message.system(_rules(self.goal)), Message.user(render_view(self.world))]

    def chain_share(self) -> float:
        """Verified progress: the share of the goal chain's achievements unlocked so far."""
        return sum(name in self.world.achievements for name in self.chain) / len(self.chain)

    def truncation_outcome(self) -> float:
        return self.chain_share()

    def respond(self, action: Message) -> StepResult:
        commands = parse_commands(action.content)
        if isinstance(commands, str):
            return self.invalid(commands)
        world = self.world
        before = set(world.achievements)
        lines: list[str] = []
        components: dict[str, float] = {}
        for index, command in enumerate(commands):
            events, failure = world.execute(command, self.np_random)
            lines += events
            if failure is not None:
                rest = " The remaining commands were not run." if index + 1 < len(commands) else ""
                lines.append(f"`{command}` failed: {failure}{rest}")
                components["invalid_action"] = -0.1
                break
            if not world.alive or world.inventory[self.goal]:
                break
        new = world.achievements - before
        if new:
            components["achievement"] = ACHIEVEMENT_REWARD * len(new)
        info = {"achievements": sorted(world.achievements), "ticks": world.ticks}
        if world.inventory[self.goal]:
            lines.append(f"You made the {self.goal.replace('_', ' ')}: goal reached!")
            return StepResult([Message.user("\n".join(lines))], 1.0, components, True, 1.0, info)
        share = self.chain_share()
        if not world.alive:
            lines.append(f"You died. Goal chain progress: {share:.2f}.")
            return StepResult([Message.user("\n".join(lines))], share, components, True, share, info)
        lines.append(render_view(world))
        return StepResult([Message.user("\n".join(lines))], share, components, info=info)

    def reference_solver(self) -> CrafterSolver:
        return CrafterSolver(self)

    def random_action(self, rng: np.random.Generator) -> str:
        return COMMANDS[int(rng.integers(len(COMMANDS)))]


# ---------------------------------------------------------------------- reference solver
#: Steps to each goal, in order: ("place", block) or ("make", tool). Swords make zombies quick to kill.
_PLANS = {
    "wood_pickaxe": (("place", "table"), ("make", "wood_pickaxe")),
    "stone_pickaxe": (("place", "table"), ("make", "wood_pickaxe"), ("make", "wood_sword"), ("make", "stone_pickaxe")),
    "iron_pickaxe": (
        ("place", "table"), ("make", "wood_pickaxe"), ("make", "wood_sword"), ("make", "stone_pickaxe"),
        ("place", "furnace"), ("make", "iron_pickaxe"),
    ),
}
#: Where each material comes from and the tool it takes, in gathering order.
_SOURCES = (
    ("wood", TREE, None),
    ("stone", STONE, "wood_pickaxe"),
    ("coal", COAL, "wood_pickaxe"),
    ("iron", IRON, "stone_pickaxe"),
)
_BATCH = 4
_SAFE_GAP = 6
_DANGER_COST = 4
_CREATURE_COST = 8

State = tuple[tuple[int, int], str]


def route(world: World, goal: Callable[[tuple[int, int], str], bool]) -> list[str] | None:
    """The cheapest command sequence to a (cell, facing) state satisfying `goal`.

    Dijkstra over positions and facings: a move steps onto free ground or, when blocked,
    only turns; with a pickaxe, facing a minable block offers `do; move` through it; a cell
    with a creature costs extra (the solver attacks what stands in its way).
    """
    dig = {STONE, COAL} if world.inventory["wood_pickaxe"] else set()
    if world.inventory["stone_pickaxe"]:
        dig.add(IRON)
    danger = {(r + dr, c + dc) for (r, c), x in world.creatures.items() if x.kind == ZOMBIE
              for dr, dc in ((0, 0), *DIRECTIONS.values())}
    start: State = (world.player, world.facing)
    parents: dict[State, tuple[State, tuple[str, ...]] | None] = {start: None}
    best = {start: 0}
    queue = [(0, 0, start)]
    counter = 0
    while queue:
        cost, _, state = heapq.heappop(queue)
        if cost > best[state]:
            continue
        cell, facing = state
        if goal(cell, facing):
            commands: list[str] = []
            while parents[state] is not None:
                state, step = parents[state]  # type: ignore[misc]
                commands[:0] = step
            return commands
        options: list[tuple[State, int, tuple[str, ...]]] = []
        for name, (dr, dc) in DIRECTIONS.items():
            ahead = (cell[0] + dr, cell[1] + dc)
            if world.free(ahead) or ahead == world.player:
                options.append(((ahead, name), 1, (f"move {name}",)))
            elif ahead in world.creatures and world.material(ahead) in WALKABLE:
                # Through a creature only when there is no way round: it has to be killed first.
                options.append(((ahead, name), 1 + _CREATURE_COST, (f"move {name}",)))
            elif name != facing:
                options.append(((cell, name), 1, (f"move {name}",)))
        dr, dc = DIRECTIONS[facing]
        ahead = (cell[0] + dr, cell[1] + dc)
        if world.material(ahead) in dig and ahead not in world.creatures:
            options.append(((ahead, facing), 2, ("do", f"move {facing}")))
        for nxt, step_cost, step in options:
            total = cost + step_cost + (_DANGER_COST if nxt[0] in danger and nxt[0] != cell else 0)
            if total < best.get(nxt, 1 << 30):
                best[nxt] = total
                parents[nxt] = (state, step)
                counter += 1
                heapq.heappush(queue, (total, counter, nxt))
    return None


def _ahead(cell: tuple[int, int], facing: str) -> tuple[int, int]:
    dr, dc = DIRECTIONS[facing]
    return cell[0] + dr, cell[1] + dc


def _cells_near(world: World, station: str) -> set[tuple[int, int]]:
    """Cells from which `station` counts as near."""
    found = set()
    for r, row in enumerate(world.grid):
        for c, mark in enumerate(row):
            if mark == station:
                found.update((r + dr, c + dc) for dr in range(-NEAR, NEAR + 1) for dc in range(-NEAR, NEAR + 1))
    return found


def _walls_in(world: World, cell: tuple[int, int], block: tuple[int, int]) -> bool:
    """Whether a block placed at `block` would cut the open ground around `cell` in two
    (trees cannot be cut down, so a table in a gap between them can close the only way out)."""
    def reach(skip: tuple[int, int] | None) -> int:
        seen, frontier = {cell}, [cell]
        while frontier:
            r, c = frontier.pop()
            for dr, dc in DIRECTIONS.values():
                n = (r + dr, c + dc)
                if n not in seen and n != skip and world.material(n) in WALKABLE:
                    seen.add(n)
                    frontier.append(n)
        return len(seen)

    return reach(block) < reach(None) - 1


def _room_for_furnace(world: World, table: tuple[int, int]) -> bool:
    """Whether, with a table at `table`, a furnace could be placed near it: some free cell
    there can be faced from a cell near the table, reached by walking toward it (a free
    cell can only be faced by stepping in its direction)."""
    def open_(cell: tuple[int, int]) -> bool:
        return cell != table and world.material(cell) in WALKABLE

    for dr in range(-NEAR, NEAR + 1):
        for dc in range(-NEAR, NEAR + 1):
            stand = (table[0] + dr, table[1] + dc)
            if not open_(stand):
                continue
            for mr, mc in DIRECTIONS.values():
                if open_((stand[0] + mr, stand[1] + mc)) and open_((stand[0] - mr, stand[1] - mc)):
                    return True
    return False


class CrafterSolver:
    """Plans from the true map: fight a zombie next to you, keep drink, food and energy up,
    then gather what the remaining recipes need and craft them in order, moving by Dijkstra
    over (cell, facing) and digging through rock once it has a pickaxe."""

    def __init__(self, env: CrafterEnv) -> None:
        self.env = env
        self.need: str | None = None

    def act(self, observation: list[Message]) -> str:
        world = self.env.world
        zombies = [cell for cell, c in world.creatures.items() if c.kind == ZOMBIE]
        gaps = [abs(r - world.player[0]) + abs(c - world.player[1]) for r, c in zombies]
        threat = min(gaps, default=99)
        if threat <= 3 and world.health <= (2 if threat == 1 else 4):
            escape = self._flee(world, zombies)
            if escape is not None:
                return escape
        if threat == 1:
            return self._face_and(world, zombies[gaps.index(1)], "do")
        safe = min(gaps, default=99) > _SAFE_GAP
        plan = self._vital_plan(world, safe) or self._goal_plan(world)
        if plan is None:
            return "noop"
        steps, final = plan
        if not steps:
            return final
        if steps[0].startswith("move ") and steps[0][5:] == world.facing and world.faced() in world.creatures:
            return "do"  # a cow blocks the only way: eat it
        return "; ".join(steps[:_BATCH] if safe else steps[:1])

    @staticmethod
    def _flee(world: World, zombies: list[tuple[int, int]]) -> str | None:
        """Step to the free neighbour farthest from the nearest zombie (they are slower);
        None when no step gains distance."""
        def margin(cell: tuple[int, int]) -> int:
            return min(abs(cell[0] - r) + abs(cell[1] - c) for r, c in zombies)

        options = [(margin(_ahead(world.player, d)), d) for d in DIRECTIONS if world.free(_ahead(world.player, d))]
        best = max(options, default=(0, ""), key=lambda o: o[0])
        return f"move {best[1]}" if best[1] and best[0] > margin(world.player) else None

    @staticmethod
    def _face_and(world: World, cell: tuple[int, int], command: str) -> str:
        direction = next(d for d in DIRECTIONS if _ahead(world.player, d) == cell)
        return command if world.facing == direction else f"move {direction}"

    def _vital_plan(self, world: World, safe: bool) -> tuple[list[str], str] | None:
        if self.need is None:
            low = {"drink": world.drink <= 3, "food": world.food <= 3, "sleep": world.energy <= 2}
            self.need = next((need for need, is_low in low.items() if is_low), None)
        done = {"drink": world.drink >= 8, "food": world.food >= 7, "sleep": world.energy >= 8, None: True}
        if done[self.need]:
            self.need = None
            return None
        if self.need == "sleep":
            return ([], "sleep") if safe else None
        if self.need == "drink":
            steps = route(world, lambda cell, facing: world.material(_ahead(cell, facing)) == WATER)
            final = "drink"
        else:
            cows = {cell for cell, c in world.creatures.items() if c.kind == COW}
            steps = route(world, lambda cell, facing: _ahead(cell, facing) in cows)
            final = "eat"
        if steps is None:
            self.need = None  # nothing reachable now; carry on with the goal
            return None
        return steps, final

    def _goal_plan(self, world: World) -> tuple[list[str], str] | None:
        inv = world.inventory
        remaining = [
            (kind, name) for kind, name in _PLANS[self.env.goal]
            if not (f"place_{name}" in world.achievements if kind == "place" else inv[name])
        ]
        needs: dict[str, int] = {}
        for kind, name in remaining:
            for item, n in (PLACE[name][0] if kind == "place" else MAKE[name][0]).items():
                needs[item] = needs.get(item, 0) + n
        for item, block, tool in _SOURCES:
            if inv[item] < min(MAX_ITEM, needs.get(item, 0)) and (tool is None or inv[tool]):
                steps = route(world, lambda cell, facing, b=block: world.material(_ahead(cell, facing)) == b)
                return None if steps is None else (steps, "do")
        kind, name = remaining[0]
        if kind == "make":
            spots = set.intersection(*(_cells_near(world, s) for s in MAKE[name][1]))
            steps = route(world, lambda cell, facing: cell in spots)
            return None if steps is None else (steps, f"make {name.replace('_', ' ')}")
        table_spots = _cells_near(world, TABLE) if PLACE[name][1] else None
        needs_furnace = ("place", "furnace") in remaining

        def placeable(cell: tuple[int, int], facing: str, careful: bool) -> bool:
            target = _ahead(cell, facing)
            return (
                world.material(target) in PLACEABLE[name] - {WATER}
                and target not in world.creatures
                and (table_spots is None or cell in table_spots)
                and not (careful and _walls_in(world, cell, target))
                and not (careful and needs_furnace and not _room_for_furnace(world, target))
            )

        # Only the table has to leave the way out open and room around it for the furnace:
        # everything else is gathered before the furnace, and the last tool is made where it stands.
        steps = route(world, lambda cell, facing: placeable(cell, facing, name == "table"))
        if steps is None:
            steps = route(world, lambda cell, facing: placeable(cell, facing, False))
        return None if steps is None else (steps, f"place {name}")

