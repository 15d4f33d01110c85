"""Traced turns as the trainer sees them: token ids, their log-probs and the loss mask.

The layout follows `envarena.train.batch.episode_sequences` (a test holds the two equal):
token-in/token-out makes the last traced turn's prompt + completion the whole conversation,
so an episode is one sequence whose sampled tokens carry the loss; a trace that breaks the
prefix property gives one sequence per turn instead. Only the ids are stored, so the token
text needs the tokenizer that produced them; it is looked up locally only (never
downloaded): `--tokenizer`, then the training run's checkpoint, then the model named by
the episode's agent spec. Without one the page shows the ids.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from envarena.types import Episode

__all__ = ["TokenizerLookup", "token_rows"]


def token_rows(episode: Episode) -> list[dict[str, Any]]:
    """The episode's training sequences: ids, loss mask, sampled log-probs, which turn sampled what."""
    traced = [(i, t.trace) for i, t in enumerate(episode.turns) if t.trace is not None]
    if not traced:
        return []
    last = traced[-1][1]
    ids = last.prompt_ids + last.completion_ids
    nested = all(ids[: len(tr.prompt_ids) + len(tr.completion_ids)] == tr.prompt_ids + tr.completion_ids
                 for _, tr in traced)
    groups = [traced] if nested else [[pair] for pair in traced]
    rows = []
    for group in groups:
        row_ids = ids if nested else group[0][1].prompt_ids + group[0][1].completion_ids
        mask, logprobs, segments = [0] * len(row_ids), [None] * len(row_ids), []
        for turn, trace in group:
            start = len(trace.prompt_ids)
            sampled = trace.logprobs or [None] * len(trace.completion_ids)
            for offset, lp in enumerate(sampled):
                mask[start + offset] = 1
                logprobs[start + offset] = lp
            segments.append({"turn": turn, "start": start, "end": start + len(sampled),
                             "finish_reason": trace.finish_reason})
        rows.append({"turns": [turn for turn, _ in group], "ids": row_ids, "mask": mask, "logprobs": logprobs,
                     "segments": segments})
    return rows


def model_of(agent_spec: str) -> str | None:
    """The model an agent spec generated with (`hf:X`, `vllm:X`, `openai:X@url`), if any."""
    kind, _, rest = agent_spec.partition(":")
    if kind not in ("hf", "vllm", "openai") or not rest:
        return None
    return rest.split("@", 1)[0] if kind == "openai" else rest


class TokenizerLookup:
    """Finds and caches a local tokenizer per agent spec; remembers why none was found."""

    def __init__(self, explicit: str | None = None, run_folder: Path | None = None, run_model: str | None = None) -> None:
        self.explicit, self.run_folder, self.run_model = explicit, run_folder, run_model
        self._loaded: dict[str, tuple[Any, str]] = {}
        self._lock = threading.Lock()

    def _candidates(self, agent_spec: str, in_run: bool) -> list[str]:
        names = [self.explicit] if self.explicit else []
        if in_run and self.run_folder is not None:
            names.append(str(self.run_folder))
        if in_run and self.run_model:
            names.append(self.run_model)
        if (model := model_of(agent_spec)) is not None:
            names.append(model)
        return names

    def explicit_problem(self) -> str | None:
        """Why the tokenizer given with --tokenizer cannot be loaded, or None when it can (or none was given)."""
        if not self.explicit:
            return None
        with self._lock:
            if self.explicit not in self._loaded:
                self._loaded[self.explicit] = _load(self.explicit)
            tokenizer, where = self._loaded[self.explicit]
        return None if tokenizer is not None else where

    def get(self, agent_spec: str, in_run: bool = False) -> tuple[Any, str]:
        """(tokenizer or None, where it came from or why there is none)."""
        names = self._candidates(agent_spec, in_run)
        if not names:
            return None, f"agent '{agent_spec}' records no model; give --tokenizer to see token text"
        with self._lock:
            for name in names:
                if name not in self._loaded:
                    self._loaded[name] = _load(name)
                if self._loaded[name][0] is not None:
                    return self._loaded[name]
        tried = ", ".join(f"'{n}'" for n in names)
        return None, f"no local tokenizer found for {tried}; give --tokenizer to see token text"


def _load(name: str) -> tuple[Any, str]:
    """A tokenizer from a local folder, a pulled alias or the local Hugging Face cache; never the network."""
    from envarena.agents.models import resolve_model
    from envarena.errors import EnvArenaError

    try:
        where = resolve_model(name, auto_pull=False)
    except EnvArenaError as err:
        return None, str(err)
    try:
        from transformers import AutoTokenizer

        return AutoTokenizer.from_pretrained(where, local_files_only=True), where
    except Exception as err:  # noqa: BLE001 - any loading failure just means "show ids"
        return None, f"{where}: {type(err).__name__}"


def decode_pieces(tokenizer: Any, ids: list[int]) -> list[str]:
    """The text of each token on its own (so a split multi-byte character shows as U+FFFD)."""
    unique = sorted(set(ids))
    texts = tokenizer.batch_decode([[i] for i in unique], skip_special_tokens=False,
                                   clean_up_tokenization_spaces=False)
    table = dict(zip(unique, texts, strict=True))
    return [table[i] for i in ids]
