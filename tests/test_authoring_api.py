"""The authoring API says what it needs: abstract hooks refused at registration, a lazy
catalog that hides only what cannot be imported, `env.spec`, public unregistering, and
`TaskEnv.generate` that leaves the running episode alone."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import gymnasium
import numpy as np
import pytest

import envarena
from envarena import Env, Message, MultiAgentEnv, StepResult, TaskEnv, register, unregister


def _in_a_fresh_process(script: str) -> subprocess.CompletedProcess[str]:
    """Run `script` in a new interpreter: what a registry loads lazily is only visible from
    a process that has imported nothing yet."""
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)


def test_an_env_without_respond_is_refused_where_it_is_defined():
    with pytest.raises(TypeError, match="does not implement respond"):

        @register("test/half-written-v0")
        class HalfWritten(Env):
            def begin_episode(self, options):
                return [Message.user("hi")]

    assert "test/half-written-v0" not in envarena.registry


def test_a_task_env_without_check_is_refused_and_cannot_be_built():
    class NoCheck(TaskEnv[int]):
        def generate(self, rng):
            return 1

        def prompt(self, task):
            return "?"

        def solution(self, task):
            return "1"

    with pytest.raises(TypeError, match="check"):
        register("test/no-check-v0")(NoCheck)
    with pytest.raises(TypeError, match="check"):
        NoCheck()


def test_a_game_without_apply_move_is_refused():
    class NoMoves(MultiAgentEnv):
        possible_agents = ["a", "b"]

        def begin_game(self, options):
            return {}, "a"

    with pytest.raises(TypeError, match="apply_move"):
        register("test/no-moves-v0")(NoMoves)


class _Echo(Env):
    """Says back what it is told."""

    def begin_episode(self, options):
        return [Message.user("say anything")]

    def respond(self, action):
        return StepResult([Message.user(action.content)], done=True, outcome=1.0)


def test_register_make_spec_and_unregister_are_public():
    register("test/echo-v0")(_Echo)
    try:
        env = envarena.make("test/echo-v0", max_turns=3)
        assert env.spec.id == "test/echo-v0"
        assert env.spec.kwargs == {"max_turns": 3}
        assert env.spec.max_episode_steps == 3
        rebuilt = gymnasium.make(env.spec)  # gymnasium users rebuild from a spec
        assert isinstance(rebuilt.unwrapped, _Echo)
    finally:
        unregister("test/echo-v0")
    assert "test/echo-v0" not in envarena.registry
    with pytest.raises(envarena.UnknownEnvironmentError, match="unknown environment"):
        unregister("test/echo-v0")
    unregister("test/echo-v0", missing_ok=True)


def test_a_game_against_an_opponent_gets_a_spec_and_is_an_env_by_interface():
    env = envarena.make("games/tictactoe-v0", opponent="random", seat="o")
    assert isinstance(env, Env) and not issubclass(type(env), _Echo)
    assert type(env).__mro__[1] is gymnasium.Env, "a wrapper around the game, not a subclass of the authoring base"
    assert env.spec.id == "games/tictactoe-v0" and env.spec.kwargs == {"opponent": "random", "seat": "o"}


def test_difficulty_picks_the_default_opponent_in_one_place():
    assert envarena.make("games/chess-v0", difficulty="hard").default_opponent == "scripted"
    assert envarena.make("games/connect4-v0", difficulty="easy").default_opponent == "random"
    assert envarena.make("games/negotiation-v0", difficulty="hard").default_opponent == "tough"


def test_a_lazy_entry_whose_module_is_missing_is_hidden_and_explained():
    envarena.registry.add("test/needs-missing-v0", "no_such_package_for_envarena.envs:Env")
    try:
        with pytest.warns(UserWarning, match="no_such_package_for_envarena"):
            listed = list(envarena.registry)
        assert "test/needs-missing-v0" not in listed and "games/wordle-v0" in listed
        with pytest.raises(envarena.UnavailableEnvironmentError,
                           match="needs the Python package 'no_such_package_for_envarena'"):
            envarena.make("test/needs-missing-v0")
    finally:
        unregister("test/needs-missing-v0")


def test_a_missing_optional_dependency_hides_only_its_own_environments():
    """Without python-chess, chess is unavailable and everything else works (it used to break
    the whole registry)."""
    script = textwrap.dedent("""
        import sys, warnings
        sys.modules["chess"] = None  # as if python-chess were not installed
        import envarena
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            ids = list(envarena.registry)
        assert "games/chess-v0" not in ids, ids
        assert "games/wordle-v0" in ids and "games/xiangqi-v0" in ids
        assert any("games/chess-v0" in str(w.message) for w in caught)
        env = envarena.make("games/wordle-v0")
        env.reset(seed=0)
        try:
            envarena.make("games/chess-v0")
        except envarena.UnavailableEnvironmentError as err:
            print("ERR", err)
    """)
    out = _in_a_fresh_process(script)
    assert out.returncode == 0, out.stderr
    assert "ERR environment 'games/chess-v0' is unavailable: it needs the Python package 'chess'" in out.stdout


def test_looking_up_one_environment_imports_only_its_module():
    script = textwrap.dedent("""
        import sys
        import envarena
        envarena.make("text/copy-v0")
        loaded = sorted(m for m in sys.modules if m.startswith("envarena.environments."))
        print(loaded)
        assert loaded == ["envarena.environments.text", "envarena.environments.text.copy"], loaded
    """)
    out = _in_a_fresh_process(script)
    assert out.returncode == 0, out.stdout + out.stderr


def test_generating_a_task_does_not_disturb_the_running_episode():
    env = envarena.make("tools/sql-v0", difficulty="easy")
    env.reset(seed=0)
    before = env.query(sql="SELECT COUNT(*) FROM customers")
    other = env.generate(np.random.default_rng(99))  # e.g. to inspect or filter tasks
    assert other.db is not None and other.db is not env.db
    assert env.query(sql="SELECT COUNT(*) FROM customers") == before, "the episode's database is still open and unchanged"
    env.close()


def test_families_are_explained_unregistered_and_guarded_before_they_load():
    """In a fresh process: a family whose library is missing says which package it needs; a
    family ID can be unregistered before anything loaded it; and registering over a catalog ID
    is refused whether or not the registry has been read yet (it used to replace it silently)."""
    script = textwrap.dedent("""
        import sys
        sys.modules["textarena"] = None  # as if the arena extra were not installed
        import envarena
        from envarena import Env
        try:
            @envarena.register("games/wordle-v0")
            class Impostor(Env):
                def begin_episode(self, options): return []
                def respond(self, action): return None
            print("REPLACED")
        except ValueError as err:
            print("REFUSED", err)
        envarena.unregister("reasoning/maze-v0")
        assert "reasoning/maze-v0" not in envarena.registry
        try:
            envarena.make("arena/2048-v0")
        except envarena.UnavailableEnvironmentError as err:
            print("ERR", err)
    """)
    out = _in_a_fresh_process(script)
    assert out.returncode == 0, out.stderr
    assert "REFUSED environment ID 'games/wordle-v0' is already registered" in out.stdout
    assert ("ERR environment 'arena/2048-v0' is unavailable: the arena/* environments need the Python package "
            "'textarena', which is not installed") in out.stdout
