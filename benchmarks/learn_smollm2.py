"""SmolLM2-135M learns text/arithmetic-v0 (easy) with envarena's trainer, on CPU.

Prints the outcome on held-out seeds before and after a fixed budget, and saves the
training curves (PNG) next to the run. The default budget is small enough for a laptop
(about 15-25 minutes on 2 cores); pass --steps for more.

    python benchmarks/learn_smollm2.py [--steps 20] [--out runs/learn-smollm2]
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

from envarena.train import Trainer, load_config, plot_run

CONFIG = Path(__file__).resolve().parents[1] / "examples" / "smollm2-arithmetic-lora.yaml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--eval-tasks", type=int, default=32)
    parser.add_argument("--out", default="runs/learn-smollm2")
    args = parser.parse_args()
    shutil.rmtree(args.out, ignore_errors=True)
    config = load_config(CONFIG, [f"steps={args.steps}", f"eval_tasks={args.eval_tasks}", "eval_every=0",
                                  f"checkpoint_every={args.steps}"])
    trainer = Trainer(config, args.out)
    start = time.perf_counter()
    before = trainer.evaluate(-1)
    trainer.run()
    after = trainer.evaluate(config.steps)
    written = plot_run(args.out)
    print(f"held-out outcome ({args.eval_tasks} tasks, seeds {config.eval_seed}+): "
          f"before {before['eval_outcome']:.3f}, after {after['eval_outcome']:.3f} "
          f"({args.steps} steps, {time.perf_counter() - start:.0f}s); curves: {written[0].parent}")


if __name__ == "__main__":
    main()
