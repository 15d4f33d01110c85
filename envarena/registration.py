"""Environment IDs: catalog registration by decorator, plugins by entry point, `make`.

IDs look like `category/name-vN`. The catalog registers itself when `envarena.environments`
is imported; third-party packages declare entry points in the `envarena.environments`
group (name = ID, value = `module:Class`), so nothing central needs editing to add one.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import re
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from envarena.env import Env
from envarena.errors import InvalidOptionError, UnknownEnvironmentError
from envarena.multiagent import MultiAgentEnv, VersusOpponent

__all__ = ["EnvSpec", "Registry", "make", "register", "registry", "spec"]

ENTRY_POINT_GROUP = "envarena.environments"
#: `scheme:address` IDs name environments that live elsewhere. Integrations declare a handler
#: module per scheme in this entry-point group (`remote` is envarena's OpenEnv client); the
#: module (`remote_spec`, `validate_remote_options`, `make_remote`, `RemoteEnv`) is imported on
#: first use, so the core neither names an integration nor loads one unless such an ID is used.
SCHEME_ENTRY_POINT_GROUP = "envarena.schemes"
ID_PATTERN = re.compile(r"^(?P<category>[a-z0-9][a-z0-9_.-]*)/(?P<name>[a-z0-9][a-z0-9_.-]*)-v(?P<version>\d+)$")
_CONSTRUCTION_ONLY = {"render_mode"}
_VERSUS_OPTIONS = {"opponent", "seat"}


class EnvSpec(BaseModel):
    """What `envarena info` shows and what tools need to know before building an env."""

    id: str
    category: str
    name: str
    version: int
    entry_point: str
    description: str
    tags: list[str] = Field(default_factory=list)
    kwargs: dict[str, Any] = Field(default_factory=dict)
    max_turns: int
    reward_range: tuple[float, float]
    multi_agent: bool
    players: list[str] = Field(default_factory=list)
    source: str = "catalog"


@dataclass
class _Entry:
    env_class: type[Env] | type[MultiAgentEnv]
    tags: tuple[str, ...]
    source: str
    spec: EnvSpec | None = None


def _parse_id(env_id: str) -> re.Match[str]:
    match = ID_PATTERN.match(env_id)
    if match is None:
        raise InvalidOptionError(
            f"'{env_id}' is not a valid environment ID; IDs look like 'category/name-v0' (lowercase)"
        )
    return match


def _signature_options(env_class: type) -> dict[str, inspect.Parameter]:
    """Keyword options a user may pass, read from the class's `__init__`."""
    params = inspect.signature(env_class.__init__).parameters
    return {
        name: p
        for name, p in params.items()
        if name != "self" and name not in _CONSTRUCTION_ONLY and p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)
    }


