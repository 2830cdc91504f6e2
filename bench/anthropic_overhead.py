"""How much time and memory the harness adds to the requests themselves (loopback stub).

Each a whole process timed from the outside, median of N, figure beside its floor:
1. per size (200 and 1,000 cases): `agenteval run` (startup, catalog, scoring, four reports
   included) beside the bare loop, `AsyncAnthropic` + `asyncio.Semaphore(32)` sending the same
   requests (one warm-up request first); wall time and peak memory, runs interleaved;
2. the unchanged rerun of 1,020 cases with the cache warm (must send zero requests), beside a
   Python process that reads and decodes every row of the same cache file;
3. with --faults: a 429 on every 10th request and a 529 on every 13th (none lost or doubled).

Goals: <= 1.10x the bare loop at 200 cases, <= 1.05x at 1,000, < 150 MB; rerun < 1.2 s.
Usage: python bench/anthropic_overhead.py [--runs 5] [--sizes 200 1000] [--latency 0.3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import textwrap
from pathlib import Path

from _table import AGENTEVAL, PYTHON, ROOT, Row, measure, print_table, run_once

sys.path.insert(0, str(ROOT / "tests"))

from stub_anthropic import Fault, StubAnthropic, hash_router  # noqa: E402

KEY = "sk-ant-bench-not-a-real-key"

BARE_LOOP = textwrap.dedent(
    """
    import asyncio, gc, inspect, json, sys
    import anthropic

    def sdk_kwargs(create, body):  # fields the SDK does not name yet go in extra_body
        known = set(inspect.signature(create).parameters)
        kwargs = {k: v for k, v in body.items() if k in known}
        extra = {k: v for k, v in body.items() if k not in known}
        return {**kwargs, "extra_body": extra} if extra else kwargs

    async def main(path, base_url, concurrency):
        client = anthropic.AsyncAnthropic(api_key=sys.argv[4], base_url=base_url, timeout=600)
        bodies = [
            sdk_kwargs(client.messages.create, json.loads(line))
            for line in open(path, encoding="utf-8")
        ]
        await client.messages.create(**bodies[0])  # warm the prompt cache
        sem = asyncio.Semaphore(concurrency)

        async def one(body):
            async with sem:
                return await client.messages.create(**body)

        await asyncio.gather(*(one(b) for b in bodies[1:]))
        await client.close()

    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
    gc.freeze()  # skip the exit's collections over the SDK's objects, as agenteval does
    """
)


def make_project(root: Path, n: int, concurrency: int) -> Path:
    """A project with the demo catalog and n dataset cases, routed with the anthropic router."""
    agents = sorted(p.stem for p in (ROOT / "agents").glob("*.md"))
    (root / "agents").mkdir()
    for p in (ROOT / "agents").glob("*.md"):
        (root / "agents" / p.name).write_bytes(p.read_bytes())
    rows = [
        {
            "id": f"c{i:05d}",
            "prompt": f"Request {i}: please help with task number {i} in "
            f"the {agents[i % len(agents)]} area",
            "expected": agents[i % len(agents)],
        }
        for i in range(n)
    ]
    (root / "cases.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (root / "bench.yaml").write_text(
        "name: bench\nagents: [agents]\ndatasets: [cases.jsonl]\nexamples: false\n"
        f"holdout: none\nconcurrency: {concurrency}\nrouter:\n  backend: anthropic\n"
        "cache_path: cache/cache.sqlite\nout: reports\n"
    )
    return root / "bench.yaml"


def dump_requests(config: Path, out: Path) -> None:
    """The exact request bodies agenteval sends, for the bare loop (prepared before timing)."""
    os.environ["ANTHROPIC_API_KEY"] = KEY
    from agenteval.config import load_config
    from agenteval.pipeline.inputs import build_router, prepare
    from agenteval.routing import PreparedRouter, RouteRequest
    from agenteval.settings import resolve

    cwd = os.getcwd()
    os.chdir(config.parent)  # where the runs are: the same ./.agenteval, so the same profile
    try:
        settings = resolve(load_config(config))
        _, cases, views = prepare(settings)
        router = build_router(settings)
        if isinstance(router, PreparedRouter):
            router.prepare(lambda message: print(message, file=sys.stderr))
        with out.open("w", encoding="utf-8") as fh:
            for case in cases:
                chat = router.chat_request(RouteRequest(case=case, view=views.for_case(case)))
                fh.write(json.dumps(chat.params()) + "\n")
    finally:
        os.chdir(cwd)


def results_of(project: Path) -> list[dict]:
    runs = sorted(p for p in (project / "reports").iterdir() if p.is_dir())
    return [json.loads(x) for x in (runs[-1] / "results.jsonl").read_text().splitlines()]


CACHE_READ = textwrap.dedent(
    """
    import json, sqlite3, sys
    db = sqlite3.connect(sys.argv[1])
    print(sum(1 for _, v in db.execute("SELECT key, value FROM decisions") if json.loads(v)))
    """
)


def _project(root: Path, cases: int, concurrency: int) -> tuple[Path, Path]:
    root.mkdir()
    config = make_project(root, cases, concurrency)
    dump_requests(config, root / "bodies.jsonl")
    (root / "bare.py").write_text(BARE_LOOP)
    (root / "cache_read.py").write_text(CACHE_READ)
    return config, root / "bodies.jsonl"


def _clear_cache(project: Path) -> None:
    for f in (project / "cache").glob("*"):
        f.unlink()


def rows(
    runs: int,
    *,
    sizes: tuple[int, ...] = (200, 1000),
    latency: float = 0.3,
    concurrency: int = 32,
    rerun_cases: int = 1020,
) -> list[Row]:
    """Per size: the run beside the bare loop (wall and peak memory); then the warm rerun."""
    out: list[Row] = []
    tmp = Path(tempfile.mkdtemp(prefix="agenteval-bench-api-"))
    for n in sizes:
        project = tmp / f"p{n}"
        _, bodies = _project(project, n, concurrency)
        with StubAnthropic(latency=latency, responder=hash_router) as stub:
            env = {**os.environ, "ANTHROPIC_API_KEY": KEY, "ANTHROPIC_BASE_URL": stub.base_url}
            bare_cmd = [PYTHON, "bare.py", str(bodies), stub.base_url, str(concurrency), KEY]
            run_cmd = [AGENTEVAL, "run", "bench.yaml", "--plain"]
            bares, harness = [], []
            for _ in range(runs):  # interleaved, so both see the same load
                bares.append(run_once(bare_cmd, cwd=project, env=env))
                _clear_cache(project)
                harness.append(run_once(run_cmd, cwd=project, env=env, ok=(0, 1)))
        bare_s, bare_mb = (statistics.median(x) for x in zip(*bares, strict=True))
        run_s, run_mb = (statistics.median(x) for x in zip(*harness, strict=True))
        what = f"API router, {n} cases, {latency * 1000:.0f} ms, concurrency {concurrency}"
        goal_s = "<= 1.10x" if n <= 200 else "<= 1.05x"
        out.append(
            Row(
                what=what,
                figure=run_s,
                floor=bare_s,
                unit="s",
                floor_is="bare AsyncAnthropic loop, same requests",
                goal=goal_s,
            )
        )
        out.append(
            Row(
                what=f"{what}: peak memory",
                figure=run_mb,
                floor=bare_mb,
                unit="MB",
                floor_is="bare AsyncAnthropic loop",
                goal="< 150 MB" if n >= 1000 else "",
            )
        )
    project = tmp / "rerun"
    _project(project, rerun_cases, concurrency)
    with StubAnthropic(latency=0.01, responder=hash_router) as stub:
        env = {**os.environ, "ANTHROPIC_API_KEY": KEY, "ANTHROPIC_BASE_URL": stub.base_url}
        run_once([AGENTEVAL, "run", "bench.yaml", "--plain"], cwd=project, env=env, ok=(0, 1))
        sent = stub.count_endpoint("messages")
        cache = str(project / "cache" / "cache.sqlite")
        floor = measure([PYTHON, "cache_read.py", cache], runs, cwd=project, env=env)
        again = measure(
            [AGENTEVAL, "run", "bench.yaml", "--plain"], runs, cwd=project, env=env, ok=(0, 1)
        )
        extra = stub.count_endpoint("messages") - sent
    if extra:
        sys.exit(f"the warm rerun sent {extra} requests; it must send none")
    out.append(
        Row(
            what=f"warm rerun, {rerun_cases} API cases (0 requests)",
            figure=again.wall,
            floor=floor.wall,
            unit="s",
            floor_is="python reading + decoding every cache row",
            goal="< 1.2 s",
        )
    )
    return out


def faults(cases: int, latency: float, concurrency: int) -> None:
    """A run with a 429 on every 10th request and a 529 on every 13th: none lost or doubled."""
    project = Path(tempfile.mkdtemp(prefix="agenteval-bench-faults-")) / "p"
    _project(project, cases, concurrency)
    faults = [Fault.every(10, "429"), Fault.every(13, "529")]
    with StubAnthropic(latency=latency, responder=hash_router, faults=faults) as stub:
        env = {**os.environ, "ANTHROPIC_API_KEY": KEY, "ANTHROPIC_BASE_URL": stub.base_url}
        t, _ = run_once(
            [AGENTEVAL, "run", "bench.yaml", "--plain", "--no-cache"],
            cwd=project,
            env=env,
            ok=(0, 1),
        )
        rows_ = results_of(project)
        keys = [(r["case_id"], r["trial"]) for r in rows_]
        errors = sum(r["error"] is not None for r in rows_)
        faulted = sum(1 for r in stub.requests if r.status in (429, 529))
    print(
        f"faults (429 every 10th, 529 every 13th): {len(rows_)} trials, {len(set(keys))} unique, "
        f"{len(keys) - len(set(keys))} duplicated, {cases - len(set(keys))} lost, {errors} "
        f"errors; {faulted} faulted responses; {t:.2f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sizes", type=int, nargs="+", default=[200, 1000])
    parser.add_argument("--latency", type=float, default=0.3)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rerun-cases", type=int, default=1020)
    parser.add_argument("--faults", action="store_true", help="also run the 429/529 check")
    args = parser.parse_args()
    table = rows(
        args.runs,
        sizes=tuple(args.sizes),
        latency=args.latency,
        concurrency=args.concurrency,
        rerun_cases=args.rerun_cases,
    )
    print_table(table, f"API path, median of {args.runs}")
    if args.faults:
        faults(max(args.sizes), args.latency, args.concurrency)


if __name__ == "__main__":
    main()
