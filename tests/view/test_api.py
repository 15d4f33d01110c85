"""The viewer's HTTP API on real rollout files and a real training run, plus the `envarena view` command."""

from __future__ import annotations

import json
import shutil
import socket
import time
import urllib.error
import urllib.request

import pytest
from fastapi.testclient import TestClient

from envarena.train import episode_sequences
from envarena.train.advantages import episode_advantages
from envarena.types import Episode
from envarena.view import create_app, open_paths, tokenizer_lookup
from envarena.view.tokens import token_rows

from .conftest import ViewServer, episodes


@pytest.fixture(scope="module")
def files_client(rollout_files):
    return TestClient(create_app(open_paths([str(p) for p in rollout_files])))


@pytest.fixture(scope="module")
def run_client(train_run):
    return TestClient(create_app(open_paths([str(train_run)])))


def _rows(client, **params):
    response = client.get("/api/episodes", params={"limit": 500, **params})
    assert response.status_code == 200, response.text
    return response.json()


def test_the_page_and_its_assets_are_served_locally(files_client):
    page = files_client.get("/")
    assert page.status_code == 200 and "static/app.js" in page.text
    assert "http" not in page.text.replace("http-equiv", ""), "no asset may come from elsewhere"
    for asset in ("app.js", "list.js", "episode.js", "charts.js", "dom.js", "style.css"):
        response = files_client.get(f"/static/{asset}")
        assert response.status_code == 200 and response.text
        text = response.text.replace('"http://www.w3.org/2000/svg"', "")  # a namespace name, never fetched
        assert "https://" not in text and "http://" not in text and "//cdn" not in text, asset


def test_episode_table_filters(files_client, rollout_files):
    every = _rows(files_client)
    assert every["total"] == 3 + 9 + 2 + 2
    assert dict(every["envs"]) == {"tools/calculator-v0": 3, "text/countdown-v0": 11, "games/tictactoe-v0": 2}
    assert dict(every["agents"]) == {"scripted": 5, "random": 11}

    countdown = _rows(files_client, env="text/countdown-v0")
    assert countdown["total"] == 11 and {r["env_id"] for r in countdown["rows"]} == {"text/countdown-v0"}
    assert _rows(files_client, agent="scripted", env="tools/calculator-v0")["total"] == 3

    failed = _rows(files_client, error="yes")
    assert failed["total"] == 2 and all("TimeoutError" in r["error"] for r in failed["rows"])
    assert _rows(files_client, error="no")["total"] == 14

    wins = _rows(files_client, outcome="success")
    assert wins["total"] >= 3 and all(r["success"] for r in wins["rows"])
    assert _rows(files_client, outcome="failure")["total"] == 16 - wins["total"]

    one_file = _rows(files_client, sources="0")
    assert {r["env_id"] for r in one_file["rows"]} == {"tools/calculator-v0"}


def test_text_search_finds_words_in_the_conversation_only(files_client, rollout_files):
    calc = episodes(rollout_files[0])
    prompt = calc[1]["turns"][0]["observation"][1]["content"]
    words = prompt.split("has ")[1].split(" batches")[0]  # "640" style numbers, unique to one task
    found = _rows(files_client, q=f"has {words} BATCHES")
    assert [r["id"] for r in found["rows"]] == [calc[1]["id"]]
    expression = calc[2]["turns"][0]["action"]["tool_calls"][0]["arguments"]["expression"]
    assert [r["id"] for r in _rows(files_client, q=expression)["rows"]] == [calc[2]["id"]]
    assert _rows(files_client, q="no such text anywhere")["total"] == 0
    assert _rows(files_client, q="TimeoutError")["total"] == 2


def test_text_search_sees_quotes_and_newlines_as_written_not_as_json_escapes(rollout_files, tmp_path):
    quoted = Episode.model_validate(episodes(rollout_files[1])[0])
    quoted.turns[0].action.content = 'I say "hi"\nthen <answer>1</answer>'
    path = tmp_path / "quoted.jsonl"
    path.write_text(quoted.model_dump_json() + "\n" + rollout_files[1].read_text())
    client = TestClient(create_app(open_paths([str(path)])))
    assert [r["line"] for r in _rows(client, q='say "hi"\nthen')["rows"]] == [1]
    assert _rows(client, q='say \\"hi')["total"] == 0  # the escape a JSON line holds is not the text


def test_paging_and_sorting(files_client):
    first = _rows(files_client, limit=5, offset=0)
    second = _rows(files_client, limit=5, offset=5)
    assert len(first["rows"]) == 5 and first["total"] == 16
    assert not {r["key"] for r in first["rows"]} & {r["key"] for r in second["rows"]}
    rewards = [r["total_reward"] for r in _rows(files_client, sort="total_reward", desc="true")["rows"]]
    assert rewards == sorted(rewards, reverse=True)
    assert files_client.get("/api/episodes", params={"sources": "7"}).status_code == 404
    assert files_client.get("/api/episodes", params={"sources": "x"}).status_code == 400


