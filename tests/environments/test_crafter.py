"""games/crafter-v0: the solver, the generator's guarantee, the recipes and the reward hacks.

Rule tests play commands through the real environment on small hand-drawn worlds (`world`
below), so each rule is checked where an agent meets it: the text, the reward components
and the episode's end.
"""

from __future__ import annotations

import numpy as np
import pytest

import envarena
from envarena.environments.games.crafter import (
    ACHIEVEMENT_REWARD,
    COMMANDS,
    GOAL_CHAINS,
    CrafterEnv,
    parse_commands,
    render_view,
)
from envarena.environments.games.crafter_world import (
    COW,
    GRASS,
    MAX_VITAL,
    STARVE_TICKS,
    ZOMBIE,
    Creature,
    Level,
    World,
    generate,
    missing_resources,
)

EMPTY = Level(side=0, cows=0, zombies=0, zombie_spawn=0.0)


def world(*rows: str, facing: str = "north", **inventory: int) -> World:
    """A world drawn in the view's letters: `@` the player (on grass), `c` a cow, `z` a zombie."""
    grid, creatures, player = [], {}, (0, 0)
    for r, row in enumerate(rows):
        cells = []
        for c, mark in enumerate(row):
            if mark == "@":
                player = (r, c)
            elif mark in (COW, ZOMBIE):
                creatures[(r, c)] = Creature(mark, 3 if mark == COW else 5)
            cells.append(GRASS if mark in ("@", COW, ZOMBIE) else mark)
        grid.append(cells)
    w = World(grid=grid, player=player, level=EMPTY, facing=facing, creatures=creatures)
    w.inventory.update(inventory)
    return w


def play(w: World, difficulty: str = "medium") -> CrafterEnv:
    env = CrafterEnv(difficulty=difficulty)
    env.reset(seed=0)
    env.world = w
    return env


def solve(difficulty: str, seed: int) -> CrafterEnv:
    env = CrafterEnv(difficulty=difficulty)
    env.reset(seed=seed)
    solver = env.reference_solver()
    while not env.done:
        _, _, _, _, info = env.step(solver.act([]))
        assert "invalid_action" not in info["reward_components"], env.transcript[-1].content
    return env


# ---------------------------------------------------------------------- solver and generator
@pytest.mark.parametrize("difficulty", ["easy", "medium", "hard"])
def test_solver_makes_the_goal_tool_on_every_seed(difficulty):
    for seed in range(25):
        env = solve(difficulty, seed)
        assert env.outcome == 1.0 and env.world.inventory[env.goal] == 1, (seed, env.world.achievements)
        assert set(GOAL_CHAINS[env.goal]) <= env.world.achievements
        assert env.turn <= env.max_turns // 2, "the budget keeps a wide margin over the solver"


@pytest.mark.parametrize("difficulty", ["easy", "medium", "hard"])
def test_generator_puts_the_goal_resources_within_reach(difficulty):
    env = CrafterEnv(difficulty=difficulty)
    for seed in range(40):
        w = generate(np.random.default_rng(seed), env.level, env.goal)
        assert missing_resources(w.grid, w.player, env.goal) == {}
        assert w.grid[w.player[0]][w.player[1]] == GRASS and len(w.grid) == env.level.side
        assert all(abs(r - w.player[0]) + abs(c - w.player[1]) >= 3 for r, c in w.creatures)


def test_missing_resources_sees_unreachable_blocks():
    # Stone and iron exist, but behind water: only the tree and water count.
    grid = [list(row) for row in ("T.~#", "..~I", "..~#")]
    assert missing_resources(grid, (1, 0), "stone_pickaxe") == {"T": 1, "#": 4}
    assert missing_resources(grid, (1, 0), "wood_pickaxe") == {"T": 1}


def test_same_seed_same_world_and_same_play():
    def transcript(seed: int) -> list[str]:
        env = CrafterEnv(difficulty="hard")
        obs, _ = env.reset(seed=seed)
        rng = np.random.default_rng(7)
        texts = [m.content for m in obs]
        for _ in range(40):
            if env.done:
                break
            reply, *_ = env.step(env.random_action(rng))
            texts += [m.content for m in reply]
        return texts

    assert transcript(3) == transcript(3)
    assert transcript(3)[1] != transcript(4)[1]


# ---------------------------------------------------------------------- rules
def test_collecting_wood_and_placing_a_table():
    env = play(world("T..", "@..", "..."))
    _, _, _, _, info = env.step("do")
    assert env.world.inventory["wood"] == 1 and "collect_wood" in env.world.achievements
    assert info["reward_components"] == {"achievement": ACHIEVEMENT_REWARD, "progress": pytest.approx(1 / 5)}
    obs, _, _, _, info = env.step("place table")
    assert "needs 3 wood" in obs[0].content and info["reward_components"]["invalid_action"] < 0
    env.step("do; do")
    obs, *_ = env.step("place table")
    assert "cannot place a table on tree" in obs[0].content and env.world.inventory["wood"] == 3
    _, _, _, _, info = env.step("move east; place table")
    assert env.world.grid[1][2] == "W" and env.world.inventory["wood"] == 0 and env.world.player == (1, 1)
    assert info["reward_components"] == {"achievement": ACHIEVEMENT_REWARD, "progress": pytest.approx(1 / 5)}


