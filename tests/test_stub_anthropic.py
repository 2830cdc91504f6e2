"""The loopback Anthropic stub, exercised through the real SDK (never the network)."""

from __future__ import annotations

import asyncio
import http.client
import json
import subprocess
import sys
import time
from pathlib import Path

import anthropic
import pytest
from anthropic.types import TextBlock, ThinkingBlock, ToolUseBlock
from anthropic.types.messages import MessageBatch, MessageBatchIndividualResponse
from stub_anthropic import (
    Fault,
    Reply,
    StubAnthropic,
    answers,
    count_input_tokens,
    first_agent,
    hash_router,
    never_delegate,
    parse_agents,
)

API_KEY = "sk-ant-test-0123456789abcdef"
MODEL = "claude-haiku-5-5"
CATALOG = (
    "Agents on offer:\n"
    "- code-reviewer: Reviews diffs for bugs.\n"
    "<example>\n- user: please review\n</example> (Tools: Read, Grep)\n"
    "- frontend-dev: Builds UI components (Tools: All tools)\n"
    "- myplugin:db-admin: Runs migrations (Tools: Bash(psql:*), Read)\n"
)
AGENT_TOOL = {
    "name": "Agent",
    "description": "Hands the request to one of the listed agents.",
    "input_schema": {
        "type": "object",
        "properties": {
            "subagent_type": {"type": "string"},
            "description": {"type": "string"},
            "prompt": {"type": "string"},
        },
        "required": ["description", "prompt"],
    },
}
TASK_TOOL = {**AGENT_TOOL, "name": "Task"}


def client(stub: StubAnthropic, **kw) -> anthropic.Anthropic:
    kw.setdefault("max_retries", 0)
    return anthropic.Anthropic(base_url=stub.base_url, api_key=API_KEY, **kw)


def routing_params(request: str, *, tools=(AGENT_TOOL,), catalog_in_user: bool = True) -> dict:
    """Catalog in a <system-reminder> block of the user turn, the request as its LAST block."""
    if catalog_in_user:
        content = [
            {"type": "text", "text": f"<system-reminder>\n{CATALOG}</system-reminder>"},
            {"type": "text", "text": request},
        ]
        system = "You route requests to agents."
    else:
        content = request
        system = [
            {"type": "text", "text": "You route requests to agents."},
            {"type": "text", "text": CATALOG},
        ]
    return {
        "model": MODEL,
        "max_tokens": 1024,
        "system": system,
        "tools": list(tools),
        "messages": [{"role": "user", "content": content}],
    }


# ------------------------------------------------------------------------------------------
# Answers
# ------------------------------------------------------------------------------------------


def test_routed_answer_parses_as_tool_use():
    responder = answers({"Fix the navbar CSS": "frontend-dev"})
    with StubAnthropic(responder=responder) as stub, client(stub) as c:
        msg = c.messages.create(**routing_params("Fix the navbar CSS"))
        assert msg.type == "message" and msg.role == "assistant" and msg.model == MODEL
        assert msg.id.startswith("msg_") and msg.stop_reason == "tool_use"
        assert msg.stop_sequence is None
        tool = msg.content[-1]
        assert isinstance(tool, ToolUseBlock) and tool.name == "Agent"
        assert tool.id.startswith("toolu_")
        assert tool.input["subagent_type"] == "frontend-dev"
        assert tool.input["prompt"] == "Fix the navbar CSS" and tool.input["description"]
        assert isinstance(msg.content[0], TextBlock)
        assert msg.usage.input_tokens > 0 and msg.usage.output_tokens > 0
        assert msg.usage.cache_creation_input_tokens == 0 and msg.usage.cache_read_input_tokens == 0

        (call,) = stub.calls
        assert call.prompt == "Fix the navbar CSS" and call.index == 1
        assert call.agents == ["code-reviewer", "frontend-dev", "myplugin:db-admin"]
        assert call.delegation_tool == "Agent"
        (rec,) = stub.requests
        assert (rec.method, rec.path, rec.status) == ("POST", "/v1/messages", 200)
        assert rec.headers["authorization"] == f"Bearer {API_KEY}"  # SDK 2.x: Bearer, not x-api-key
        assert rec.api_key == API_KEY
        assert rec.headers["anthropic-version"] == "2026-10-21"
        assert rec.body["model"] == MODEL
        assert API_KEY not in repr(rec) and API_KEY not in repr(call)
        assert stub.count("/v1/messages") == 1 and stub.count_endpoint("messages") == 1


