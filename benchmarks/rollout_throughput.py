"""Rollout throughput with SmolLM2 on CPU: batched engine vs one episode at a time vs bare generate.

Measurements in one run, same model, same prompts, same sampling:

1. the rollout engine with dynamic batching (all episodes concurrent), `hf:` backend,
2. the rollout engine one episode at a time (concurrency 1),
3. a bare `model.generate` loop over the same prompt ids in one batch, forced to run as
   many decode steps as the engine's longest completion, credited with the same token
   count (sampled lengths vary run to run; this makes both do the same work),
4. the rollout engine with the `vllm:` backend (in-process vLLM, bf16; skipped with a note
   when vLLM is not installed), all episodes concurrent.

It prints episodes/s and generated tokens/s, the engine's tokens/s as a fraction of 3 (the
goal is at least 0.9: the engine's bookkeeping should cost little), and vLLM against `hf:`.

    python benchmarks/rollout_throughput.py [--episodes 16] [--max-new-tokens 64] [--no-vllm]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import importlib.util
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from envarena.agents.hf import HFEngine, HFPolicy, SamplingParams
from envarena.rollout import RolloutConfig, run_rollout

ENV_ID = "text/arithmetic-v0"
ENV_KWARGS = {"max_attempts": 1}  # single turn: generation is the whole cost


async def engine_run(policy: Any, episodes: int, concurrency: int, folder: Path) -> dict[str, float]:
    config = RolloutConfig(env_id=ENV_ID, env_kwargs=ENV_KWARGS, agent=policy.spec, n=episodes, concurrency=concurrency,
                           out=str(folder / f"c{concurrency}.jsonl"))
    start = time.perf_counter()
    result = await run_rollout(config, policy=policy, keep_episodes=True)
    elapsed = time.perf_counter() - start
    tokens = sum(e.completion_tokens for e in result.episodes)
    prompts = [e.turns[0].trace.prompt_ids for e in sorted(result.episodes, key=lambda e: e.seed)]
    longest = max(len(e.turns[0].trace.completion_ids) for e in result.episodes)
    return {"longest": longest, "seconds": elapsed, "episodes_per_s": episodes / elapsed, "tokens": tokens, "tokens_per_s": tokens / elapsed,
            "errors": sum(e.error is not None for e in result.episodes), "prompts": prompts}


def bare_generate(engine: HFEngine, prompts: list[list[int]], params: SamplingParams, steps: int, tokens: int) -> dict[str, float]:
    """The same prompts through `model.generate` directly: one batch, `steps` decode steps."""
    import torch

    width = max(len(p) for p in prompts)
    ids = torch.full((len(prompts), width), engine.pad_id, dtype=torch.long)
    mask = torch.zeros_like(ids)
    for row, prompt in enumerate(prompts):
        ids[row, width - len(prompt):] = torch.tensor(prompt)
        mask[row, width - len(prompt):] = 1
    start = time.perf_counter()
    with torch.inference_mode():
        engine.model.generate(input_ids=ids, attention_mask=mask, do_sample=True, temperature=params.temperature,
                              top_p=params.top_p, top_k=None, max_new_tokens=steps, min_new_tokens=steps,
                              pad_token_id=engine.pad_id)
    elapsed = time.perf_counter() - start
    return {"seconds": elapsed, "tokens": tokens, "tokens_per_s": tokens / elapsed}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--episodes", type=int, default=16)
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=2, help="bare-generate repetitions (median kept)")
    parser.add_argument("--no-vllm", action="store_true", help="skip the vllm: backend")
    args = parser.parse_args()
    policy = HFPolicy("smollm2-135m", max_new_tokens=args.max_new_tokens, temperature=0.7, max_batch_size=args.episodes)
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        (folder / "warm").mkdir()
        await engine_run(policy, 2, 2, folder / "warm")  # warm-up: first-call allocations
        batched = await engine_run(policy, args.episodes, args.episodes, folder)
        sequential = await engine_run(policy, args.episodes, 1, folder)
    bare_runs = sorted((bare_generate(policy.engine, batched["prompts"], policy.params, batched["longest"], batched["tokens"])
                        for _ in range(args.repeat)),
                       key=lambda r: r["tokens_per_s"])
    bare = bare_runs[len(bare_runs) // 2]
    vllm = None
    if not args.no_vllm and importlib.util.find_spec("vllm") is not None:
        from envarena.agents.vllm_agent import VLLMPolicy

        vllm_policy = VLLMPolicy("smollm2-135m", max_new_tokens=args.max_new_tokens, temperature=0.7,
                                 dtype="bfloat16", max_batch_size=args.episodes)
        with tempfile.TemporaryDirectory() as scratch:
            (Path(scratch) / "warm").mkdir()
            await engine_run(vllm_policy, 2, 2, Path(scratch) / "warm")
            vllm = await engine_run(vllm_policy, args.episodes, args.episodes, Path(scratch))
    table = Table(title=f"SmolLM2-135M on CPU, {ENV_ID}, {args.episodes} episodes, max {args.max_new_tokens} new tokens")
    for column in ["configuration", "seconds", "episodes/s", "tokens", "tokens/s"]:
        table.add_column(column, justify="left" if column == "configuration" else "right")
    table.add_row("engine, batched (dynamic batching)", f"{batched['seconds']:.1f}", f"{batched['episodes_per_s']:.2f}",
                  str(batched["tokens"]), f"{batched['tokens_per_s']:.1f}")
    table.add_row("engine, one episode at a time", f"{sequential['seconds']:.1f}", f"{sequential['episodes_per_s']:.2f}",
                  str(sequential["tokens"]), f"{sequential['tokens_per_s']:.1f}")
    table.add_row(f"bare model.generate, same prompts, {batched['longest']} steps", f"{bare['seconds']:.1f}", "-", str(bare["tokens"]), f"{bare['tokens_per_s']:.1f}")
    if vllm is not None:
        table.add_row("engine, batched, vllm: (bf16)", f"{vllm['seconds']:.1f}", f"{vllm['episodes_per_s']:.2f}",
                      str(vllm["tokens"]), f"{vllm['tokens_per_s']:.1f}")
    console = Console(width=140)
    console.print(table)
    summary = {
        "batched_vs_sequential_tokens_per_s": batched["tokens_per_s"] / sequential["tokens_per_s"],
        "batched_vs_sequential_episodes_per_s": batched["episodes_per_s"] / sequential["episodes_per_s"],
        "engine_vs_bare_generate_tokens_per_s": batched["tokens_per_s"] / bare["tokens_per_s"],
        "batch_sizes": policy.engine.batch_sizes,
    }
    if vllm is not None:
        summary["vllm_vs_hf_batched_tokens_per_s"] = vllm["tokens_per_s"] / batched["tokens_per_s"]
        summary["vllm_vs_hf_batched_episodes_per_s"] = vllm["episodes_per_s"] / batched["episodes_per_s"]
    console.print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    asyncio.run(main())
