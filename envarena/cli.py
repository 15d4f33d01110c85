"""The `envarena` command line.

Every mistake a user can make ends in one sentence on stderr and exit code 2; a traceback
means a bug in envarena.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import sys
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from envarena.assignments import parse_assignments
from envarena.errors import EnvArenaError, InvalidOptionError

# Piped output (CI logs, files) gets a wide console so summary tables are not truncated.
console = Console(width=None if sys.stdout.isatty() else 160)


def _parse_options(pairs: tuple[str, ...]) -> dict[str, Any]:
    """`key=value` pairs; values are read as JSON when they parse (numbers, true, lists)."""
    return parse_assignments(pairs)


class _Group(click.Group):
    """Turns user errors into one line and exit code 2."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except EnvArenaError as err:
            click.echo(f"error: {err}", err=True)
            sys.exit(2)
        except (FileNotFoundError, PermissionError, IsADirectoryError) as err:
            click.echo(f"error: {err.strerror}: {err.filename}", err=True)
            sys.exit(2)
        except KeyboardInterrupt:
            click.echo("interrupted; finished episodes are saved and a re-run resumes", err=True)
            sys.exit(130)


@click.group(cls=_Group)
@click.version_option(package_name="envarena")
def main() -> None:
    """Agentic environments with verifiable rewards: list, play, roll out, export."""


_env_option = click.option(
    "-e", "--env-kwarg", "env_kwargs", multiple=True, metavar="KEY=VALUE", help="Environment option (repeatable)."
)
_agent_option = click.option(
    "-a",
    "--agent-option",
    "agent_options",
    multiple=True,
    metavar="KEY=VALUE",
    help="Agent backend option, e.g. temperature=0.2, max_new_tokens=128 (repeatable).",
)


def _fail_if_all_failed(result: Any) -> None:
    """A run where every episode failed (a server that is down, a missing model) is an error."""
    if result.written and result.errors == result.written:
        raise EnvArenaError(f"all {result.written} episodes failed; the first: {result.first_error}")


@main.command("list")
@click.option("--category", help="Only this category (text, tools, code, games, ...).")
def list_command(category: str | None) -> None:
    """List the registered environments, grouped by category."""
    from envarena.registration import registry

    groups: dict[str, list[Any]] = defaultdict(list)
    for env_id in registry:
        spec = registry[env_id]
        if category is None or spec.category == category:
            # games split into single- and two-player: they are played differently
            group = f"{spec.category} ({'two-player' if spec.multi_agent else 'single-player'})" if spec.category == "games" else spec.category
            groups[group].append(spec)
    if category is not None and not groups:
        raise EnvArenaError(f"no environments in category '{category}'")
    for name, specs in sorted(groups.items()):
        table = Table(title=f"{name}: {len(specs)}", title_justify="left", show_lines=False)
        table.add_column("id", style="bold")
        table.add_column("players", justify="right")
        table.add_column("description")
        for s in specs:
            table.add_row(s.id, str(len(s.players) or 1), s.description.split(". ")[0].rstrip("."))
        console.print(table)
    console.print(f"{sum(len(v) for v in groups.values())} environments")


@main.command()
@click.argument("env_id")
@_env_option
@click.option("--seed", default=0, show_default=True, help="Seed of the sample task shown.")
def info(env_id: str, env_kwargs: tuple[str, ...], seed: int) -> None:
    """Describe an environment and show the opening of one task."""
    from envarena.env import render_messages
    from envarena.multiagent import MultiAgentEnv
    from envarena.registration import registry

    spec = registry[env_id]
    given = _parse_options(env_kwargs)
    env = registry.make(env_id, **given)  # bad options fail here, before anything is printed
    in_effect = {**spec.kwargs, **registry.validate_kwargs(env_id, given)}  # the defaults, overridden by -e
    console.print(f"[bold]{spec.id}[/]  ({spec.source}: {spec.entry_point})", highlight=False)
    console.print(_doc_paragraphs(registry.env_class(env_id).__doc__ or ""), highlight=False)
    console.print(f"tags: {', '.join(spec.tags) or '-'}")
    console.print(f"options: {json.dumps(in_effect, default=str)}", highlight=False)
    console.print(f"max turns: {env.max_turns}; reward range: {spec.reward_range}")
    if spec.multi_agent:
        console.print(f"players: {', '.join(spec.players)} (single-agent play uses a built-in opponent)")
    if isinstance(env, MultiAgentEnv):
        env.reset(seed=seed)
        opening = list(env.observe(env.agent_selection))
    else:
        opening, _ = env.reset(seed=seed)
        tools = ", ".join(t.name for t in env.tools)
        if tools:
            console.print(f"tools: {tools}")
    console.rule(f"seed {seed}")
    console.print(render_messages(list(opening)), markup=False, highlight=False)


