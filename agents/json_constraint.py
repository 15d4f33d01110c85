"""Sampling constrained to a JSON schema, for the transformers engine (llguidance).

A server asked for a required tool call (`tool_choice`) must return one; a small model left
to itself often writes prose instead. At each decoding step the grammar compiled from the
schema says which tokens keep the output a valid prefix, and every other token's logit is
set to -inf before sampling; once the JSON is complete only a stop token is allowed. The
recorded log-probs are those of this masked distribution, the one the tokens came from.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

__all__ = ["SchemaMask", "check_schema", "grammar_tokenizer"]

# Compact JSON (no free whitespace): a small model cannot stall on endless blank lines.
_COMPACT = {"whitespace_flexible": False}


def _grammar(schema: str) -> str:
    import llguidance

    data = json.loads(schema)
    return llguidance.LLMatcher.grammar_from_json_schema(data, overrides=_COMPACT)  # type: ignore[arg-type]


def check_schema(schema: str) -> None:
    """Raise ValueError, with the compiler's reason, if the schema cannot be enforced."""
    import llguidance

    try:
        grammar = _grammar(schema)
    except (ValueError, json.JSONDecodeError) as err:
        raise ValueError(f"not a usable JSON schema: {err}") from None
    is_error, messages = llguidance.LLMatcher.validate_grammar_with_warnings(grammar)
    if is_error:
        raise ValueError(f"the JSON schema cannot be enforced: {messages[0] if messages else 'invalid'}")


def grammar_tokenizer(tokenizer: Any, stop_ids: Sequence[int]) -> Any:
    """llguidance's view of a Hugging Face fast tokenizer (about a second: cache it)."""
    import llguidance.hf

    return llguidance.hf.from_tokenizer(tokenizer, eos_token=sorted(stop_ids))


class SchemaMask:
    """A transformers logits processor: one grammar matcher per row of the batch."""

    def __init__(self, ll_tokenizer: Any, schema: str, rows: int, stop_ids: set[int]) -> None:
        import llguidance

        grammar = _grammar(schema)
        self.matchers = [llguidance.LLMatcher(ll_tokenizer, grammar) for _ in range(rows)]
        self.vocab = ll_tokenizer.vocab_size
        self.stop_ids = sorted(stop_ids)
        self.finished = [False] * rows
        self.first = True

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        import llguidance.numpy as llnp
        import numpy as np
        import torch

        rows = len(self.matchers)
        if not self.first:
            for row, token in enumerate(input_ids[:, -1].tolist()):
                if not self.finished[row]:
                    if token in self.stop_ids:
                        self.finished[row] = True
                    else:
                        self.matchers[row].consume_token(token)
        self.first = False
        bitmask = llnp.allocate_token_bitmask(rows, self.vocab)
        allowed = np.zeros((rows, scores.shape[1]), dtype=bool)
        for row, matcher in enumerate(self.matchers):
            if self.finished[row]:
                allowed[row] = True  # padding follows; leave the row alone
                continue
            if matcher.is_stopped() or matcher.is_error():
                allowed[row, self.stop_ids] = True  # the JSON is complete: end the turn
                continue
            llnp.fill_next_token_bitmask(matcher, bitmask, row)
            bits = np.unpackbits(bitmask[row].view(np.uint8), bitorder="little")[: self.vocab].astype(bool)
            width = min(self.vocab, scores.shape[1])
            allowed[row, :width] = bits[:width]
        return scores.masked_fill(~torch.from_numpy(allowed).to(scores.device), float("-inf"))
