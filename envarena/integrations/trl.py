"""envarena environments as TRL `GRPOTrainer` environments (`pip install 'envarena[trl]'`).

TRL (1.16) trains multi-turn agents through `GRPOTrainer(environment_factory=...)`: a factory
builds environment objects whose public methods are the model's tools (schemas read from
their signatures and Google-style docstrings), `reset(**row)` starts each rollout from a
dataset row, and `get_reward()` scores the finished rollout. Its loop ends at the first
completion without a tool call, so here an environment's text action (an answer, a guess, a
move) is a tool too, `reply(message)`, next to the environment's own tools.

    from trl import GRPOConfig, GRPOTrainer
    from envarena.integrations.trl import grpo_inputs

    trainer = GRPOTrainer(model=..., args=GRPOConfig(...), **grpo_inputs("games/wordle-v0", n=256))

Every tool call is one environment step (one turn of `max_turns`); the reward is envarena's
episode return (the sum of its step rewards, outcome included), or the outcome alone with
`reward="outcome"`. A rollout the model leaves before the episode ends scores what it earned
so far, with no outcome. `on_episode` receives each scored rollout as an envarena `Episode`.
With `hint` (the default), `reset` adds one line to the prompt: act through the tools.
TRL itself is imported only by `use_tool_template`.
"""

from __future__ import annotations

import inspect
import keyword
import re
import uuid
from collections.abc import Callable, Mapping
from typing import Any, Literal, Union

from envarena.errors import InvalidOptionError
from envarena.integrations.live import LiveEpisode, make_single_agent, opening_prompts
from envarena.types import Episode, Message, Tool, ToolCall

__all__ = ["EnvironmentFactory", "environment_factory", "grpo_inputs", "prompt_dataset", "use_tool_template"]

Reward = Literal["total", "outcome"]
_RESERVED = {"reset", "get_reward", "live"}  # TRL's two, and the property below
_JSON_TYPES: dict[str, Any] = {"string": str, "integer": int, "number": float, "boolean": bool,
                               "null": type(None), "array": list, "object": dict}


def prompt_dataset(env_id: str, n: int, *, seed: int = 0, **env_kwargs: Any) -> Any:
    """A `datasets.Dataset` of `n` tasks: `prompt` (the task's opening messages) and `seed`
    (which `reset` replays, so the environment poses exactly the task in the prompt)."""
    from datasets import Dataset

    if n < 1:
        raise InvalidOptionError("n must be at least 1")
    seeds = range(seed, seed + n)
    return Dataset.from_dict({"prompt": opening_prompts(env_id, env_kwargs, seeds), "seed": list(seeds)})


def grpo_inputs(
    env_id: str,
    n: int,
    *,
    seed: int = 0,
    reward: Reward = "total",
    text_tool: str | None = "reply",
    hint: bool = True,
    on_episode: Callable[[Episode], None] | None = None,
    **env_kwargs: Any,
) -> dict[str, Any]:
    """`train_dataset` and `environment_factory` for `GRPOTrainer(**grpo_inputs(...))`."""
    return {
        "train_dataset": prompt_dataset(env_id, n, seed=seed, **env_kwargs),
        "environment_factory": environment_factory(
            env_id, reward=reward, text_tool=text_tool, hint=hint, on_episode=on_episode, **env_kwargs
        ),
    }


def environment_factory(
    env_id: str,
    *,
    reward: Reward = "total",
    text_tool: str | None = "reply",
    hint: bool = True,
    on_episode: Callable[[Episode], None] | None = None,
    **env_kwargs: Any,
) -> EnvironmentFactory:
    """What `GRPOTrainer(environment_factory=...)` takes for `env_id` (see the module docstring)."""
    return EnvironmentFactory(env_id, env_kwargs, reward=reward, text_tool=text_tool, hint=hint, on_episode=on_episode)