def _doc_paragraphs(doc: str) -> str:
    import inspect

    return "\n\n".join(" ".join(p.split()) for p in inspect.cleandoc(doc).split("\n\n"))


def _print_summary(path: str) -> None:
    """The table of a whole rollout file, read one episode at a time (never all at once)."""
    from envarena.rollout import summary_table

    tally, _ = _tally([path])
    ks = sorted({1, tally.samples_per_task()})
    console.print(summary_table(tally.rows(ks), title=f"Summary of {path}"))


def _tally(files: list[str]) -> tuple[Any, set[str]]:
    """The summary counters of rollout files and their agents, streamed: memory does not
    grow with the files."""
    from envarena.rollout import SummaryAccumulator, read_episodes

    tally, agents = SummaryAccumulator(), set()
    for path in files:
        for episode in read_episodes(path):
            tally.add(episode)
            agents.add(episode.agent)
    return tally, agents


_env_processes_option = click.option(
    "--env-processes", "env_processes", default=None, type=click.IntRange(min=0), metavar="N",
    help="Step the environments in N worker processes (0: in threads). Default: one per CPU for "
         "environments marked CPU-heavy (e.g. games/sudoku-v0), threads for the rest.")


def _ray_gpus_option(command: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--ray-gpus-per-worker", "ray_gpus", default=0.0, type=click.FloatRange(min=0), metavar="G",
                        help="GPUs each Ray worker reserves, for an hf: or vllm: agent loaded on every worker "
                             "(default workers: as many as the cluster's GPUs fit).")(command)


def _check_ray_flags(address: str | None, workers: int | None, gpus: float = 0.0) -> None:
    """Ray's settings without `--ray` would be silently ignored: refuse them instead."""
    if address is None and (workers is not None or gpus):
        flag = "--ray-workers" if workers is not None else "--ray-gpus-per-worker"
        raise InvalidOptionError(f"{flag} needs --ray")


