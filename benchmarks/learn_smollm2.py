"""SmolLM2-135M learns a multi-turn task with envarena's trainer (LoRA, vLLM or HF generation).

Measures the held-out outcome on the same seeds before and after a fixed budget and prints
both with 95% confidence intervals, the paired gain with its interval, the throughput and
the training curves (PNG, next to the run). The default config
(`examples/smollm2-copy-retry-vllm.yaml`) trains on `text/copy-v0` with three attempts: a
wrong reply hears what was expected and tries again. `examples/smollm2-tryagain-vllm.yaml`
is a harder multi-turn task (arithmetic, "Try again." only) that this model has not learned.

    python benchmarks/learn_smollm2.py [--config examples/smollm2-copy-retry-vllm.yaml]
        [--steps N] [--eval-tasks 64] [--generator vllm|hf] [--out runs/learn-smollm2]
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import statistics
import time
from pathlib import Path

from envarena.train import Trainer, load_config, plot_run

CONFIG = Path(__file__).resolve().parents[1] / "examples" / "smollm2-copy-retry-vllm.yaml"


def interval(values: list[float]) -> tuple[float, float]:
    """Mean and the half-width of its 95% normal-approximation confidence interval."""
    mean = statistics.fmean(values)
    spread = statistics.stdev(values) if len(values) > 1 else 0.0
    return mean, 1.96 * spread / math.sqrt(len(values))


def held_out(trainer: Trainer, label: str) -> list[float]:
    """Outcome per held-out task (the config's eval seeds, one sample each)."""
    config = trainer.config
    episodes = trainer.collector.rollout(config.eval_seed, config.eval_tasks, 1,
                                         trainer.run_dir / "rollouts" / f"held-out-{label}.jsonl")
    return [e.outcome for e in sorted(episodes, key=lambda e: e.seed)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default=str(CONFIG))
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--eval-tasks", type=int, default=64)
    parser.add_argument("--generator", choices=("vllm", "hf"), default=None)
    parser.add_argument("--out", default="runs/learn-smollm2")
    args = parser.parse_args()
    shutil.rmtree(args.out, ignore_errors=True)
    overrides = [f"eval_tasks={args.eval_tasks}", "eval_every=0"]
    overrides += [f"steps={args.steps}", f"checkpoint_every={args.steps}"] if args.steps else []
    overrides += [f"generator={args.generator}"] if args.generator else []
    config = load_config(args.config, overrides)
    trainer = Trainer(config, args.out)
    start = time.perf_counter()
    before = held_out(trainer, "before")
    metrics = trainer.run()
    after = held_out(trainer, "after")
    elapsed = time.perf_counter() - start
    written = plot_run(args.out)
    (b, b_ci), (a, a_ci) = interval(before), interval(after)
    gain, gain_ci = interval([y - x for x, y in zip(before, after)])
    generated = sum(m["tokens_per_s"] * m["time_generate_s"] for m in metrics)
    generate_s = sum(m["time_generate_s"] for m in metrics)
    summary = {
        "env": config.env_id, "generator": config.generator, "steps": config.steps, "held_out_tasks": len(before),
        "before": round(b, 4), "before_ci95": round(b_ci, 4), "after": round(a, 4), "after_ci95": round(a_ci, 4),
        "gain": round(gain, 4), "gain_ci95": round(gain_ci, 4), "seconds": round(elapsed),
        "generate_tokens_per_s": round(generated / max(generate_s, 1e-9), 1),
        "mismatch_abs_logprob": round(statistics.fmean(m.get("mismatch_abs_logprob", 0.0) for m in metrics), 5),
    }
    print(f"held-out outcome on {len(before)} tasks ({config.env_id}, {config.generator}): "
          f"before {b:.3f} ± {b_ci:.3f}, after {a:.3f} ± {a_ci:.3f}, gain {gain:+.3f} ± {gain_ci:.3f} (95% CI) "
          f"after {config.steps} steps in {elapsed:.0f}s; curves: {written[0].parent if written else args.out}")
    print(json.dumps(summary))
    (Path(args.out) / "summary.json").write_text(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