def use_tool_template(tokenizer: Any) -> Any:
    """Let TRL parse tool calls from a ChatML model whose chat template cannot show tools
    (SmolLM2, envarena's tiny models): it gets TRL's Qwen2.5 template, which writes the
    same `<|im_start|>`/`<|im_end|>` turns plus Hermes `<tool_call>` blocks. A template that
    already renders tools is left alone. Returns the tokenizer."""
    if "tools" in (tokenizer.chat_template or ""):
        return tokenizer
    vocab = tokenizer.get_vocab()
    if "<|im_start|>" not in vocab or "<|im_end|>" not in vocab:
        raise InvalidOptionError(
            "this tokenizer's chat template cannot show tools and it is not ChatML; give it a template that can"
        )
    from trl.chat_template_utils import qwen2_5_chat_template

    tokenizer.chat_template = qwen2_5_chat_template
    return tokenizer


class EnvironmentFactory:
    """Builds one TRL environment object per rollout slot for `env_id`; every object is an
    instance of one generated class whose public methods are the tools."""

    def __init__(
        self,
        env_id: str,
        env_kwargs: Mapping[str, Any],
        *,
        reward: Reward = "total",
        text_tool: str | None = "reply",
        hint: bool = True,
        on_episode: Callable[[Episode], None] | None = None,
    ) -> None:
        if reward not in ("total", "outcome"):
            raise InvalidOptionError(f"reward must be 'total' or 'outcome', not {reward!r}")
        self.env_id = env_id
        self.env_kwargs = dict(env_kwargs)
        self.reward = reward
        self.text_tool = text_tool
        self.hint = hint
        self.on_episode = on_episode
        probe = make_single_agent(env_id, self.env_kwargs)  # fails here, clearly, on a bad ID or option
        try:
            tools = probe.tools
        finally:
            probe.close()
        self.environment_class = _environment_class(env_id, tools, text_tool)

    def __call__(self) -> Any:
        return self.environment_class(self)


class _TRLEnvironment:
    """Base of the generated classes. TRL exposes every public function of the class as a
    tool, so everything here but `reset` and `get_reward` is private."""

    _text_tool: str | None = None

    def __init__(self, factory: EnvironmentFactory) -> None:
        self._factory = factory
        self._live = LiveEpisode(factory.env_id, factory.env_kwargs, agent="trl")
        self._reported = False  # on_episode hears each episode once, however often TRL asks

    @property
    def live(self) -> LiveEpisode:
        """The envarena side: the environment, the episode so far, the latest observation."""
        return self._live

    def reset(self, seed: int | None = None, **row: Any) -> str | None:
        """Start the task of the dataset row's seed; the prompt already holds its opening."""
        self._live.reset(seed)
        self._reported = False
        if self._factory.hint and self._text_tool is not None:
            return (f"\n\n(Act only through the tools: send each answer, guess or move with "
                    f"`{self._text_tool}`.)")
        return None

    def get_reward(self) -> float:
        """envarena's score of this rollout, handed to `on_episode` as an `Episode` too."""
        episode = self._live.episode
        if episode is None:
            return 0.0
        value = episode.outcome if self._factory.reward == "outcome" else episode.total_reward
        if self._factory.on_episode is not None and not self._reported:
            self._reported = True
            self._factory.on_episode(episode.model_copy(deep=True))
        return float(value)

    def _act(self, action: Message) -> str:
        if self._live.episode is None:
            return "The episode has not started."
        if self._live.done:
            return "The episode is over; nothing more can be done."
        messages, _ = self._live.step(action)
        text = "\n\n".join(m.content for m in messages)
        return f"{text}\n\n(The episode is over.)" if self._live.done else text


def _environment_class(env_id: str, tools: list[Tool], text_tool: str | None) -> type:
    names = [t.name for t in tools] + ([text_tool] if text_tool else [])
    for name in names:
        if name in _RESERVED or name.startswith("_"):
            raise InvalidOptionError(f"{env_id}: a tool named {name!r} cannot be a TRL tool (reset, get_reward, "
                                     "live and names starting with '_' are taken)")
    if text_tool is not None and text_tool in {t.name for t in tools}:
        raise InvalidOptionError(f"{env_id} has a tool named {text_tool!r}; pass another text_tool name")
    namespace: dict[str, Any] = {"_text_tool": text_tool, "__doc__": f"The envarena environment {env_id} for TRL."}
    for tool in tools:
        namespace[tool.name] = _tool_method(tool)
    if text_tool is not None:
        namespace[text_tool] = _text_method(text_tool)
    return type("EnvArena_" + re.sub(r"\W", "_", env_id), (_TRLEnvironment,), namespace)