def _ray_options(workers_help: str, without_address: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """`--ray [ADDRESS]` and `--ray-workers N`: play the episodes on a Ray cluster."""

    def add(command: Callable[..., Any]) -> Callable[..., Any]:
        command = click.option("--ray-workers", "ray_workers", default=None, type=click.IntRange(min=1),
                               help=f"Ray workers (default: one per CPU of the cluster); {workers_help}")(command)
        return click.option("--ray", "ray_address", is_flag=False, flag_value="", default=None, metavar="[ADDRESS]",
                            help=f"Play on Ray workers: the cluster at ADDRESS, or {without_address}.")(command)

    return add


_ray_rollout_options = _ray_options("--concurrency is per worker.",
                                    "without one, RAY_ADDRESS's or a local Ray started for this run")


@main.command()
@click.argument("env_id")
@click.option("--agent", default="scripted", show_default=True, help="Agent spec: scripted, random, human, ...")
@click.option("--opponent", default=None, help="Agent spec for the other seats of a multi-agent game.")
@click.option("-n", "n", default=10, show_default=True, type=click.IntRange(min=1), help="Number of tasks.")
@click.option("--seed", default=0, show_default=True, help="First task seed (tasks use seed..seed+n-1).")
@click.option("--samples", default=1, show_default=True, type=click.IntRange(min=1), help="Episodes per task.")
@click.option("--concurrency", default=8, show_default=True, type=click.IntRange(min=1))
@click.option("--out", default=None, help="JSONL file (default: runs/<env>.<agent>.jsonl). Re-running resumes.")
@click.option("--timeout", "episode_timeout", default=None, type=float, help="Seconds allowed per episode.")
@click.option("--keep-failed", is_flag=True,
              help="On a re-run, count episodes that ended with an error as done instead of playing them again.")
@_env_processes_option
@_ray_rollout_options
@_ray_gpus_option
@_env_option
@_agent_option
def rollout(
    env_id: str,
    agent: str,
    opponent: str | None,
    n: int,
    seed: int,
    samples: int,
    concurrency: int,
    out: str | None,
    episode_timeout: float | None,
    keep_failed: bool,
    env_processes: int | None,
    ray_address: str | None,
    ray_workers: int | None,
    ray_gpus: float,
    env_kwargs: tuple[str, ...],
    agent_options: tuple[str, ...],
) -> None:
    """Play AGENT on ENV_ID for N tasks and append the episodes to a JSONL file."""
    from envarena.agents import load_policy

    _check_ray_flags(ray_address, ray_workers, ray_gpus)
    from envarena.rollout import RolloutConfig, run_rollout

    out = out or str(Path("runs") / f"{env_id.replace('/', '_')}.{agent.replace(':', '_').replace('/', '_')}.jsonl")
    config = RolloutConfig(
        env_id=env_id,
        env_kwargs=_parse_options(env_kwargs),
        agent=agent,
        opponent=opponent,
        n=n,
        seed=seed,
        samples=samples,
        concurrency=concurrency,
        out=out,
        episode_timeout=episode_timeout,
        retry_failed=not keep_failed,
        env_processes=env_processes,
    )
    if ray_address is not None:
        from envarena.rollout.ray_rollout import run_rollout_ray

        result = asyncio.run(run_rollout_ray(config, address=ray_address, workers=ray_workers,
                                             agent_options=_parse_options(agent_options), show_progress=True,
                                             gpus_per_worker=ray_gpus))  # fmt: skip
        _report_rollout(result, out)
        return
    policy = load_policy(agent, **_parse_options(agent_options))

    async def run() -> Any:
        try:
            return await run_rollout(config, policy=policy, show_progress=True)
        finally:
            await policy.aclose()  # run_rollout leaves a policy it was handed open

    _report_rollout(asyncio.run(run()), out)


def _report_rollout(result: Any, out: str) -> None:
    console.print(f"wrote {result.written} episodes to {out} ({result.skipped} already there)")
    if result.retried:
        console.print(f"{result.retried} of them had failed before and were played again (--keep-failed keeps failures)")
    if _holds_only_this_run(result, out):  # the run's own streamed summary: no re-read of the file
        from envarena.rollout import summary_table

        console.print(summary_table(result.summary, title=f"Summary of {out}"))
    else:
        _print_summary(out)
    _fail_if_all_failed(result)


def _holds_only_this_run(result: Any, out: str) -> bool:
    from envarena.rollout.store import scan_ids

    return result.skipped == 0 and result.written == sum(1 for _ in scan_ids(out))


@main.command()
@click.argument("env_id")
@click.option("--seed", default=0, show_default=True)
@click.option("--opponent", default=None, help="Agent spec for the other seats (default: built-in opponent).")
@click.option("--out", default=None, help="Also append the episode to this JSONL file.")
@_env_option
def play(env_id: str, seed: int, opponent: str | None, out: str | None, env_kwargs: tuple[str, ...]) -> None:
    """Play ENV_ID yourself in the terminal (type /tools, or /call NAME {json})."""
    import tempfile

    from envarena.agents.human import HumanPolicy
    from envarena.rollout import RolloutConfig, run_rollout

    policy = HumanPolicy(console=console)
    with tempfile.TemporaryDirectory() as scratch:
        target = out or str(Path(scratch) / "play.jsonl")
        config = RolloutConfig(
            env_id=env_id,
            env_kwargs=_parse_options(env_kwargs),
            agent="human",
            opponent=opponent,
            n=1,
            seed=seed,
            concurrency=1,
            out=target,
        )
        try:
            result = asyncio.run(run_rollout(config, policy=policy, keep_episodes=True))
        except KeyboardInterrupt:  # Ctrl-C at the prompt ends the game; nothing to resume
            click.echo("\ngame abandoned", err=True)
            sys.exit(130)
    for episode in result.episodes:
        policy.spawn(None, seed=0).show(episode.final_observation)
        if episode.error:
            raise EnvArenaError(f"the episode stopped: {episode.error}")
        console.print(
            f"outcome {episode.outcome:.2f}, reward {episode.total_reward:.3f}, "
            f"{'success' if episode.success else 'no success'} in {episode.num_turns} turns"
        )


@main.command("export")
@click.argument("inputs", nargs=-1, required=True)
@click.argument("output")
@click.option("--format", "fmt", type=click.Choice(["sft", "preference", "rl", "raw"]), default="sft", show_default=True)
@click.option("--to", "storage", type=click.Choice(["jsonl", "parquet", "hf"]), default="jsonl", show_default=True)
@click.option("--min-reward", type=float, default=None, help="Keep episodes with at least this total reward.")
@click.option("--success-only", is_flag=True, help="Keep successful episodes only.")
@click.option("--env", "env_ids", multiple=True, help="Keep these environment IDs only (repeatable).")
@click.option("--license", "license_id", default="unknown", show_default=True,
              help="License written into the dataset card, e.g. apache-2.0, cc-by-4.0, other.")
@click.option("--tool-calls", "tool_calls", type=click.Choice(["native", "text"]), default="native", show_default=True,
              help="native: tool_calls and a tools column; text: <tool_call> text, for templates without tools.")
def export_command(
    inputs: tuple[str, ...],
    output: str,
    fmt: str,
    storage: str,
    min_reward: float | None,
    success_only: bool,
    env_ids: tuple[str, ...],
    license_id: str,
    tool_calls: str,
) -> None:
    """Turn rollout JSONL files (INPUTS) into a dataset folder OUTPUT with a card."""
    from envarena.export import export

    result = export(
        inputs, output, fmt=fmt, storage=storage, min_reward=min_reward, success_only=success_only, env_ids=env_ids,
        license=license_id, tool_calls=tool_calls,
    )
    console.print(f"wrote {result.rows} {fmt} rows from {result.episodes} episodes to {result.path} ({storage})")


@main.command("eval")
@click.argument("env_ids", nargs=-1, required=True)
@click.option("--agent", required=True, help="Agent spec to evaluate.")
@click.option("-n", "n", default=20, show_default=True, type=click.IntRange(min=1), help="Tasks per environment.")
@click.option("-k", "k", default=1, show_default=True, type=click.IntRange(min=1), help="Samples per task (pass@k).")
@click.option("--seed", default=10_000, show_default=True, help="First task seed (held out from training seeds).")
@click.option("--concurrency", default=8, show_default=True, type=click.IntRange(min=1))
@click.option("--out-dir", default="runs/eval", show_default=True, help="Where the rollout JSONL files go.")
@click.option("--report", "report_path", default=None, help="JSON report file (default: OUT_DIR/report.json).")
@click.option("--keep-failed", is_flag=True,
              help="On a re-run, count episodes that ended with an error (an agent timeout or crash included) as "
                   "done instead of playing them again; use it when errors are the agent's own failures.")
@_env_processes_option
@_ray_rollout_options
@_ray_gpus_option
@_agent_option
def eval_command(
    env_ids: tuple[str, ...],
    agent: str,
    n: int,
    k: int,
    seed: int,
    concurrency: int,
    out_dir: str,
    report_path: str | None,
    keep_failed: bool,
    env_processes: int | None,
    ray_address: str | None,
    ray_workers: int | None,
    ray_gpus: float,
    agent_options: tuple[str, ...],
) -> None:
    """Evaluate AGENT on ENV_IDS: pass@k (unbiased), reward and success, as a table and JSON."""
    from envarena.agents import load_policy

    _check_ray_flags(ray_address, ray_workers, ray_gpus)
    from envarena.registration import registry
    from envarena.rollout import RolloutConfig, run_rollout

    for env_id in env_ids:
        registry[env_id]  # every ID is checked before any model is loaded
    files = []
    configs = []
    for env_id in env_ids:
        name = f"{env_id.replace('/', '_')}.{agent.replace(':', '_').replace('/', '_')}.jsonl"
        files.append(str(Path(out_dir) / name))
        configs.append(RolloutConfig(env_id=env_id, agent=agent, n=n, seed=seed, samples=k,
                                     concurrency=concurrency, out=files[-1], retry_failed=not keep_failed,
                                     env_processes=env_processes))

    async def run_all() -> None:
        policy = load_policy(agent, **_parse_options(agent_options))
        try:  # one policy for every environment, closed once at the end
            for config in configs:
                await run_rollout(config, policy=policy, show_progress=True)
        finally:
            await policy.aclose()

    async def run_all_on_ray() -> None:
        from envarena.rollout.ray_rollout import ray_session, run_rollout_ray

        with ray_session(ray_address):  # one cluster connection for every environment
            for config in configs:
                await run_rollout_ray(config, workers=ray_workers, agent_options=_parse_options(agent_options),
                                      show_progress=True, gpus_per_worker=ray_gpus)

    asyncio.run(run_all() if ray_address is None else run_all_on_ray())
    report = _report(files, k, agent)
    target = Path(report_path or Path(out_dir) / "report.json")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(report, indent=1))
    console.print(f"report written to {target}")
    _fail_on_errored_episodes(files)


