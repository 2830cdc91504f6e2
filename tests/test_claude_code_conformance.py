"""agenteval's Claude Code reading equals what the real, pinned CLI shows the model.

For every fixture folder in tests/fixtures/formats/ and for the public laywill catalog, the CLI
runs headless against the loopback stub (one process per folder, a few at a time) and the agent
listing of the request it sends is compared with `read_as_claude_code`: the same agents, in the
same order, with byte-identical descriptions and tools text. Built-in agents (named in the init
event, never hard-coded) are interleaved in the CLI's listing and are left out of the comparison
after checking that they sit where the collation puts them.

When the CLI is not installed the test fails with the install command (never skipped).
"""

from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from claude_code_cli import (
    cli_version,
    find_claude,
    init_agents,
    listing_text,
    split_listing,
    start_claude,
)
from conftest import LAYWILL
from stub_anthropic import StubAnthropic, never_delegate

from agenteval.catalog import read_as_claude_code
from agenteval.catalog.claude_code import collation_key

FORMATS = Path(__file__).resolve().parent / "fixtures" / "formats"
FOLDERS = sorted(p for p in FORMATS.iterdir() if p.is_dir() and p.name[:2].isdigit())
TIMEOUT = 120


@dataclass(frozen=True)
class Seen:
    entries: tuple[tuple[str, str], ...]
    builtins: tuple[str, ...]


@pytest.fixture(scope="module")
def cli_listings() -> dict[str, Seen]:
    """One CLI run per folder (fixtures and laywill), four at a time, against one stub."""
    find_claude()
    folders = [*FOLDERS, *([LAYWILL] if LAYWILL.is_dir() else [])]
    with StubAnthropic(responder=never_delegate) as stub:
        empty = _run(stub, None, "SENTINEL-builtins")
        builtins = empty.init
        with ThreadPoolExecutor(max_workers=4) as pool:
            runs = list(pool.map(lambda f: _run(stub, f, f"SENTINEL-{f.name}"), folders))
        seen: dict[str, Seen] = {}
        for folder, run in zip(folders, runs, strict=True):
            call = next((c for c in stub.calls if c.prompt == run.sentinel), None)
            assert call is not None, f"{folder.name}: the CLI sent no request\n{run.stderr}"
            entries = split_listing(listing_text(call.body, run.init), run.init)
            seen[folder.name] = Seen(entries=entries, builtins=builtins)
    return seen


@dataclass(frozen=True)
class _Run:
    sentinel: str
    init: tuple[str, ...]
    stderr: str


def _run(stub: StubAnthropic, folder: Path | None, sentinel: str) -> _Run:
    proc, scratch = start_claude(folder, sentinel, stub.base_url)
    try:
        out, err = proc.communicate(timeout=TIMEOUT)
    except Exception:
        proc.kill()
        proc.communicate()
        raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    assert proc.returncode == 0, f"claude exited {proc.returncode}: {err[-2000:]}"
    return _Run(sentinel=sentinel, init=init_agents(out), stderr=err[-2000:])


def _check(folder: Path, seen: Seen) -> None:
    reading = read_as_claude_code([folder], version=cli_version())
    expected = {a.name: f"{a.description} (Tools: {a.tools_text})" for a in reading.agents}
    listed = [(n, rest) for n, rest in seen.entries if n in expected or n not in seen.builtins]
    assert [n for n, _ in listed] == list(reading.names), f"{folder.name}: names or order"
    for i, (name, rest) in enumerate(seen.entries):
        if name not in expected:
            continue
        want = expected[name]
        if i + 1 == len(seen.entries):  # the last entry runs to the end of the listing
            assert rest.startswith(want + "\n\n"), f"{folder.name}/{name}: {rest[:300]!r}"
        else:
            assert rest == want, f"{folder.name}/{name}"
    # built-ins sit where the collation puts them, between catalog agents
    names = [n for n, _ in seen.entries]
    assert names == sorted(names, key=collation_key), f"{folder.name}: listing order"


def test_the_cli_under_test_is_the_pinned_one():
    from agenteval.catalog.claude_code import pinned_version

    assert cli_version() == pinned_version(), (
        "install the pinned CLI (see tests/claude_code_cli.py)"
    )


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda p: p.name)
def test_fixture_folder_reads_as_the_cli_shows_it(folder: Path, cli_listings) -> None:
    _check(folder, cli_listings[folder.name])


def test_public_catalog_reads_as_the_cli_shows_it(laywill: Path, cli_listings) -> None:
    _check(laywill, cli_listings[laywill.name])
    reading = read_as_claude_code([laywill], version=cli_version())
    assert len(reading.agents) > 100  # a real catalog, not an empty listing
