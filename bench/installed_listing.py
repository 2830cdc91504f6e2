"""What the installed CLI lists for each fixture family and public catalog, beside agenteval.

For each family, the CLI runs once against agenteval's loopback capture server with the family
laid out as the self-check and the claude-cli router lay it out (agent folders copied whole,
project skills and commands, plugins with `--plugin-dir`), and the agents and Skill-list entries
it lists are counted beside agenteval's reading, with the self-check's differences.

    python bench/installed_listing.py
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

from agenteval.catalog import load_catalog
from agenteval.catalog.plugins import is_plugin_root
from agenteval.claude_code_install import find_binary, locate
from agenteval.routing.profiles.locate import texts
from agenteval.routing.profiles.selfcheck import cli_listing, compare, installed_beside

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
CATALOGS = ROOT.parent / "shared" / "benchmarks" / "catalogs"
FAMILIES = {
    "project-folder quirks (fixtures/formats)": [FIXTURES / "formats"],
    "project skills+commands, one plugin": [
        FIXTURES / "skills" / "project" / ".claude" / "agents",
        FIXTURES / "plugins" / "tinyplug",
    ],
    "marketplace (fixtures/plugins/market)": [FIXTURES / "plugins" / "market"],
    "laywill (213 files)": [CATALOGS / "laywill-awesome-claude-code-subagents"],
    "wshobson marketplace (91 plugins)": [CATALOGS / "wshobson-agents"],
}


def main() -> int:
    claude = locate(find_binary(None).path)
    print(f"Claude Code {claude.version}")
    head = f"{'family':44} {'agents CLI/ours':>16} {'skill entries same/ours':>24}"
    print(f"{head} {'differences':>12} {'s':>5}")
    for family, paths in FAMILIES.items():
        if not all(p.exists() for p in paths):
            print(f"{family:44} (not here)")
            continue
        start = time.perf_counter()
        catalog = load_catalog(paths, version=claude.version)
        plain = [p for p in paths if not is_plugin_root(p)]
        capture = asyncio.run(cli_listing(claude, plain, install=installed_beside(catalog, plain)))
        reading = catalog.claude_code
        assert reading is not None
        builtins = [n for n in capture.listed if n not in reading.names and ":" not in n]
        cli_agents = len(capture.listed) - len(builtins)
        text = "\n".join(t for _, t in texts(capture.request.body))
        ours_skills = list(catalog.skills)
        cli_skills = sum(1 for s in ours_skills if f"\n{s.line}\n" in f"\n{text}\n")
        plugins = [p.name for p in catalog.plugins]
        found = compare(capture, reading, builtins, catalog.skills, plugins)
        seconds = time.perf_counter() - start
        print(
            f"{family:44} {f'{cli_agents}/{len(reading.agents)}':>16} "
            f"{f'{cli_skills}/{len(ours_skills)}':>24} {len(found):>12} {seconds:5.1f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