def test_one_episode_with_tool_calls_rewards_and_the_verdict(files_client, rollout_files):
    row = _rows(files_client, env="tools/calculator-v0")["rows"][0]
    data = files_client.get(f"/api/episode/{row['key']}").json()
    episode = data["episode"]
    assert episode == Episode.model_validate(episodes(rollout_files[0])[0]).model_dump(mode="json")
    assert episode["turns"][0]["action"]["tool_calls"][0]["name"] == "calculate"
    assert episode["turns"][1]["observation"][0]["role"] == "tool"
    assert episode["turns"][1]["reward_components"] == {"progress": 0.5, "outcome": 1.0}
    assert episode["final_observation"][0]["content"] == "Correct."
    assert "tokens" not in data and files_client.get(f"/api/tokens/{row['key']}").json()["rows"] == []
    assert files_client.get("/api/episode/0:999").status_code == 404
    assert files_client.get("/api/episode/zz").status_code == 404


def test_group_of_samples_with_the_trainers_advantages(files_client, rollout_files):
    row = _rows(files_client, env="text/countdown-v0", q="")["rows"][0]
    group = files_client.get(f"/api/group/{row['key']}").json()
    same_task = [e for e in episodes(rollout_files[1]) if e["seed"] == row["seed"]]
    assert len(group["members"]) == len(same_task) == 3
    assert sorted(m["sample"] for m in group["members"]) == [0, 1, 2]
    rewards = [m["total_reward"] for m in group["members"]]
    assert [m["advantage"] for m in group["members"]] == pytest.approx(episode_advantages(rewards, "grpo"))


def test_a_training_run_curves_steps_and_token_traces(run_client, train_run):
    info = run_client.get("/api/info").json()
    assert info["run"]["config"]["model"] == "tiny"
    labels = [s["label"] for s in info["sources"]]
    assert labels == ["step 0", "step 1", "step 2", "eval at step 0", "eval at step 2"]
    metrics = run_client.get("/api/metrics").json()["rows"]
    assert [m["step"] for m in metrics] == [0, 1, 2] and all("reward_mean" in m for m in metrics)

    step1 = _rows(run_client, sources="1")
    assert step1["total"] == 6 and all(r["traced"] for r in step1["rows"])
    data = run_client.get(f"/api/episode/{step1['rows'][0]['key']}").json()
    tokens = run_client.get(f"/api/tokens/{step1['rows'][0]['key']}").json()
    assert tokens["decoded"], tokens["tokenizer"]
    [row] = tokens["rows"]
    trace = data["episode"]["turns"][0]["trace"]
    assert row["ids"] == trace["prompt_ids"] + trace["completion_ids"]
    sampled = [p for p, m in zip(row["pieces"], row["mask"], strict=True) if m]
    assert "".join(sampled).replace("<|im_end|>", "") == data["episode"]["turns"][0]["action"]["content"]
    assert "".join(row["pieces"][: len(trace["prompt_ids"])]).startswith("<|im_start|>system\n")
    assert [lp for lp, m in zip(row["logprobs"], row["mask"], strict=True) if m] == trace["logprobs"]

    group = run_client.get(f"/api/group/{step1['rows'][0]['key']}", params={"sources": "1"}).json()
    assert len(group["members"]) == 3 and group["method"] == "grpo"


def test_a_live_run_shows_steps_written_after_the_viewer_started(train_run, tmp_path):
    live = tmp_path / "live"
    shutil.copytree(train_run, live)
    later = live / "rollouts" / "step-000002.round0.jsonl"
    aside = later.rename(tmp_path / later.name)
    client = TestClient(create_app(open_paths([str(live)])))
    assert "step 2" not in [s["label"] for s in client.get("/api/info").json()["sources"]]
    aside.rename(later)  # the trainer finishes step 2
    sources = client.get("/api/info").json()["sources"]
    [step2] = [s for s in sources if s["label"] == "step 2"]
    assert step2["in_run"] and len(sources) == 5
    assert _rows(client, sources=str(step2["id"]))["total"] == 6