def _fail_on_errored_episodes(files: list[str]) -> None:
    """Exit 1 when any evaluated episode ended with an error (server down, timeout, crash).

    An errored episode scores 0, so the report understates the agent: like a test runner with
    failing tests, `eval` still writes its report but must not look like a clean run to a script.
    (Exit 2 stays reserved for bad input.)
    """
    from envarena.rollout import read_episodes

    counts: dict[str, list[int]] = {}  # env -> [errored, episodes], streamed
    first = None
    for path in files:
        for episode in read_episodes(path):
            tally = counts.setdefault(episode.env_id, [0, 0])
            tally[1] += 1
            if episode.error:
                tally[0] += 1
                first = first or episode.error
    if first is not None:
        summary = "; ".join(f"{bad} of {total} on {env_id}" for env_id, (bad, total) in counts.items() if bad)
        click.echo(f"error: episodes ended with an error ({summary}), counted as failures in the report "
                   f"(re-running the command plays them again); the first: {first}", err=True)
        sys.exit(1)


@main.command()
@click.argument("files", nargs=-1, required=True)
@click.option("-k", "k", default=None, type=click.IntRange(min=1), help="Largest k for pass@k (default: samples per task).")
@click.option("--json", "json_path", default=None, help="Also write the report as JSON here.")
def report(files: tuple[str, ...], k: int | None, json_path: str | None) -> None:
    """Recompute eval numbers (pass@k, reward, success) from rollout JSONL files."""
    data = _report(list(files), k, None)
    if json_path:
        Path(json_path).write_text(json.dumps(data, indent=1))


