"""The `vllm:` backend: an in-process vLLM engine (GPU machines; `pip install envarena[vllm]`).

Kept thin and written against vLLM's documented offline API (`vllm.LLM`, `SamplingParams`,
`TokensPrompt`): prompts are built token-in/token-out by the same `ChatFormat` as the `hf:`
backend, requests from concurrent episodes are gathered and sent as one `generate` call.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from envarena.agents.chat_format import ChatFormat, parse_tool_calls
from envarena.agents.models import resolve_model
from envarena.errors import EnvArenaError
from envarena.types import Message, TokenTrace, Tool

__all__ = ["VLLMPolicy"]


class _VLLMEngine:
    def __init__(self, model: str, **engine_args: Any) -> None:
        try:
            from vllm import LLM
        except ImportError:
            raise EnvArenaError("the vllm: agent needs vLLM and a GPU: pip install 'envarena[vllm]'") from None
        self.llm = LLM(model=resolve_model(model), **engine_args)
        self.tokenizer = self.llm.get_tokenizer()
        self.format = ChatFormat(self.tokenizer)
        self._pending: list[tuple[list[int], Any, asyncio.Future[Any]]] = []
        self._flush_scheduled = False

    async def generate(self, prompt_ids: list[int], params: Any) -> Any:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._pending.append((prompt_ids, params, future))
        if not self._flush_scheduled:
            self._flush_scheduled = True
            loop.call_later(0.01, lambda: loop.create_task(self._flush()))
        return await future

    async def _flush(self) -> None:
        from vllm.inputs import TokensPrompt

        batch, self._pending, self._flush_scheduled = self._pending, [], False
        prompts = [TokensPrompt(prompt_token_ids=ids) for ids, _, _ in batch]
        try:
            outputs = await asyncio.to_thread(self.llm.generate, prompts, [p for _, p, _ in batch], use_tqdm=False)
        except Exception as err:
            for _, _, future in batch:
                future.set_exception(err)
            return
        for (_, _, future), output in zip(batch, outputs):
            future.set_result(output.outputs[0])


class _VLLMAgent:
    def __init__(self, policy: VLLMPolicy) -> None:
        self.policy = policy
        self.history: list[Message] = []
        self.prompt_ids: list[int] | None = None
        self.completion_ids: list[int] = []
        self.last_trace: TokenTrace | None = None

    async def act(self, observation: list[Message], tools: Sequence[Tool]) -> Message:
        fmt = self.policy.engine.format
        if self.prompt_ids is None:
            prompt = fmt.first_prompt(observation, tools)
        else:
            prompt = fmt.next_prompt(self.prompt_ids, self.completion_ids, self.history, observation, tools)
        self.history.extend(observation)
        out = await self.policy.engine.generate(prompt, self.policy.sampling)
        completion = list(out.token_ids)
        logprobs = [entry[token].logprob for entry, token in zip(out.logprobs or [], completion)] or None
        message = parse_tool_calls(out.text)
        self.history.append(message)
        self.prompt_ids, self.completion_ids = prompt, completion
        self.last_trace = TokenTrace(prompt_ids=prompt, completion_ids=completion, logprobs=logprobs,
                                     finish_reason=out.finish_reason)
        return message


class VLLMPolicy:
    def __init__(self, model: str, *, temperature: float = 0.7, top_p: float = 1.0, max_new_tokens: int = 256,
                 **engine_args: Any) -> None:
        self.spec = f"vllm:{model}"
        self.engine = _VLLMEngine(model, **engine_args)  # says clearly when vLLM is missing
        from vllm import SamplingParams

        self.sampling = SamplingParams(temperature=temperature, top_p=top_p, max_tokens=max_new_tokens, logprobs=0)

    def spawn(self, env: Any, *, seed: int, player: str | None = None) -> _VLLMAgent:
        return _VLLMAgent(self)

    async def aclose(self) -> None:
        return None
