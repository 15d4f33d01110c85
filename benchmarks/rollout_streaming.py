"""The streaming rollout engine, measured: flat memory over 100,000 episodes, resume by ID
scan against building every episode, and worker processes against threads on a CPU-heavy
environment (with the event loop's worst stall, which is what a model batcher would feel).

    python benchmarks/rollout_streaming.py                 # 100k copy episodes, 16 hard sudokus
    python benchmarks/rollout_streaming.py --episodes 20000 --sudoku 8

Prints tables; not run by CI.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from envarena.rollout import RolloutConfig, read_episodes, run_rollout
from envarena.rollout.store import EpisodeStore, scan_ids

CHEAP_ENV = "text/copy-v0"
HEAVY_ENV = "games/sudoku-v0"


def rss_mib() -> float:
    """Resident memory now (not the peak), from /proc."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


async def loop_lag(stop: asyncio.Event, lags: list[float]) -> None:
    """How late the event loop is for a 10 ms timer: the time it waits for the GIL, which a
    model batcher on the same loop would wait too."""
    while not stop.is_set():
        start = time.perf_counter()
        await asyncio.sleep(0.01)
        lags.append(time.perf_counter() - start - 0.01)


async def memory_run(episodes: int, folder: Path) -> tuple[list[tuple[int, float, float]], float, Path]:
    marks = sorted({m for m in (10_000, 25_000, 50_000, 100_000) if m <= episodes} | {episodes})
    samples: list[tuple[int, float, float]] = []
    start = time.perf_counter()
    done = 0

    def sample(_episode: object) -> None:
        nonlocal done
        done += 1
        if done in marks:
            samples.append((done, rss_mib(), done / (time.perf_counter() - start)))

    out = folder / "copy.jsonl"
    config = RolloutConfig(env_id=CHEAP_ENV, agent="scripted", n=episodes, concurrency=8, out=str(out))
    await run_rollout(config, on_episode=sample)
    return samples, episodes / (time.perf_counter() - start), out


def resume_scan(path: Path) -> tuple[float, float, float]:
    """Seconds to read the file as Episodes (the old resume), to scan IDs, and to open the store."""
    start = time.perf_counter()
    count = sum(1 for _ in read_episodes(path))
    built = time.perf_counter() - start
    start = time.perf_counter()
    assert sum(1 for _ in scan_ids(path)) == count
    scanned = time.perf_counter() - start
    start = time.perf_counter()
    with EpisodeStore(path) as store:
        assert len(store.done_ids) == count
    opened = time.perf_counter() - start
    return built, scanned, opened


async def heavy_run(tasks: int, processes: int | None, folder: Path) -> tuple[float, float, float, float, int]:
    out = folder / f"sudoku.{processes}.jsonl"
    config = RolloutConfig(env_id=HEAVY_ENV, env_kwargs={"difficulty": "hard"}, agent="scripted", n=tasks,
                           concurrency=8, env_processes=processes, out=str(out))
    stop, lags = asyncio.Event(), [0.0]
    ticker = asyncio.ensure_future(loop_lag(stop, lags))
    start, cpu = time.perf_counter(), time.process_time()
    result = await run_rollout(config)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    stop.set()
    await ticker
    lags.sort()
    return tasks / elapsed, cpu, sum(lags) / len(lags), lags[int(len(lags) * 0.99)], result.errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=100_000, help=f"scripted {CHEAP_ENV} episodes")
    parser.add_argument("--sudoku", type=int, default=16, help=f"hard {HEAVY_ENV} episodes per setting")
    args = parser.parse_args()
    console = Console()
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        samples, rate, path = asyncio.run(memory_run(args.episodes, folder))
        table = Table(title=f"{args.episodes:,} scripted {CHEAP_ENV} episodes, concurrency 8 ({os.cpu_count()} CPUs)")
        for column in ("episodes done", "RSS MiB", "episodes/s so far"):
            table.add_column(column, justify="right")
        for done, rss, so_far in samples:
            table.add_row(f"{done:,}", f"{rss:.1f}", f"{so_far:.0f}")
        console.print(table)
        console.print(f"overall: {rate:.0f} episodes/s; file {path.stat().st_size / 2**20:.0f} MiB")

        built, scanned, opened = resume_scan(path)
        table = Table(title=f"Resuming a {args.episodes:,}-line file")
        table.add_column("how")
        table.add_column("seconds", justify="right")
        table.add_row("build every Episode (pydantic; the old resume)", f"{built:.2f}")
        table.add_row("scan IDs and error flags (scan_ids)", f"{scanned:.2f}")
        table.add_row("open EpisodeStore (scan + torn-tail check)", f"{opened:.2f}")
        console.print(table)
        console.print(f"speed-up: {built / scanned:.1f}x")

        table = Table(title=f"{args.sudoku} hard sudoku episodes, scripted, concurrency 8 ({os.cpu_count()} CPUs)")
        for column in ("environments step in", "episodes/s", "driver CPU s", "loop lag mean ms", "p99 ms", "errors"):
            table.add_column(column, justify="right")
        for label, processes in (("threads", 0), ("2 processes", None)):
            per_s, cpu, mean, p99, errors = asyncio.run(heavy_run(args.sudoku, processes, folder))
            table.add_row(label, f"{per_s:.2f}", f"{cpu:.1f}", f"{mean * 1000:.1f}", f"{p99 * 1000:.1f}", str(errors))
        console.print(table)


if __name__ == "__main__":
    main()