def _report(files: list[str], k: int | None, agent: str | None) -> dict[str, Any]:
    from envarena.rollout import summary_table

    tally, seen = _tally(files)
    largest = k or tally.samples_per_task()
    ks = sorted({1, largest, *(2**i for i in range(1, 8) if 2**i < largest)})
    rows = tally.rows(ks)
    console.print(summary_table(rows, title="Evaluation"))
    agents = sorted(seen)
    return {"agent": agent or (agents[0] if len(agents) == 1 else agents), "k": largest, "files": files,
            "environments": [r.model_dump() for r in rows]}


@contextlib.contextmanager
def _removed_if_refused(folder: Path) -> Iterator[None]:
    """Setting up a run can still refuse it (unknown environment, missing model); the folders
    it created by then hold nothing of value, and an empty run directory left behind would
    look like a run to resume. Folders that existed before are never touched."""
    created = next((p for p in reversed([folder, *folder.parents]) if not p.exists()), None)
    try:
        yield
    except BaseException:
        if created is not None and created.exists():
            shutil.rmtree(created, ignore_errors=True)
        raise


@main.command()
@click.argument("config_path", metavar="CONFIG")
@click.option("--out", "run_dir", required=True, help="Run directory (created; an existing one is resumed).")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override a config setting (repeatable).")
@_ray_options("the config's concurrency is shared between them.",
              "without one, the config's ray.address, else RAY_ADDRESS's or a local Ray started for this run")