def test_token_text_of_a_plain_file_needs_a_tokenizer(train_run):
    """Outside its run, `hf:tiny` names no local model: ids only, with a hint; --tokenizer gives the text."""
    step_file = str(train_run / "rollouts" / "step-000000.round0.jsonl")
    catalog = open_paths([step_file])
    plain = TestClient(create_app(catalog)).get("/api/tokens/0:1").json()
    assert not plain["decoded"] and "--tokenizer" in plain["tokenizer"] and plain["rows"][0]["ids"]
    checkpoint = str(next(train_run.glob("checkpoint-*")) / "model")
    lookup = tokenizer_lookup(catalog, checkpoint)
    assert lookup.explicit_problem() is None and tokenizer_lookup(catalog, "/nowhere").explicit_problem()
    named = TestClient(create_app(catalog, lookup)).get("/api/tokens/0:1").json()
    assert named["decoded"] and named["tokenizer"] == checkpoint and "<|im_start|>" in named["rows"][0]["pieces"]


def test_text_search_skips_token_id_lists(run_client, train_run):
    records = episodes(train_run / "rollouts" / "step-000001.round0.jsonl")
    ids = ",".join(map(str, records[0]["turns"][0]["trace"]["prompt_ids"][1:6]))
    assert ids in (train_run / "rollouts" / "step-000001.round0.jsonl").read_text()
    for record in records:
        for turn in record["turns"]:
            turn["trace"] = None
        assert ids not in json.dumps(record)
    assert _rows(run_client, sources="1", q=ids)["total"] == 0
    assert _rows(run_client, sources="1", q="Repeat:")["total"] == 6


def test_token_layout_is_what_the_trainer_trains_on(train_run):
    """The loss mask the page colours must be the trainer's, turn for turn."""
    checked = 0
    for path in (train_run / "rollouts").glob("*.jsonl"):
        for record in episodes(path):
            episode = Episode.model_validate(record)
            trainer_rows = episode_sequences(episode, [1.0] * len(episode.turns))
            rows = token_rows(episode)
            assert [r["ids"] for r in rows] == [t.input_ids for t in trainer_rows]
            assert [r["mask"] for r in rows] == [t.loss_mask for t in trainer_rows]
            checked += 1
    assert checked >= 18


def test_token_layout_of_a_multi_turn_trace_that_breaks_the_prefix(run_client, train_run):
    record = episodes(train_run / "rollouts" / "step-000000.round0.jsonl")[0]
    episode = Episode.model_validate(record)
    second = episode.turns[0].model_copy(deep=True)
    second.trace.prompt_ids = [5, 6, 7]  # not an extension of turn 1: a template that is not prefix-stable
    episode.turns.append(second)
    trainer_rows = episode_sequences(episode, [1.0, 1.0])
    rows = token_rows(episode)
    assert len(rows) == 2 and [r["mask"] for r in rows] == [t.loss_mask for t in trainer_rows]
    assert rows[1]["segments"][0]["turn"] == 1


def test_view_command_serves_and_stops(rollout_files):
    server = ViewServer(*rollout_files[:2])
    try:
        assert server.url.startswith("http://127.0.0.1:") and "2 rollout files" in server.announce
        with urllib.request.urlopen(server.url + "api/episodes?limit=1", timeout=30) as response:
            assert json.load(response)["total"] == 12
        rebound = urllib.request.Request(server.url + "api/info", headers={"Host": "attacker.example"})
        with pytest.raises(urllib.error.HTTPError) as refused:  # DNS rebinding: a page that is not ours
            urllib.request.urlopen(rebound, timeout=30)
        assert refused.value.code == 400
    finally:
        server.stop()
    assert server.process.returncode == 0


def test_view_command_errors_are_one_sentence(cli, rollout_files, tmp_path):
    result = cli("view", str(tmp_path / "missing.jsonl"), "--no-open")
    assert result.returncode == 2 and result.stderr.strip() == f"error: '{tmp_path / 'missing.jsonl'}' does not exist"

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        start = time.monotonic()
        result = cli("view", str(rollout_files[0]), "--port", str(port), "--no-open")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip() == (f"error: port {port} on 127.0.0.1 is already in use; "
                                      "choose another with --port (0 picks a free one)")
    assert time.monotonic() - start < 60

    not_rollouts = tmp_path / "config.jsonl"
    not_rollouts.write_text('{"lr": 0.1}\n')
    result = cli("view", str(not_rollouts), "--no-open")
    assert result.returncode == 2 and "is not a rollout file" in result.stderr and len(result.stderr.splitlines()) == 1

    empty = tmp_path / "empty"
    empty.mkdir()
    result = cli("view", str(empty), "--no-open")
    assert result.returncode == 2 and "holds no rollout files" in result.stderr

    result = cli("view", str(rollout_files[0]), "--tokenizer", str(tmp_path / "nope"), "--port", "0", "--no-open")
    assert result.returncode == 2 and "--tokenizer" in result.stderr and len(result.stderr.splitlines()) == 1