class Registry(Mapping[str, EnvSpec]):
    """All known environments, catalog and plugins, keyed by ID (read-only mapping)."""

    def __init__(self) -> None:
        self._entries: dict[str, _Entry] = {}
        self._loaded = False
        self._loading = False

    # ---------------------------------------------------------------- registration
    def add(self, env_id: str, env_class: type, *, tags: tuple[str, ...] = (), source: str = "catalog") -> None:
        _parse_id(env_id)
        if not (isinstance(env_class, type) and issubclass(env_class, (Env, MultiAgentEnv))):
            raise TypeError(f"{env_id}: {env_class!r} is not an envarena Env or MultiAgentEnv subclass")
        existing = self._entries.get(env_id)
        if existing is not None and existing.env_class is not env_class:
            raise ValueError(f"environment ID '{env_id}' is already registered by {existing.env_class.__qualname__}")
        self._entries[env_id] = _Entry(env_class, tuple(tags), source)

    def _ensure_loaded(self) -> None:
        if self._loaded or self._loading:
            return
        self._loading = True
        try:
            importlib.import_module("envarena.environments")
            for ep in entry_points(group=ENTRY_POINT_GROUP):
                if ep.name in self._entries:
                    continue
                source = ep.dist.name if ep.dist is not None else ep.module
                try:
                    self.add(ep.name, ep.load(), source=source)
                except Exception as err:  # a broken plugin must not break the catalog
                    warnings.warn(f"skipping environment '{ep.name}' from {source}: {err}", stacklevel=2)
            self._loaded = True
        finally:
            self._loading = False

    # ---------------------------------------------------------------- lookup
    @staticmethod
    def _scheme(env_id: str) -> tuple[Any, str] | None:
        """The handler module and address of a `scheme:address` ID (None for a plain ID)."""
        scheme, sep, address = env_id.partition(":")
        if not sep:
            return None
        handlers = {ep.name: ep for ep in entry_points(group=SCHEME_ENTRY_POINT_GROUP)}
        if scheme not in handlers:
            return None
        return handlers[scheme].load(), address

    def _entry(self, env_id: str) -> _Entry:
        self._ensure_loaded()
        entry = self._entries.get(env_id)
        if entry is not None:
            return entry
        _parse_id(env_id)
        close = difflib.get_close_matches(env_id, list(self._entries), n=1)
        hint = f"; did you mean '{close[0]}'?" if close else "; run 'envarena list' to see the IDs"
        raise UnknownEnvironmentError(f"unknown environment '{env_id}'{hint}")

    def __getitem__(self, env_id: str) -> EnvSpec:
        if (scheme := self._scheme(env_id)) is not None:
            handler, address = scheme
            return handler.remote_spec(address)
        entry = self._entry(env_id)
        if entry.spec is None:
            entry.spec = self._build_spec(env_id, entry)
        return entry.spec

    def __iter__(self) -> Iterator[str]:
        self._ensure_loaded()
        return iter(sorted(self._entries))

    def __len__(self) -> int:
        self._ensure_loaded()
        return len(self._entries)

    def __contains__(self, env_id: object) -> bool:
        self._ensure_loaded()
        return env_id in self._entries

    def env_class(self, env_id: str) -> type[Env] | type[MultiAgentEnv]:
        if (scheme := self._scheme(env_id)) is not None:
            return scheme[0].RemoteEnv
        return self._entry(env_id).env_class

    def _build_spec(self, env_id: str, entry: _Entry) -> EnvSpec:
        match = _parse_id(env_id)
        cls = entry.env_class
        defaults = {
            name: (None if p.default is inspect.Parameter.empty else p.default)
            for name, p in _signature_options(cls).items()
        }
        probe = cls()
        multi = isinstance(probe, MultiAgentEnv)
        return EnvSpec(
            id=env_id,
            category=match["category"],
            name=match["name"],
            version=int(match["version"]),
            entry_point=f"{cls.__module__}:{cls.__qualname__}",
            description=cls.describe(),
            tags=list(entry.tags),
            kwargs=defaults,
            max_turns=probe.max_turns,
            reward_range=tuple(cls.reward_range),
            multi_agent=multi,
            players=list(probe.possible_agents) if multi else [],
            source=entry.source,
        )

    # ---------------------------------------------------------------- construction
    def validate_kwargs(self, env_id: str, kwargs: dict[str, Any]) -> dict[str, Any]:
        """Check options against the environment's signature; one clear sentence on error."""
        if (scheme := self._scheme(env_id)) is not None:
            return scheme[0].validate_remote_options(kwargs)
        cls = self.env_class(env_id)
        options = _signature_options(cls)
        fields: dict[str, Any] = {}
        for name, p in options.items():
            annotation = p.annotation if p.annotation is not inspect.Parameter.empty else Any
            default = ... if p.default is inspect.Parameter.empty else p.default
            fields[name] = (annotation, default)
        if issubclass(cls, MultiAgentEnv):
            fields["opponent"] = (str | None, None)
            fields["seat"] = (str | None, None)
        if "render_mode" in kwargs:
            fields["render_mode"] = (Literal["ansi"] | None, None)
        unknown = sorted(set(kwargs) - set(fields))
        if unknown:
            known = ", ".join(sorted(set(fields) - {"render_mode"})) or "none"
            raise InvalidOptionError(f"{env_id} has no option '{unknown[0]}' (its options: {known})")
        model = create_model(
            "Options", __config__=ConfigDict(extra="forbid", arbitrary_types_allowed=True), **_resolve(cls, fields)
        )
        try:
            parsed = model.model_validate(kwargs)
        except ValidationError as err:
            first = err.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise InvalidOptionError(f"option '{where}' of {env_id}: {first['msg']}") from None
        return {name: getattr(parsed, name) for name in kwargs}

    def make(self, env_id: str, **kwargs: Any) -> Env | MultiAgentEnv:
        """Build an environment; a multi-agent one given `opponent=` becomes single-agent."""
        if (scheme := self._scheme(env_id)) is not None:
            handler, address = scheme
            return handler.make_remote(address, **kwargs)
        cls = self.env_class(env_id)
        options = self.validate_kwargs(env_id, kwargs)
        versus = {k: options.pop(k) for k in list(options) if k in _VERSUS_OPTIONS and issubclass(cls, MultiAgentEnv)}
        try:
            env = cls(**options)
        except (ValueError, TypeError) as err:
            raise InvalidOptionError(f"cannot build {env_id}: {err}") from None
        if isinstance(env, MultiAgentEnv) and versus:
            try:
                return VersusOpponent(env, opponent=versus.get("opponent"), seat=versus.get("seat"))
            except ValueError as err:
                raise InvalidOptionError(f"{env_id}: {err}") from None
        return env

    def make_single_agent(self, env_id: str, **kwargs: Any) -> Env:
        """The environment one agent plays alone: a two-player game faces its built-in opponent
        unless `opponent=` names another, as in `envarena rollout` without `--opponent`. Servers
        and trainer integrations, which hand an environment to a single outside agent, use it."""
        if self[env_id].multi_agent:
            kwargs.setdefault("opponent", None)
        env = self.make(env_id, **kwargs)
        if not isinstance(env, Env):  # not reachable with an opponent set; a guard for odd registrations
            raise InvalidOptionError(f"{env_id} does not build a single-agent environment")
        return env


def _resolve(cls: type, fields: dict[str, Any]) -> dict[str, Any]:
    """Resolve string annotations (modules using postponed evaluation) for pydantic."""
    import typing

    try:
        hints = typing.get_type_hints(cls.__init__)
    except Exception:
        hints = {}
    return {name: (hints.get(name, ann) if isinstance(ann, str) else ann, d) for name, (ann, d) in fields.items()}


registry = Registry()


def register(env_id: str, *, tags: tuple[str, ...] | list[str] = ()) -> Any:
    """Class decorator for catalog environments: `@register("games/wordle-v0")`."""

    def decorate(cls: type) -> type:
        registry.add(env_id, cls, tags=tuple(tags))
        return cls

    return decorate


def make(env_id: str, **kwargs: Any) -> Env | MultiAgentEnv:
    """Build the environment `env_id` with validated options."""
    return registry.make(env_id, **kwargs)


def spec(env_id: str) -> EnvSpec:
    """Describe `env_id` without playing it."""
    return registry[env_id]