def test_text_answers_with_and_without_delegation_tool():
    responder = answers({"Say hi": None, "Which agent?": "code-reviewer"}, default="none")
    with StubAnthropic(responder=responder) as stub, client(stub) as c:
        msg = c.messages.create(**routing_params("Say hi", catalog_in_user=False))
        assert msg.stop_reason == "end_turn" and [b.type for b in msg.content] == ["text"]
        # No Agent/Task tool (a classify prompt): the mapped name comes back as plain text.
        msg = c.messages.create(
            model=MODEL, max_tokens=50, messages=[{"role": "user", "content": "Which agent?"}]
        )
        assert msg.content[0].text == "code-reviewer" and msg.stop_reason == "end_turn"
        msg = c.messages.create(**routing_params("not in the mapping"))
        assert msg.stop_reason == "end_turn"
        assert stub.calls[0].agents == ["code-reviewer", "frontend-dev", "myplugin:db-admin"]


def test_thinking_text_tool_and_legacy_task_tool():
    def responder(req):
        return Reply.route("code-reviewer", rationale="Review needed.", thinking="Let me think.")

    with StubAnthropic(responder=responder) as stub, client(stub) as c:
        msg = c.messages.create(**routing_params("Review my diff", tools=[TASK_TOOL]))
        assert [b.type for b in msg.content] == ["thinking", "text", "tool_use"]
        think, text, tool = msg.content
        assert isinstance(think, ThinkingBlock) and think.thinking == "Let me think."
        assert think.signature
        assert text.text == "Review needed."
        assert tool.name == "Task" and tool.input["subagent_type"] == "code-reviewer"
        assert msg.usage.output_tokens_details.thinking_tokens > 0


def test_streamed_route_matches_the_non_stream_message():
    def responder(req):
        return Reply.route("frontend-dev", rationale="UI work.", thinking="Hmm.")

    with StubAnthropic(responder=responder) as stub, client(stub) as c:
        plain = c.messages.create(**routing_params("Fix the navbar CSS"))
        with c.messages.stream(**routing_params("Fix the navbar CSS")) as stream:
            kinds = [event.type for event in stream]
            streamed = stream.get_final_message()
        assert kinds[0] == "message_start" and kinds[-1] == "message_stop"
        assert "input_json" in kinds and "content_block_stop" in kinds
        assert [b.type for b in streamed.content] == ["thinking", "text", "tool_use"]
        think, text, tool = streamed.content
        assert think.thinking == "Hmm." and think.signature and text.text == "UI work."
        assert tool.name == "Agent" and tool.input["subagent_type"] == "frontend-dev"
        assert tool.input["prompt"] == "Fix the navbar CSS"
        assert streamed.stop_reason == plain.stop_reason == "tool_use"
        assert streamed.usage.output_tokens == plain.usage.output_tokens > 0
        assert streamed.usage.input_tokens == plain.usage.input_tokens
        assert [call.agents for call in stub.calls][1] == [
            "code-reviewer",
            "frontend-dev",
            "myplugin:db-admin",
        ]


def test_streamed_text_and_errors_before_the_stream():
    script = {"Say hi": Reply.text("Hello there."), "fail": Reply.error(529, "overloaded_error")}
    with StubAnthropic(responder=lambda req: script[req.prompt]) as stub, client(stub) as c:
        with c.messages.stream(**routing_params("Say hi")) as stream:
            assert "".join(stream.text_stream) == "Hello there."
            assert stream.get_final_message().stop_reason == "end_turn"
        with (
            pytest.raises(anthropic.APIStatusError) as ei,
            c.messages.stream(**routing_params("fail")) as stream,
        ):
            stream.get_final_message()
        assert ei.value.status_code == 529
        raw = http.client.HTTPConnection("127.0.0.1", stub.port, timeout=5)
        try:
            raw.request("HEAD", "/")
            resp = raw.getresponse()
            assert resp.status == 200 and resp.read() == b""
        finally:
            raw.close()


