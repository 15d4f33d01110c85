"""envarena environments as PrimeIntellect `verifiers` environments (`pip install 'envarena[verifiers]'`).

    from openai import AsyncOpenAI
    from envarena.integrations.verifiers import load_environment

    env = load_environment("games/wordle-v0", num_examples=50)
    results = env.evaluate_sync(AsyncOpenAI(base_url=..., api_key="-"), model="...")

`load_environment` returns a `verifiers.MultiTurnEnv` (verifiers 0.1.10). Each dataset row is
one task: its opening messages as `prompt` and `info = {"env_id", "env_kwargs", "seed"}`; each
rollout builds its own envarena environment from that row and closes it when the rollout ends.
The model is offered the environment's tools (their envarena schemas); every assistant message
is one envarena step, so text actions and tool calls both work, and the rollout stops when the
episode ends (envarena's own `max_turns` truncates it). Each step's reward is written to the
rollout's trajectory (`trajectory[i]["reward"]`). The rubric scores the episode return (the
sum of the step rewards, envarena's `total_reward`; `reward="outcome"` scores the outcome
alone) and records `outcome`, `success` and the summed components (`component_<name>`) as
metrics; the whole envarena `Episode` is the `envarena_episode` state column.

The name trap: a checkout's root holds envarena's own `verifiers/` and `agents/` folders (installed
as `envarena.verifiers` and `envarena.agents`). With the root on `sys.path` (pytest, `python -c`
from the root), `import verifiers` would find the wrong package, and PyPI's verifiers imports
openai-agents as `agents`. `import_verifiers` imports both with those folders out of the way.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import sys
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any, Literal

from envarena.errors import EnvArenaError, InvalidOptionError
from envarena.integrations.live import LiveEpisode, make_single_agent, message_from_openai, opening_prompts

__all__ = ["import_verifiers", "load_environment"]

Reward = Literal["total", "outcome"]
# Components most environments report; an environment's own weighted ones are added to these.
COMMON_COMPONENTS = ("progress", "format", "tool_error", "invalid_action")
_SHADOWED = ("verifiers", "agents")  # top-level names of PyPI packages that envarena's folders shadow


def load_environment(
    env_id: str,
    num_examples: int = 100,
    seed: int = 0,
    reward: Reward = "total",
    components: tuple[str, ...] = (),
    **env_kwargs: Any,
) -> Any:
    """A `verifiers.MultiTurnEnv` over tasks `seed .. seed+num_examples-1` of `env_id`;
    `env_kwargs` go to `envarena.make`; `components` names extra reward components to report."""
    vf = import_verifiers()
    if num_examples < 1:
        raise InvalidOptionError("num_examples must be at least 1")
    if reward not in ("total", "outcome"):
        raise InvalidOptionError(f"reward must be 'total' or 'outcome', not {reward!r}")
    probe = make_single_agent(env_id, env_kwargs)  # a bad ID or option fails here, in one sentence
    try:
        tools = [t.openai_schema() for t in probe.tools]
        names = dict.fromkeys([*COMMON_COMPONENTS, *probe.reward_weights, *components])
    finally:
        probe.close()
    names.pop("outcome", None)  # reported as `outcome`
    seeds = range(seed, seed + num_examples)

    def dataset() -> Any:
        from datasets import Dataset

        info = [json.dumps({"env_id": env_id, "env_kwargs": env_kwargs, "seed": s}, default=str) for s in seeds]
        return Dataset.from_dict({"prompt": opening_prompts(env_id, env_kwargs, seeds), "info": info,
                                  "task": [env_id] * len(seeds)})

    environment_class, rubric_class = _classes(vf)
    return environment_class(
        dataset=dataset,
        rubric=rubric_class(reward=reward, components=list(names)),
        oai_tools=tools or None,
        max_turns=-1,  # envarena's max_turns ends the episode, and the rollout with it
        message_type="chat",
        env_id=env_id,
        env_args={"env_id": env_id, "num_examples": num_examples, "seed": seed, "reward": reward, **env_kwargs},
    )


def import_verifiers() -> ModuleType:
    """PyPI's `verifiers`, never envarena's own folder of that name (see the module docstring)."""
    folders = _own_folders()
    for name, folder in folders.items():
        loaded = sys.modules.get(name)
        if loaded is not None and _inside(getattr(loaded, "__file__", None), folder):
            raise EnvArenaError(f"`{name}` is already imported from envarena's folder {folder}, not from PyPI; "
                                f"import envarena.integrations.verifiers before anything imports `{name}`")
    removed = [(i, entry) for i, entry in enumerate(sys.path) if _shadows(entry, folders)]
    for i, _ in reversed(removed):
        del sys.path[i]
    try:
        import verifiers
    except ImportError as err:
        raise EnvArenaError(f"the verifiers integration needs PyPI's verifiers ({err}); "
                            "pip install 'envarena[verifiers]'") from None
    finally:
        for i, entry in removed:
            sys.path.insert(i, entry)
    if not hasattr(verifiers, "MultiTurnEnv"):
        raise EnvArenaError(f"verifiers {getattr(verifiers, '__version__', '?')} has no MultiTurnEnv; "
                            "pip install 'envarena[verifiers]' (verifiers 0.1.10)")
    return verifiers


def _own_folders() -> dict[str, Path]:
    """Where `envarena.verifiers` and `envarena.agents` live (found without importing them)."""
    folders = {}
    for name in _SHADOWED:
        spec = importlib.util.find_spec(f"envarena.{name}")
        if spec is not None and spec.submodule_search_locations:
            folders[name] = Path(next(iter(spec.submodule_search_locations))).resolve()
    return folders


def _shadows(entry: str, folders: dict[str, Path]) -> bool:
    base = Path(entry or os.getcwd())
    return any((base / name).resolve() == folder for name, folder in folders.items() if folder.name == name)


def _inside(file: str | None, folder: Path) -> bool:
    return file is not None and folder in Path(file).resolve().parents


@cache
def _classes(vf: ModuleType) -> tuple[type, type]:
    """The environment and rubric classes, built on first use (they subclass verifiers')."""

    class EnvArenaRubric(vf.Rubric):
        """Scores the envarena episode: its return (or outcome), plus metrics."""

        def __init__(self, reward: Reward, components: list[str]) -> None:
            super().__init__()
            self.add_reward_func(total_reward, weight=1.0 if reward == "total" else 0.0)
            self.add_reward_func(outcome, weight=1.0 if reward == "outcome" else 0.0)
            self.add_metric(success)
            for name in components:
                self.add_metric(_component_metric(name))

    class EnvArenaEnv(vf.MultiTurnEnv):
        """One envarena environment per rollout, built from the row's `info`."""

        async def setup_state(self, state: Any) -> Any:
            info = state["info"]
            live = await asyncio.to_thread(LiveEpisode, info["env_id"], info.get("env_kwargs") or {},
                                           agent=f"verifiers:{state['model']}")
            state["envarena_live"] = live
            await asyncio.to_thread(live.reset, int(info["seed"]))
            return state

        async def env_response(self, messages: Any, state: Any, **kwargs: Any) -> Any:
            live: LiveEpisode = state["envarena_live"]
            action = message_from_openai(dict(messages[-1]))
            new, reward = await asyncio.to_thread(live.step, action)
            state["trajectory"][-1]["reward"] = reward
            replies = [_wire(m.openai_format()) for m in new]
            if live.done:
                state["final_env_response"] = replies
            return replies

        @vf.cleanup
        async def close_envarena(self, state: Any) -> None:
            live: LiveEpisode | None = state.get("envarena_live")
            if live is None:
                return
            if live.episode is not None:
                state["envarena_episode"] = live.episode.model_dump(mode="json")
            await asyncio.to_thread(live.close)

    return EnvArenaEnv, EnvArenaRubric


def _wire(message: dict[str, Any]) -> dict[str, Any]:
    """OpenAI's tool messages carry no `name`; strict servers refuse it."""
    if message["role"] == "tool":
        message.pop("name", None)
    return message


def _episode(state: Any) -> Any:
    live = state.get("envarena_live")
    return None if live is None else live.episode


async def total_reward(state: Any) -> float:
    """The episode return: the sum of envarena's step rewards."""
    episode = _episode(state)
    return 0.0 if episode is None else float(episode.total_reward)


async def outcome(state: Any) -> float:
    """envarena's verifiable outcome in [0, 1] (0 when the episode did not end)."""
    episode = _episode(state)
    return 0.0 if episode is None else float(episode.outcome)


async def success(state: Any) -> float:
    episode = _episode(state)
    return float(episode is not None and episode.success)


def _component_metric(name: str) -> Any:
    async def metric(state: Any) -> float:
        episode = _episode(state)
        return 0.0 if episode is None else float(episode.reward_components.get(name, 0.0))

    metric.__name__ = f"component_{name}"
    return metric