def train(config_path: str, run_dir: str, overrides: tuple[str, ...], ray_address: str | None,
          ray_workers: int | None) -> None:  # fmt: skip
    """Train a policy with multi-turn RL as described by CONFIG (YAML)."""
    from envarena.train import Trainer, load_config

    config = load_config(config_path, overrides)
    if ray_address is not None or ray_workers is not None:
        config = _with_ray(config, ray_address, ray_workers)
    with _removed_if_refused(Path(run_dir)):
        trainer = Trainer(config, run_dir, log=lambda line: console.print(line, highlight=False))
    with trainer:
        trainer.run()
    console.print(f"done: {run_dir} (metrics.jsonl, checkpoints; 'envarena plot {run_dir}' draws the curves)")


def _with_ray(config: Any, address: str | None, workers: int | None) -> Any:
    """The config with `--ray [ADDRESS]` / `--ray-workers N` laid over its `ray:` settings."""
    from envarena.train.config import RaySettings, validate_config

    if config.ray is None:
        _check_ray_flags(address, workers)
    settings = config.ray or RaySettings()
    update: dict[str, Any] = {}
    if address:  # a bare --ray keeps the config's address
        update["address"] = address
    if workers is not None:
        update["workers"] = workers
    return validate_config({**config.model_dump(), "ray": settings.model_copy(update=update).model_dump()})


@main.command()
@click.argument("run_dir")
def plot(run_dir: str) -> None:
    """Draw a training run's curves (reward, entropy, KL, ...) as PNG files."""
    from envarena.train import plot_run

    for path in plot_run(run_dir):
        console.print(str(path), highlight=False)


@main.command()
@click.argument("paths", nargs=-1, required=True, metavar="FILES... | RUN_DIR")
@click.option("--port", default=8765, show_default=True, type=click.IntRange(0, 65535), help="Loopback port (0: any free one).")
@click.option("--no-open", is_flag=True, help="Do not open a browser; just print the URL.")
@click.option("--tokenizer", default=None, help="Tokenizer (folder or model) that turns traced token ids into text.")
def view(paths: tuple[str, ...], port: int, no_open: bool, tokenizer: str | None) -> None:
    """Look at rollout files or a training run in a local web page (127.0.0.1 only)."""
    from envarena.view import open_paths, serve_view

    serve_view(open_paths(list(paths)), port=port, open_browser=not no_open, tokenizer=tokenizer,
               announce=lambda line: console.print(line, highlight=False, soft_wrap=True))


@main.group()
def models() -> None:
    """Manage local models (the built-in SmolLM2 and friends)."""


@models.command("pull")
@click.argument("name")
@click.option("--force", is_flag=True, help="Convert again even if cached.")
def models_pull(name: str, force: bool) -> None:
    """Download and convert a built-in model into the local cache (then works offline)."""
    from envarena.agents.models import pull

    path = pull(name, force=force)
    console.print(f"{name} is ready at {path}", highlight=False)


@models.command("list")
def models_list() -> None:
    """Show built-in models and which are cached."""
    from envarena.agents.models import ALIASES, cache_dir, cached_models

    cached = cached_models()
    table = Table(title=f"Models (cache: {cache_dir()})", title_justify="left")
    for column in ("name", "cached", "description"):
        table.add_column(column)
    for name in sorted(set(ALIASES) | set(cached)):
        description = ALIASES[name].description if name in ALIASES else "local"
        table.add_row(name, "yes" if name in cached else "no", description)
    console.print(table)


@main.command()
@click.argument("model")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="0: any free port.")
@click.option("--device", default="auto", show_default=True)
@click.option("--dtype", default="auto", show_default=True)
def serve(model: str, host: str, port: int, device: str, dtype: str) -> None:
    """Serve MODEL over an OpenAI-compatible HTTP API (chat and completions, streaming, tools)."""
    from envarena.serve import serve as run_server

    run_server(model, host=host, port=port, device=device, dtype=dtype,
               announce=lambda line: console.print(line, highlight=False, markup=False, soft_wrap=True))