def test_tool_content_and_raw_replies():
    script = {
        "grade it": Reply.tool("grade", {"score": 4, "reason": "ok"}, text="Grading."),
        "teapot": Reply.raw(418, {"type": "error", "error": {"type": "x", "message": "tea"}}),
        "literal": Reply.content([{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]),
    }
    with StubAnthropic(responder=answers(script)) as stub, client(stub) as c:
        msg = c.messages.create(
            model=MODEL, max_tokens=50, messages=[{"role": "user", "content": "grade it"}]
        )
        assert msg.stop_reason == "tool_use"
        assert msg.content[1].name == "grade" and msg.content[1].input == {
            "score": 4,
            "reason": "ok",
        }
        msg = c.messages.create(
            model=MODEL, max_tokens=50, messages=[{"role": "user", "content": "literal"}]
        )
        assert [b.text for b in msg.content] == ["a", "b"]
        with pytest.raises(anthropic.APIStatusError) as ei:
            c.messages.create(
                model=MODEL, max_tokens=50, messages=[{"role": "user", "content": "teapot"}]
            )
        assert ei.value.status_code == 418


def test_stock_responders_and_agent_parsing():
    assert parse_agents([CATALOG]) == ["code-reviewer", "frontend-dev", "myplugin:db-admin"]
    assert parse_agents(["- alpha: does a\n- beta: does b\n"]) == ["alpha", "beta"]  # no Tools
    with StubAnthropic(responder=hash_router) as stub, client(stub) as c:
        picks = {
            c.messages.create(**routing_params(f"request {i}")).content[-1].input["subagent_type"]
            for i in range(12)
        }
        again = c.messages.create(**routing_params("request 0")).content[-1].input
        first = c.messages.create(**routing_params("request 0")).content[-1].input
        assert picks <= {"code-reviewer", "frontend-dev", "myplugin:db-admin"} and len(picks) > 1
        assert again == first
        stub.responder = first_agent
        assert c.messages.create(**routing_params("x")).content[-1].input["subagent_type"] == (
            "code-reviewer"
        )
        stub.responder = never_delegate
        assert c.messages.create(**routing_params("x")).stop_reason == "end_turn"


# ------------------------------------------------------------------------------------------
# Tokens and caching
# ------------------------------------------------------------------------------------------


def cached_params(request: str, ttl: str | None = None) -> dict:
    cc = {"type": "ephemeral", **({"ttl": ttl} if ttl else {})}
    params = routing_params(request, catalog_in_user=False)
    params["system"][-1]["cache_control"] = cc
    return params


def test_prompt_cache_write_then_read_and_count_tokens():
    with StubAnthropic() as stub, client(stub) as c:
        first = c.messages.create(**cached_params("first request"))
        second = c.messages.create(**cached_params("second request, a bit longer"))
        u1, u2 = first.usage, second.usage
        assert u1.cache_creation_input_tokens > 0 and u1.cache_read_input_tokens == 0
        assert u2.cache_read_input_tokens == u1.cache_creation_input_tokens
        assert u2.cache_creation_input_tokens == 0
        assert u1.cache_creation.ephemeral_5m_input_tokens == u1.cache_creation_input_tokens
        assert 0 < u1.input_tokens < u2.input_tokens
        for params, u in (
            (cached_params("first request"), u1),
            (cached_params("second request, a bit longer"), u2),
        ):
            del params["max_tokens"]
            counted = c.messages.count_tokens(**params).input_tokens
            total = u.input_tokens + u.cache_creation_input_tokens + u.cache_read_input_tokens
            assert counted == total == count_input_tokens(params)
        # 1h TTL is a different breakdown; another model has its own cache.
        other = c.messages.create(**{**cached_params("x", ttl="1h"), "model": "claude-opus-5-5"})
        assert other.usage.cache_creation.ephemeral_1h_input_tokens > 0
        assert other.usage.cache_read_input_tokens == 0
        # Uncached requests report everything as input.
        plain = c.messages.create(**routing_params("no cache"))
        assert plain.usage.cache_creation_input_tokens == plain.usage.cache_read_input_tokens == 0
        assert stub.count("/v1/messages/count_tokens") == 2


def test_cache_is_warm_only_after_first_response_and_min_tokens():
    async def burst(base_url):
        async with anthropic.AsyncAnthropic(base_url=base_url, api_key=API_KEY) as ac:
            return await asyncio.gather(
                *(ac.messages.create(**cached_params(f"r{i}")) for i in range(3))
            )

    with StubAnthropic(latency=0.1) as stub:
        msgs = asyncio.run(burst(stub.base_url))
        assert all(m.usage.cache_creation_input_tokens > 0 for m in msgs)  # all raced the write
        with client(stub) as c:
            assert c.messages.create(**cached_params("later")).usage.cache_read_input_tokens > 0
    with StubAnthropic(cache_min_tokens=100_000) as stub, client(stub) as c:
        u = c.messages.create(**cached_params("tiny prompt")).usage
        assert u.cache_creation_input_tokens == u.cache_read_input_tokens == 0


# ------------------------------------------------------------------------------------------
# Batches
# ------------------------------------------------------------------------------------------


def test_batch_create_poll_results_round_trip():
    script = {
        "req A": "frontend-dev",
        "req B": "code-reviewer",
        "req C": Reply.error(529, message="busy"),
        "req D": Reply.expired(),
        "req E": None,
    }
    with StubAnthropic(responder=answers(script)) as stub, client(stub) as c:
        reqs = [
            {"custom_id": f"case-{i}", "params": routing_params(p)}
            for i, p in enumerate(["req A", "req B", "req C", "req D", "req E"])
        ]
        batch = c.messages.batches.create(requests=reqs)
        assert isinstance(batch, MessageBatch) and batch.id.startswith("msgbatch_")
        assert batch.type == "message_batch" and batch.processing_status == "in_progress"
        assert batch.request_counts.processing == 5 and batch.results_url is None
        assert batch.expires_at > batch.created_at
        polled = c.messages.batches.retrieve(batch.id)
        assert polled.processing_status == "in_progress"
        ended = c.messages.batches.retrieve(batch.id)
        assert ended.processing_status == "ended" and ended.ended_at is not None
        assert ended.results_url == f"{stub.base_url}/v1/messages/batches/{batch.id}/results"
        counts = ended.request_counts
        assert (counts.succeeded, counts.errored, counts.expired, counts.processing) == (3, 1, 1, 0)

        results = list(c.messages.batches.results(batch.id))
        assert all(isinstance(r, MessageBatchIndividualResponse) for r in results)
        ids = [r.custom_id for r in results]
        assert sorted(ids) == [f"case-{i}" for i in range(5)] and ids != sorted(ids)  # shuffled
        by_id = {r.custom_id: r.result for r in results}
        assert by_id["case-0"].type == "succeeded"
        assert by_id["case-0"].message.content[-1].input["subagent_type"] == "frontend-dev"
        assert by_id["case-0"].message.usage.service_tier == "batch"
        assert by_id["case-2"].type == "errored"
        assert by_id["case-2"].error.error.type == "overloaded_error"
        assert by_id["case-3"].type == "expired"
        assert by_id["case-4"].message.stop_reason == "end_turn"
        # Resuming means polling the same id: only one creation was ever made.
        assert c.messages.batches.retrieve(batch.id).processing_status == "ended"
        assert stub.batches_created == 1 and stub.batch_ids == [batch.id]
        assert stub.count_endpoint("batch_item") == 5
        assert [cl.custom_id for cl in stub.calls] == [f"case-{i}" for i in range(5)]


def test_batch_async_results_with_item_fault_and_validation():
    async def go(base_url):
        async with anthropic.AsyncAnthropic(
            base_url=base_url, api_key=API_KEY, max_retries=0
        ) as ac:
            reqs = [{"custom_id": f"c{i}", "params": routing_params(f"p{i}")} for i in range(1, 4)]
            batch = await ac.messages.batches.create(requests=reqs)
            assert (await ac.messages.batches.retrieve(batch.id)).processing_status == "ended"
            out = {r.custom_id: r.result async for r in await ac.messages.batches.results(batch.id)}
            with pytest.raises(anthropic.BadRequestError):
                await ac.messages.batches.create(requests=[{"custom_id": "bad id!", "params": {}}])
            with pytest.raises(anthropic.NotFoundError):
                await ac.messages.batches.retrieve("msgbatch_missing")
            second = await ac.messages.batches.create(requests=reqs[:1])
            canceled = await ac.messages.batches.cancel(second.id)
            assert canceled.processing_status == "canceling"
            assert (await ac.messages.batches.retrieve(second.id)).request_counts.canceled == 1
            return out

    faults = [Fault.at([2], 529, on="batch_item"), Fault.at([3], "unknown_agent", on="batch_item")]
    with StubAnthropic(batch_polls_before_end=0, faults=faults) as stub:
        out = asyncio.run(go(stub.base_url))
        assert out["c1"].type == "succeeded"
        assert out["c2"].type == "errored" and out["c2"].error.error.type == "overloaded_error"
        assert out["c3"].message.content[-1].input["subagent_type"] == "no-such-agent"
        assert stub.batches_created == 2  # the rejected one does not count as created
        assert len(stub.batch_ids) == 2


# ------------------------------------------------------------------------------------------
# Faults
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "exc", "error_type", "retry_header"),
    [
        (429, anthropic.RateLimitError, "rate_limit_error", "0"),
        (529, anthropic.OverloadedError, "overloaded_error", "0"),
        (500, anthropic.InternalServerError, "api_error", "0"),
        ("spend_limit", anthropic.EnforcedSpendLimitReachedError, "rate_limit_error", None),
    ],
)
def test_error_faults_surface_as_sdk_exceptions(kind, exc, error_type, retry_header):
    with StubAnthropic(faults=[Fault.at([1], kind)]) as stub, client(stub) as c:
        with pytest.raises(exc) as ei:
            c.messages.create(**routing_params("anything"))
        err = ei.value
        assert err.status_code == (429 if kind == "spend_limit" else kind)
        assert err.type == error_type
        assert err.request_id and err.request_id.startswith("req_")
        assert err.response.headers.get("retry-after") == retry_header
        assert API_KEY not in err.response.text
        if kind == "spend_limit":
            assert isinstance(err, anthropic.RateLimitError)
            assert err.error_code == "enforced_spend_limit_reached"
            assert "spend limit" in err.api_message
            assert "retry-after-ms" not in err.response.headers
        # The fault consumed index 1; index 2 goes through.
        assert c.messages.create(**routing_params("anything")).stop_reason
        assert [r.status for r in stub.requests] == [err.status_code, 200]


