"""The Anthropic Messages API through the real SDK: the one module that imports `anthropic`.

Imported lazily: the import costs about a second that a fully cached rerun need not pay. One
`AsyncAnthropic` client per `AnthropicClient`; the SDK retries 429/5xx itself (honouring
`retry-after`), and every 429/529 it sees is reported to the executor so it can lower its
concurrency. Every call has a whole-request deadline (the SDK's own timeout is per read, so a
response trickled a byte at a time would never end). A 200 whose body is not a JSON message is a
retryable error that says what came back. Failures every later request would hit too (bad key,
spend limit, unknown model) raise `FatalModelError`.

The SDK is the `anthropic` extra (`pip install 'agenteval[anthropic]'`): offline routers and the
claude-cli router do not need it, and without it a run that would ask Claude stops before it
starts, naming the extra (`require_sdk`).
"""

from __future__ import annotations

import asyncio
import importlib.util
import inspect
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from agenteval.errors import ConfigError, RouterError
from agenteval.models.client import (
    BatchStatus,
    ChatRequest,
    Completion,
    FatalModelError,
    ToolUse,
    Usage,
)
from agenteval.models.pricing import ModelTable, model_table
from agenteval.text import redact, register_secret

SDK_HINT = "pip install 'agenteval[anthropic]' (the SDK is an extra; offline routers need none)"
DEFAULT_DEADLINE_S = 180.0
DEFAULT_RETRIES = 4
MALFORMED_RETRIES = 2


def sdk_installed() -> bool:
    """Whether the Anthropic SDK can be imported (found, not imported)."""
    return importlib.util.find_spec("anthropic") is not None


def require_sdk() -> None:
    """Raises: ConfigError naming the extra, when the SDK is not installed."""
    if not sdk_installed():
        raise ConfigError("the Anthropic SDK is not installed", hint=SDK_HINT)


