"""Environment IDs: the catalog table, plugins by entry point, user classes by decorator, `make`.

IDs look like `category/name-vN`. Catalog and plugin environments are registered lazily, by
`"module:Class"` strings: the catalog's table (`envarena.environments.CATALOG`) and the
`envarena.environments` entry-point group (name = ID, value = `module:Class`) are read
without importing any environment, and a module is imported when one of its environments is
first looked up, listed or built. An environment whose module cannot be imported (a missing
optional dependency, a broken plugin) is hidden from listings with a warning and explained
when asked for by name; the others are unaffected. Classes defined in user code register
with `@register("category/name-v0")`; `unregister` removes any of them.
"""

from __future__ import annotations

import difflib
import functools
import importlib
import inspect
import re
import threading
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any, Literal

import gymnasium.envs.registration as gym_registration
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from envarena.env import Env
from envarena.errors import EnvArenaError, InvalidOptionError, UnavailableEnvironmentError, UnknownEnvironmentError
from envarena.multiagent import MultiAgentEnv, VersusOpponent

__all__ = ["EnvSpec", "Registry", "make", "register", "registry", "spec", "unregister"]

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
    #: The class, or a `"module:Class"` string not imported yet.
    target: type[Env] | type[MultiAgentEnv] | str
    tags: tuple[str, ...]
    source: str
    spec: EnvSpec | None = None
    #: Why the target cannot be imported, once that has been tried and failed.
    failure: str | None = None


def _check_class(env_id: str, env_class: Any) -> None:
    """Refuse what is not an environment, or one that leaves a required hook unwritten, at
    registration: the author hears at once, not at the first step of a rollout."""
    if not (isinstance(env_class, type) and issubclass(env_class, (Env, MultiAgentEnv))):
        raise TypeError(f"{env_id}: {env_class!r} is not an envarena Env or MultiAgentEnv subclass")
    missing = sorted(getattr(env_class, "__abstractmethods__", ()))
    if missing:
        raise TypeError(f"{env_id}: {env_class.__qualname__} does not implement {', '.join(missing)}")


def _import_target(target: str) -> type:
    module_name, sep, qualname = target.partition(":")
    if not sep or not module_name or not qualname:
        raise ValueError(f"'{target}' is not of the form 'module:Class'")
    obj: Any = importlib.import_module(module_name)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


