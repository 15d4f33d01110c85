"""`envarena.integrations.trl`: envarena environments in TRL's real `GRPOTrainer`.

The trainer test runs TRL's GRPO loop (generation, TRL's tool-call parser and tool loop,
`get_reward`, the loss and an optimizer step) on CPU with envarena's tiny randomly
initialised Llama (`envarena.train.tiny`; SmolLM2-135M samples too slowly on a busy 2-core
machine for two GRPO steps in a test). Nothing is replaced; the rewards TRL logs are checked
against envarena replaying the same actions.
"""

from __future__ import annotations

import os
import re

import pytest

if os.environ.get("CI") == "true":
    import trl  # noqa: F401  (CI installs the test extra: a missing trl is a failure there, not a skip)
else:
    pytest.importorskip("trl", reason="trl is not installed (pip install 'envarena[trl]')")

import envarena  # noqa: E402
from envarena.errors import InvalidOptionError, UnknownEnvironmentError  # noqa: E402
from envarena.integrations.trl import environment_factory, grpo_inputs, prompt_dataset, use_tool_template  # noqa: E402
from envarena.rollout import RolloutConfig, run_rollout_sync  # noqa: E402
from envarena.types import Episode, Message  # noqa: E402

from ..conftest import REPO  # noqa: E402

COPY = "text/copy-v0"  # easy: the reply is one digit of 0-3


def _replay(episode: Episode) -> Episode:
    """The same actions, played again by envarena alone."""
    env = envarena.make(episode.env_id, **episode.env_kwargs)
    env.reset(seed=episode.seed)
    total, outcome = 0.0, 0.0
    for turn in episode.turns:
        _, reward, terminated, truncated, info = env.step(turn.action)
        total += reward
        if terminated or truncated:
            outcome = info["outcome"]
    env.close()
    return episode.model_copy(update={"total_reward": total, "outcome": outcome})


def _steered_tool_call(tokenizer) -> list[list]:
    """`sequence_bias` (a transformers GenerationConfig option, passed through TRL's
    `generation_kwargs`) that makes the random model write `reply` with a digit of its own
    choosing: each longer prefix of the call outweighs the shorter ones, and the four digits
    are biased alike, so rollouts of one prompt differ and GRPO has something to compare."""
    head = '<tool_call>\n{"name": "reply", "arguments": {"message": "'
    tail = '"}}\n</tool_call>'
    encode = lambda text: tokenizer(text, add_special_tokens=False).input_ids  # noqa: E731
    bias: dict[tuple[int, ...], float] = {}
    for digit in "0123":
        ids = encode(head + digit + tail) + [tokenizer.eos_token_id]
        for k in range(1, len(ids) + 1):
            bias[tuple(ids[:k])] = 100.0 * k
    return [[list(seq), value] for seq, value in bias.items()]