def _text_method(name: str) -> Callable[..., str]:
    def method(self, message: str) -> str:  # `self` unannotated: transformers skips it only then
        return self._act(Message.assistant(message))

    method.__name__ = method.__qualname__ = name
    method.__doc__ = (
        "Send a text reply to the environment: your answer, guess or move, written the way the task asks.\n\n"
        "Args:\n    message: The reply, exactly as the task asks for it.\n\n"
        "Returns:\n    What the environment answers."
    )
    return method


def _tool_method(tool: Tool) -> Callable[..., str]:
    """A method TRL reads as `tool`: its signature and docstring carry the JSON schema; the
    call goes to the environment as a tool call, which validates the arguments itself."""
    schema = tool.parameters or {}
    properties: dict[str, Any] = schema.get("properties") or {}
    required = set(schema.get("required") or [])
    parameters = [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    annotations: dict[str, Any] = {}
    lines = []
    for arg in properties:  # keyword-only, so the schema's order stands whatever has a default
        if not arg.isidentifier() or keyword.iskeyword(arg) or arg == "self":
            raise InvalidOptionError(f"tool {tool.name!r}: argument {arg!r} is not a Python name, which TRL needs")
        prop = properties[arg] if isinstance(properties[arg], dict) else {}
        hint = _hint(prop, schema.get("$defs") or {})
        default = inspect.Parameter.empty if arg in required else prop.get("default")
        parameters.append(inspect.Parameter(arg, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=hint))
        annotations[arg] = hint
        description = " ".join(str(prop.get("description") or prop.get("title") or arg).split())
        lines.append(f"    {arg}: {description}")
    annotations["return"] = str

    def method(self: _TRLEnvironment, **arguments: Any) -> str:  # TRL reads __signature__ instead
        call = ToolCall(id=f"call_{uuid.uuid4().hex[:12]}", name=tool.name, arguments=arguments)
        return self._act(Message.assistant(tool_calls=[call]))

    method.__name__ = method.__qualname__ = tool.name
    method.__signature__ = inspect.Signature(parameters, return_annotation=str)  # type: ignore[attr-defined]
    method.__annotations__ = annotations
    summary = " ".join((tool.description or tool.name).split())
    args = "\n\nArgs:\n" + "\n".join(lines) if lines else ""
    method.__doc__ = f"{summary}{args}\n\nReturns:\n    The tool's result."
    return method


def _hint(prop: Mapping[str, Any], defs: Mapping[str, Any]) -> Any:
    """The Python type whose JSON schema (as transformers writes it) is `prop`."""
    ref = prop.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/") and ref[8:] in defs:
        prop = defs[ref[8:]]
    enum = prop.get("enum")
    if isinstance(enum, list) and enum and all(isinstance(v, (str, int, float, bool)) for v in enum):
        return Literal[tuple(enum)]  # type: ignore[valid-type]
    options = prop.get("anyOf") or prop.get("oneOf")
    if isinstance(options, list) and options:
        return _union([_hint(o, defs) for o in options if isinstance(o, dict)])
    kind = prop.get("type")
    if isinstance(kind, list):
        return _union([_hint({**prop, "type": k}, defs) for k in kind])
    if kind == "array":
        items = prop.get("items")
        return list[_hint(items, defs)] if isinstance(items, dict) and items else list  # type: ignore[misc]
    if kind == "object":
        extra = prop.get("additionalProperties")
        return dict[str, _hint(extra, defs)] if isinstance(extra, dict) and extra else dict  # type: ignore[misc]
    return _JSON_TYPES.get(kind, Any) if isinstance(kind, str) else Any


def _union(hints: list[Any]) -> Any:
    unique = list(dict.fromkeys(hints))
    if not unique:
        return Any
    if len(unique) == 1:
        return unique[0]
    return Union[tuple(unique)]  # noqa: UP007  (a runtime-built union)

