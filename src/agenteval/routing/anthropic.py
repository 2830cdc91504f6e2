"""Ask Claude which agent it would delegate to, through the real Anthropic SDK.

The only module that imports `anthropic`, and lazily: the import costs about a second that a
fully cached rerun need not pay. One `AsyncAnthropic` client per router; the SDK retries 429/5xx
itself (honouring `retry-after`), and every 429/529 it sees is also reported to the runner so it
can lower its concurrency. A failure on one request becomes an error on that trial; failures
every later request would hit too (bad key, spend limit, unknown model) stop the run.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any, cast

from agenteval.errors import RouterError
from agenteval.models.pricing import ModelTable, model_table
from agenteval.routing import Completion, Decision, FatalRouterError, RouteRequest, Usage
from agenteval.routing.prompt import (
    BUILTIN_NAMES,
    DELEGATION_TOOLS,
    MODES,
    PROMPT_VERSION,
    PromptPrefix,
    render_prefix,
)
from agenteval.views import CatalogView

DEFAULT_MAX_TOKENS = 4096  # thinking blocks count toward max_tokens: leave room beyond the answer
DEFAULT_TIMEOUT_S = 120.0
DEFAULT_RETRIES = 4


def _overload_watch(callbacks: list[Callable[[], None]]) -> Any:
    """SDK middleware that runs once per HTTP attempt, so retried 429/529s are seen too.

    A spend-limit 429 (no `retry-after`) keeps failing however long one waits: it is marked
    not-to-retry so the run stops at once instead of backing off on every request in flight.
    """
    import anthropic

    class OverloadWatch(anthropic.Middleware):
        async def handle_async(self, request: Any, call_next: Any) -> Any:
            response = await call_next(request)
            if response.status_code in (429, 529):
                http = response.http_response
                headers = http.headers
                if response.status_code == 429 and not (
                    headers.get("retry-after") or headers.get("retry-after-ms")
                ):
                    text = (await http.aread()).decode("utf-8", "replace").lower()
                    if "spend" in text and "limit" in text:
                        headers["x-should-retry"] = "false"
                        return response
                for callback in callbacks:
                    callback()
            return response

    return OverloadWatch()


class AnthropicRouter:
    """Routes with a Claude model, presenting the catalog as Claude Code does."""

    name = "anthropic"

    def __init__(
        self,
        *,
        api_key: str,
        model: str | None = None,
        mode: str = "claude-code",
        builtins: bool = False,
        max_tokens: int | None = None,
        base_url: str | None = None,
        send_context: bool = False,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        max_retries: int = DEFAULT_RETRIES,
        table: ModelTable | None = None,
    ) -> None:
        if mode not in MODES:
            raise RouterError(f"unknown prompt mode {mode!r}", hint=f"use one of {MODES}")
        self.table = table or model_table()
        self.model = self.table.resolve(model)
        self.alias = model or self.table.default_alias
        self.mode = mode
        self.builtins = builtins
        self.max_tokens = max_tokens or DEFAULT_MAX_TOKENS
        self.base_url = base_url or os.environ.get("ANTHROPIC_BASE_URL")
        self.send_context = send_context
        self._api_key = api_key
        self._timeout_s = timeout_s
        self._max_retries = max_retries
        self._prefixes: dict[str, PromptPrefix] = {}
        self._overload_callbacks: list[Callable[[], None]] = []
        self._client: Any = None  # anthropic.AsyncAnthropic, created on first use

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> AnthropicRouter:
        """Build from an eval config's `router` section; the key comes from the environment.

        Raises:
            RouterError: when the API key variable is not set.
        """
        env = options.get("api_key_env") or "ANTHROPIC_API_KEY"
        key = os.environ.get(env, "").strip()
        if not key and not options.get("offline"):
            raise RouterError(
                f"the anthropic router needs an API key, and {env} is not set",
                hint=f"export {env}=sk-ant-... (from console.anthropic.com), "
                "or run offline with --router lexical",
            )
        return cls(
            api_key=key,
            model=options.get("model"),
            mode=options.get("prompt") or "claude-code",
            builtins=bool(options.get("builtins")),
            max_tokens=options.get("max_tokens"),
            base_url=options.get("base_url"),
            send_context=bool(options.get("send_context")),
            table=model_table().with_overrides(options.get("prices") or {}),
        )

    @property
    def fingerprint(self) -> str:
        spec = {
            "backend": self.name,
            "model": self.model,
            "mode": self.mode,
            "builtins": self.builtins,
            "max_tokens": self.max_tokens,
            "prompt_version": PROMPT_VERSION,
            "send_context": self.send_context,
        }  # not the base URL: a proxy or another endpoint serves the same model's answers
        return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]

    def describe(self) -> Mapping[str, Any]:
        return {
            "backend": self.name,
            "model": self.model,
            "alias": self.alias,
            "prompt": self.mode,
            "builtins": self.builtins,
            "max_tokens": self.max_tokens,
            "prices_as_of": self.table.as_of,
            "price_known": self.model in self.table.prices,
        }

    def on_overload(self, callback: Callable[[], None]) -> None:
        self._overload_callbacks.append(callback)

    def request_key(self, request: RouteRequest) -> str:
        context = request.case.context if self.send_context else ""
        text = f"{request.view.fingerprint}\0{request.case.prompt}\0{context or ''}"
        return hashlib.sha256(text.encode()).hexdigest()

    def prefix(self, view: CatalogView) -> PromptPrefix:
        prefix = self._prefixes.get(view.fingerprint)
        if prefix is None:
            prefix = render_prefix(view, self.mode, builtins=self.builtins)
            self._prefixes[view.fingerprint] = prefix
        return prefix

    def params(self, request: RouteRequest) -> dict[str, Any]:
        """The full Messages API parameters for one request (also used for batches and counting)."""
        context = request.case.context if self.send_context else None
        params = self.prefix(request.view).params(request.case.prompt, context)
        return {"model": self.model, "max_tokens": self.max_tokens, **params}

    def client(self) -> Any:
        """The shared `AsyncAnthropic` client (`anthropic` is imported only now: a fully
        cached rerun never pays for it)."""
        if self._client is None:
            import anthropic

            self._client = anthropic.AsyncAnthropic(
                api_key=self._api_key,
                base_url=self.base_url,
                timeout=self._timeout_s,
                max_retries=self._max_retries,
                middleware=[_overload_watch(self._overload_callbacks)],
            )
        return self._client

    async def route(self, request: RouteRequest) -> Decision:
        start = time.perf_counter()
        message, error = await self._create(self.params(request), self.model)
        if error is not None:
            return Decision(agent=None, error=error, latency_s=time.perf_counter() - start)
        return self.decide(message, request.view, latency_s=time.perf_counter() - start)

    async def _create(self, params: dict[str, Any], model: str) -> tuple[Any, str | None]:
        """Send one Messages request: (message, None) or (None, what went wrong).

        Raises:
            FatalRouterError: for failures every later request would hit too.
        """
        import anthropic

        try:
            return await self.client().messages.create(**params), None
        except anthropic.APIStatusError as exc:
            _raise_if_fatal(exc, model)
            return None, _describe(exc)
        except anthropic.APITimeoutError:
            return None, f"timeout after {self._timeout_s:g} s (and {self._max_retries} retries)"
        except anthropic.APIConnectionError as exc:
            return None, f"connection error: {exc}"
        except ValueError as exc:  # a 200 whose body is not valid JSON
            return None, f"malformed response: {type(exc).__name__}: {exc}"

    def resolve_model(self, model: str | None) -> str:
        """A model id for an agent file's `model` field (`inherit` or none: the run's model)."""
        if model is None or model.strip().lower() in ("", "inherit"):
            return self.model
        return self.table.resolve(model)

    async def complete(
        self,
        *,
        system: str,
        prompt: str,
        model: str | None = None,
        max_tokens: int | None = None,
        tool: Mapping[str, Any] | None = None,
    ) -> Completion:
        """One plain model call: an agent answering a request, or a judge grading an output.

        A ``tool`` is offered with ``tool_choice: auto`` (newer models reject forced tool use);
        its first call's input comes back as ``tool_input``.
        """
        model_id = self.resolve_model(model)
        params: dict[str, Any] = {
            "model": model_id,
            "max_tokens": max_tokens or self.max_tokens,
            "system": system,
            "messages": [{"role": "user", "content": prompt}],
        }
        if tool is not None:
            params["tools"] = [dict(tool)]
            params["tool_choice"] = {"type": "auto"}
        start = time.perf_counter()
        message, error = await self._create(params, model_id)
        if error is not None:
            return Completion(model=model_id, error=error, latency_s=time.perf_counter() - start)
        texts, tool_input = [], None
        for block in message.content:
            kind = getattr(block, "type", None)
            if kind == "text":
                texts.append(block.text)
            elif kind == "tool_use" and tool is not None and block.name == tool["name"]:
                tool_input = tool_input or (block.input if isinstance(block.input, dict) else {})
        usage = _usage(message.usage)
        cut = getattr(message, "stop_reason", None) == "max_tokens" and tool_input is None
        return Completion(
            model=model_id,
            error=f"answer cut off at max_tokens ({params['max_tokens']}); raise outputs.max_tokens"
            if cut
            else None,
            text="\n".join(t for t in texts if t.strip()),
            tool_input=tool_input,
            usage=usage,
            cost_usd=self.table.cost(
                model_id,
                input_tokens=usage.input_tokens,
                output_tokens=usage.output_tokens,
                cache_write_tokens=usage.cache_write_tokens,
                cache_read_tokens=usage.cache_read_tokens,
            ),
            latency_s=time.perf_counter() - start,
        )

    def decide(
        self, message: Any, view: CatalogView, *, latency_s: float = 0.0, batch: bool = False
    ) -> Decision:
        """Turn a Message (live or from a batch) into a Decision."""
        texts, picked, raw = [], None, ""
        for block in message.content:
            kind = getattr(block, "type", None)
            if kind == "text":
                texts.append(block.text)
            elif kind == "tool_use" and picked is None and block.name in DELEGATION_TOOLS:
                data = block.input if isinstance(block.input, dict) else {}
                picked = str(data.get("subagent_type") or "general-purpose").strip()
                raw = json.dumps(data, ensure_ascii=False)[:2000]
        rationale = "\n".join(t.strip() for t in texts if t.strip())
        usage = _usage(message.usage)
        cost = self.table.cost(
            self.model,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            cache_write_tokens=usage.cache_write_tokens,
            cache_read_tokens=usage.cache_read_tokens,
            batch=batch,
        )
        if picked is None and getattr(message, "stop_reason", None) == "max_tokens":
            # cut off before it chose (thinking can use the budget): no answer, not `none`
            return Decision(
                agent=None,
                error=f"answer cut off at max_tokens ({self.max_tokens}) before a choice; "
                "raise router.max_tokens",
                rationale=rationale,
                usage=usage,
                cost_usd=cost,
                latency_s=latency_s,
            )
        if self.mode == "classify":
            picked, raw = _classified(rationale, view), rationale[-200:]
        elif picked is not None and picked in BUILTIN_NAMES and picked not in view.names:
            raw, picked = picked, None  # a built-in took it: no catalog agent did
        elif picked is not None:
            picked = _match_name(picked, view)
        return Decision(
            agent=picked,
            raw=raw or (picked or ""),
            rationale=rationale,
            usage=usage,
            cost_usd=cost,
            latency_s=latency_s,
        )

    async def count_tokens(self, request: RouteRequest) -> int:
        """Input tokens of one request, from the free count-tokens endpoint."""
        params = self.params(request)
        params.pop("max_tokens")
        result = await self.client().messages.count_tokens(**params)
        return int(result.input_tokens)

    async def submit_batch(self, requests: list[tuple[str, RouteRequest]]) -> str:
        """Submit (custom_id, request) pairs as one Message Batch; return its id."""
        import anthropic

        try:
            batch = await self.client().messages.batches.create(
                requests=[{"custom_id": cid, "params": self.params(req)} for cid, req in requests]
            )
        except anthropic.APIStatusError as exc:
            _raise_if_fatal(exc, self.model)
            raise FatalRouterError(
                f"the batch could not be submitted ({_describe(exc)})",
                hint="retry later; nothing was submitted",
            ) from exc
        return cast(str, batch.id)

    async def batch_status(self, batch_id: str) -> tuple[str, int, int]:
        """(processing_status, requests finished, requests in the batch)."""
        batch = await self.client().messages.batches.retrieve(batch_id)
        c = batch.request_counts
        done = c.succeeded + c.errored + c.canceled + c.expired
        return batch.processing_status, done, done + c.processing

    async def batch_results(self, batch_id: str) -> AsyncIterator[tuple[str, Any, str | None]]:
        """Yield (custom_id, message or None, error or None) for every entry, in any order."""
        async for entry in await self.client().messages.batches.results(batch_id):
            result = entry.result
            if result.type == "succeeded":
                yield entry.custom_id, result.message, None
            elif result.type == "errored":
                error = getattr(result.error, "error", None)
                text = getattr(error, "message", None) or str(result.error)
                yield entry.custom_id, None, f"batch entry errored: {text}"[:500]
            else:
                yield entry.custom_id, None, f"batch entry {result.type}"

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None


def _usage(u: Any) -> Usage:
    return Usage(
        input_tokens=int(getattr(u, "input_tokens", 0) or 0),
        output_tokens=int(getattr(u, "output_tokens", 0) or 0),
        cache_write_tokens=int(getattr(u, "cache_creation_input_tokens", 0) or 0),
        cache_read_tokens=int(getattr(u, "cache_read_input_tokens", 0) or 0),
    )


def _match_name(name: str, view: CatalogView) -> str:
    """The catalog's spelling of a name the model wrote with other case (else the name as is)."""
    if name in view.names:
        return name
    lowered = {n.lower(): n for n in view.names}
    return lowered.get(name.lower(), name)


