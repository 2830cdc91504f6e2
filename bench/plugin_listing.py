"""What the real CLI lists for some plugins, and what agenteval lists for them.

Runs `claude -p` once (against the project's loopback stub, in an isolated HOME) with each
folder given as `--plugin-dir`, then compares the init event and the request's agent and skill
lists with `load_catalog(plugins=...)`. Built-in agents and skills are left out of the counts.

    python bench/plugin_listing.py ../shared/benchmarks/catalogs/wshobson-agents/plugins
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from claude_code_cli import (  # noqa: E402
    TEST_KEY,
    find_claude,
    listing_text,
    split_after_agents,
    split_listing,
)
from stub_anthropic import StubAnthropic, never_delegate  # noqa: E402

from agenteval.catalog import load_catalog  # noqa: E402
from agenteval.claude_code_install import child_env  # noqa: E402

SENTINEL = "SENTINEL-plugin-listing"


def run_cli(plugins: list[Path], project: Path | None) -> tuple[dict, str]:
    """The init event and the listing text of one CLI run."""
    scratch = Path(tempfile.mkdtemp(prefix="cc-plugin-listing-"))
    try:
        (scratch / "home").mkdir()
        work = scratch / "project"
        if project is not None:
            shutil.copytree(project, work / ".claude")
        else:
            work.mkdir()
        with StubAnthropic(responder=never_delegate) as stub:
            env = {  # the environment agenteval runs the CLI in, pointed at the stub
                **child_env(home=scratch / "home", tmp=scratch),
                "ANTHROPIC_BASE_URL": stub.base_url,
                "ANTHROPIC_API_KEY": TEST_KEY,
            }
            args = [str(find_claude()), "-p", SENTINEL, "--output-format", "stream-json"]
            args.append("--verbose")
            for p in plugins:
                args += ["--plugin-dir", str(p)]
            done = subprocess.run(
                args, cwd=work, env=env, capture_output=True, text=True, timeout=600, check=True
            )
            call = next(c for c in stub.calls if c.prompt == SENTINEL)
        events = [json.loads(ln) for ln in done.stdout.splitlines() if ln.startswith("{")]
        init = next(e for e in events if e.get("subtype") == "init")
        return init, listing_text(call.body, init["agents"])
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("plugins", nargs="+", type=Path)
    ap.add_argument("--project", type=Path, help="a .claude folder for the scratch project")
    args = ap.parse_args()
    args.plugins = [p.resolve() for p in args.plugins]
    init, listing = run_cli(args.plugins, args.project)
    agents_dir = [args.project / "agents"] if args.project else []
    cat = load_catalog(agents_dir, plugins=args.plugins)
    ours = {a.name: f"{a.description} (Tools: {a.tools_text})" for a in cat.claude_code.agents}
    agents_text, skills_text = split_after_agents(listing, init["agents"])  # skills follow
    shown = dict(split_listing(agents_text, tuple(init["agents"])))
    generic = {f.name for f in cat.claude_code.files if f.generic}
    theirs = {n for n in shown if ":" in n or n in ours}
    same = sum(1 for n, want in ours.items() if shown.get(n, "").startswith(want))
    print(f"claude {init.get('claude_code_version', '?')}: plugins loaded", end=" ")
    print(sum(p.get("path") != "builtin" for p in init.get("plugins", ())))
    print(f"agents      CLI {len(theirs):4}  agenteval {len(ours):4}  identical lines {same}")
    print(f"  generic descriptions (stand-in text, by design): {len(generic)}")
    print(f"  only agenteval: {sorted(set(ours) - theirs)[:8]}")
    print(f"  only the CLI:   {sorted(theirs - set(ours))[:8]}")
    entries = [ln for ln in skills_text.splitlines() if ln.startswith("- ")]
    ours_lines = {s.line for s in cat.skills}
    ours_names = {s.name for s in cat.skills}
    cli_names = {ln[2:].partition(": ")[0].split(" (")[0] for ln in entries}
    cli_names = {n for n in cli_names if ":" in n or n in ours_names}
    bare = sum(1 for ln in entries if ": " not in ln)
    same_s = sum(1 for ln in entries if ln in ours_lines)
    print(f"skill list  CLI {len(cli_names):4}  agenteval {len(ours_names):4}  identical {same_s}")
    print(f"  CLI entries shown by name only (all, built-ins included): {bare} of {len(entries)}")
    print(f"  only agenteval: {sorted(ours_names - cli_names)[:8]}")
    print(f"  only the CLI:   {sorted(cli_names - ours_names)[:8]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
