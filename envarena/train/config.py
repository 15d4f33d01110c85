"""`TrainConfig`: every knob of a training run, from YAML plus `--set key=value` overrides.

Unknown or ill-typed keys are rejected with the key's name (and the closest real one),
because a typo in an RL config otherwise silently trains something else for hours.
"""

from __future__ import annotations

import difflib
import json
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from envarena.assignments import split_assignment
from envarena.errors import InvalidOptionError
from envarena.request_limits import MAX_TEMPERATURE, MAX_TOKENS

__all__ = ["LoraSettings", "RaySettings", "TinyModel", "TrainConfig", "VLLMSettings", "load_config", "validate_config"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TinyModel(_Strict):
    """A small Llama built from scratch with a character tokenizer (tests, smoke runs)."""

    layers: int = Field(default=2, ge=1)
    hidden: int = Field(default=64, ge=8)
    heads: int = Field(default=4, ge=1)
    seed: int = 0


class LoraSettings(_Strict):
    r: int = Field(default=16, ge=1)
    alpha: int = Field(default=32, ge=1)
    dropout: float = Field(default=0.0, ge=0.0, lt=1.0)
    target_modules: list[str] | str = "all-linear"


class VLLMSettings(_Strict):
    """The in-process vLLM engine used with `generator: vllm` (colocated with the trainer)."""

    dtype: str = "auto"  # bfloat16 on CUDA, float32 on CPU
    gpu_memory_utilization: float = Field(default=0.35, gt=0.0, le=1.0)
    kv_cache_gb: float = Field(default=1.0, gt=0.0)  # CPU only (VLLM_CPU_KVCACHE_SPACE)
    max_model_len: int = Field(default=4096, ge=64)
    enforce_eager: bool = True  # torch.compile start-up costs minutes on CPU
    sleep_mode: bool = True  # GPU only: free vLLM's memory while the trainer updates


class RaySettings(_Strict):
    """The rollout phase on Ray workers (`envarena train ... --ray [ADDRESS]`).

    Environments, their verifiers and sandboxes run on the workers; the policy stays with the
    trainer, whose engine is served to the workers over HTTP (token-in, token-out), so the
    update and the weight sync are exactly those of a local run.
    """

    address: str = ""  # "": RAY_ADDRESS or a cluster started with `ray start`, else a local Ray for the run
    workers: int | None = Field(default=None, ge=1)  # default: one per CPU of the cluster
    # Where the workers reach the trainer's policy server: 127.0.0.1 when the cluster is this
    # machine alone, else this node's cluster IP (set it when nodes join after the start).
    serve_host: str | None = None
    serve_port: int = Field(default=0, ge=0, le=65535)  # 0: any free port (set one a firewall lets through)


class TrainConfig(_Strict):
    # what to train, on what
    model: str = "smollm2-135m"
    tiny: TinyModel | None = None
    env_id: str = "text/arithmetic-v0"
    env_kwargs: dict[str, Any] = Field(default_factory=dict)
    seed: int = 0
    # generation: "hf" shares the trainer's model; "vllm" runs an in-process vLLM engine
    # that receives the updated weights after every optimiser step
    generator: Literal["hf", "vllm"] = "hf"
    vllm: VLLMSettings = Field(default_factory=VLLMSettings)
    # rollouts
    steps: int = Field(default=50, ge=1)
    tasks_per_step: int = Field(default=8, ge=1)
    group_size: int = Field(default=8, ge=2)
    temperature: float = Field(default=1.0, gt=0.0)
    top_p: float = Field(default=1.0, gt=0.0, le=1.0)
    max_new_tokens: int = Field(default=128, ge=1)
    concurrency: int = Field(default=64, ge=1)  # episodes in flight (with ray: across all workers)
    ray: RaySettings | None = None
    dynamic_sampling: bool = False
    max_resample_rounds: int = Field(default=2, ge=0)
    # advantages
    advantage: Literal["grpo", "dr_grpo", "rloo"] = "grpo"
    episode_reward: Literal["outcome", "total_reward"] = "outcome"
    turn_weight: float = Field(default=0.5, ge=0.0)
    gamma: float = Field(default=1.0, ge=0.0, le=1.0)
    # objective
    clip_low: float = Field(default=0.2, ge=0.0)
    clip_high: float = Field(default=0.28, ge=0.0)
    kl_coef: float = Field(default=0.0, ge=0.0)
    entropy_coef: float = Field(default=0.0, ge=0.0)
    loss_agg: Literal["token_mean", "seq_mean"] = "token_mean"
    # training-inference mismatch: old log-probs are recomputed by the trainer, and each token's
    # loss is weighted by min(pi_old / pi_behaviour, tis_cap) (truncated importance sampling;
    # None turns the correction off)
    tis_cap: float | None = Field(default=2.0, ge=1.0)
    updates_per_batch: int = Field(default=1, ge=1)
    micro_batch_size: int = Field(default=16, ge=1)
    # optimisation
    lr: float = Field(default=1e-5, gt=0.0)
    weight_decay: float = Field(default=0.0, ge=0.0)
    warmup_steps: int = Field(default=0, ge=0)
    max_grad_norm: float = Field(default=1.0, gt=0.0)
    lora: LoraSettings | None = None
    # bookkeeping
    eval_every: int = Field(default=10, ge=0)
    eval_tasks: int = Field(default=16, ge=1)
    eval_seed: int = 1_000_000
    checkpoint_every: int = Field(default=10, ge=1)
    device: str = "auto"
    deterministic: bool = False

    @model_validator(mode="after")
    def _ray_rules(self) -> TrainConfig:
        """With ray, the workers reach the policy through the OpenAI-compatible server, whose
        request limits then hold; lockstep batching needs every episode in one process."""
        if self.ray is None:
            return self
        if self.deterministic:
            raise ValueError("deterministic: true batches every episode in lockstep inside one process, so it cannot "
                             "run with ray; leave one of them out")
        if self.temperature > MAX_TEMPERATURE:
            raise ValueError(f"with ray, temperature must be at most {MAX_TEMPERATURE:g} (the policy server's limit)")
        if self.max_new_tokens > MAX_TOKENS:
            raise ValueError(f"with ray, max_new_tokens must be at most {MAX_TOKENS} (the policy server's limit)")
        return self


def _set_dotted(data: dict[str, Any], key: str, value: Any) -> None:
    parts = key.split(".")
    cursor = data
    for part in parts[:-1]:
        if not isinstance(cursor.get(part), dict):
            cursor[part] = {}
        cursor = cursor[part]
    cursor[parts[-1]] = value


def _parse_value(raw: str) -> Any:
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        try:
            loaded = yaml.safe_load(raw)
        except yaml.YAMLError:
            return raw  # not a structured value: the string itself, which validation then judges
        return loaded if loaded is not None else raw


def _read_yaml(path: Path) -> Any:
    """The parsed file, or one sentence naming the line where YAML gave up."""
    try:
        return yaml.safe_load(path.read_text())
    except UnicodeDecodeError:
        raise InvalidOptionError(f"config file '{path}' is not a text file") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(err, "problem", None) or "it cannot be parsed"
        raise InvalidOptionError(f"config file '{path}' is not valid YAML{where}: {problem}") from None


def _unknown_key(loc: tuple[Any, ...]) -> str:
    """Name an unknown setting, with the closest real one when there is one."""
    where = ".".join(str(p) for p in loc)
    model: type[BaseModel] = TrainConfig
    for part in loc[:-1]:  # walk down to the settings group that holds the key
        field = model.model_fields.get(str(part))
        nested = _settings_class(field.annotation) if field is not None else None
        if nested is None:
            return f"unknown training setting '{where}'"
        model = nested
    close = difflib.get_close_matches(str(loc[-1]), list(model.model_fields), n=1)
    prefix = ".".join(str(p) for p in loc[:-1])
    hint = f"; did you mean '{prefix + '.' if prefix else ''}{close[0]}'?" if close else ""
    return f"unknown training setting '{where}'{hint}"


def _settings_class(annotation: Any) -> type[BaseModel] | None:
    """The settings model behind `X` or `X | None`."""
    for candidate in (annotation, *getattr(annotation, "__args__", ())):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def load_config(path: str | Path | None, overrides: list[str] | tuple[str, ...] = ()) -> TrainConfig:
    """Read YAML, apply `key=value` overrides (dotted keys reach nested settings), validate."""
    data: dict[str, Any] = {}
    if path is not None:
        path = Path(path)
        if not path.exists():
            raise InvalidOptionError(f"config file '{path}' does not exist")
        loaded = _read_yaml(path) or {}
        if not isinstance(loaded, dict):
            raise InvalidOptionError(f"config file '{path}' must hold a mapping of settings")
        data = loaded
    for item in overrides:
        key, raw = split_assignment(item, what="override")
        _set_dotted(data, key, _parse_value(raw))
    return validate_config(data)


def validate_config(data: dict[str, Any]) -> TrainConfig:
    """The config from plain data; a bad setting is one sentence that names it."""
    try:
        return TrainConfig.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        if not first["loc"]:  # a rule across settings
            raise InvalidOptionError(first["msg"].removeprefix("Value error, ")) from None
        where = ".".join(str(p) for p in first["loc"])
        if first["type"] == "extra_forbidden":
            raise InvalidOptionError(_unknown_key(tuple(first["loc"]))) from None
        raise InvalidOptionError(f"training setting '{where}': {first['msg']}") from None