def test_grpo_trainer_trains_two_steps_on_envarena_rewards(tmp_path, monkeypatch):
    monkeypatch.setenv("TRL_EXPERIMENTAL_SILENCE", "1")
    from trl import GRPOConfig, GRPOTrainer

    from envarena.train.tiny import build_tiny

    model, tokenizer = build_tiny()
    use_tool_template(tokenizer)
    episodes: list[Episode] = []
    inputs = grpo_inputs(COPY, n=4, seed=2, difficulty="easy", on_episode=episodes.append)
    config = GRPOConfig(
        output_dir=str(tmp_path), max_steps=2, per_device_train_batch_size=4, num_generations=2,
        max_completion_length=96, max_tool_calling_iterations=1, learning_rate=1e-3, beta=0.0,
        logging_steps=1, report_to="none", save_strategy="no", use_cpu=True, bf16=False, seed=0,
        generation_kwargs={"sequence_bias": _steered_tool_call(tokenizer)},
    )
    trainer = GRPOTrainer(model=model, processing_class=tokenizer, args=config, **inputs)
    trainer.train()

    assert trainer.state.global_step == 2
    steps = [h for h in trainer.state.log_history if "reward" in h]
    assert len(steps) == 2 and all(h["tools/call_frequency"] > 0 for h in steps)
    # get_reward ran once per rollout (2 steps x 4) and each rollout acted through TRL's tool loop.
    assert len(episodes) == 8
    assert all(e.turns and e.turns[0].action.content in {"0", "1", "2", "3"} for e in episodes)
    for step, logged in enumerate(steps):
        ours = [e.total_reward for e in episodes[4 * step: 4 * step + 4]]
        assert logged["rewards/EnvArena_text_copy_v0/mean"] == pytest.approx(sum(ours) / 4, abs=1e-6)
    for episode in episodes:  # and envarena alone gives the same scores for the same actions
        replayed = _replay(episode)
        assert (replayed.total_reward, replayed.outcome) == pytest.approx((episode.total_reward, episode.outcome))
    assert {e.total_reward for e in episodes} <= {0.2, 2.0}  # wrong digit: partial credit; right: progress + outcome


def test_dataset_rows_are_the_tasks_reset_plays():
    dataset = prompt_dataset("games/wordle-v0", 3, seed=7)
    assert dataset["seed"] == [7, 8, 9]
    environment = environment_factory("games/wordle-v0")()
    for row in dataset:
        environment.reset(**row)
        env = envarena.make("games/wordle-v0")
        observation, _ = env.reset(seed=row["seed"])
        assert row["prompt"] == [{"role": m.role, "content": m.content} for m in observation]
        assert environment.live.env.transcript == env.transcript


@pytest.mark.parametrize("env_id", ["tools/calculator-v0", "games/wordle-v0"])
def test_reference_solver_through_the_trl_tools_scores_like_a_rollout(env_id, tmp_path):
    """TRL calls one method per tool call; playing the reference solver that way gives the
    reward `envarena rollout --agent scripted` records for the same task."""
    scored: list[Episode] = []
    environment = environment_factory(env_id, on_episode=scored.append)()
    environment.reset(seed=3, prompt=[])
    solver = environment.live.env.reference_solver()
    while not environment.live.done:
        action = solver.act(environment.live.observation)
        action = Message.assistant(action) if isinstance(action, str) else action
        if action.tool_calls:
            replies = [getattr(environment, call.name)(**call.arguments) for call in action.tool_calls]
        else:
            replies = [environment.reply(action.content)]
        assert all(isinstance(r, str) and r for r in replies)
    reward = environment.get_reward()
    played: list[Episode] = []
    run_rollout_sync(RolloutConfig(env_id=env_id, n=1, seed=3, out=str(tmp_path / "r.jsonl")), on_episode=played.append)
    [rollout] = played
    assert scored[0].outcome == rollout.outcome == 1.0
    assert reward == pytest.approx(rollout.total_reward)
    assert environment.reply("again") == "The episode is over; nothing more can be done."


def test_every_catalog_tool_keeps_its_schema_through_trl():
    """TRL (through transformers' `get_json_schema`) reads each tool back from the generated
    method's signature and docstring: names, types, enums and required arguments survive."""
    from transformers.utils import get_json_schema

    keep = ("type", "items", "enum", "anyOf", "nullable")

    def shape(prop: dict) -> dict:
        """What a schema says about one argument; an optional argument (`int | None`, which
        pydantic writes as anyOf [integer, null]) is what transformers calls nullable."""
        options = prop.get("anyOf") or []
        others = [o for o in options if o != {"type": "null"}]
        if len(options) == 2 and len(others) == 1:
            prop = {**{k: v for k, v in prop.items() if k != "anyOf"}, **others[0], "nullable": True}
        return {x: prop[x] for x in keep if x in prop}

    checked = 0
    for env_id in sorted(envarena.registry):
        environment = environment_factory(env_id)()
        schemas = {s["function"]["name"]: s["function"] for s in map(get_json_schema, _methods(environment))}
        assert "reply" in schemas and schemas["reply"]["parameters"]["required"] == ["message"]
        for tool in environment.live.env.tools:
            got, want = schemas[tool.name]["parameters"], tool.parameters
            assert {k: shape(v) for k, v in got["properties"].items()} == {
                k: shape(v) for k, v in want.get("properties", {}).items()
            }, (env_id, tool.name)
            assert set(got.get("required", [])) == set(want.get("required", [])), (env_id, tool.name)
            assert schemas[tool.name]["description"] == " ".join(tool.description.split())
            checked += 1
        environment.live.close()
    assert checked >= 10