def test_place_table_then_wood_pickaxe_reaches_the_easy_goal():
    env = play(world("...", ".@.", "..."), difficulty="easy")
    env.world.inventory["wood"] = 4
    env.world.achievements.add("collect_wood")
    _, _, done, _, info = env.step("make wood pickaxe")
    assert not done and "needs a table" in env.transcript[-1].content
    _, _, done, _, info = env.step("place table; make wood pickaxe")
    assert done and info["outcome"] == 1.0 and info["success"]
    assert env.world.grid[0][1] == "W" and env.world.inventory == {**env.world.inventory, "wood": 0, "wood_pickaxe": 1}


def test_pickaxes_gate_the_ores_and_the_stations_gate_the_recipes():
    env = play(world("#CI..", "@....", ".....", "....."), difficulty="hard")
    env.world.inventory["wood"] = 9
    obs, *_ = env.step("do")
    assert "need a wood pickaxe" in obs[0].content and env.world.grid[0][0] == "#"
    env.world.inventory["wood_pickaxe"] = 1
    env.step("do")
    assert env.world.inventory["stone"] == 1 and env.world.grid[0][0] == "_"  # mined rock leaves a path
    env.step("move east; move north; do")  # the coal blocks the way north: turn to it, mine it
    assert env.world.inventory["coal"] == 1 and env.world.player == (1, 1)
    obs, *_ = env.step("move east; move north; do")
    assert "need a stone pickaxe" in obs[0].content and env.world.grid[0][2] == "I"
    env.world.inventory["stone"] = 3
    obs, *_ = env.step("move east; place furnace")
    assert "needs a table within 2" in obs[0].content
    env.step("place table; make stone pickaxe; move west; move north; do")
    assert env.world.inventory["iron"] == 1 and env.world.inventory["stone_pickaxe"] == 1
    obs, *_ = env.step("make iron pickaxe")
    assert "needs a furnace within 2" in obs[0].content
    obs, _, done, _, info = env.step("move south; place furnace; make iron pickaxe")
    assert done and info["outcome"] == 1.0, obs[0].content
    assert env.world.achievements == set(GOAL_CHAINS["iron_pickaxe"]) - {"collect_wood", "make_wood_pickaxe"}


def test_water_cows_and_zombies():
    env = play(world("T~T", "T@c", "TTT", facing="north"))
    env.world.drink = 5
    env.step("drink; do")
    assert env.world.drink == 7 and "collect_drink" in env.world.achievements
    env.world.food = 2
    obs, *_ = env.step("move east; eat; eat")  # the cow is walled in by trees: it cannot wander
    assert "1 health left" in obs[0].content
    env.step("eat")
    assert env.world.food == 8 and "eat_cow" in env.world.achievements and not env.world.creatures
    # A zombie that steps next to you winds up before it hits; a sword kills it faster.
    z = play(world("TTTT", "T@zT", "TTTT", facing="east", stone_sword=1))
    z.world.creatures[(1, 2)].cooldown = 2
    obs, *_ = z.step("do; do")
    assert "defeat_zombie" in z.world.achievements and z.world.health == 9, obs[0].content
    z = play(world("TTTT", "T@zT", "TTTT", facing="east"))
    obs, *_ = z.step("drink")  # only `do` attacks a zombie; the zombie, at rest, hits back
    assert "no water" in obs[0].content and z.world.creatures[(1, 2)].health == 5
    assert z.world.health == 7 and "A zombie hits you" in obs[0].content


def test_vitals_run_down_and_death_ends_with_the_partial_outcome():
    env = play(world("....", ".@..", "...."), difficulty="medium")
    for _ in range(4):
        env.step("noop; noop; noop; noop; noop")
    assert (env.world.drink, env.world.food, env.world.health) == (MAX_VITAL - 1, MAX_VITAL, MAX_VITAL)
    env.world.achievements.update({"collect_wood", "place_table"})
    env.world.drink, env.world.health = 0, 1  # parched: health drains until the player dies
    ticks = env.world.ticks
    while not env.done:
        obs, _, terminated, _, info = env.step("noop")
    assert terminated and env.world.health <= 0 and env.world.ticks - ticks <= STARVE_TICKS
    assert "You died" in obs[0].content and "starving, parched or exhausted" in obs[0].content
    assert info["outcome"] == pytest.approx(2 / 5) and not info["success"]