class AnthropicClient:
    """Answers Messages requests with Claude, through `anthropic.AsyncAnthropic`."""

    name = "anthropic"

    def __init__(
        self,
        *,
        api_key: str,
        model: str | None = None,
        base_url: str | None = None,
        deadline_s: float = DEFAULT_DEADLINE_S,
        max_retries: int = DEFAULT_RETRIES,
        table: ModelTable | None = None,
    ) -> None:
        self.table = table or model_table()
        self.model = self.table.resolve(model)
        self.base_url = base_url or os.environ.get("ANTHROPIC_BASE_URL")
        self.deadline_s = deadline_s
        self._api_key = api_key
        register_secret(api_key)  # so an API error that echoes it is redacted everywhere
        self._max_retries = max_retries
        self._overload_callbacks: list[Callable[[], None]] = []
        self._client: Any = None  # anthropic.AsyncAnthropic, created on first use

    @classmethod
    def from_env(
        cls,
        *,
        api_key_env: str = "ANTHROPIC_API_KEY",
        model: str | None = None,
        base_url: str | None = None,
        deadline_s: float | None = None,
        table: ModelTable | None = None,
    ) -> AnthropicClient:
        """A client whose key comes from the environment.

        Raises:
            ConfigError: when the SDK is not installed.
            RouterError: when the key variable is not set.
        """
        require_sdk()
        key = os.environ.get(api_key_env, "").strip()
        if not key:
            raise RouterError(
                f"the anthropic router needs an API key, and {api_key_env} is not set",
                hint=f"export {api_key_env}=sk-ant-... (from console.anthropic.com), "
                "or run offline with --router lexical",
            )
        return cls(
            api_key=key,
            model=model,
            base_url=base_url,
            deadline_s=deadline_s or DEFAULT_DEADLINE_S,
            table=table,
        )

    def resolve_model(self, model: str | None) -> str:
        """A model id for an agent file's `model` field (`inherit` or none: this client's)."""
        if model is None or model.strip().lower() in ("", "inherit"):
            return self.model
        return self.table.resolve(model)

    def on_overload(self, callback: Callable[[], None]) -> None:
        self._overload_callbacks.append(callback)

    def client(self) -> Any:
        """The shared `AsyncAnthropic` client (`anthropic` is imported only now)."""
        if self._client is None:
            require_sdk()
            import anthropic

            self._client = anthropic.AsyncAnthropic(
                api_key=self._api_key,
                base_url=self.base_url,
                timeout=self.deadline_s,
                max_retries=self._max_retries,
                middleware=[_overload_watch(self._overload_callbacks)],
            )
        return self._client

    async def complete(self, request: ChatRequest) -> Completion:
        start = time.perf_counter()
        message, failure = await self._create(request)
        latency = time.perf_counter() - start
        if failure is not None:
            return Completion(
                model=request.model,
                error=failure.error,
                latency_s=latency,
                maybe_billed=failure.billed,
            )
        return self.completion(message, request, latency_s=latency)

    def completion(
        self, message: Any, request: ChatRequest, *, latency_s: float = 0.0, batch: bool = False
    ) -> Completion:
        """A Message (live or from a batch) as a Completion, priced."""
        texts, uses = [], []
        for block in message.content:
            kind = getattr(block, "type", None)
            if kind == "text":
                texts.append(block.text)
            elif kind == "tool_use":
                data = block.input if isinstance(block.input, dict) else {}
                uses.append(ToolUse(name=str(block.name), input=data))
        usage = _usage(message.usage)
        return Completion(
            model=request.model,
            text="\n".join(t for t in texts if t.strip()),
            tool_uses=tuple(uses),
            stop_reason=getattr(message, "stop_reason", None),
            usage=usage,
            cost_usd=self.table.cost(
                request.model,
                input_tokens=usage.input_tokens,
                output_tokens=usage.output_tokens,
                cache_write_tokens=usage.cache_write_tokens,
                cache_read_tokens=usage.cache_read_tokens,
                batch=batch,
            ),
            latency_s=latency_s,
        )

    async def _create(self, request: ChatRequest) -> tuple[Any, _Failure | None]:
        """Send one request within the deadline: (message, None) or (None, what went wrong).

        Only an error status the API answered with is known not to be billed; a request that
        timed out, lost its connection or got a body that is not JSON may have been.

        Raises:
            FatalModelError: for failures every later request would hit too.
        """
        require_sdk()
        import anthropic

        params = request.params()
        headers = dict(request.headers)
        deadline = time.monotonic() + self.deadline_s
        error = "no attempt made"
        for attempt in range(MALFORMED_RETRIES + 1):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                create = self.client().messages.create
                message = await _within(
                    create(**_sdk_kwargs(create, params), extra_headers=headers or None), left
                )
            except asyncio.TimeoutError:
                return None, _Failure(f"no answer within the {self.deadline_s:g} s deadline")
            except anthropic.APIStatusError as exc:
                _raise_if_fatal(exc, request.model)
                return None, _Failure(_describe(exc), billed=False)
            except anthropic.APITimeoutError:
                return None, _Failure(f"no answer within the {self.deadline_s:g} s deadline")
            except anthropic.APIConnectionError as exc:
                return None, _Failure(redact(f"connection error: {exc}"))
            except ValueError as exc:  # a 200 whose body is not valid JSON
                error = redact(f"malformed response (not JSON): {type(exc).__name__}: {exc}")[:300]
            else:
                if hasattr(message, "content") and hasattr(message, "usage"):
                    return message, None
                error = "malformed response: expected a JSON message, got " + redact(
                    _shown(message)
                )
            if attempt < MALFORMED_RETRIES:
                await asyncio.sleep(min(0.5 * 2**attempt, max(0.0, deadline - time.monotonic())))
        return None, _Failure(error, billed=error != "no attempt made")

    async def count_tokens(self, request: ChatRequest) -> int:
        """Input tokens of one request, from the free count-tokens endpoint."""
        params = request.params()
        params.pop("max_tokens")
        count = self.client().messages.count_tokens
        result = await asyncio.wait_for(
            count(**_sdk_kwargs(count, params), extra_headers=dict(request.headers) or None),
            timeout=self.deadline_s,
        )
        return int(result.input_tokens)

    async def submit_batch(self, items: Sequence[tuple[str, ChatRequest]]) -> str:
        """Submit (custom_id, request) pairs as one Message Batch; return its id."""
        require_sdk()
        import anthropic

        # the betas a request needs (a replayed Claude Code profile's) go on the batch's call
        betas = sorted(
            {b.strip() for _, r in items for b in r.headers.get("anthropic-beta", "").split(",")}
            - {""}
        )
        try:
            batch = await self.client().messages.batches.create(
                requests=[{"custom_id": cid, "params": req.params()} for cid, req in items],
                extra_headers={"anthropic-beta": ",".join(betas)} if betas else None,
            )
        except anthropic.APIStatusError as exc:
            model = items[0][1].model if items else self.model
            _raise_if_fatal(exc, model)
            raise FatalModelError(
                f"the batch could not be submitted ({_describe(exc)})",
                hint="retry later; nothing was submitted",
            ) from exc
        return cast(str, batch.id)

    async def batch_status(self, batch_id: str) -> BatchStatus:
        batch = await self.client().messages.batches.retrieve(batch_id)
        c = batch.request_counts
        done = c.succeeded + c.errored + c.canceled + c.expired
        return BatchStatus(status=batch.processing_status, done=done, total=done + c.processing)

    async def batch_results(self, batch_id: str) -> AsyncIterator[tuple[str, Completion]]:
        """Yield (custom_id, completion) for every entry, in any order (priced at batch rates).

        The completion's model is the batch's entry model when the API reports it.
        """
        async for entry in await self.client().messages.batches.results(batch_id):
            result = entry.result
            if result.type == "succeeded":
                message = result.message
                model = str(getattr(message, "model", "") or self.model)
                stand_in = ChatRequest(model=model, max_tokens=0, messages=())
                yield entry.custom_id, self.completion(message, stand_in, batch=True)
            elif result.type == "errored":
                error = getattr(result.error, "error", None)
                text = getattr(error, "message", None) or str(result.error)
                yield (
                    entry.custom_id,
                    Completion(
                        model=self.model, error=redact(f"batch entry errored: {text}")[:500]
                    ),
                )
            else:
                yield (
                    entry.custom_id,
                    Completion(model=self.model, error=f"batch entry {result.type}"),
                )

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None


