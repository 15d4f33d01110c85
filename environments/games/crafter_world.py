"""The world of `games/crafter-v0`: terrain, creatures, vitals, recipes and their rules.

Kept apart from the environment so the rules can be read (and tested) without the chat
layer: `World.execute` applies one command and advances time by one tick, using only the
generator handed to it, so the same seed and the same commands give the same world.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

# ---------------------------------------------------------------------- materials
GRASS, SAND, WATER, TREE, STONE, COAL, IRON, DIAMOND, PATH, TABLE, FURNACE = ".:~T#CID_WF"
EDGE, PLAYER, COW, ZOMBIE = "%", "@", "c", "z"
LEGEND = {
    GRASS: "grass", SAND: "sand", WATER: "water", TREE: "tree", STONE: "stone", COAL: "coal",
    IRON: "iron", DIAMOND: "diamond", PATH: "path", TABLE: "table", FURNACE: "furnace",
    COW: "cow", ZOMBIE: "zombie", PLAYER: "you", EDGE: "edge of the world",
}
WALKABLE = frozenset({GRASS, SAND, PATH})
PLACEABLE = {"table": WALKABLE, "furnace": WALKABLE, "stone": WALKABLE | {WATER}}
DIRECTIONS = {"north": (-1, 0), "south": (1, 0), "east": (0, 1), "west": (0, -1)}

#: What `do` takes from a faced block: (item gained, tool needed or None, what is left there).
COLLECT = {
    TREE: ("wood", None, TREE),  # trees are not used up, as in Crafter
    STONE: ("stone", "wood_pickaxe", PATH),
    COAL: ("coal", "wood_pickaxe", PATH),
    IRON: ("iron", "stone_pickaxe", PATH),
    DIAMOND: ("diamond", "iron_pickaxe", PATH),
}
#: Placed blocks: materials used and whether a table must be near.
PLACE = {"table": ({"wood": 3}, False), "stone": ({"stone": 1}, False), "furnace": ({"stone": 2}, True)}
#: Made tools: materials used and the stations that must be near.
MAKE = {
    "wood_pickaxe": ({"wood": 1}, (TABLE,)),
    "wood_sword": ({"wood": 1}, (TABLE,)),
    "stone_pickaxe": ({"wood": 1, "stone": 1}, (TABLE,)),
    "stone_sword": ({"wood": 1, "stone": 1}, (TABLE,)),
    "iron_pickaxe": ({"wood": 1, "coal": 1, "iron": 1}, (TABLE, FURNACE)),
    "iron_sword": ({"wood": 1, "coal": 1, "iron": 1}, (TABLE, FURNACE)),
}
#: Stations count as near within this many cells, diagonals included (a 5x5 square).
NEAR = 2
ITEMS = (
    "wood", "stone", "coal", "iron", "diamond", "wood_pickaxe", "stone_pickaxe", "iron_pickaxe",
    "wood_sword", "stone_sword", "iron_sword",
)
MAX_ITEM = 9
ACHIEVEMENTS = (
    "collect_wood", "place_table", "make_wood_pickaxe", "make_wood_sword", "collect_stone",
    "place_stone", "make_stone_pickaxe", "make_stone_sword", "collect_coal", "place_furnace",
    "collect_iron", "make_iron_pickaxe", "make_iron_sword", "collect_diamond", "collect_drink",
    "eat_cow", "defeat_zombie",
)
MAX_VITAL = 9
ZOMBIE_HEALTH, COW_HEALTH = 5, 3
ZOMBIE_DAMAGE, ZOMBIE_DAMAGE_ASLEEP, ZOMBIE_COOLDOWN, ZOMBIE_WINDUP = 2, 5, 5, 2
SWORD_DAMAGE = (("iron_sword", 5), ("stone_sword", 3), ("wood_sword", 2))
COW_FOOD = 6
# Ticks between losing one point of food, drink and energy; health moves every so many ticks.
HUNGER_TICKS, THIRST_TICKS, FATIGUE_TICKS, REGEN_TICKS, STARVE_TICKS = 25, 20, 30, 10, 8
#: Zombies notice you within this many steps; they move on 60% of ticks, so you can outrun them.
CHASE_RANGE, ZOMBIE_SPEED = 7, 0.6


@dataclass
class Creature:
    kind: str  # COW or ZOMBIE
    health: int
    cooldown: int = 0


@dataclass
class Level:
    """What a difficulty changes: the map's side and how many creatures it keeps alive."""

    side: int
    cows: int
    zombies: int
    zombie_spawn: float