def test_the_view_is_centred_and_shows_the_edge_of_the_world():
    text = render_view(world("T~", "@c"))
    rows = text.splitlines()[1:10]
    assert rows[4].split()[4] == "@" and rows[4].split()[5] == "c" and rows[3].split()[4] == "T"
    assert rows[0].split() == ["%"] * 9 and rows[4].split()[3] == "%"
    assert "cow 1 east" in text and "water 1 north, 1 east" in text


# ---------------------------------------------------------------------- what a reward-seeking policy tries
def test_an_achievement_pays_once():
    env = play(world("T.", "@."))
    rewards = [env.step("do")[1] for _ in range(4)]
    assert rewards[0] == pytest.approx(ACHIEVEMENT_REWARD + 1 / 5) and rewards[1:] == [0.0, 0.0, 0.0]


def test_placing_and_mining_the_same_stone_farms_nothing():
    env = play(world(".#", "@."), difficulty="medium")
    env.world.inventory.update(wood_pickaxe=1)
    env.world.facing = "east"
    env.step("move north; move east")  # turn toward the stone at (0, 1)
    first = env.step("do")[1]
    assert env.world.inventory["stone"] == 1 and first > 0
    later = [env.step("place stone; do")[1] for _ in range(5)]
    assert later[0] == pytest.approx(ACHIEVEMENT_REWARD)  # place_stone, once
    assert later[1:] == [0.0] * 4 and env.world.inventory["stone"] == 1


def test_crafting_without_materials_or_stations_is_refused():
    env = play(world("...", ".@.", "..."))
    refused = ("make wood pickaxe", "make stone sword", "make iron pickaxe", "place table", "place furnace", "place stone")
    for command in refused:
        obs, reward, _, _, info = env.step(command)
        assert info["reward_components"] == {"invalid_action": -0.1, "progress": 0.0}, command
        assert "needs" in obs[0].content
    assert all(n == 0 for n in env.world.inventory.values()) and not env.world.achievements


def test_no_table_on_water_and_nothing_to_collect_from_grass():
    env = play(world("~", "@", "."), difficulty="easy")
    env.world.inventory["wood"] = 5
    obs, reward, *_ = env.step("place table")
    assert "cannot place a table on water" in obs[0].content and reward < 0 and env.world.grid[0][0] == "~"
    env.step("move south")
    obs, reward, *_ = env.step("do")
    assert "nothing to collect" in obs[0].content and reward < 0


def test_walking_off_the_map_goes_nowhere():
    env = play(world("@."))
    for direction in ("north", "west", "south"):
        obs, reward, *_ = env.step(f"move {direction}")
        assert env.world.player == (0, 0) and reward == 0.0
        assert "edge of the world" in obs[0].content


@pytest.mark.parametrize(
    "text",
    ["", "  ;;  ", "move north; rm -rf /", "move up", "do do", "craft everything", "<answer>do</answer>",
     "; ".join(["noop"] * 6), "move north\nmove south"],
)
def test_junk_is_refused_whole_and_time_stands_still(text):
    env = play(world("T.", "@."))
    obs, reward, terminated, truncated, info = env.step(text)
    assert info["reward_components"] == {"invalid_action": -0.1}
    assert env.world.ticks == 0 and env.world.player == (1, 0) and not env.world.achievements
    assert "nothing was done" in obs[0].content or "Send a command" in obs[0].content


def test_commands_are_read_leniently_but_exactly():
    assert parse_commands("Move North; DO.; craft wood_pickaxe; go west; east") == [
        "move north", "do", "make wood pickaxe", "move west", "move east"]
    assert all(parse_commands(c) == [c] for c in COMMANDS)


def test_a_failed_command_stops_the_rest_of_the_reply():
    env = play(world("T.", "@."))
    obs, _, _, _, info = env.step("make wood pickaxe; do; do")
    assert env.world.ticks == 1 and env.world.inventory["wood"] == 0
    assert "remaining commands were not run" in obs[0].content


def test_random_play_stays_far_below_the_solver():
    env = CrafterEnv(difficulty="medium")
    rng = np.random.default_rng(0)
    outcomes = []
    for seed in range(10):
        env.reset(seed=seed)
        while not env.done:
            env.step(env.random_action(rng))
        outcomes.append(env.outcome)
    assert max(outcomes) < 1.0 and np.mean(outcomes) < 0.3


def test_registered_and_described():
    spec = envarena.spec("games/crafter-v0")
    assert spec.max_turns == 150 and "Crafter" in spec.description
    env = envarena.make("games/crafter-v0", difficulty="hard")
    assert env.goal == "iron_pickaxe" and env.max_turns == 300


def test_solver_drinks_and_eats_when_low_then_finishes():
    env = CrafterEnv(difficulty="medium")
    env.reset(seed=2)
    env.world.drink, env.world.food = 2, 3
    solver = env.reference_solver()
    while not env.done:
        env.step(solver.act([]))
    assert {"collect_drink", "eat_cow"} <= env.world.achievements and env.outcome == 1.0