def _target_name(target: type | str) -> str:
    """`module:Class` for a class or a lazy string alike, so the two can be compared."""
    return target if isinstance(target, str) else f"{target.__module__}:{target.__qualname__}"


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
        #: ID prefix -> module whose import registers that family; popped once imported.
        self._groups: dict[str, str] = {}
        #: Families whose optional library is not installed: prefix -> the missing package.
        self._missing_libraries: dict[str, str] = {}
        self._loaded = False
        self._lock = threading.RLock()  # environments are built from worker threads too

    # ---------------------------------------------------------------- registration
    def add(self, env_id: str, env_class: type | str, *, tags: tuple[str, ...] = (), source: str = "catalog") -> None:
        """Register a class, or a `"module:Class"` string imported on first use."""
        _parse_id(env_id)
        if isinstance(env_class, str):
            if ":" not in env_class:
                raise ValueError(f"{env_id}: '{env_class}' is not of the form 'module:Class'")
        else:
            _check_class(env_id, env_class)
        self._ensure_loaded()  # so a clash with a catalog or plugin ID is refused whenever it happens
        with self._lock:
            existing = self._entries.get(env_id)
            if existing is not None and _target_name(existing.target) != _target_name(env_class):
                raise ValueError(f"environment ID '{env_id}' is already registered by {_target_name(existing.target)}")
            if existing is not None:  # the same class, named again (e.g. its module was imported): keep tags
                existing.target, existing.failure = env_class, None
                return
            self._entries[env_id] = _Entry(env_class, tuple(tags), source)

    def remove(self, env_id: str, *, missing_ok: bool = False) -> None:
        """Unregister `env_id`; an unknown ID is a one-sentence error unless `missing_ok`."""
        self._ensure_loaded()
        self._load_groups(env_id)
        with self._lock:
            if self._entries.pop(env_id, None) is None and not missing_ok:
                raise UnknownEnvironmentError(f"unknown environment '{env_id}'")

    def _ensure_loaded(self) -> None:
        """Read the catalog's table and the plugins' entry points; imports no environment."""
        with self._lock:
            if self._loaded:
                return
            catalog = importlib.import_module("envarena.environments")
            for env_id, (target, tags) in catalog.CATALOG.items():
                self._entries.setdefault(env_id, _Entry(f"envarena.environments.{target}", tuple(tags), "catalog"))
            for prefix, module in catalog.GROUPS.items():
                self._groups.setdefault(prefix, f"envarena.environments.{module}")
            for ep in entry_points(group=ENTRY_POINT_GROUP):
                source = ep.dist.name if ep.dist is not None else ep.module
                self._entries.setdefault(ep.name, _Entry(ep.value, (), source))
            self._loaded = True

    def _load_groups(self, env_id: str | None = None) -> None:
        """Import the family modules whose prefix `env_id` starts with (all of them for None);
        a family whose library is missing or broken is skipped, and only it.

        Imports run outside the registry's lock (they register under it), so a thread that
        imports a family module directly cannot deadlock with one that lists the registry;
        two threads importing the same module wait on Python's own per-module import lock."""
        with self._lock:
            todo = [(p, m) for p, m in self._groups.items() if env_id is None or env_id.startswith(p)]
        for prefix, module in todo:
            try:
                importlib.import_module(module)
            except ModuleNotFoundError as err:
                if (err.name or "envarena").split(".")[0] == "envarena":
                    raise
                self._missing_libraries[prefix] = err.name or "?"  # the optional library is not installed
            except Exception as err:  # a broken optional library hides only its own family
                warnings.warn(f"{prefix}* environments are unavailable: {err}", stacklevel=3)
            with self._lock:
                self._groups.pop(prefix, None)

    def _resolve(self, env_id: str, entry: _Entry) -> type[Env] | type[MultiAgentEnv]:
        """The entry's class, importing it on first use; one sentence when that fails."""
        target = entry.target
        if isinstance(target, type):
            return target
        if entry.failure is None:  # imported outside the lock, for the reason `_load_groups` gives
            try:
                env_class = _import_target(target)
                _check_class(env_id, env_class)
            except ModuleNotFoundError as err:
                missing = err.name or "?"
                entry.failure = (f"its module '{missing}' does not exist" if missing.split(".")[0] == "envarena"
                                 else f"it needs the Python package '{missing}', which is not installed")
            except Exception as err:  # a broken plugin or module must not break the registry
                entry.failure = f"{target} cannot be loaded ({type(err).__name__}: {err})"
            else:
                with self._lock:
                    if not isinstance(entry.target, type):
                        entry.target = env_class
                    return entry.target
        raise UnavailableEnvironmentError(f"environment '{env_id}' is unavailable: {entry.failure}")

    def _available_ids(self) -> list[str]:
        """Every ID whose class imports; the others are hidden, each with one warning."""
        self._ensure_loaded()
        self._load_groups()
        ids = []
        for env_id, entry in sorted(self._entries.items()):
            if isinstance(entry.target, type):
                ids.append(env_id)
                continue
            already_failed = entry.failure is not None
            try:
                self._resolve(env_id, entry)
                ids.append(env_id)
            except UnavailableEnvironmentError as err:
                if not already_failed:
                    warnings.warn(f"{err}; it is left out", stacklevel=3)
        return ids

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
        if entry is None and self._groups:
            self._load_groups(env_id)
            entry = self._entries.get(env_id)
        if entry is not None:
            return entry
        _parse_id(env_id)
        for prefix, package in self._missing_libraries.items():
            if env_id.startswith(prefix):
                raise UnavailableEnvironmentError(
                    f"environment '{env_id}' is unavailable: the {prefix}* environments need the Python package "
                    f"'{package}', which is not installed")
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
        return iter(self._available_ids())

    def __len__(self) -> int:
        return len(self._available_ids())

    def __contains__(self, env_id: object) -> bool:
        if not isinstance(env_id, str):
            return False
        try:
            self._resolve(env_id, self._entry(env_id))
        except EnvArenaError:
            return False
        return True

    def env_class(self, env_id: str) -> type[Env] | type[MultiAgentEnv]:
        if (scheme := self._scheme(env_id)) is not None:
            return scheme[0].RemoteEnv
        return self._resolve(env_id, self._entry(env_id))

    def _build_spec(self, env_id: str, entry: _Entry) -> EnvSpec:
        match = _parse_id(env_id)
        cls = self._resolve(env_id, entry)
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
                env = VersusOpponent(env, opponent=versus.get("opponent"), seat=versus.get("seat"))
            except ValueError as err:
                raise InvalidOptionError(f"{env_id}: {err}") from None
        # gymnasium's own spec, so `env.spec.id` and `gymnasium.make(env.spec)` work as gymnasium
        # users expect (check_env rebuilds environments that way); the entry point is envarena's
        # `make`, which also knows opponents, seats and plugins.
        env.spec = gym_registration.EnvSpec(
            id=env_id,
            entry_point=functools.partial(_make_by_id, env_id),
            # a game's turn budget counts every player's moves (and not refused ones), so no
            # per-agent-step limit describes it
            max_episode_steps=None if issubclass(cls, MultiAgentEnv) else env.max_turns,
            kwargs={k: v for k, v in kwargs.items() if k != "render_mode"},
        )
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
    """Class decorator for environments defined in user code: `@register("mylab/echo-v0")`.
    A class that leaves a required hook unwritten is refused here, where it is defined."""

    def decorate(cls: type) -> type:
        registry.add(env_id, cls, tags=tuple(tags))
        return cls

    return decorate


def _make_by_id(env_id: str, **kwargs: Any) -> Env | MultiAgentEnv:
    """The entry point of the gymnasium spec `make` gives each environment (picklable)."""
    return registry.make(env_id, **kwargs)


def unregister(env_id: str, *, missing_ok: bool = False) -> None:
    """Remove `env_id` from the registry (tests and notebooks that register throwaway classes)."""
    registry.remove(env_id, missing_ok=missing_ok)


def make(env_id: str, **kwargs: Any) -> Env | MultiAgentEnv:
    """Build the environment `env_id` with validated options."""
    return registry.make(env_id, **kwargs)


def spec(env_id: str) -> EnvSpec:
    """Describe `env_id` without playing it."""
    return registry[env_id]