@dataclass
class World:
    grid: list[list[str]]
    player: tuple[int, int]
    level: Level
    facing: str = "south"
    health: int = MAX_VITAL
    food: int = MAX_VITAL
    drink: int = MAX_VITAL
    energy: int = MAX_VITAL
    inventory: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ITEMS, 0))
    creatures: dict[tuple[int, int], Creature] = field(default_factory=dict)
    achievements: set[str] = field(default_factory=set)
    spawn_cells: list[tuple[int, int]] = field(default_factory=list)
    ticks: int = 0
    _hunger: int = 0
    _thirst: int = 0
    _fatigue: int = 0
    _recover: int = 0

    # ------------------------------------------------------------------ queries
    @property
    def side(self) -> int:
        return len(self.grid)

    def inside(self, cell: tuple[int, int]) -> bool:
        return 0 <= cell[0] < len(self.grid) and 0 <= cell[1] < len(self.grid[0])

    def material(self, cell: tuple[int, int]) -> str:
        return self.grid[cell[0]][cell[1]] if self.inside(cell) else EDGE

    def free(self, cell: tuple[int, int]) -> bool:
        """A creature or the player could stand here."""
        return self.material(cell) in WALKABLE and cell not in self.creatures and cell != self.player

    def faced(self) -> tuple[int, int]:
        dr, dc = DIRECTIONS[self.facing]
        return self.player[0] + dr, self.player[1] + dc

    def near(self, station: str, cell: tuple[int, int] | None = None) -> bool:
        r, c = cell or self.player
        return any(
            self.material((r + dr, c + dc)) == station for dr in range(-NEAR, NEAR + 1) for dc in range(-NEAR, NEAR + 1)
        )

    def damage(self) -> int:
        return next((d for sword, d in SWORD_DAMAGE if self.inventory[sword]), 1)

    @property
    def alive(self) -> bool:
        return self.health > 0

    # ------------------------------------------------------------------ one tick
    def execute(self, command: str, rng: np.random.Generator) -> tuple[list[str], str | None]:
        """Apply one known command, then let time pass. Returns what happened, and why the
        command failed (None when it worked): a failed command still costs its tick."""
        events: list[str] = []
        asleep = command == "sleep"
        failure = self._act(command, events)
        self.ticks += 1
        self._creatures_act(rng, events, asleep)
        self._vitals(asleep, events)
        self._balance(rng)
        return events, failure

    def _unlock(self, name: str, events: list[str]) -> None:
        if name not in self.achievements:
            self.achievements.add(name)
            events.append(f"Achievement unlocked: {name}.")

    def _act(self, command: str, events: list[str]) -> str | None:
        verb, _, rest = command.partition(" ")
        if verb == "move":
            return self._move(rest, events)
        if verb in ("do", "eat", "drink"):
            return self._interact(verb, events)
        if verb == "place":
            return self._place(rest, events)
        if verb == "make":
            return self._make(rest.replace(" ", "_"), events)
        if verb == "sleep":
            self.energy = min(MAX_VITAL, self.energy + 1)
            events.append("You rest for a moment (+1 energy).")
        return None  # noop

    def _move(self, direction: str, events: list[str]) -> str | None:
        self.facing = direction
        target = self.faced()
        if self.free(target):
            self.player = target
            return None
        what = self.creatures[target].kind if target in self.creatures else self.material(target)
        events.append(f"You turn {direction}; the {LEGEND[what]} there blocks the way.")
        return None

    def _interact(self, verb: str, events: list[str]) -> str | None:
        target = self.faced()
        creature = self.creatures.get(target)
        material = self.material(target)
        if creature is not None and (verb == "do" or (verb == "eat" and creature.kind == COW)):
            return self._hit(target, creature, events)
        if material == WATER and verb in ("do", "drink"):
            self.drink = min(MAX_VITAL, self.drink + 1)
            self._thirst = 0
            events.append("You drink water (+1 drink).")
            self._unlock("collect_drink", events)
            return None
        if verb == "eat":
            return f"There is no cow in front of you (you face {self.facing}: {LEGEND[material]})."
        if verb == "drink":
            return f"There is no water in front of you (you face {self.facing}: {LEGEND[material]})."
        if material not in COLLECT:
            return f"There is nothing to collect or attack in front of you ({self.facing}: {LEGEND[material]})."
        item, tool, left = COLLECT[material]
        if tool is not None and not self.inventory[tool]:
            return f"You need {with_article(tool)} to mine {LEGEND[material]}."
        self.grid[target[0]][target[1]] = left
        if self.inventory[item] >= MAX_ITEM:
            events.append(f"You mine the {LEGEND[material]} but cannot carry more {item} (at most {MAX_ITEM}).")
        else:
            self.inventory[item] += 1
            events.append(f"You collect 1 {item}.")
        self._unlock(f"collect_{item}", events)
        return None

    def _hit(self, cell: tuple[int, int], creature: Creature, events: list[str]) -> str | None:
        creature.health -= self.damage()
        name = LEGEND[creature.kind]
        if creature.health > 0:
            events.append(f"You hit the {name} ({creature.health} health left).")
            return None
        del self.creatures[cell]
        if creature.kind == COW:
            self.food = min(MAX_VITAL, self.food + COW_FOOD)
            self._hunger = 0
            events.append(f"You eat the cow (+{COW_FOOD} food).")
            self._unlock("eat_cow", events)
        else:
            events.append("You defeat the zombie.")
            self._unlock("defeat_zombie", events)
        return None

    def _missing(self, needs: dict[str, int]) -> list[str]:
        return [f"{n} {item}" for item, n in needs.items() if self.inventory[item] < n]

    def _place(self, name: str, events: list[str]) -> str | None:
        needs, table_near = PLACE[name]
        if missing := self._missing(needs):
            return f"Placing a {name} needs {', '.join(missing)}; you have too little."
        if table_near and not self.near(TABLE):
            return f"Placing a {name} needs a table within {NEAR} cells."
        target = self.faced()
        material = self.material(target)
        if material not in PLACEABLE[name] or target in self.creatures:
            what = LEGEND[self.creatures[target].kind] if target in self.creatures else LEGEND[material]
            allowed = ", ".join(sorted(LEGEND[m] for m in PLACEABLE[name]))
            return f"You cannot place a {name} on {what} (you face {self.facing}); it goes on {allowed}."
        for item, n in needs.items():
            self.inventory[item] -= n
        self.grid[target[0]][target[1]] = {"table": TABLE, "furnace": FURNACE, "stone": STONE}[name]
        events.append(f"You place a {name} to the {self.facing}.")
        self._unlock(f"place_{name}", events)
        return None

    def _make(self, tool: str, events: list[str]) -> str | None:
        needs, stations = MAKE[tool]
        label = tool.replace("_", " ")
        if missing := self._missing(needs):
            return f"Making {with_article(tool)} needs {', '.join(missing)}; you have too little."
        if absent := [LEGEND[s] for s in stations if not self.near(s)]:
            return f"Making {with_article(tool)} needs a {' and a '.join(absent)} within {NEAR} cells of you."
        if self.inventory[tool] >= MAX_ITEM:
            return f"You cannot carry more than {MAX_ITEM} of the {label}."
        for item, n in needs.items():
            self.inventory[item] -= n
        self.inventory[tool] += 1
        events.append(f"You make {with_article(tool)}.")
        self._unlock(f"make_{tool}", events)
        return None

    def _creatures_act(self, rng: np.random.Generator, events: list[str], asleep: bool) -> None:
        for cell in list(self.creatures):
            creature = self.creatures.get(cell)
            if creature is None:
                continue
            if creature.kind == COW:
                if rng.random() < 0.3:
                    self._step_creature(cell, _random_direction(rng))
                continue
            creature.cooldown = max(0, creature.cooldown - 1)
            gap = abs(cell[0] - self.player[0]) + abs(cell[1] - self.player[1])
            if gap == 1:
                if creature.cooldown == 0:
                    hurt = ZOMBIE_DAMAGE_ASLEEP if asleep else ZOMBIE_DAMAGE
                    self.health -= hurt
                    creature.cooldown = ZOMBIE_COOLDOWN
                    events.append(f"A zombie hits you (-{hurt} health).")
            elif rng.random() < ZOMBIE_SPEED:
                if gap <= CHASE_RANGE and rng.random() < 0.85:
                    self._step_creature(cell, self._toward_player(cell, rng))
                else:
                    self._step_creature(cell, _random_direction(rng))

    def _toward_player(self, cell: tuple[int, int], rng: np.random.Generator) -> tuple[int, int]:
        dr, dc = self.player[0] - cell[0], self.player[1] - cell[1]
        vertical = (int(np.sign(dr)), 0)
        horizontal = (0, int(np.sign(dc)))
        rows_first = abs(dr) > abs(dc) or (abs(dr) == abs(dc) and rng.random() < 0.5)
        first, second = (vertical, horizontal) if rows_first else (horizontal, vertical)
        ahead = (cell[0] + first[0], cell[1] + first[1])
        return first if first != (0, 0) and self.free(ahead) else second

    def _step_creature(self, cell: tuple[int, int], move: tuple[int, int]) -> None:
        target = (cell[0] + move[0], cell[1] + move[1])
        if move != (0, 0) and self.free(target):
            creature = self.creatures[target] = self.creatures.pop(cell)
            if creature.kind == ZOMBIE and abs(target[0] - self.player[0]) + abs(target[1] - self.player[1]) == 1:
                creature.cooldown = max(creature.cooldown, ZOMBIE_WINDUP)  # a fair chance to strike first

    def _vitals(self, asleep: bool, events: list[str]) -> None:
        self._hunger += 1
        if self._hunger >= HUNGER_TICKS:
            self._hunger, self.food = 0, max(0, self.food - 1)
        self._thirst += 1
        if self._thirst >= THIRST_TICKS:
            self._thirst, self.drink = 0, max(0, self.drink - 1)
        self._fatigue = 0 if asleep else self._fatigue + 1
        if self._fatigue >= FATIGUE_TICKS:
            self._fatigue, self.energy = 0, max(0, self.energy - 1)
        if self.food and self.drink and self.energy:
            self._recover = max(0, self._recover) + 1
            if self._recover >= REGEN_TICKS and self.health > 0:
                self._recover, self.health = 0, min(MAX_VITAL, self.health + 1)
        else:
            self._recover = min(0, self._recover) - 1
            if self._recover <= -STARVE_TICKS:
                self._recover, self.health = 0, self.health - 1
                events.append("You are starving, parched or exhausted (-1 health).")

    def _balance(self, rng: np.random.Generator) -> None:
        """Keep the cows and zombies at their level's numbers: new ones appear out of sight."""
        counts = {COW: 0, ZOMBIE: 0}
        for creature in self.creatures.values():
            counts[creature.kind] += 1
        wanted = ((COW, self.level.cows, 0.02), (ZOMBIE, self.level.zombies, self.level.zombie_spawn))
        for kind, target, chance in wanted:
            if counts[kind] < target and rng.random() < chance:
                self.spawn(kind, rng, min_gap=6)

    def spawn(self, kind: str, rng: np.random.Generator, *, min_gap: int) -> None:
        """Put a creature on a random grass cell at least `min_gap` steps from the player."""
        for _ in range(20 if self.spawn_cells else 0):
            cell = self.spawn_cells[int(rng.integers(len(self.spawn_cells)))]
            gap = abs(cell[0] - self.player[0]) + abs(cell[1] - self.player[1])
            if gap >= min_gap and self.material(cell) == GRASS and self.free(cell):
                self.creatures[cell] = Creature(kind, COW_HEALTH if kind == COW else ZOMBIE_HEALTH)
                return