def _classified(text: str, view: CatalogView) -> str | None:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if not lines:
        return None
    answer = re.sub(r"^(agent|answer)\s*:\s*", "", lines[-1], flags=re.I).strip(" `*\"'.")
    if answer.lower() in {"none", "no agent", "no-agent", "null"}:
        return None
    return _match_name(answer, view)


def _describe(exc: Any) -> str:
    body = exc.body if isinstance(exc.body, dict) else {}
    error = body.get("error", {}) if isinstance(body.get("error"), dict) else {}
    kind = error.get("type") or type(exc).__name__
    message = error.get("message") or str(exc)
    return f"{exc.status_code} {kind}: {message}"[:500]


def _raise_if_fatal(exc: Any, model: str) -> None:
    import anthropic

    if exc.status_code in (401, 403):
        raise FatalRouterError(
            f"the API rejected the key ({_describe(exc)})",
            hint="check ANTHROPIC_API_KEY; the run is saved and resumes with --resume",
        ) from exc
    if exc.status_code == 404:
        raise FatalRouterError(
            f"model {model!r} was not found ({_describe(exc)})",
            hint="use --model with a current model id or an alias (sonnet, opus, haiku)",
        ) from exc
    spend_error = getattr(anthropic, "EnforcedSpendLimitReachedError", None)
    text = _describe(exc).lower()
    if (spend_error is not None and isinstance(exc, spend_error)) or (
        exc.status_code == 429 and "spend" in text and "limit" in text
    ):
        raise FatalRouterError(
            f"the account's spend limit is reached ({_describe(exc)})",
            hint="raise the limit in the Anthropic console, then --resume the run",
        ) from exc