def test_retries_with_tiny_retry_after_succeed_quickly():
    faults = [Fault.at([1], 429), Fault.at([2], 529)]
    with StubAnthropic(faults=faults) as stub, client(stub, max_retries=2) as c:
        t0 = time.perf_counter()
        msg = c.messages.create(**routing_params("retry me"))
        assert time.perf_counter() - t0 < 0.5
        assert msg.type == "message"
        assert [r.headers["x-stainless-retry-count"] for r in stub.requests] == ["0", "1", "2"]
        assert [r.status for r in stub.requests] == [429, 529, 200]


def test_every_when_times_and_should_retry():
    faults = [
        Fault.when(lambda r: "flaky" in r.prompt, 500, times=1, should_retry=False),
        Fault.every(3, 529),
        Fault.at([1], 429, on="count_tokens"),
    ]
    with StubAnthropic(faults=faults) as stub, client(stub, max_retries=2) as c:
        with pytest.raises(anthropic.InternalServerError):  # x-should-retry: false -> no retry
            c.messages.create(**routing_params("flaky one"))
        assert c.messages.create(**routing_params("flaky one")).type == "message"  # times=1
        with pytest.raises(anthropic.OverloadedError):
            c.with_options(max_retries=0).messages.create(**routing_params("third"))
        params = routing_params("count me")
        del params["max_tokens"]
        assert c.messages.count_tokens(**params).input_tokens > 0  # 429 then retried
        assert [r.status for r in stub.requests if r.endpoint == "count_tokens"] == [429, 200]
        assert stub.count_endpoint("messages") == 3


