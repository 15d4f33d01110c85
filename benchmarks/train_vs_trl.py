"""envarena's trainer against TRL's GRPOTrainer: same model, task, group, batch and steps, CPU.

SmolLM2-135M-Instruct (full fine-tune) on text/arithmetic-v0 (easy, one attempt: a
single-turn task both can train on), G completions per prompt, P prompts per step, S steps,
the same max completion length, learning rate and temperature. Each trainer runs in its own
process, so peak memory (max RSS) is its own. The reward both see is the environment's
verifier (outcome). Prints generated tokens/s and peak memory, and the ratios. envarena
accumulates gradients over micro-batches of 8 sequences (exactly the same token-mean loss
over the same optimizer batch); TRL computes its batch in one pass, as configured. envarena
runs twice: generating with the `hf` engine (sharing the trainer's model) and with
`generator: vllm` (in-process vLLM, weights loaded after every step; skipped when vLLM is
not installed).

    python benchmarks/train_vs_trl.py [--steps 4] [--prompts 4] [--group 8] [--max-new-tokens 48]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import resource
import subprocess
import sys
import time

ENV_ID = "text/arithmetic-v0"
ENV_KWARGS = {"difficulty": "easy", "max_attempts": 1}


def run_envarena(args: argparse.Namespace, generator: str = "hf") -> dict:
    from envarena.train import Trainer, load_config

    config = load_config(None, [
        "model=smollm2-135m", f"env_id={ENV_ID}", f"env_kwargs={json.dumps(ENV_KWARGS)}", f"steps={args.steps}",
        f"tasks_per_step={args.prompts}", f"group_size={args.group}", f"max_new_tokens={args.max_new_tokens}",
        "temperature=0.8", "lr=1e-6", "eval_every=0", f"checkpoint_every={args.steps + 1}", "episode_reward=outcome",
        "turn_weight=0", f"micro_batch_size={args.micro_batch}", f"generator={generator}",
    ])
    import tempfile

    with tempfile.TemporaryDirectory() as run_dir:
        trainer = Trainer(config, run_dir, log=lambda line: None)
        start = time.perf_counter()
        metrics = []
        for step in range(config.steps):
            metrics.append(trainer.train_step(step))
        elapsed = time.perf_counter() - start
    tokens = sum(m["response_length"] * m["episodes"] for m in metrics)
    return {"seconds": elapsed, "generated_tokens": tokens}


def run_trl(args: argparse.Namespace) -> dict:
    import tempfile

    import datasets
    from trl import GRPOConfig, GRPOTrainer

    import envarena
    from envarena.agents.models import resolve_model

    rows = []
    for seed in range(args.steps * args.prompts):
        env = envarena.make(ENV_ID, **ENV_KWARGS)
        observation, _ = env.reset(seed=seed)
        rows.append({"prompt": [m.openai_format() for m in observation], "seed": seed})
    counted = {"tokens": 0}

    def reward(prompts, completions, seed, completion_ids=None, **kwargs):  # the env's verifier
        scores = []
        for text, s in zip(completions, seed):
            text = text[-1]["content"] if isinstance(text, list) else text
            env = envarena.make(ENV_ID, **ENV_KWARGS)
            env.reset(seed=s)
            *_, info = env.step(text)
            scores.append(float(info.get("outcome", 0.0)))
        counted["tokens"] += sum(len(c) for c in completion_ids) if completion_ids is not None else 0
        return scores

    with tempfile.TemporaryDirectory() as out:
        config = GRPOConfig(
            output_dir=out, use_cpu=True, bf16=False, per_device_train_batch_size=args.prompts * args.group,
            num_generations=args.group, max_completion_length=args.max_new_tokens, max_steps=args.steps,
            learning_rate=1e-6, temperature=0.8, beta=0.0, logging_steps=1, report_to="none", save_strategy="no",
            gradient_accumulation_steps=1, shuffle_dataset=False,
        )
        trainer = GRPOTrainer(model=resolve_model("smollm2-135m"), reward_funcs=[reward], args=config,
                              train_dataset=datasets.Dataset.from_list(rows))
        start = time.perf_counter()
        trainer.train()
        elapsed = time.perf_counter() - start
    return {"seconds": elapsed, "generated_tokens": counted["tokens"]}


def child(which: str, args: argparse.Namespace) -> None:
    if which == "trl":
        result = run_trl(args)
    else:
        result = run_envarena(args, "vllm" if which == "envarena-vllm" else "hf")
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result["tokens_per_s"] = result["generated_tokens"] / result["seconds"]
    print("RESULT " + json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--prompts", type=int, default=4)
    parser.add_argument("--group", type=int, default=8)
    parser.add_argument("--max-new-tokens", type=int, default=48)
    parser.add_argument("--micro-batch", type=int, default=8,
                        help="envarena's micro-batch (gradient accumulation over the same optimizer batch)")
    parser.add_argument("--child", choices=["envarena", "envarena-vllm", "trl"])
    args = parser.parse_args()
    if args.child:
        child(args.child, args)
        return
    results = {}
    runs = ["envarena", "trl"]
    if importlib.util.find_spec("vllm") is not None:
        runs.insert(1, "envarena-vllm")
    for which in runs:
        command = [sys.executable, __file__, "--child", which, "--steps", str(args.steps), "--prompts", str(args.prompts),
                   "--group", str(args.group), "--max-new-tokens", str(args.max_new_tokens),
                   "--micro-batch", str(args.micro_batch)]
        out = subprocess.run(command, capture_output=True, text=True)
        line = next((l for l in out.stdout.splitlines() if l.startswith("RESULT ")), None)
        if line is None:
            raise SystemExit(f"{which} failed:\n{out.stderr[-3000:]}")
        results[which] = json.loads(line[len("RESULT "):])
    e, t = results["envarena"], results["trl"]
    print(f"SmolLM2-135M, {ENV_ID} (easy), {args.steps} steps x {args.prompts} prompts x {args.group} completions, "
          f"max {args.max_new_tokens} new tokens, CPU")
    print(f"{'trainer':10s} {'seconds':>8s} {'gen tokens':>10s} {'tokens/s':>9s} {'peak RSS MB':>12s}")
    for name, r in results.items():
        print(f"{name:10s} {r['seconds']:8.1f} {r['generated_tokens']:10.0f} {r['tokens_per_s']:9.1f} {r['peak_rss_mb']:12.0f}")
    print(f"tokens/s ratio envarena/TRL: {e['tokens_per_s'] / t['tokens_per_s']:.2f}x (goal >= 1.5x); "
          f"peak memory ratio envarena/TRL: {e['peak_rss_mb'] / t['peak_rss_mb']:.2f} (goal <= 1.0)")
    if "envarena-vllm" in results:
        v = results["envarena-vllm"]
        print(f"tokens/s ratio envarena(vllm)/TRL: {v['tokens_per_s'] / t['tokens_per_s']:.2f}x; "
              f"envarena(vllm)/envarena(hf): {v['tokens_per_s'] / e['tokens_per_s']:.2f}x; "
              f"peak memory ratio envarena(vllm)/TRL: {v['peak_rss_mb'] / t['peak_rss_mb']:.2f}")


if __name__ == "__main__":
    main()