def _methods(environment) -> list:
    """The tools as TRL collects them: public functions of the class, less reset/get_reward."""
    import inspect

    return [getattr(environment, name) for name, _ in inspect.getmembers(type(environment), inspect.isfunction)
            if not name.startswith("_") and name not in ("reset", "get_reward")]


def test_bad_requests_fail_with_one_clear_sentence():
    with pytest.raises(UnknownEnvironmentError):
        environment_factory("games/no-such-game-v0")
    with pytest.raises(InvalidOptionError, match="has a tool named 'calculate'"):
        environment_factory("tools/calculator-v0", text_tool="calculate")
    with pytest.raises(InvalidOptionError, match="reward must be"):
        environment_factory(COPY, reward="best")
    with pytest.raises(InvalidOptionError, match="n must be at least 1"):
        prompt_dataset(COPY, 0)
    from tokenizers import Tokenizer, models
    from transformers import PreTrainedTokenizerFast

    plain = PreTrainedTokenizerFast(tokenizer_object=Tokenizer(models.WordLevel({"a": 0, "?": 1}, unk_token="?")))
    plain.chat_template = "{% for m in messages %}{{ m.content }}{% endfor %}"
    with pytest.raises(InvalidOptionError, match="not ChatML"):
        use_tool_template(plain)


def test_readme_example_trains_smollm2_one_step(tmp_path, monkeypatch, smollm2):
    """The README's example as it stands: SmolLM2-135M, one GRPO step on wordle."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TRL_EXPERIMENTAL_SILENCE", "1")
    readme = (REPO / "README.md").read_text()
    block = re.search(r"<!-- example: trl-grpo -->\s*```python\n(.*?)```", readme, re.DOTALL).group(1)
    namespace: dict = {"__name__": "readme_trl"}
    exec(compile(block, "README.md", "exec"), namespace)
    trainer, episodes = namespace["trainer"], namespace["episodes"]
    assert trainer.state.global_step == 1 and len(episodes) == 2
    logged = trainer.state.log_history[0]["rewards/EnvArena_games_wordle_v0/mean"]
    assert logged == pytest.approx(sum(e.total_reward for e in episodes) / 2, abs=1e-6)


def test_environments_trl_drops_without_closing_are_closed():
    """TRL keeps one environment per rollout slot and never calls close(); the envarena
    environment behind each is closed when the slot's object is collected."""
    import gc

    from envarena import Message as Msg
    from envarena import StepResult, register, unregister

    closed: list[int] = []

    @register("test/closes-v0")
    class Closes(envarena.Env):
        def begin_episode(self, options):
            return [Msg.user("hi")]

        def respond(self, action):
            return StepResult([Msg.user("ok")], done=True, outcome=1.0)

        def close(self):
            closed.append(1)
            super().close()

    try:
        factory = environment_factory("test/closes-v0")  # closes the probe it reads the tools from
        probes = len(closed)
        env = factory()
        env.reset(seed=0)
        del env
        gc.collect()
        assert len(closed) == probes + 1
        env = factory()
        env.live.close()
        env.live.close()  # closing twice closes once
        assert len(closed) == probes + 2
    finally:
        unregister("test/closes-v0")