def test_slow_fault_triggers_client_timeout():
    faults = [Fault.at([1], "slow", seconds=5.0)]
    t0 = time.perf_counter()
    with StubAnthropic(faults=faults) as stub, client(stub, timeout=0.2) as c:
        with pytest.raises(anthropic.APITimeoutError):
            c.messages.create(**routing_params("slow one"))
        assert c.messages.create(**routing_params("fast one")).type == "message"
    assert time.perf_counter() - t0 < 2.0  # stop() cancels the sleeping handler


def test_malformed_and_unknown_agent_faults():
    faults = [Fault.at([1], "malformed"), Fault.at([2], "unknown_agent")]
    with StubAnthropic(faults=faults) as stub, client(stub, max_retries=2) as c:
        # The SDK does not wrap a broken 200 body: json.JSONDecodeError (a ValueError), no retry.
        with pytest.raises(json.JSONDecodeError):
            c.messages.create(**routing_params("one"))
        msg = c.messages.create(**routing_params("two"))
        assert msg.content[-1].input["subagent_type"] == "no-such-agent"
        assert "no-such-agent" not in stub.calls[1].agents
        assert stub.count_endpoint("messages") == 2


def test_bad_requests_are_rejected():
    with StubAnthropic() as stub, client(stub) as c:
        with pytest.raises(anthropic.BadRequestError) as ei:
            c.messages.create(**routing_params("x"), extra_body={"temperature": 0})
        assert "temperature" in ei.value.api_message
        assert API_KEY not in ei.value.response.text