@main.command("env-serve")
@click.argument("env_id")
@_env_option
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="0 picks a free port.")
@click.option("--max-sessions", default=64, show_default=True, type=click.IntRange(min=1),
              help="Concurrent sessions (one environment each); more are refused.")
@click.option("--idle-timeout", default=60.0, show_default=True, type=click.FloatRange(min=0, min_open=True),
              help="Seconds a client may leave WebSocket pings unanswered before its session is closed.")
@click.option("--expose-solver", is_flag=True,
              help="Send the reference solver's next action with every observation (to check a deployment "
                   "with --agent scripted; it gives the answers away).")
def env_serve(env_id: str, env_kwargs: tuple[str, ...], host: str, port: int, max_sessions: int,
              idle_timeout: float, expose_solver: bool) -> None:
    """Serve ENV_ID over HTTP and WebSocket in the OpenEnv protocol (use it as remote:URL)."""
    from envarena.registration import registry

    options = _parse_options(env_kwargs)
    registry[env_id]  # an unknown ID or a bad option ends here, before openenv-core's slow import
    registry.validate_kwargs(env_id, options)
    try:
        from envarena.integrations.openenv.server import serve as serve_env
    except ImportError as err:
        raise EnvArenaError(f"env-serve needs openenv-core ({err}): pip install 'envarena[openenv]'") from None

    def ready(url: str) -> None:
        console.print(f"serving {env_id} at {url} (OpenEnv: /ws, /reset, /step, /state, /schema, /health; "
                      f"envarena: remote:{url})", highlight=False, soft_wrap=True)
        sys.stdout.flush()  # a script waiting for this line may read a pipe

    serve_env(env_id, options, host=host, port=port, max_sessions=max_sessions,
              idle_timeout=idle_timeout, expose_solver=expose_solver, on_ready=ready)


@main.command("mcp-serve")
@click.argument("env_id")
@_env_option
@click.option("--seed", default=0, show_default=True, help="Seed of the first episode (reset moves to the next).")
def mcp_serve(env_id: str, env_kwargs: tuple[str, ...], seed: int) -> None:
    """Serve ENV_ID's tools as an MCP server over stdio (reset, respond and the env's tools)."""
    import anyio

    from envarena.integrations.mcp import serve_stdio

    try:
        import mcp  # noqa: F401
    except ImportError:
        raise EnvArenaError("mcp-serve needs the MCP SDK: pip install 'envarena[mcp]'") from None
    # stdout carries the protocol: nothing else may print there (stdio_server diverts stray output).
    anyio.run(lambda: serve_stdio(env_id, _parse_options(env_kwargs), seed=seed))


@main.group()
def sandbox() -> None:
    """Inspect the code sandbox."""


@sandbox.command("check")
def sandbox_check() -> None:
    """Report which sandbox backends work here, and which `auto` picks."""
    from envarena.sandbox import probe_backends

    report = probe_backends()
    table = Table(title="Sandbox backends", title_justify="left")
    table.add_column("backend", style="bold")
    table.add_column("available")
    table.add_column("details")
    for name, (ok, reason) in report.items():
        table.add_row(name, "yes" if ok else "no", reason)
    console.print(table)
    chosen = next(name for name in ("bwrap", "docker", "process") if report[name][0])
    console.print(f"auto picks: {chosen}" + ("  (NOT isolation: install bubblewrap)" if chosen == "process" else ""))


@main.command()
@click.argument("name")
@click.option("--category", default="custom", show_default=True, help="Category part of the environment ID.")
@click.option("--dir", "parent", default=".", show_default=True, type=click.Path(file_okay=False))
def init(name: str, category: str, parent: str) -> None:
    """Create an installable environment package NAME (entry point, solver, test)."""
    from envarena.scaffold import scaffold

    root = scaffold(name, parent=Path(parent), category=category)
    console.print(f"created {root}: pip install -e {root} && envarena list", highlight=False)


if __name__ == "__main__":
    main()