@dataclass(frozen=True)
class _Failure:
    """Why a request got no message, and whether it may still be billed."""

    error: str
    billed: bool = True


async def _within(call: Awaitable[Any], seconds: float) -> Any:
    """Await ``call`` for at most ``seconds``. Unlike `asyncio.wait_for`, the caller is not held
    while a cancelled HTTP read unwinds: the deadline is the deadline.

    Raises:
        asyncio.TimeoutError: when the time is up.
    """
    task = asyncio.ensure_future(call)
    done, _ = await asyncio.wait({task}, timeout=seconds)
    if not done:
        task.cancel()
        task.add_done_callback(lambda t: t.cancelled() or t.exception())  # never "never retrieved"
        raise asyncio.TimeoutError
    return task.result()


def _overload_watch(callbacks: list[Callable[[], None]]) -> Any:
    """SDK middleware that runs once per HTTP attempt, so retried 429/529s are seen too.

    A spend-limit 429 (no `retry-after`) keeps failing however long one waits: it is marked
    not-to-retry so the run stops at once instead of backing off on every request in flight.
    """
    require_sdk()
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


def _usage(u: Any) -> Usage:
    return Usage(
        input_tokens=int(getattr(u, "input_tokens", 0) or 0),
        output_tokens=int(getattr(u, "output_tokens", 0) or 0),
        cache_write_tokens=int(getattr(u, "cache_creation_input_tokens", 0) or 0),
        cache_read_tokens=int(getattr(u, "cache_read_input_tokens", 0) or 0),
    )


def _shown(value: Any) -> str:
    text = value if isinstance(value, str) else repr(value)
    kind = "text" if isinstance(value, str) else type(value).__name__
    snippet = " ".join(text.split())[:120]
    return f"{kind} ({len(text)} characters): {snippet!r}"


def _describe(exc: Any) -> str:
    body = exc.body if isinstance(exc.body, dict) else {}
    error = body.get("error", {}) if isinstance(body.get("error"), dict) else {}
    kind = error.get("type") or type(exc).__name__
    message = error.get("message") or str(exc)
    return redact(f"{exc.status_code} {kind}: {message}")[:500]  # errors may echo the key


def _sdk_kwargs(method: Callable[..., Any], params: dict[str, Any]) -> dict[str, Any]:
    """Keyword arguments for an SDK method: request fields it does not name yet (a newer
    field a captured Claude Code request carries) travel in ``extra_body``, as sent."""
    known = inspect.signature(method).parameters
    extra = {k: v for k, v in params.items() if k not in known}
    kwargs = {k: v for k, v in params.items() if k in known}
    if extra:
        kwargs["extra_body"] = extra
    return kwargs


def _raise_if_fatal(exc: Any, model: str) -> None:
    require_sdk()
    import anthropic

    if exc.status_code in (401, 403):
        raise FatalModelError(
            f"the API rejected the key ({_describe(exc)})",
            hint="check ANTHROPIC_API_KEY; the run is saved and resumes with --resume",
        ) from exc
    if exc.status_code == 404:
        raise FatalModelError(
            f"model {model!r} was not found ({_describe(exc)})",
            hint="use --model with a current model id or an alias (sonnet, opus, haiku)",
        ) from exc
    spend_error = getattr(anthropic, "EnforcedSpendLimitReachedError", None)
    text = _describe(exc).lower()
    if (spend_error is not None and isinstance(exc, spend_error)) or (
        exc.status_code == 429 and "spend" in text and "limit" in text
    ):
        raise FatalModelError(
            f"the account's spend limit is reached ({_describe(exc)})",
            hint="raise the limit in the Anthropic console, then --resume the run",
        ) from exc
