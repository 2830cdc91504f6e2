"""Batch mode through the Message Batches API of the loopback stub; estimate before spending."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import AGENTEVAL, BATCH_EVAL
from stub_anthropic import answers

from agenteval.cli import main
from agenteval.models.pricing import model_table
from agenteval.record.store import load_record, read_results

KEY = "sk-ant-test-batch-0123456789abcdef"


@pytest.fixture
def config(demo_project: Path) -> Path:
    path = demo_project / "evals" / "batch.yaml"
    path.write_text(BATCH_EVAL)
    return path


STUB_OPTIONS = {"batch_polls_before_end": 2}


def run_dir_of(root: Path) -> Path:
    (run,) = [p for p in (root / "reports").iterdir() if p.is_dir()]
    return run


def test_batch_run_submits_once_and_maps_every_result(config, stub):
    stub.responder = answers({}, default="first")
    result = CliRunner().invoke(main, ["run", str(config), "--plain"], catch_exceptions=False)
    assert result.exit_code == 0, result.output  # no gate is set: a low score is not a failure
    assert "submitted batch" in result.output
    assert stub.batches_created == 1
    assert stub.count_endpoint("messages") == 0  # nothing went through the live endpoint
    run = run_dir_of(config.parent.parent)
    rows = read_results(run)
    assert len(rows) == 62 and len({r.case.id for r in rows}) == 62
    ticket = json.loads((run / "batch.json").read_text())
    assert len(ticket["custom_ids"]) == 62 and ticket["batch_ids"]
    record = load_record(run)
    assert record.status == "complete"
    # results came back shuffled, yet each maps to its own case: the stub routes to the first
    # catalog agent, so the label is that agent everywhere
    assert {r.trial.label for r in rows} == {"api-documentation-writer"}


def test_batch_is_billed_at_half_price(config, stub):
    result = CliRunner().invoke(main, ["run", str(config), "--plain", "--limit", "5"])
    assert result.exit_code == 0, result.output
    rows = read_results(run_dir_of(config.parent.parent))
    assert len(rows) == 5
    table = model_table()
    for row in rows:
        u = row.trial.decision.usage
        full = table.cost(
            "claude-sonnet-5-5",
            input_tokens=u.input_tokens,
            output_tokens=u.output_tokens,
            cache_write_tokens=u.cache_write_tokens,
            cache_read_tokens=u.cache_read_tokens,
        )
        assert row.trial.decision.cost_usd == pytest.approx(full / 2)


def test_rerun_of_a_batch_run_is_answered_from_the_cache(config, stub):
    for _ in range(2):
        result = CliRunner().invoke(main, ["run", str(config), "--plain"])
        assert result.exit_code == 0, result.output
    assert stub.batches_created == 1
    first, second = sorted(p for p in (config.parent.parent / "reports").iterdir() if p.is_dir())
    assert len(read_results(first)) == len(read_results(second)) == 62
    assert all(r.trial.decision.cached for r in read_results(second))


def test_interrupted_batch_run_resumes_by_polling_not_resubmitting(config, stub):
    stub.batch_polls_before_end = 10**6  # the batch never ends while the first process waits
    env = {**os.environ, "ANTHROPIC_API_KEY": KEY, "ANTHROPIC_BASE_URL": stub.base_url}
    proc = subprocess.Popen(
        [str(AGENTEVAL), "run", str(config), "--plain"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    reports = config.parent.parent / "reports"
    deadline = time.monotonic() + 30
    while not list(reports.glob("*/batch.json")) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert list(reports.glob("*/batch.json")), "the batch id was never saved"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    run = run_dir_of(config.parent.parent)
    assert load_record(run).status == "incomplete"
    assert stub.batches_created == 1

    stub.batch_polls_before_end = 0
    result = CliRunner().invoke(
        main, ["run", "--resume", str(run), "--plain"], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    assert "not resubmitting" in result.output
    assert stub.batches_created == 1
    assert load_record(run).status == "complete"
    assert len(read_results(run)) == 62


def test_batch_with_the_lexical_router_is_a_clear_error(demo_project):
    result = CliRunner().invoke(main, ["run", "--batch", "--router", "lexical", "--plain"])
    assert result.exit_code == 2
    assert "batch" in result.output and "anthropic" in result.output


def test_estimate_offline_is_labelled_an_approximation(demo_project):
    result = CliRunner().invoke(main, ["estimate"], catch_exceptions=False)
    assert result.exit_code == 0
    assert "approximation" in result.output and "estimated cost: $" in result.output
    assert "6 prompt prefix(es)" in result.output  # 5 folds + the full catalog


def test_estimate_with_a_key_counts_tokens_and_sends_no_message(demo_project, stub):
    result = CliRunner().invoke(main, ["estimate", "--batch"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "method: count_tokens" in result.output and "(batch)" in result.output
    assert stub.count_endpoint("count_tokens") == 6  # one per prompt prefix
    assert stub.count_endpoint("messages") == 0


def test_estimate_says_when_the_price_is_unknown(demo_project):
    result = CliRunner().invoke(main, ["estimate", "--model", "claude-unknown-9"])
    assert "unknown" in result.output
