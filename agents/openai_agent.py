"""The `openai:` backend: any OpenAI-compatible server (vllm serve, SGLang, envarena serve).

Two ways to talk to the server, chosen by the `endpoint` option:

- `completions` (token-in, token-out): the chat is rendered on the client with the model's
  own tokenizer by the same `ChatFormat` as the `hf:` and `vllm:` agents, and the prompt
  token ids go to `/v1/completions`, which vLLM accepts; the server returns the sampled
  ids and their log-probs. Turn t+1's prompt is turn t's prompt + sampled ids + the
  rendered new messages, never re-tokenized text, so traces are exact for training.
  For the log-probs to be the sampling distribution's (after temperature, like the
  in-process engines), start vLLM with `--logprobs-mode processed_logprobs`.
- `chat`: `/v1/chat/completions`, for servers without token-id prompts (and OpenAI itself).
  The server renders the chat; a trace is kept when it returns token ids (vLLM, envarena
  serve). A server without tool-call parsing (`vllm serve` without
  `--enable-auto-tool-choice`) answers a request with `tools` with HTTP 400: the policy
  then puts the tool schemas in the system prompt and parses Hermes `<tool_call>` blocks
  itself, with one warning.
- `auto` (the default): `completions` when a tokenizer for the model loads on the client
  (the `tokenizer` option, else the model name as a local path, pulled alias or hub ID),
  falling back to `chat`, with one warning, when it does not or the server has no
  completions endpoint.

Each turn's seed derives from the episode seed and the turn number, as in the in-process
agents, so seeded servers repeat a rollout. Timeouts and bounded retries come from the
official client; a server that cannot be reached ends the episode with one sentence
(`ServerUnreachableError`), which the CLI prints.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from typing import Any, Literal

from envarena.agents.chat_format import ChatFormat, parse_tool_calls
from envarena.agents.generation import turn_seed
from envarena.agents.openai_wire import (
    ServerRequestError,
    completion_ids,
    error_message,
    server_error,
    text_tool_messages,
    to_wire,
    trace_from_response,
)
from envarena.errors import EnvArenaError, InvalidOptionError
from envarena.types import Message, TokenTrace, Tool, ToolCall

__all__ = ["OpenAIAgent", "OpenAIPolicy", "trace_from_response"]

log = logging.getLogger(__name__)

Endpoint = Literal["auto", "completions", "chat"]
_ENDPOINTS = ("auto", "completions", "chat")


class OpenAIAgent:
    """One episode's conversation with the server.

    The history is kept as messages (what the chat endpoint sends) and, on the completions
    endpoint, also as the exact ids of the last prompt and completion (what the next prompt
    extends).
    """

    def __init__(self, policy: OpenAIPolicy, seed: int = 0) -> None:
        self.policy, self.seed = policy, seed
        self.history: list[Message] = []
        self.prompt_ids: list[int] | None = None
        self.completion_ids: list[int] = []
        self.turn = 0
        self.last_trace: TokenTrace | None = None

    async def act(self, observation: list[Message], tools: Sequence[Tool]) -> Message:
        seed = turn_seed(self.seed, self.turn)
        message: Message | None = None
        if self.policy.endpoint == "completions":
            message = await self._complete(observation, tools, seed)
        if message is None:  # the chat endpoint, chosen or fallen back to
            self.history.extend(observation)
            message = await self._chat(tools, seed)
        self.history.append(message)
        self.turn += 1
        return message

    # ------------------------------------------------------------------ /v1/completions
    async def _complete(self, observation: list[Message], tools: Sequence[Tool], seed: int) -> Message | None:
        """One turn token-in/token-out; None when the server turned out to have no such endpoint."""
        policy = self.policy
        fmt = policy.format
        assert fmt is not None
        if self.prompt_ids is None:
            prompt = fmt.first_prompt(observation, tools)
        else:
            prompt = fmt.next_prompt(self.prompt_ids, self.completion_ids, self.history, observation, tools)
        choice = await policy.complete(prompt, seed)
        if choice is None:
            return None
        self.history.extend(observation)
        ids, logprobs = completion_ids(choice)
        if ids is None:
            raise ServerRequestError(
                f"the server at {policy.base_url} returned no token ids from /v1/completions; use -a endpoint=chat"
            )
        finish = choice.get("finish_reason")
        self.prompt_ids, self.completion_ids = prompt, ids
        self.last_trace = TokenTrace(prompt_ids=prompt, completion_ids=ids, logprobs=logprobs, finish_reason=finish)
        return parse_tool_calls(policy.decode_reply(ids, finish))

    # ------------------------------------------------------------------ /v1/chat/completions
    async def _chat(self, tools: Sequence[Tool], seed: int) -> Message:
        response, tools_in_prompt = await self.policy.chat(self.history, tools, seed)
        choice = response.choices[0]
        self.last_trace = trace_from_response(response)  # the policy never goes back to completions
        if tools_in_prompt:
            return parse_tool_calls(choice.message.content or "")
        calls = [
            ToolCall.parse(c.id, c.function.name, c.function.arguments or "{}")
            for c in (choice.message.tool_calls or [])
        ]
        return Message.assistant(choice.message.content or "", tool_calls=calls)


class OpenAIPolicy:
    """`openai:<model>@<base_url>` (without `@<base_url>`, OPENAI_BASE_URL names the server;
    one of the two is required): options temperature, top_p, max_new_tokens, timeout,
    max_retries, api_key (else OPENAI_API_KEY; any string for local servers), endpoint
    (auto | completions | chat) and tokenizer (where the client finds the model's tokenizer
    when the model name is not a local path, alias or hub ID; from Python, also a loaded
    tokenizer, which means token-in/token-out, and stop_ids: the ids that end a reply on
    the server, dropped from the reply's text)."""

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        temperature: float = 0.7,
        top_p: float = 1.0,
        max_new_tokens: int = 256,
        timeout: float = 120.0,
        max_retries: int = 3,
        api_key: str | None = None,
        endpoint: Endpoint = "auto",
        tokenizer: str | Any | None = None,
        stop_ids: Sequence[int] | None = None,
    ) -> None:
        from openai import AsyncOpenAI

        if endpoint not in _ENDPOINTS:
            raise InvalidOptionError(f"endpoint must be one of {', '.join(_ENDPOINTS)}, not '{endpoint}'")
        # The official client would quietly fall back to OpenAI's public API (sending prompts,
        # and the key, off the machine), so the server must be named: here, or OPENAI_BASE_URL.
        if not base_url and not os.environ.get("OPENAI_BASE_URL"):
            raise InvalidOptionError(
                f"the openai: agent needs the server's address: write openai:{model}@URL (e.g. "
                f"openai:{model}@http://127.0.0.1:8000/v1, or https://api.openai.com/v1 for OpenAI itself) "
                "or set OPENAI_BASE_URL"
            )
        self.spec = f"openai:{model}" + (f"@{base_url}" if base_url else "")
        self.model, self.temperature, self.top_p, self.max_new_tokens = model, temperature, top_p, max_new_tokens
        self.client = AsyncOpenAI(
            base_url=base_url,
            api_key=api_key or os.environ.get("OPENAI_API_KEY") or "EMPTY",
            timeout=timeout,
            max_retries=max_retries,
        )
        self.base_url = str(self.client.base_url).rstrip("/")
        self.tools_in_prompt = False  # set once the server has refused a request with `tools`
        self.stop_ids = set(stop_ids) if stop_ids is not None else None
        self._warned: set[str] = set()
        self.format: ChatFormat | None = None
        self.endpoint: Literal["completions", "chat"] = "chat"
        if endpoint != "chat" and tokenizer is not None and not isinstance(tokenizer, str):
            self.format = self._given_format(tokenizer)
            self.endpoint = "completions"
        elif endpoint != "chat":
            required = endpoint == "completions" or tokenizer is not None
            self.format = self._load_format(tokenizer or model, required=required)
            self.endpoint = "completions" if self.format is not None else "chat"

    # ------------------------------------------------------------------ setup
    def _load_format(self, name: str, *, required: bool) -> ChatFormat | None:
        """The model's chat format on the client, for token-in/token-out prompts.

        Without an explicit request (`endpoint=completions` or a `tokenizer` option), a model
        name that names no local tokenizer (an API model such as gpt-4o) is not an error:
        the policy uses the chat endpoint and says so once.
        """
        from envarena.agents.models import resolve_model

        try:
            from transformers import AutoTokenizer

            path = resolve_model(name, auto_pull=required)
            # Unasked, only what is on disk: a hub ID that `vllm serve` downloaded sits in the
            # shared cache, and an offline hub would otherwise cost a minute of retries.
            tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=not required)
        except Exception as err:  # noqa: BLE001 - any failure means "no client-side tokenizer"
            reason = str(err).splitlines()[0] if str(err) else type(err).__name__
            if required:
                raise EnvArenaError(
                    f"cannot load the tokenizer '{name}' for token-in/token-out requests: {reason}"
                ) from None
            self.warn_once("no-tokenizer", f"no tokenizer for '{name}' on this machine ({reason}); the openai: agent "
                           "uses the chat endpoint, so token traces are whatever the server returns "
                           "(pass -a tokenizer=PATH for token-in/token-out)")  # fmt: skip
            return None
        if tokenizer.chat_template is None:
            if required:
                raise EnvArenaError(f"the tokenizer '{name}' has no chat template; use -a endpoint=chat")
            self.warn_once("no-template", f"the tokenizer '{name}' has no chat template; using the chat endpoint")
            return None
        return ChatFormat(tokenizer)

    @staticmethod
    def _given_format(tokenizer: Any) -> ChatFormat:
        """The chat format of a tokenizer object handed over as it is (the trainer ships its own
        to Ray workers, which may have no copy of the model on disk)."""
        if getattr(tokenizer, "chat_template", None) is None:
            raise InvalidOptionError("the tokenizer given to the openai: agent has no chat template")
        return ChatFormat(tokenizer)

    def warn_once(self, key: str, text: str) -> None:
        """One warning per policy and cause, however many episodes hit it."""
        if key not in self._warned:
            self._warned.add(key)
            log.warning(text)

    # ------------------------------------------------------------------ requests
    def _clear(self, err: Exception) -> Exception:
        """The one-sentence error for a failed request (unknown failures stay as they are)."""
        return server_error(err, self.base_url) or err

    async def complete(self, prompt: list[int], seed: int) -> dict[str, Any] | None:
        """One `/v1/completions` call from prompt ids; None (and the policy switched to the chat
        endpoint) when the server has no completions endpoint that takes token ids."""
        import openai

        try:
            response = await self.client.completions.create(
                model=self.model,
                prompt=prompt,
                max_tokens=self.max_new_tokens,
                temperature=self.temperature,
                top_p=self.top_p,
                seed=seed,
                logprobs=0,  # the sampled token's log-prob only
                extra_body={"return_token_ids": True, "return_tokens_as_token_ids": True, "skip_special_tokens": False},
            )
        except openai.NotFoundError as err:
            if "model" in error_message(err).lower():  # vLLM: "The model `x` does not exist."
                raise ServerRequestError(
                    f"the server at {self.base_url} does not serve the model '{self.model}': {error_message(err)}"
                ) from None
            self._fall_back_to_chat("has no /v1/completions endpoint")
            return None
        except openai.UnprocessableEntityError:  # a completions endpoint that wants text prompts
            self._fall_back_to_chat("does not accept token-id prompts on /v1/completions")
            return None
        except Exception as err:
            raise self._clear(err) from None
        choice = response.choices[0].model_dump()
        returned = choice.get("prompt_token_ids")
        if returned is not None and list(returned) != prompt:
            self.warn_once("prompt-changed", f"the server at {self.base_url} changed the prompt token ids it was "
                           "sent (truncation or an added BOS?); traces record what was sent")  # fmt: skip
        return choice

    def _fall_back_to_chat(self, why: str) -> None:
        self.endpoint = "chat"
        self.warn_once("no-completions", f"the server at {self.base_url} {why}; the openai: agent uses the chat "
                       "endpoint instead (prompts rendered by the server, not token-in/token-out)")  # fmt: skip

    async def chat(self, history: Sequence[Message], tools: Sequence[Tool], seed: int) -> tuple[Any, bool]:
        """One chat completion; returns it and whether the tools went into the system prompt."""
        import openai

        request: dict[str, Any] = {
            "model": self.model,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "max_tokens": self.max_new_tokens,
            "seed": seed,
            "logprobs": True,
            "extra_body": {"return_token_ids": True, "return_tokens_as_token_ids": True},
        }
        create = self.client.chat.completions.create
        try:
            if tools and not self.tools_in_prompt:
                try:
                    native = [to_wire(m) for m in history]
                    return await create(messages=native, tools=[t.openai_schema() for t in tools], **request), False
                except openai.BadRequestError as err:
                    if "tool" not in error_message(err).lower():
                        raise
                    self.tools_in_prompt = True
                    self.warn_once("tools-in-prompt", f"the server at {self.base_url} does not take 'tools' "
                                   f"({error_message(err).rstrip('.')}); tool schemas go into the system prompt "
                                   "and <tool_call> blocks are parsed on the client")  # fmt: skip
            messages = text_tool_messages(history, tools) if tools else [to_wire(m) for m in history]
            return await create(messages=messages, **request), bool(tools)
        except Exception as err:
            raise self._clear(err) from None

    def decode_reply(self, ids: Sequence[int], finish_reason: str | None) -> str:
        """The reply's text with special tokens kept (tool-call markers can be special tokens);
        only the end-of-turn token that stopped it is dropped (one of `stop_ids` when the
        caller knows the server's, as the trainer does, else any special token)."""
        assert self.format is not None
        tokenizer = self.format.tokenizer
        ids = list(ids)
        stops = self.stop_ids if self.stop_ids is not None else set(tokenizer.all_special_ids)
        if finish_reason == "stop" and ids and ids[-1] in stops:
            ids.pop()
        return tokenizer.decode(ids, skip_special_tokens=False)

    def spawn(self, env: Any, *, seed: int, player: str | None = None) -> OpenAIAgent:
        return OpenAIAgent(self, seed)

    async def aclose(self) -> None:
        await self.client.close()