def test_responder_errors_become_500_and_are_raised_on_stop():
    def broken(req):
        raise KeyError("boom")

    stub = StubAnthropic(responder=broken).start()
    try:
        with client(stub) as c, pytest.raises(anthropic.InternalServerError):
            c.messages.create(**routing_params("x"))
    finally:
        with pytest.raises(RuntimeError, match="boom"):
            stub.stop()


# ------------------------------------------------------------------------------------------
# Server behaviour
# ------------------------------------------------------------------------------------------


def test_latency_callable_and_concurrency():
    async def burst(base_url, n):
        async with anthropic.AsyncAnthropic(base_url=base_url, api_key=API_KEY) as ac:
            await asyncio.gather(*(ac.messages.create(**routing_params(f"r{i}")) for i in range(n)))

    with StubAnthropic(latency=lambda req: 0.25) as stub:
        t0 = time.perf_counter()
        asyncio.run(burst(stub.base_url, 40))
        elapsed = time.perf_counter() - t0
        assert 0.25 <= elapsed < 1.5
        assert stub.max_in_flight == 40 and stub.in_flight == 0


def test_raw_http_keep_alive_chunked_auth_and_404():
    body = json.dumps(routing_params("raw")).encode()
    with StubAnthropic() as stub:
        conn = http.client.HTTPConnection("127.0.0.1", stub.port, timeout=5)
        try:
            hdrs = {"x-api-key": API_KEY, "content-type": "application/json"}
            for _ in range(2):  # same socket twice: keep-alive
                conn.request("POST", "/v1/messages", body=body, headers=hdrs)
                resp = conn.getresponse()
                assert resp.status == 200 and json.loads(resp.read())["type"] == "message"
            conn.request(
                "POST",
                "/v1/messages",
                body=iter([body[:10], body[10:]]),
                headers=hdrs,
                encode_chunked=True,
            )
            resp = conn.getresponse()
            assert resp.status == 200 and resp.read()
            conn.request(
                "POST", "/v1/messages", body=body, headers={"content-type": "application/json"}
            )
            resp = conn.getresponse()
            assert (
                resp.status == 401
                and json.loads(resp.read())["error"]["type"] == "authentication_error"
            )
            conn.request("GET", "/v1/nope", headers=hdrs)
            resp = conn.getresponse()
            payload = resp.read()
            assert resp.status == 404 and resp.getheader("request-id").startswith("req_")
            assert API_KEY.encode() not in payload
        finally:
            conn.close()
        assert [r.status for r in stub.requests] == [200, 200, 200, 401, 404]


def test_cli_mode_prints_url_and_serves(tmp_path: Path):
    answers_file = tmp_path / "answers.json"
    answers_file.write_text(json.dumps({"Fix the navbar CSS": "frontend-dev"}))
    script = Path(__file__).with_name("stub_anthropic.py")
    cmd = [
        sys.executable,
        str(script),
        "--port",
        "0",
        "--latency",
        "0",
        "--answers",
        str(answers_file),
        "--default",
        "none",
        "--fault",
        "529:2",
        "--log",
    ]
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        try:
            line = proc.stdout.readline().strip()
            assert line.startswith("STUB_URL=http://127.0.0.1:")
            url = line.split("=", 1)[1]
            with anthropic.Anthropic(base_url=url, api_key=API_KEY, max_retries=0) as c:
                msg = c.messages.create(**routing_params("Fix the navbar CSS"))
                assert msg.content[-1].input["subagent_type"] == "frontend-dev"
                with pytest.raises(anthropic.OverloadedError):
                    c.messages.create(**routing_params("second"))
                assert c.messages.create(**routing_params("third")).stop_reason == "end_turn"
        finally:
            proc.terminate()
            _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert "/v1/messages -> 529" in err and API_KEY not in err