def with_article(item: str) -> str:
    """`item` with its article, for messages: "a wood pickaxe", "an iron sword"."""
    name = item.replace("_", " ")
    return f"{'an' if name[0] in 'aeiou' else 'a'} {name}"


def _random_direction(rng: np.random.Generator) -> tuple[int, int]:
    return ((-1, 0), (1, 0), (0, 1), (0, -1), (0, 0))[int(rng.integers(5))]


# ---------------------------------------------------------------------- generation
def _noise(rng: np.random.Generator, side: int, cell: int) -> np.ndarray:
    """Smooth value noise in [0, 1]: a coarse random lattice, smoothly interpolated."""
    lattice = rng.random((side // cell + 2, side // cell + 2))
    t = np.arange(side) / cell
    i = t.astype(int)
    f = t - i
    f = f * f * (3 - 2 * f)
    rows = lattice[i] * (1 - f)[:, None] + lattice[i + 1] * f[:, None]
    out = rows[:, i] * (1 - f)[None, :] + rows[:, i + 1] * f[None, :]
    return out


def _field(rng: np.random.Generator, side: int) -> np.ndarray:
    value = _noise(rng, side, 8) + 0.5 * _noise(rng, side, 4)
    return (value - value.min()) / max(1e-9, value.max() - value.min())


def region(grid: list[list[str]], start: tuple[int, int], passable: frozenset[str]) -> set[tuple[int, int]]:
    """Cells reachable from `start` through `passable` materials (4-neighbour BFS)."""
    side = len(grid)
    seen = {start}
    queue = deque([start])
    while queue:
        r, c = queue.popleft()
        for dr, dc in DIRECTIONS.values():
            n = (r + dr, c + dc)
            if 0 <= n[0] < side and 0 <= n[1] < side and n not in seen and grid[n[0]][n[1]] in passable:
                seen.add(n)
                queue.append(n)
    return seen


def _blocks_within_reach(grid: list[list[str]], cells: set[tuple[int, int]], material: str) -> int:
    """How many `material` blocks lie in `cells` or have a 4-neighbour there."""
    side = len(grid)
    found = set()
    for r, c in cells:
        for dr, dc in ((0, 0), *DIRECTIONS.values()):
            n = (r + dr, c + dc)
            if 0 <= n[0] < side and 0 <= n[1] < side and grid[n[0]][n[1]] == material:
                found.add(n)
    return len(found)


#: Per goal: how many blocks of each resource must be reachable, counted as Crafter's recipes use them.
REQUIRED = {
    "wood_pickaxe": {TREE: 2, WATER: 1},
    "stone_pickaxe": {TREE: 2, WATER: 1, STONE: 4},
    "iron_pickaxe": {TREE: 2, WATER: 1, STONE: 6, COAL: 2, IRON: 2},
}
MIN_OPEN_CELLS = 40


def missing_resources(grid: list[list[str]], start: tuple[int, int], goal: str) -> dict[str, int]:
    """Resources short of what the goal needs, counting only blocks the player can reach:
    trees and water next to open ground; stone, coal and iron next to ground or tunnels
    that pickaxes can dig (stone and coal need a wood pickaxe, which needs only trees)."""
    walk = region(grid, start, WALKABLE)
    dig = region(grid, start, WALKABLE | {STONE, COAL})
    reach = {TREE: walk, WATER: walk, STONE: dig, COAL: dig, IRON: dig}
    short = {m: n - _blocks_within_reach(grid, reach[m], m) for m, n in REQUIRED[goal].items()}
    return {m: n for m, n in short.items() if n > 0}


def generate(rng: np.random.Generator, level: Level, goal: str) -> World:
    """A seeded map where the goal is reachable: noise terrain, then any missing resource is
    added on open ground the player can reach, checked again until nothing is missing."""
    side = level.side
    while True:
        grid = _terrain(rng, side)
        start = (side // 2, side // 2)
        for _ in range(10):
            missing = missing_resources(grid, start, goal)
            if not missing:
                break
            open_cells = sorted(region(grid, start, WALKABLE) - {start})
            if len(open_cells) < MIN_OPEN_CELLS:
                break
            for material, count in missing.items():
                for _ in range(count):
                    r, c = open_cells[int(rng.integers(len(open_cells)))]
                    if abs(r - start[0]) + abs(c - start[1]) > 2:
                        grid[r][c] = material
        open_cells = sorted(region(grid, start, WALKABLE))
        if not missing and len(open_cells) >= MIN_OPEN_CELLS:
            break
    world = World(grid=grid, player=start, level=level)
    world.spawn_cells = [cell for cell in open_cells if grid[cell[0]][cell[1]] == GRASS]
    for _ in range(level.cows):
        world.spawn(COW, rng, min_gap=3)
    for _ in range(level.zombies):
        world.spawn(ZOMBIE, rng, min_gap=10)
    return world


def _terrain(rng: np.random.Generator, side: int) -> list[list[str]]:
    water, mountain, trees = _field(rng, side), _field(rng, side), _field(rng, side)
    roll = rng.random((side, side))
    centre = side // 2
    grid = []
    for r in range(side):
        row = []
        for c in range(side):
            # The start area is kept open, as in Crafter, so the first moves are free.
            calm = max(0.0, 1 - (abs(r - centre) + abs(c - centre)) / 6) * 0.6
            w, m, t, u = water[r, c] - calm, mountain[r, c] - calm, trees[r, c], roll[r, c]
            if w > 0.78:
                row.append(WATER)
            elif w > 0.7:
                row.append(SAND)
            elif m > 0.62:
                if m > 0.8 and u < 0.04:
                    row.append(DIAMOND)
                elif m > 0.7 and u < 0.1:
                    row.append(IRON)
                elif u < 0.14:
                    row.append(COAL)
                else:
                    row.append(STONE)
            elif t > 0.6 and u < 0.6:
                row.append(TREE)
            else:
                row.append(GRASS)
        grid.append(row)
    grid[centre][centre] = GRASS
    return grid
