"""Exported rows go to TRL as they are: rendered by TRL's own data utilities and tokenized by
its SFT trainer with a real tokenizer (SmolLM2's, and TRL's shipped Qwen2.5 template for a
template that renders tools), and exports of different environments concatenate."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import datasets
import pytest

if os.environ.get("CI") == "true":  # CI installs the test extra: a missing trl is a failure there
    import trl
else:
    trl = pytest.importorskip("trl", reason="trl is not installed (pip install -e '.[test]')")

from transformers import AutoTokenizer  # noqa: E402
from trl.data_utils import apply_chat_template, is_conversational, maybe_apply_chat_template  # noqa: E402

import envarena  # noqa: E402
from envarena.agents.chat_format import ChatFormat  # noqa: E402
from envarena.export import export, features  # noqa: E402
from envarena.rollout import RolloutConfig, read_episodes, run_rollout_sync  # noqa: E402
from envarena.types import Episode, Message, ToolCall, Turn  # noqa: E402

from .conftest import REPO, run_cli  # noqa: E402

QWEN_TEMPLATE = Path(trl.__file__).parent / "chat_templates" / "qwen2_5.jinja"
FORMATS = ("sft", "preference", "rl", "raw")


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, list[str]]:
    folder = tmp_path_factory.mktemp("runs")
    files: dict[str, list[str]] = {}
    for env_id in ("tools/calculator-v0", "games/wordle-v0"):
        name = env_id.split("/")[1]
        files[name] = []
        for agent in ("scripted", "random"):
            out = folder / f"{name}.{agent}.jsonl"
            run_rollout_sync(RolloutConfig(env_id=env_id, agent=agent, n=3, out=str(out)))
            files[name].append(str(out))
    return files


@pytest.fixture(scope="module")
def smol(smollm2):
    return AutoTokenizer.from_pretrained(smollm2)


@pytest.fixture(scope="module")
def qwen(smollm2):
    """SmolLM2's tokenizer with TRL's Qwen2.5 template, a template that renders tools and
    tool calls (SmolLM2 has the same <|im_start|> tokens)."""
    tokenizer = AutoTokenizer.from_pretrained(smollm2)
    tokenizer.chat_template = QWEN_TEMPLATE.read_text()
    return tokenizer


def load(out: Path, storage: str, fmt: str) -> datasets.Dataset:
    if storage == "hf":
        return datasets.load_from_disk(str(out))
    if storage == "parquet":
        return datasets.load_dataset("parquet", data_files=str(out / "data.parquet"), split="train")
    return datasets.load_dataset("json", data_files=str(out / "data.jsonl"), split="train", features=features(fmt))


def with_calls(dataset: datasets.Dataset) -> dict:
    """A row whose conversation used a tool (in either tool-call style)."""
    return next(r for r in dataset if any(m["role"] == "tool" for m in r["messages"]))


def assistant_part(text: str) -> str:
    return text.split("<|im_start|>assistant", 1)[1]


def test_sft_tool_calls_survive_trls_chat_template(runs, tmp_path, smol, qwen):
    export(runs["calculator-v0"], tmp_path / "native", fmt="sft", storage="hf")
    row = with_calls(datasets.load_from_disk(str(tmp_path / "native")))
    assert is_conversational(row)
    assert [t["function"]["name"] for t in row["tools"]] == ["calculate"]

    text = apply_chat_template({"messages": row["messages"]}, qwen, tools=row["tools"])["text"]
    assert '"name": "calculate", "description": "Evaluate an arithmetic expression exactly."' in text, "tools shown"
    assert re.search(r'<tool_call>\n\{"name": "calculate", "arguments": \{"expression": "[^"]+"\}\}', text), (
        "arguments rendered as an object, not a quoted string"
    )

    # SmolLM2's own template renders `content` only: a native call would vanish ...
    dropped = apply_chat_template({"messages": row["messages"]}, smol, tools=row["tools"])["text"]
    assert "calculate" not in assistant_part(dropped)
    # ... so `text` style writes it as envarena's agents showed it to SmolLM2, byte for byte.
    export(runs["calculator-v0"], tmp_path / "text", fmt="sft", storage="hf", tool_calls="text")
    episodes = {e.id: e for path in runs["calculator-v0"] for e in read_episodes(path)}
    tools = envarena.make("tools/calculator-v0").tools
    chat = ChatFormat(smol)
    for row in datasets.load_from_disk(str(tmp_path / "text")):
        assert row["tools"] is None, "the schemas are in the system prompt instead"
        rendered = apply_chat_template({"messages": row["messages"]}, smol, tools=row["tools"])["text"]
        episode = episodes[row["episode_id"]]
        assert rendered == chat.render(chat.to_dicts(episode.messages(), tools), tools, generation_prompt=False)
    assert '<tool_call>{"name": "calculate", "arguments": {"expression": ' in assistant_part(rendered)


def test_trls_sft_trainer_tokenizes_the_tool_calls(runs, tmp_path, smollm2, smol):
    from trl import SFTConfig, SFTTrainer

    for style, template, expected in [
        ("text", None, '<tool_call>{"name": "calculate", "arguments": {"expression": '),
        ("native", str(QWEN_TEMPLATE), '<tool_call>\n{"name": "calculate", "arguments": {"expression": '),
    ]:
        out = tmp_path / style
        export(runs["calculator-v0"], out, fmt="sft", storage="parquet", tool_calls=style)
        dataset = load(out, "parquet", "sft")
        config = SFTConfig(output_dir=str(tmp_path / "trainer"), max_steps=1, report_to=[], use_cpu=True,
                           chat_template_path=template)
        trainer = SFTTrainer(model=smollm2, processing_class=smol, train_dataset=dataset, args=config)
        tokens = trainer.train_dataset[dataset["episode_id"].index(with_calls(dataset)["episode_id"])]["input_ids"]
        decoded = trainer.processing_class.decode(tokens)
        assert expected in assistant_part(decoded), (style, decoded[-800:])


def _played(episode_id: str, actions: list[Message]) -> Episode:
    """An episode of the calculator task with seed 0, played with the given actions."""
    env = envarena.make("tools/calculator-v0", difficulty="easy")
    observation, _ = env.reset(seed=0)
    turns, info = [], {}
    for action in actions:
        following, reward, terminated, truncated, info = env.step(action)
        turns.append(Turn(observation=list(observation), action=action, reward=reward,
                          reward_components=info["reward_components"], terminated=terminated, truncated=truncated))
        observation = following
    return Episode(id=episode_id, env_id="tools/calculator-v0", env_kwargs={"difficulty": "easy"}, seed=0,
                   agent="by-hand", turns=turns, total_reward=sum(t.reward for t in turns),
                   outcome=info.get("outcome", 0.0), success=bool(info.get("success")),
                   tools=[t.openai_schema() for t in env.tools])


def test_preference_rows_hold_only_the_policys_message_after_the_shared_prompt(runs, tmp_path, qwen):
    task = envarena.make("tools/calculator-v0", difficulty="easy")
    task.reset(seed=0)
    right = task.task

    def calculation(call_id: str) -> Message:  # the same call, with the fresh id a sampled agent gives it
        return Message.assistant(tool_calls=[ToolCall(id=call_id, name="calculate", arguments={"expression": right.expression})])

    good = _played("good", [calculation("call_a"), Message.assistant(f"<answer>{right.value}</answer>")])
    bad = _played("bad", [calculation("call_b"), Message.assistant(f"<answer>{right.value + 1}</answer>"),
                          Message.assistant("<answer>0</answer>")])
    assert good.total_reward > bad.total_reward
    rollouts = tmp_path / "by-hand.jsonl"
    rollouts.write_text(good.model_dump_json() + "\n" + bad.model_dump_json() + "\n")

    export([str(rollouts)], tmp_path / "pairs", fmt="preference", storage="hf")
    (row,) = datasets.load_from_disk(str(tmp_path / "pairs"))
    assert [m["role"] for m in row["prompt"]] == ["system", "user", "assistant", "tool"], "the shared turn is prompt"
    assert row["prompt"][-1]["content"] == str(right.value)
    assert row["chosen"] == [{"role": "assistant", "content": f"<answer>{right.value}</answer>"}]
    assert row["rejected"] == [{"role": "assistant", "content": f"<answer>{right.value + 1}</answer>"}]

    pair = maybe_apply_chat_template({k: row[k] for k in ("prompt", "chosen", "rejected")}, qwen, tools=row["tools"])
    assert pair["prompt"].endswith("<|im_start|>assistant\n") and "<tool_response>" in pair["prompt"]
    assert pair["chosen"] == f"<answer>{right.value}</answer><|im_end|>\n"

    export(runs["calculator-v0"], tmp_path / "sampled", fmt="preference", storage="hf")
    rows = datasets.load_from_disk(str(tmp_path / "sampled"))
    assert len(rows) == 3
    for row in rows:
        assert row["chosen_reward"] > row["rejected_reward"]
        assert [m["role"] for m in row["chosen"]] == [m["role"] for m in row["rejected"]] == ["assistant"]
        pair = maybe_apply_chat_template({k: row[k] for k in ("prompt", "chosen", "rejected")}, qwen, tools=row["tools"])
        for side in ("chosen", "rejected"):
            assert "<|im_start|>" not in pair[side] and "<tool_response>" not in pair[side], "policy tokens only"


def test_rl_rows_are_prompts_trl_renders_for_generation(runs, tmp_path, smol):
    export(runs["calculator-v0"], tmp_path / "rl", fmt="rl", storage="hf")
    rows = datasets.load_from_disk(str(tmp_path / "rl"))
    assert len(rows) == 3 and all(r["tools"][0]["function"]["name"] == "calculate" for r in rows)
    prompt = maybe_apply_chat_template({"prompt": rows[0]["prompt"]}, smol)["prompt"]
    assert prompt.endswith("<|im_start|>assistant\n") and rows[0]["prompt"][-1]["content"] in prompt


@pytest.mark.parametrize("storage", ["hf", "parquet", "jsonl"])
def test_exports_of_different_environments_concatenate(runs, tmp_path, storage):
    for fmt in FORMATS:
        parts = []
        for name in ("calculator-v0", "wordle-v0"):
            export(runs[name], tmp_path / fmt / name, fmt=fmt, storage=storage)
            parts.append(load(tmp_path / fmt / name, storage, fmt))
        assert parts[0].features == parts[1].features == features(fmt), fmt
        both = datasets.concatenate_datasets(parts)
        assert len(both) == sum(len(p) for p in parts)
        assert {r["env_id"] for r in both} == {"tools/calculator-v0", "games/wordle-v0"}
        both.save_to_disk(str(tmp_path / fmt / "both"))  # what a user does next


def test_null_stays_null(runs, tmp_path):
    export(runs["wordle-v0"] + runs["calculator-v0"], tmp_path / "raw", fmt="raw", storage="hf")
    for row in datasets.load_from_disk(str(tmp_path / "raw")):
        assert row["error"] is None and row["opponent"] is None and row["seat"] is None
        assert row["tools"] is not None and isinstance(json.loads(row["tools"]), list)
    export(runs["wordle-v0"] + runs["calculator-v0"], tmp_path / "sft", fmt="sft", storage="parquet")
    for row in load(tmp_path / "sft", "parquet", "sft"):
        assert (row["tools"] is None) == (row["env_id"] == "games/wordle-v0"), "no tools: null, not []"
        for message in row["messages"]:
            assert ("tool_call_id" in message) == ("name" in message) == (message["role"] == "tool"), message
            assert "" not in (message.get("tool_call_id"), message.get("name"))


def test_cli_export_takes_the_tool_call_style(runs, tmp_path):
    done = run_cli("export", *runs["calculator-v0"], str(tmp_path / "out"), "--tool-calls", "text", "--to", "hf")
    assert done.returncode == 0, done.stderr
    row = with_calls_text(datasets.load_from_disk(str(tmp_path / "out")))
    assert "<tool_call>" in row
    bad = run_cli("export", *runs["calculator-v0"], str(tmp_path / "bad"), "--tool-calls", "xml")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and "'xml' is not one of" in bad.stderr


def with_calls_text(dataset: datasets.Dataset) -> str:
    return "\n".join(m["content"] for r in dataset for m in r["messages"] if m["role"] == "assistant")


def test_readme_export_for_trl_example_runs(monkeypatch, tmp_path, smollm2):
    readme = (REPO / "README.md").read_text()
    block = re.search(r"<!-- example: export-trl -->\s*```python\n(.*?)```", readme, re.DOTALL).group(1)
    monkeypatch.chdir(tmp_path)
    exec(compile(block, "README.md", "exec"), {"__name__": "readme_export_trl"})
    assert (tmp_path / "datasets" / "calculator-v0" / "README.md").exists()
