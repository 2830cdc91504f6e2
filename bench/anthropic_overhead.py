"""How much time the harness adds to the requests themselves, against the loopback stub.

Three measurements, each a whole process timed from the outside:
1. bare loop: `AsyncAnthropic` + `asyncio.Semaphore(32)` sending the same 1,000 requests (one
   cached system block, one warm-up request first);
2. `agenteval run` on the same 1,000 cases (startup, catalog loading, scoring, reports included),
   then the same run again (must make zero requests and take under 3 s);
3. a run with a 429 on every 10th request and a 529 on every 13th (every case must complete, none
   lost or duplicated).

Goal: harness <= 1.10 x bare loop. Ideal: 1,000 x 0.3 s / 32 = 9.4 s.
Usage: python bench/anthropic_overhead.py [--cases 1000] [--latency 0.3] [--concurrency 32]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from stub_anthropic import Fault, StubAnthropic, hash_router  # noqa: E402

KEY = "sk-ant-bench-not-a-real-key"

BARE_LOOP = textwrap.dedent(
    """
    import asyncio, json, sys
    import anthropic

    async def main(path, base_url, concurrency):
        bodies = [json.loads(line) for line in open(path, encoding="utf-8")]
        client = anthropic.AsyncAnthropic(api_key=sys.argv[4], base_url=base_url)
        await client.messages.create(**bodies[0])  # warm the prompt cache
        sem = asyncio.Semaphore(concurrency)

        async def one(body):
            async with sem:
                return await client.messages.create(**body)

        await asyncio.gather(*(one(b) for b in bodies[1:]))
        await client.close()

    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
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
    from agenteval.routing import RouteRequest
    from agenteval.settings import resolve

    cwd = os.getcwd()
    os.chdir(config.parent)
    try:
        settings = resolve(load_config(config))
        _, cases, views = prepare(settings)
    finally:
        os.chdir(cwd)
    router = build_router(settings)
    with out.open("w", encoding="utf-8") as fh:
        for case in cases:
            chat = router.chat_request(RouteRequest(case=case, view=views.for_case(case)))
            fh.write(json.dumps(chat.params()) + "\n")


def timed(
    cmd: list[str], env: dict[str, str], cwd: Path
) -> tuple[float, subprocess.CompletedProcess]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True)
    return time.perf_counter() - start, proc


def results_of(project: Path) -> list[dict]:
    runs = sorted(p for p in (project / "reports").iterdir() if p.is_dir())
    return [json.loads(x) for x in (runs[-1] / "results.jsonl").read_text().splitlines()]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.3)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    exe = str(Path(sys.executable).with_name("agenteval"))
    ideal = args.cases * args.latency / args.concurrency
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp)
        config = make_project(project, args.cases, args.concurrency)
        bodies = project / "bodies.jsonl"
        dump_requests(config, bodies)
        (project / "bare.py").write_text(BARE_LOOP)
        bare_times, run_times = [], []
        for rep in range(args.repeats):
            with StubAnthropic(latency=args.latency, responder=hash_router) as stub:
                env = {**os.environ, "ANTHROPIC_API_KEY": KEY, "ANTHROPIC_BASE_URL": stub.base_url}
                t, proc = timed(
                    [
                        sys.executable,
                        "bare.py",
                        str(bodies),
                        stub.base_url,
                        str(args.concurrency),
                        KEY,
                    ],
                    env,
                    project,
                )
                assert proc.returncode == 0, proc.stderr[-2000:]
                bare_times.append(t)
            with StubAnthropic(latency=args.latency, responder=hash_router) as stub:
                env = {**os.environ, "ANTHROPIC_API_KEY": KEY, "ANTHROPIC_BASE_URL": stub.base_url}
                cache_dir = project / "cache"
                if cache_dir.exists():
                    for f in cache_dir.iterdir():
                        f.unlink()
                t, proc = timed([exe, "run", "bench.yaml", "--plain"], env, project)
                assert proc.returncode in (0, 1), proc.stderr[-2000:]
                sent = stub.count_endpoint("messages")
                run_times.append(t)
                if rep == args.repeats - 1:
                    t_again, proc = timed([exe, "run", "bench.yaml", "--plain"], env, project)
                    again = stub.count_endpoint("messages") - sent
        bare, run = min(bare_times), min(run_times)
        print(
            f"{args.cases} cases, latency {args.latency} s, concurrency {args.concurrency}; "
            f"ideal {ideal:.1f} s"
        )
        print(
            f"bare loop:      {bare:6.2f} s ({bare / ideal:.2f}x ideal)  runs: "
            + ", ".join(f"{x:.2f}" for x in bare_times)
        )
        print(
            f"agenteval run:  {run:6.2f} s ({run / ideal:.2f}x ideal)  runs: "
            + ", ".join(f"{x:.2f}" for x in run_times)
            + f"  [{sent} requests]"
        )
        print(f"ratio run / bare loop: {run / bare:.3f} (goal <= 1.10)")
        print(f"rerun (cache): {t_again:.2f} s, {again} requests reached the stub (goal 0, < 3 s)")

        faults = [Fault.every(10, "429"), Fault.every(13, "529")]
        with StubAnthropic(latency=args.latency, responder=hash_router, faults=faults) as stub:
            env = {**os.environ, "ANTHROPIC_API_KEY": KEY, "ANTHROPIC_BASE_URL": stub.base_url}
            t, proc = timed([exe, "run", "bench.yaml", "--plain", "--no-cache"], env, project)
            rows = results_of(project)
            keys = [(r["case_id"], r["trial"]) for r in rows]
            errors = sum(r["error"] is not None for r in rows)
            faulted = sum(1 for r in stub.requests if r.status in (429, 529))
            print(
                f"faults (429 every 10th, 529 every 13th): {len(rows)} trials, "
                f"{len(set(keys))} unique, {len(keys) - len(set(keys))} duplicated, "
                f"{args.cases - len(set(keys))} lost, {errors} errors; {faulted} faulted "
                f"responses; {t:.2f} s"
            )


if __name__ == "__main__":
    main()
